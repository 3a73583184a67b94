//! Task jobs: a post-restore task (`crate::tasks`) stored as a row and run by a job that waits
//! in its restore's target-site queue.
//!
//! - **Start.** [`Jobs::start_task`] stores the `pending` row and enqueues its job; a crash in
//!   between leaves a task without a job, which [`Jobs::adopt_orphan_tasks`] enqueues at the
//!   next start.
//! - **Run.** The job marks the row `in_progress` and runs the task; the row ends `success`
//!   with the kind's summary and result message, or `error` with the failure. A temporary
//!   failure is retried by the runner meanwhile (the row stays `in_progress`).
//! - **Resume.** Shutdown and crashes leave the row `in_progress` and the job queued (shutdown
//!   requeues it, `SqliteStore::open` requeues a running job after a crash); the task runs again
//!   from the start, and since every kind reads the target before it writes, what the
//!   interrupted run did reads as done.

use super::{EnqueueError, JobCtl, JobError, JobOutcome, JobProgress, JobSpec, Jobs, RunnerError};
use super::{TaskResult, TaskSpec};
use crate::error::error_chain;
use crate::store::{
    self, JobFilter, JobId, JobStatus, NewTask, PageRequest, Restore, TaskId, TaskStatus,
    TaskUpdate,
};
use crate::tasks::{self, TaskRequest};

impl Jobs {
    /// Stores a task of `restore` and enqueues its job; returns both ids.
    ///
    /// # Errors
    ///
    /// [`EnqueueError::Store`] (also for an unknown restore), [`EnqueueError::ShuttingDown`]
    /// (the row then ends `error`, saying it was not started).
    pub async fn start_task(
        &self,
        restore: &Restore,
        request: &TaskRequest,
    ) -> Result<(TaskId, JobId), EnqueueError> {
        let options = serde_json::to_value(request).map_err(store::Error::from)?;
        let id = self
            .store
            .create_task(NewTask {
                restore_id: restore.id,
                kind: request.kind().as_str().to_owned(),
                options,
                created_at: self.clock.now(),
            })
            .await?;
        match self.enqueue_task(id, &restore.target_site).await {
            Ok(job) => Ok((id, job)),
            Err(e) => {
                // No job will run it: end the row rather than leave it pending for ever.
                let end = TaskUpdate {
                    status: Some(TaskStatus::Error),
                    result: Some(Some(format!("not started: {e}"))),
                    ended_at: Some(Some(self.clock.now())),
                    ..TaskUpdate::default()
                };
                if let Err(e) = self.store.update_task(id, end).await {
                    tracing::warn!(task_id = id, error = %error_chain(&e), "Ending a task that could not be queued failed.");
                }
                Err(e)
            }
        }
    }

    /// Enqueues the job of a stored task and records the job on the row.
    async fn enqueue_task(&self, task_id: TaskId, site: &str) -> Result<JobId, EnqueueError> {
        let spec = JobSpec::Task(TaskSpec {
            task_id,
            site: site.to_owned(),
        });
        let job = self.enqueue(&spec).await?;
        let link = TaskUpdate {
            job_id: Some(job),
            ..TaskUpdate::default()
        };
        self.store.update_task(task_id, link).await?;
        Ok(job)
    }

    /// Enqueues a job for every unfinished task that has none (a crash between storing the
    /// task and enqueueing its job). Runs once at startup, before the first claim.
    pub(super) async fn adopt_orphan_tasks(&self) -> Result<usize, store::Error> {
        let mut has_job = std::collections::BTreeSet::new();
        for status in [JobStatus::Queued, JobStatus::Running] {
            let filter = JobFilter {
                status: Some(status),
                kind: Some(super::JobKind::Task.as_str().to_owned()),
            };
            // Few task jobs are ever queued or running at once; one generous page suffices.
            let page = PageRequest {
                limit: 100_000,
                offset: 0,
            };
            for job in self.store.list_jobs(filter, page).await? {
                if let Ok(JobSpec::Task(spec)) = JobSpec::from_stored(&job.kind, &job.payload) {
                    has_job.insert(spec.task_id);
                }
            }
        }
        let mut adopted = 0;
        for task in self.store.list_tasks(None).await? {
            if task.status.ended() || has_job.contains(&task.id) {
                continue;
            }
            let site = self.store.get_restore(task.restore_id).await?.target_site;
            tracing::warn!(task_id = task.id, "Task without a job; enqueueing it.");
            match self.enqueue_task(task.id, &site).await {
                Ok(_) => adopted += 1,
                Err(EnqueueError::Store(e)) => return Err(e),
                // Shutting down: the next start adopts the rest.
                Err(_) => return Ok(adopted),
            }
        }
        Ok(adopted)
    }

    /// Runs a task job.
    pub(super) async fn run_task(
        &self,
        job_id: JobId,
        spec: &TaskSpec,
        ctl: &JobCtl,
    ) -> Result<JobOutcome, JobError> {
        let id = spec.task_id;
        let task = self
            .store
            .get_task(id)
            .await
            .map_err(JobError::from_store)?;
        if task.status.ended() {
            // Its end was recorded, the job's was not (a crash in between).
            return Ok(outcome(id, task.status, task.result));
        }
        let restore = self
            .store
            .get_restore(task.restore_id)
            .await
            .map_err(JobError::from_store)?;
        let site = self
            .sites
            .get(&restore.target_site)
            .ok_or_else(|| RunnerError::TargetGone(restore.target_site.clone()))?;
        let start = TaskUpdate {
            status: Some(TaskStatus::InProgress),
            job_id: Some(job_id),
            started_at: Some(self.clock.now()),
            result: Some(None),
            ended_at: Some(None),
            ..TaskUpdate::default()
        };
        self.store
            .update_task(id, start)
            .await
            .map_err(JobError::from_store)?;
        tracing::info!(task_id = id, kind = %task.kind, restore_id = restore.id, "Task started.");
        let on_progress = |stage: &str, done: u64, total: u64| {
            self.set_progress(
                job_id,
                JobProgress {
                    stage: stage.to_owned(),
                    done,
                    total,
                },
            );
        };
        let ran = tasks::run(
            &self.store,
            site.client(),
            &task,
            &restore,
            &on_progress,
            ctl.token.clone(),
        )
        .await;
        let end = match ran {
            Ok(end) => end,
            Err(tasks::Error::Cancelled) => return Err(JobError::cancelled()),
            Err(e) => return Err(classify(e).context(format!("task {id} failed"))),
        };
        let summary = serde_json::to_value(&end.summary).map_err(|e| {
            JobError::permanent(e).context(format!("task {id}: its summary cannot be stored"))
        })?;
        let done = TaskUpdate {
            status: Some(TaskStatus::Success),
            result: Some(Some(end.message.clone())),
            summary: Some(summary),
            ended_at: Some(Some(self.clock.now())),
            ..TaskUpdate::default()
        };
        self.store
            .update_task(id, done)
            .await
            .map_err(JobError::from_store)?;
        tracing::info!(task_id = id, result = %end.message, "Task ended.");
        Ok(outcome(id, TaskStatus::Success, Some(end.message)))
    }

    /// Records the end of a task whose job failed for good (a requeued job leaves the row
    /// `in_progress`: it resumes).
    pub(super) async fn task_ended(
        &self,
        task_id: TaskId,
        result: &Result<JobOutcome, JobError>,
        requeued: bool,
    ) {
        let Err(e) = result else { return };
        if requeued {
            return;
        }
        let message = match e.body() {
            Some(body) if !body.is_null() => format!("{}: {body}", e.message()),
            _ => e.message(),
        };
        let end = TaskUpdate {
            status: Some(TaskStatus::Error),
            result: Some(Some(message)),
            ended_at: Some(Some(self.clock.now())),
            ..TaskUpdate::default()
        };
        if let Err(e) = self.store.update_task(task_id, end).await {
            tracing::warn!(task_id, error = %error_chain(&e), "Recording the end of a failed task failed.");
        }
    }
}

fn outcome(task_id: TaskId, status: TaskStatus, result: Option<String>) -> JobOutcome {
    JobOutcome::Task(TaskResult {
        task_id,
        status,
        result,
    })
}

/// Temporary or permanent, with the API's answer where there was one.
fn classify(e: tasks::Error) -> JobError {
    match e {
        tasks::Error::Assets(a) => JobError::from_assets(a),
        tasks::Error::Store(s) => JobError::from_store(s),
        other => JobError::permanent(other),
    }
}
