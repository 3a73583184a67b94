//! A cap on the request line of a connection's first request, answered in the API's JSON
//! error format (414 `uri_too_long`).
//!
//! hyper refuses a request line over 64 KiB itself, with an empty 414 body and no way to
//! change either. So each accepted connection is read through [`LineCapped`], which watches
//! the first request line as it arrives: past [`MAX_REQUEST_LINE`] bytes without its end, it
//! answers the JSON 414 on the connection and ends it before hyper sees the rest. Later
//! requests of a kept-alive connection (which no client of this API sends with a huge URL)
//! are left to hyper's own limit.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request line (method, target, version) a first request may have.
pub const MAX_REQUEST_LINE: usize = 16 * 1024;

/// Most bytes read and dropped after the answer before the connection is closed anyway.
const MAX_DRAINED: usize = 4 * 1024 * 1024;

/// A listener whose connections are [`LineCapped`].
pub struct CappedListener<L>(pub L);

impl<L: Listener> Listener for CappedListener<L> {
    type Io = LineCapped<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (LineCapped::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

enum State {
    /// Reading the first request line; bytes of it so far.
    Line(usize),
    /// Past the first line: plain pass-through.
    Through,
    /// Too long: writing the answer (bytes written so far).
    Refusing(usize),
    /// Answered: what the client still sends is read and dropped until it closes (closing
    /// with unread data would reset the connection before the client reads the answer).
    Draining(usize),
    /// Over: end of stream for hyper.
    Done,
}

/// A connection whose first request line is capped (see the module doc).
pub struct LineCapped<T> {
    inner: T,
    state: State,
}

impl<T> LineCapped<T> {
    fn new(inner: T) -> Self {
        LineCapped {
            inner,
            state: State::Line(0),
        }
    }
}

/// The raw 414 answer, in the API's error format.
fn answer() -> Vec<u8> {
    let body = serde_json::to_vec(&super::wire::ErrorBody {
        error: super::wire::ErrorDetail {
            code: "uri_too_long".to_owned(),
            message: format!("the request line is longer than {MAX_REQUEST_LINE} bytes"),
            fields: std::collections::BTreeMap::new(),
        },
    })
    .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for LineCapped<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match this.state {
                State::Through => return Pin::new(&mut this.inner).poll_read(cx, buf),
                State::Done => return Poll::Ready(Ok(())),
                State::Refusing(written) => {
                    let bytes = answer();
                    if written < bytes.len() {
                        let n = std::task::ready!(
                            Pin::new(&mut this.inner).poll_write(cx, &bytes[written..])
                        )?;
                        if n == 0 {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                        }
                        this.state = State::Refusing(written + n);
                        continue;
                    }
                    std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    this.state = State::Draining(0);
                }
                State::Draining(dropped) => {
                    let mut scratch = [0u8; 8192];
                    let mut sink = ReadBuf::new(&mut scratch);
                    std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut sink))?;
                    let n = sink.filled().len();
                    // End of stream for hyper: an incomplete head, which it drops silently.
                    this.state = if n == 0 || dropped + n > MAX_DRAINED {
                        State::Done
                    } else {
                        State::Draining(dropped + n)
                    };
                }
                State::Line(seen) => {
                    let before = buf.filled().len();
                    std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                    let new = &buf.filled()[before..];
                    match new.iter().position(|&b| b == b'\n') {
                        Some(at) if seen + at <= MAX_REQUEST_LINE => this.state = State::Through,
                        None if seen + new.len() <= MAX_REQUEST_LINE => {
                            this.state = State::Line(seen + new.len());
                        }
                        _ => {
                            // Nothing of this request reaches hyper.
                            buf.set_filled(before);
                            this.state = State::Refusing(0);
                            continue;
                        }
                    }
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for LineCapped<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.state {
            // hyper has nothing to answer for a request it never saw.
            State::Refusing(_) | State::Draining(_) | State::Done => Poll::Ready(Ok(buf.len())),
            _ => Pin::new(&mut this.inner).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.state {
            State::Draining(_) | State::Done => Poll::Ready(Ok(())),
            _ => Pin::new(&mut this.inner).poll_shutdown(cx),
        }
    }
}
