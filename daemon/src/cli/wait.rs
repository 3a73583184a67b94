//! `--wait`: polls `GET /v1/jobs/{id}` until the job ends, showing its progress as an
//! indicatif bar on a terminal, or as plain lines (`stage objects 1200/5000`) when stderr is
//! a pipe or a file, where a redrawn bar would be noise. [`Display`] is shared with
//! `restore start --wait` (lines like `Restoring object entries 120/400`).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::util::Failure;
use crate::api::client::ControlClient;
use crate::api::wire::{JobStatus, JobView};

/// How often the job is polled: fast enough that a bar looks live, slow enough to be free.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Plain progress lines for the same stage come at most this often.
const LINE_INTERVAL: Duration = Duration::from_secs(1);

/// Where progress goes.
pub(super) enum Display {
    Bar(ProgressBar),
    Lines {
        last: Option<(String, u64)>,
        printed_at: Instant,
    },
}

impl Display {
    /// A bar on a terminal, lines otherwise.
    pub(super) fn new() -> Display {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>14} [{bar:40.cyan/blue}] {pos}/{len} ({elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            Display::Bar(bar)
        } else {
            Display::Lines {
                last: None,
                printed_at: Instant::now(),
            }
        }
    }

    /// Shows `label done/total`; a line is printed when the label changes and at most once a
    /// second otherwise.
    pub(super) fn update(&mut self, label: &str, done: u64, total: u64) {
        let stage = label;
        match self {
            Display::Bar(bar) => {
                bar.set_prefix(stage.to_owned());
                bar.set_length(total.max(done));
                bar.set_position(done);
            }
            Display::Lines { last, printed_at } => {
                let new_stage = last.as_ref().is_none_or(|(s, _)| s != stage);
                let moved = last.as_ref().is_none_or(|(_, d)| *d != done);
                if new_stage || (moved && printed_at.elapsed() >= LINE_INTERVAL) {
                    eprintln!("{stage} {done}/{total}");
                    *last = Some((stage.to_owned(), done));
                    *printed_at = Instant::now();
                }
            }
        }
    }

    /// Clears the bar.
    pub(super) fn finish(self) {
        if let Display::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// A job's last view: typed, and as the daemon sent it (for `--json`).
pub(super) struct Waited {
    /// The view.
    pub(super) view: JobView,
    /// The JSON as sent.
    pub(super) body: Value,
}

/// Polls a job until it is `done` or `failed` and returns its last view.
///
/// # Errors
///
/// A [`Failure`] when the daemon cannot be reached or forgets the job.
pub(super) async fn wait_for_job(client: &ControlClient, job_id: i64) -> Result<Waited, Failure> {
    let mut display = Display::new();
    loop {
        let reply = client.get(&format!("/v1/jobs/{job_id}")).await?;
        let view: JobView = reply.parse()?;
        if let Some(p) = &view.progress {
            display.update(&format!("stage {}", p.stage), p.done, p.total);
        }
        if matches!(view.status, JobStatus::Done | JobStatus::Failed) {
            display.finish();
            return Ok(Waited {
                view,
                body: reply.body,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
