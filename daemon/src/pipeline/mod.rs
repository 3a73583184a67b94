//! The one stage runner of the backup and restore pipelines.
//!
//! A pipeline is a list of stages run in order. A stage has a name (its stable key, shown in
//! progress, logs and hook messages), a count (`done` of `total` items, and whether it is
//! finished) and a run function. What differs between pipelines — where counts are persisted,
//! what a stage does, which hooks are registered — is the [`Pipeline`] trait; what is the same
//! is [`run`], the one loop over the stages:
//!
//! 1. a stage an earlier run finished (its checkpoint says so) is skipped: this is how a
//!    restore resumes after a crash and how a backup's background phases resume after a kill;
//! 2. a fired cancellation token (a user's STOP, or the daemon shutting down: both cancel the
//!    job's token) ends the run before the next stage starts, with [`Flow::Stopped`]; inside
//!    a stage, the stage itself decides how to stop (requests in flight finish and are
//!    recorded) and returns [`Flow::Stopped`];
//! 3. the `before_stage` hook point is called ([`Pipeline::hook`]); an abort ends the run in
//!    error before the stage wrote anything;
//! 4. the stage runs and reports its progress through its pipeline's context as it goes;
//! 5. before the stage is recorded as finished, [`Pipeline::verify`] checks that it did all it
//!    had to: a stage is never checkpointed as done with items missing (a restore whose
//!    backup lost objects mid-way ends in error naming them instead);
//! 6. the checkpoint ([`Pipeline::finish`]) records it as finished and reports its end;
//! 7. the `after_stage` hook point is called; an abort ends the run in error.
//!
//! Errors end the run at once and are the pipeline's own type; a pipeline that must keep
//! going past a failed stage (a backup's background phases) turns the failure into the
//! stage's recorded outcome inside [`Pipeline::run_stage`] and returns [`Flow::Continue`].
//!
//! Users: the restore executes [`crate::restore::Stage::ALL`] through it (counts in the
//! restore row); the backup runs its main pass (stages in dependency order, nothing persisted
//! per stage: a failed main pass fails the whole backup) and then its background phases
//! (checkpoints in the backup row's phase columns) through it.

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Whether a stage (or a run) went to its end or was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next stage.
    Continue,
    /// The cancellation token fired.
    Stopped,
}

/// Done/total of one stage, and whether it ran to its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCount {
    /// Items done (over all runs).
    pub done: u64,
    /// Items in the stage.
    pub total: u64,
    /// Whether the stage ran to its end.
    pub finished: bool,
}

/// Where the runner calls hooks: around every stage it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagePoint {
    /// After the checks, before the stage writes anything.
    BeforeStage,
    /// After the stage was recorded as finished.
    AfterStage,
}

/// A pipeline as the runner sees it.
#[async_trait::async_trait]
pub trait Pipeline: Send {
    /// Its stages.
    type Stage: Copy + Eq + Send + Sync + std::fmt::Debug;
    /// Its errors.
    type Error: Send;

    /// The stage's stable key (progress, logs, hook messages).
    fn key(stage: Self::Stage) -> &'static str;

    /// The stage's count as of now; `None` when no run has started it yet.
    fn count(&self, stage: Self::Stage) -> Option<StageCount>;

    /// Runs one stage (or resumes it: counts of an earlier run are already known).
    async fn run_stage(&mut self, stage: Self::Stage) -> Result<Flow, Self::Error>;

    /// Checks that a stage that returned [`Flow::Continue`] did everything it had to; an
    /// error keeps it from being recorded as finished.
    async fn verify(&mut self, _stage: Self::Stage) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Records the stage as finished (the checkpoint) and reports its end.
    async fn finish(&mut self, stage: Self::Stage) -> Result<(), Self::Error>;

    /// Calls the hooks registered at `point` for `stage` (whose count is `count`); an error
    /// (an abort, a failing hook) ends the run.
    async fn hook(
        &mut self,
        _point: StagePoint,
        _stage: Self::Stage,
        _count: StageCount,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Runs `stages` of `pipeline` in order (see the module documentation for the loop);
/// `cancel` is the job's token (STOP and shutdown).
///
/// # Errors
///
/// The first error of a stage, a check, a checkpoint or a hook.
pub async fn run<P: Pipeline>(
    pipeline: &mut P,
    stages: &[P::Stage],
    cancel: &CancellationToken,
) -> Result<Flow, P::Error> {
    for &stage in stages {
        let before = pipeline.count(stage);
        if before.is_some_and(|c| c.finished) {
            continue;
        }
        if cancel.is_cancelled() {
            return Ok(Flow::Stopped);
        }
        pipeline
            .hook(StagePoint::BeforeStage, stage, before.unwrap_or_default())
            .await?;
        if pipeline.run_stage(stage).await? == Flow::Stopped {
            return Ok(Flow::Stopped);
        }
        pipeline.verify(stage).await?;
        pipeline.finish(stage).await?;
        let after = pipeline.count(stage).unwrap_or_default();
        pipeline.hook(StagePoint::AfterStage, stage, after).await?;
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Three stages; records what the runner called.
    #[derive(Default)]
    struct Recorder {
        counts: BTreeMap<u8, StageCount>,
        calls: Vec<String>,
        stop_in: Option<u8>,
        incomplete: Option<u8>,
        abort_before: Option<u8>,
    }

    #[async_trait::async_trait]
    impl Pipeline for Recorder {
        type Stage = u8;
        type Error = String;

        fn key(stage: u8) -> &'static str {
            ["a", "b", "c"][usize::from(stage)]
        }

        fn count(&self, stage: u8) -> Option<StageCount> {
            self.counts.get(&stage).copied()
        }

        async fn run_stage(&mut self, stage: u8) -> Result<Flow, String> {
            self.calls.push(format!("run {}", Self::key(stage)));
            self.counts.insert(
                stage,
                StageCount {
                    done: 2,
                    total: 2,
                    finished: false,
                },
            );
            Ok(if self.stop_in == Some(stage) {
                Flow::Stopped
            } else {
                Flow::Continue
            })
        }

        async fn verify(&mut self, stage: u8) -> Result<(), String> {
            match self.incomplete == Some(stage) {
                true => Err(format!("{} has items missing", Self::key(stage))),
                false => Ok(()),
            }
        }

        async fn finish(&mut self, stage: u8) -> Result<(), String> {
            self.calls.push(format!("finish {}", Self::key(stage)));
            self.counts.entry(stage).or_default().finished = true;
            Ok(())
        }

        async fn hook(
            &mut self,
            point: StagePoint,
            stage: u8,
            c: StageCount,
        ) -> Result<(), String> {
            self.calls.push(format!(
                "{point:?} {} {}/{}",
                Self::key(stage),
                c.done,
                c.total
            ));
            match (point, self.abort_before == Some(stage)) {
                (StagePoint::BeforeStage, true) => Err("aborted".into()),
                _ => Ok(()),
            }
        }
    }

    #[tokio::test]
    async fn stages_run_in_order_between_their_hooks_and_finished_ones_are_skipped() {
        let mut p = Recorder::default();
        p.counts.insert(
            0,
            StageCount {
                done: 1,
                total: 1,
                finished: true,
            },
        );
        let flow = run(&mut p, &[0, 1, 2], &CancellationToken::new()).await;
        assert_eq!(flow, Ok(Flow::Continue));
        assert_eq!(
            p.calls,
            [
                "BeforeStage b 0/0",
                "run b",
                "finish b",
                "AfterStage b 2/2",
                "BeforeStage c 0/0",
                "run c",
                "finish c",
                "AfterStage c 2/2"
            ]
        );
    }

    #[tokio::test]
    async fn stop_cancellation_checks_and_aborts_end_the_run_unfinished() {
        let mut p = Recorder {
            stop_in: Some(1),
            ..Recorder::default()
        };
        assert_eq!(
            run(&mut p, &[0, 1, 2], &CancellationToken::new()).await,
            Ok(Flow::Stopped)
        );
        assert!(!p.counts[&1].finished, "a stopped stage is not finished");
        assert!(!p.calls.iter().any(|c| c.ends_with(" c 0/0")));

        let cancel = CancellationToken::new();
        cancel.cancel();
        let mut p = Recorder::default();
        assert_eq!(run(&mut p, &[0], &cancel).await, Ok(Flow::Stopped));
        assert!(p.calls.is_empty(), "{:?}", p.calls);

        let mut p = Recorder {
            incomplete: Some(0),
            ..Recorder::default()
        };
        let r = run(&mut p, &[0, 1], &CancellationToken::new()).await;
        assert_eq!(r, Err("a has items missing".into()));
        assert!(
            !p.counts[&0].finished,
            "never checkpointed with items missing"
        );

        let mut p = Recorder {
            abort_before: Some(1),
            ..Recorder::default()
        };
        let r = run(&mut p, &[0, 1], &CancellationToken::new()).await;
        assert_eq!(r, Err("aborted".into()));
        assert!(!p.counts.contains_key(&1), "an aborted stage never ran");
    }
}
