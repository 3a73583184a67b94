//! A cap on the request line of every request of a connection, answered in the API's JSON
//! error format (414 `uri_too_long`).
//!
//! hyper refuses a request line over 64 KiB itself, with an empty 414 body and no way to
//! change either. So each accepted connection is read through [`LineCapped`], which follows
//! the requests as they arrive (request line, head, body by `Content-Length` or chunks) and
//! holds each request line back until it ends. A line that passes [`MAX_REQUEST_LINE`] bytes
//! reaches hyper as `GET` [`TOO_LONG_TARGET`] instead (the rest of it is dropped), with the
//! request's own headers and body: hyper parses a small request, the router's fallback answers
//! it with the JSON 414, and the connection stays usable for the requests after it, pipelined
//! or kept alive. A head this reader cannot follow (a header line past [`MAX_HEADER_LINE`],
//! conflicting lengths, an upgrade) ends the following: the rest of the connection goes to
//! hyper as is, whose own limits and errors then apply.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request line (method, target, version) a request may have.
pub const MAX_REQUEST_LINE: usize = 16 * 1024;

/// The target a too-long request line is replaced by. Not a route: the router's fallback
/// answers it with the 414 (a client asking for it directly gets the same answer).
pub const TOO_LONG_TARGET: &str = "/.request-line-too-long";

/// Longest header or chunk-size line followed; a longer one ends the following.
const MAX_HEADER_LINE: usize = 64 * 1024;

/// Bytes read from the socket at a time.
const READ_SIZE: usize = 16 * 1024;

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

/// Where in the request stream the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a request line (or the empty lines allowed before one): held back in `line`.
    Line,
    /// Dropping the rest of a too-long request line, up to its end.
    Skipping,
    /// In the header lines of a request head.
    Head { length: Option<u64>, chunked: bool },
    /// In a body of known length: bytes left.
    Body(u64),
    /// At a chunk-size line.
    ChunkSize,
    /// In a chunk's data: bytes left (its CRLF follows).
    ChunkData(u64),
    /// At the line end after a chunk's data.
    ChunkEnd,
    /// In the trailer lines after the last chunk.
    Trailers,
    /// Not following any more: everything passes as is.
    Through,
}

/// The request follower of one connection, apart from its I/O (so it can be tested on bytes).
#[derive(Debug)]
struct Follower {
    state: State,
    /// The current line: held back for a request line, only looked at otherwise.
    line: Vec<u8>,
}

impl Follower {
    fn new() -> Self {
        Follower {
            state: State::Line,
            line: Vec::new(),
        }
    }

    /// Follows `input`; appends what hyper should read to `out`.
    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match self.state {
                State::Through => {
                    out.extend_from_slice(input);
                    return;
                }
                State::Body(left) | State::ChunkData(left) => {
                    let n = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.state = match (self.state, left) {
                        (State::Body(_), 0) => State::Line,
                        (State::Body(_), _) => State::Body(left),
                        (_, 0) => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                }
                State::Skipping => match input.iter().position(|&b| b == b'\n') {
                    Some(at) => {
                        input = &input[at + 1..];
                        self.state = State::Head {
                            length: None,
                            chunked: false,
                        };
                    }
                    None => return,
                },
                State::Line => {
                    let (piece, ended) = split_line(input);
                    input = &input[piece.len()..];
                    self.line.extend_from_slice(piece);
                    // Room for a `\r` whose `\n` has not arrived yet.
                    let too_long = if ended {
                        trim_eol(&self.line).len() > MAX_REQUEST_LINE
                    } else {
                        self.line.len() > MAX_REQUEST_LINE + 1
                    };
                    if too_long {
                        self.line.clear();
                        out.extend_from_slice(
                            format!("GET {TOO_LONG_TARGET} HTTP/1.1\r\n").as_bytes(),
                        );
                        self.state = if ended {
                            State::Head {
                                length: None,
                                chunked: false,
                            }
                        } else {
                            State::Skipping
                        };
                    } else if ended {
                        out.extend_from_slice(&self.line);
                        // Empty lines before a request line are allowed (and skipped by hyper).
                        if !trim_eol(&self.line).is_empty() {
                            self.state = State::Head {
                                length: None,
                                chunked: false,
                            };
                        }
                        self.line.clear();
                    }
                }
                State::Head { .. } | State::ChunkSize | State::ChunkEnd | State::Trailers => {
                    let (piece, ended) = split_line(input);
                    input = &input[piece.len()..];
                    out.extend_from_slice(piece);
                    self.line.extend_from_slice(piece);
                    if ended {
                        let line = std::mem::take(&mut self.line);
                        self.state = self.after_line(trim_eol(&line));
                    } else if self.line.len() > MAX_HEADER_LINE {
                        self.line = Vec::new();
                        self.state = State::Through;
                    }
                }
            }
        }
    }

    /// Whether every request so far arrived whole (no line, head or body half-read).
    fn between_requests(&self) -> bool {
        self.state == State::Line && self.line.is_empty()
    }

    /// The state after a complete line (its end removed) in a head, chunk or trailer state.
    fn after_line(&self, line: &[u8]) -> State {
        match self.state {
            State::Head { length, chunked } if line.is_empty() => match (length, chunked) {
                (_, true) => State::ChunkSize,
                (Some(n), false) if n > 0 => State::Body(n),
                _ => State::Line,
            },
            State::Head { length, chunked } => header(line, length, chunked),
            State::ChunkSize => {
                // The size, then maybe `;extensions`.
                let size = line.split(|&b| b == b';').next().unwrap_or_default();
                match std::str::from_utf8(size)
                    .ok()
                    .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
                {
                    Some(0) => State::Trailers,
                    Some(n) => State::ChunkData(n),
                    None => State::Through,
                }
            }
            State::ChunkEnd if line.is_empty() => State::ChunkSize,
            State::Trailers if line.is_empty() => State::Line,
            State::Trailers => State::Trailers,
            _ => State::Through,
        }
    }
}

/// The head state after header line `line`: only the framing headers matter.
fn header(line: &[u8], length: Option<u64>, chunked: bool) -> State {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return State::Through;
    };
    let name = &line[..colon];
    let value = std::str::from_utf8(&line[colon + 1..]).map(str::trim);
    let head = |length, chunked| State::Head { length, chunked };
    if name.eq_ignore_ascii_case(b"content-length") {
        match value.ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(n) if length.is_none_or(|l| l == n) => head(Some(n), chunked),
            // hyper refuses such a request and closes: nothing more to follow.
            _ => State::Through,
        }
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        match value {
            Ok(v) => {
                let last = v.rsplit(',').next().unwrap_or_default().trim();
                head(length, chunked || last.eq_ignore_ascii_case("chunked"))
            }
            Err(_) => State::Through,
        }
    } else if name.eq_ignore_ascii_case(b"upgrade") {
        // What follows an upgrade is not HTTP/1.
        State::Through
    } else {
        head(length, chunked)
    }
}

/// The part of `input` up to and with its first `\n`, and whether there was one.
fn split_line(input: &[u8]) -> (&[u8], bool) {
    match input.iter().position(|&b| b == b'\n') {
        Some(at) => (&input[..=at], true),
        None => (input, false),
    }
}

/// `line` without its `\n` or `\r\n`.
fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A connection whose request lines are capped (see the module doc).
///
/// It also keeps a client's half-close from costing it its answer: a client may shut its
/// side down once its request is sent (as `nc` does), and hyper, told of the end of the
/// stream while a handler is still running, drops the connection unanswered. So when the
/// client's end arrives right after a complete request, hyper learns of it only once it has
/// written something since (the answer's start).
pub struct LineCapped<T> {
    inner: T,
    follower: Follower,
    /// Followed bytes hyper has not read yet, from `pos`.
    ready: Vec<u8>,
    pos: usize,
    /// The client closed its side.
    eof: bool,
    /// hyper wrote since the client last sent bytes.
    answered: bool,
    /// hyper's read, waiting for `answered` to report the end of the stream.
    waiting: Option<Waker>,
}

impl<T> LineCapped<T> {
    fn new(inner: T) -> Self {
        LineCapped {
            inner,
            follower: Follower::new(),
            ready: Vec::new(),
            pos: 0,
            eof: false,
            answered: true,
            waiting: None,
        }
    }

    /// Notes that hyper wrote: an end of stream held back may now be reported.
    fn wrote(&mut self) {
        self.answered = true;
        if let Some(w) = self.waiting.take() {
            w.wake();
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for LineCapped<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.pos < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.pos);
                buf.put_slice(&this.ready[this.pos..this.pos + n]);
                this.pos += n;
                if this.pos == this.ready.len() {
                    this.ready.clear();
                    this.pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                if this.answered {
                    return Poll::Ready(Ok(()));
                }
                this.waiting = Some(cx.waker().clone());
                return Poll::Pending;
            }
            let mut scratch = [0u8; READ_SIZE];
            let mut read = ReadBuf::new(&mut scratch);
            std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.eof = true;
                // After a complete request an answer is due: the end waits for it (see the
                // type's doc). Otherwise hyper hears of the end at once, and a request line
                // cut off by it still reaches hyper, which drops it.
                if !this.follower.between_requests() {
                    this.answered = true;
                    this.ready.append(&mut this.follower.line);
                }
            } else {
                this.answered = false;
                this.follower.feed(read.filled(), &mut this.ready);
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
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.wrote();
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        this.wrote();
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What hyper reads when `input` arrives in pieces of `piece` bytes.
    fn follow(input: &[u8], piece: usize) -> Vec<u8> {
        let mut f = Follower::new();
        let mut out = Vec::new();
        for part in input.chunks(piece) {
            f.feed(part, &mut out);
        }
        out
    }

    fn replaced() -> String {
        format!("GET {TOO_LONG_TARGET} HTTP/1.1\r\n")
    }

    #[test]
    fn every_too_long_line_of_a_connection_is_replaced_and_the_rest_kept() {
        let long = format!("GET /v1/backups?site={} HTTP/1.1\r\n", "a".repeat(100_000));
        let body = "{\"x\": 1}";
        let stream = format!(
            "GET /healthz HTTP/1.1\r\nhost: a\r\n\r\n\
             {long}host: a\r\n\r\n\
             POST /v1/backups HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}\
             {long}content-length: 3\r\n\r\nabc\
             POST /v1/x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
             3;ext=1\r\nGET\r\n{:x}\r\n{long}\r\n0\r\ntrailer: t\r\n\r\n\
             \r\n{long}host: a\r\n\r\n",
            body.len(),
            long.len()
        );
        let expected = format!(
            "GET /healthz HTTP/1.1\r\nhost: a\r\n\r\n\
             {r}host: a\r\n\r\n\
             POST /v1/backups HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}\
             {r}content-length: 3\r\n\r\nabc\
             POST /v1/x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
             3;ext=1\r\nGET\r\n{:x}\r\n{long}\r\n0\r\ntrailer: t\r\n\r\n\
             \r\n{r}host: a\r\n\r\n",
            body.len(),
            long.len(),
            r = replaced()
        );
        // A chunk that holds a long "request line" is data, not a request: kept as it is.
        for piece in [1, 7, 4096, usize::MAX] {
            let got = follow(stream.as_bytes(), piece);
            assert!(
                got == expected.as_bytes(),
                "pieces of {piece}: {:.300}",
                String::from_utf8_lossy(&got)
            );
        }
    }

    #[test]
    fn a_line_at_the_cap_passes() {
        let target = "a".repeat(MAX_REQUEST_LINE - "GET / HTTP/1.1".len());
        let line = format!("GET /{target} HTTP/1.1\r\n\r\n");
        assert_eq!(follow(line.as_bytes(), 1000), line.as_bytes());
        let over = format!("GET /{target}a HTTP/1.1\r\n\r\n");
        assert_eq!(
            follow(over.as_bytes(), 1000),
            format!("{}\r\n", replaced()).as_bytes()
        );
    }

    #[test]
    fn an_unfollowable_head_passes_the_rest_as_is() {
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE * 2));
        for head in [
            "content-length: 1\r\ncontent-length: 2\r\n",
            "content-length: x\r\n",
            "upgrade: websocket\r\n",
            "no colon\r\n",
        ] {
            let stream = format!("POST / HTTP/1.1\r\n{head}\r\n{long}");
            assert_eq!(follow(stream.as_bytes(), 5000), stream.as_bytes(), "{head}");
        }
    }
}
