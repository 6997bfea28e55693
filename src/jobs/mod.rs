//! The job runner: jobs are rows in redb with their next due time and their last result, so a
//! due job survives a restart and a run that stopped half way is run again. One task sleeps until
//! the earliest due job, runs it on the blocking pool and records the outcome in the same
//! transaction that applies the job's own final writes. A job missed while the server was down
//! runs once on start ("catch-up"), not once per missed day.
//!
//! Time comes from the store's [`Clock`], so tests can start the server at a chosen instant
//! (`DANGOL_NOW`).

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::store::{self, Store, Tx};

/// When a job is due.
#[derive(Debug, Clone, Copy)]
pub enum Schedule {
    /// Every day at this time of day in the shop's time zone.
    DailyAt(NaiveTime),
}

impl Schedule {
    /// The first due time strictly after `after` (unix millis).
    pub fn next_after(self, after: i64, tz: Tz) -> i64 {
        match self {
            Schedule::DailyAt(time) => {
                let local = tz
                    .timestamp_millis_opt(after)
                    .single()
                    .expect("valid instant")
                    .date_naive();
                let mut day = local;
                loop {
                    // A time skipped by a daylight-saving jump falls to the next valid instant.
                    let at = tz
                        .from_local_datetime(&day.and_time(time))
                        .earliest()
                        .or_else(|| {
                            tz.from_local_datetime(&(day.and_time(time) + chrono::Duration::hours(1)))
                                .earliest()
                        })
                        .map(|t| t.timestamp_millis());
                    if let Some(at) = at
                        && at > after
                    {
                        return at;
                    }
                    day = day.succ_opt().expect("date in range");
                }
            }
        }
    }

    pub fn describe(self) -> String {
        match self {
            Schedule::DailyAt(t) => format!("daily at {}", t.format("%H:%M")),
        }
    }
}

/// Why a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// It was due.
    Schedule,
    /// It was due while the server was down; this one run stands for every missed one.
    CatchUp,
    /// The previous run stopped half way (the server stopped or crashed); this one redoes it.
    Redo,
    /// Someone asked (`POST /api/v1/jobs/{name}/run`, `dangol analyze`, the console).
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
}

/// One finished run.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobRun {
    pub started_at: i64,
    pub finished_at: i64,
    pub duration_ms: u64,
    #[schema(value_type = String)]
    pub trigger: Trigger,
    #[schema(value_type = String)]
    pub outcome: Outcome,
    /// What the run did, or why it failed.
    pub message: String,
    /// What it did as named figures (`customers`: "300"), from which the console words the run
    /// in the reader's language; empty for a failed run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, String>,
}

/// What a run did: its message (in English, for logs and the API) and the same as named figures.
#[derive(Debug, Clone, Default)]
pub struct Done {
    pub message: String,
    pub figures: BTreeMap<String, String>,
}

impl Done {
    /// A run's outcome: its English message and its figures by name.
    pub fn new(message: String, figures: &[(&str, String)]) -> Done {
        Done {
            message,
            figures: figures.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        }
    }
}

/// A job's row in the `jobs` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobRecord {
    /// When it is next due (unix millis).
    #[serde(default)]
    pub next_due: i64,
    /// Set while a run is under way; still set after a crash, which makes the next run a redo.
    #[serde(default)]
    pub running_since: Option<i64>,
    #[serde(default)]
    pub last: Option<JobRun>,
    /// The last run that succeeded.
    #[serde(default)]
    pub last_ok: Option<JobRun>,
    #[serde(default)]
    pub runs: u64,
    /// Runs that stopped half way and were redone.
    #[serde(default)]
    pub interrupted: u64,
}

/// What a job's body is handed.
pub struct JobContext {
    /// The instant the run is for (the clock's now when it started).
    pub now: i64,
    pub tz: Tz,
    pub trigger: Trigger,
    /// Set when the server is stopping: a job that waits for something should give up.
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
}

/// The final writes of a job, applied in the transaction that records its outcome. Returns what
/// the run did. May be called more than once (the writer retries a group), so it must not
/// consume what it captured.
pub type Finish = Box<dyn FnMut(&mut Tx) -> Result<Done, store::Error> + Send>;

/// A job's body: does its work (its own chunked writes included) and returns its final writes.
pub type Body = Arc<dyn Fn(&Store, &JobContext) -> anyhow::Result<Finish> + Send + Sync>;

pub struct Job {
    pub name: &'static str,
    /// One line for the Settings page.
    pub about: &'static str,
    pub schedule: Schedule,
    pub body: Body,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no job is called {0:?}")]
    Unknown(String),
    #[error("job {0:?} is running already")]
    Running(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for JobError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            JobError::Unknown(_) => ErrorCode::NotFound,
            JobError::Running(_) => ErrorCode::Conflict,
            JobError::Store(_) => ErrorCode::Internal,
        }
    }
}

/// A job as the API and the Settings page show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub name: String,
    pub about: String,
    /// In English: "daily at 00:00".
    pub schedule: String,
    /// The time of day of a daily job (HH:MM, shop time), for pages that say it their own way.
    pub daily_at: Option<String>,
    /// RFC 3339 in the shop's time zone.
    pub next_due: String,
    pub running_since: Option<String>,
    pub runs: u64,
    pub interrupted: u64,
    pub last: Option<JobRun>,
}

/// The runner: the registered jobs and one lock per job so that a run never overlaps another.
pub struct Runner {
    store: Store,
    tz: Tz,
    clock: Clock,
    jobs: Vec<Job>,
    locks: HashMap<&'static str, Mutex<()>>,
    wake: tokio::sync::Notify,
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl Runner {
    /// Registers `jobs`, writing a row for each job the store does not know yet (due at once, so
    /// a new shop is analysed on its first start).
    pub fn new(store: Store, tz: Tz, jobs: Vec<Job>) -> Result<Arc<Runner>, store::Error> {
        let clock = store.clock().clone();
        let now = clock.now_ms();
        let names: Vec<&'static str> = jobs.iter().map(|j| j.name).collect();
        store.write_blocking(move |tx| {
            for name in &names {
                if tx.job::<JobRecord>(name)?.is_none() {
                    tx.put_job(
                        name,
                        &JobRecord {
                            next_due: now,
                            ..Default::default()
                        },
                    )?;
                }
            }
            Ok::<_, store::Error>(())
        })?;
        let locks = jobs.iter().map(|j| (j.name, Mutex::new(()))).collect();
        Ok(Arc::new(Runner {
            store,
            tz,
            clock,
            jobs,
            locks,
            wake: tokio::sync::Notify::new(),
            stopping: Default::default(),
        }))
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Wakes the loop to look at due times again (the test clock moved).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    fn job(&self, name: &str) -> Result<&Job, JobError> {
        self.jobs
            .iter()
            .find(|j| j.name == name)
            .ok_or_else(|| JobError::Unknown(name.to_string()))
    }

    /// Runs until `stop` turns true: sleeps until the earliest due job, runs what is due.
    pub async fn run_loop(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        // Tell a running job as soon as the server stops (this loop is inside the job then).
        let stopping = self.stopping.clone();
        let mut told = stop.clone();
        tokio::spawn(async move {
            let _ = told.wait_for(|s| *s).await;
            stopping.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        loop {
            if *stop.borrow() {
                return;
            }
            let due = match self.due_jobs() {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "the job runner cannot read its jobs");
                    Vec::new()
                }
            };
            let now = self.clock.now_ms();
            let mut earliest = i64::MAX;
            for (name, rec) in due {
                if rec.next_due > now {
                    earliest = earliest.min(rec.next_due);
                    continue;
                }
                let trigger = if rec.running_since.is_some() {
                    Trigger::Redo
                } else if now - rec.next_due > 60_000 {
                    Trigger::CatchUp
                } else {
                    Trigger::Schedule
                };
                let runner = self.clone();
                let name = name.clone();
                let outcome = tokio::task::spawn_blocking(move || runner.run_blocking(&name, trigger)).await;
                match outcome {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "job could not run"),
                    Err(e) => tracing::error!(error = %e, "job panicked"),
                }
                earliest = self.clock.now_ms();
            }
            // Wake at the earliest due time, at least once a minute (clock changes, new jobs).
            let wait = (earliest - self.clock.now_ms()).clamp(0, 60_000) as u64;
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {}
                _ = self.wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    fn due_jobs(&self) -> Result<Vec<(String, JobRecord)>, store::Error> {
        let read = self.store.read()?;
        let mut out = Vec::new();
        for job in &self.jobs {
            if let Some(rec) = read.job::<JobRecord>(job.name)? {
                out.push((job.name.to_string(), rec));
            }
        }
        Ok(out)
    }

    /// Runs a job now on this thread and records the outcome. A manual run while the job runs
    /// already is refused; a due run waits for it.
    pub fn run_blocking(&self, name: &str, trigger: Trigger) -> Result<JobRun, JobError> {
        let job = self.job(name)?;
        let lock = &self.locks[job.name];
        let _guard = match trigger {
            Trigger::Manual => lock.try_lock().map_err(|_| JobError::Running(name.to_string()))?,
            _ => lock.lock().unwrap_or_else(|p| p.into_inner()),
        };
        if trigger != Trigger::Manual {
            // A due run that waited for a manual one may find the job done for now.
            let rec = self.store.read()?.job::<JobRecord>(job.name)?.unwrap_or_default();
            if rec.running_since.is_none()
                && rec.next_due > self.clock.now_ms()
                && let Some(last) = rec.last
            {
                return Ok(last);
            }
        }
        let started = self.clock.now_ms();
        let clock_start = std::time::Instant::now();
        let job_name = job.name;
        // Mark the run as under way, durably: if the process dies before the end, the next start
        // sees the mark and redoes the run.
        let previous = self.store.write_blocking(move |tx| {
            let mut rec = tx.job::<JobRecord>(job_name)?.unwrap_or_default();
            let interrupted = rec.running_since.is_some();
            rec.running_since = Some(started);
            if interrupted {
                rec.interrupted += 1;
            }
            tx.put_job(job_name, &rec)?;
            Ok::<_, store::Error>(interrupted)
        })?;
        let trigger = if previous && trigger != Trigger::Manual {
            Trigger::Redo
        } else {
            trigger
        };
        tracing::info!(job = job_name, ?trigger, "job started");
        let ctx = JobContext {
            now: started,
            tz: self.tz,
            trigger,
            stopping: self.stopping.clone(),
        };
        let body = job.body.clone();
        let store = self.store.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&store, &ctx)))
            .unwrap_or_else(|p| Err(anyhow::anyhow!("the job panicked: {}", panic_message(&p))));
        let schedule = job.schedule;
        let tz = self.tz;
        let clock = self.clock.clone();
        let record = move |tx: &mut Tx, outcome: Outcome, done: Done| -> Result<JobRun, store::Error> {
            let finished = clock.now_ms();
            let run = JobRun {
                started_at: started,
                finished_at: finished,
                duration_ms: clock_start.elapsed().as_millis() as u64,
                trigger,
                outcome,
                message: done.message,
                figures: done.figures,
            };
            let mut rec = tx.job::<JobRecord>(job_name)?.unwrap_or_default();
            rec.running_since = None;
            rec.runs += 1;
            rec.last = Some(run.clone());
            match outcome {
                Outcome::Ok => {
                    rec.last_ok = Some(run.clone());
                    if trigger != Trigger::Manual || rec.next_due <= finished {
                        rec.next_due = schedule.next_after(finished, tz);
                    }
                }
                // A failed run is tried again in 15 minutes, or at its next time if sooner.
                Outcome::Failed => rec.next_due = schedule.next_after(finished, tz).min(finished + 15 * 60_000),
            }
            tx.put_job(job_name, &rec)?;
            Ok(run)
        };
        let run = match result {
            Ok(mut finish) => {
                let record_ok = record.clone();
                let written = self.store.write_blocking(move |tx| {
                    let done = finish(tx)?;
                    record_ok(tx, Outcome::Ok, done)
                });
                match written {
                    Ok(run) => run,
                    Err(e) => {
                        let failed = Done::new(format!("its results could not be stored: {e}"), &[]);
                        self.store
                            .write_blocking(move |tx| record(tx, Outcome::Failed, failed.clone()))?
                    }
                }
            }
            Err(e) => {
                let failed = Done::new(format!("{e:#}"), &[]);
                self.store
                    .write_blocking(move |tx| record(tx, Outcome::Failed, failed.clone()))?
            }
        };
        match run.outcome {
            Outcome::Ok => tracing::info!(job = job_name, ms = run.duration_ms, message = %run.message, "job done"),
            Outcome::Failed => tracing::error!(job = job_name, message = %run.message, "job failed"),
        }
        Ok(run)
    }

    /// Runs a job now (off the async threads) and waits for it.
    pub async fn run_now(self: &Arc<Self>, name: &str) -> Result<JobRun, JobError> {
        self.job(name)?;
        let runner = self.clone();
        let name = name.to_string();
        let run = tokio::task::spawn_blocking(move || runner.run_blocking(&name, Trigger::Manual))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        self.wake.notify_one();
        Ok(run)
    }

    /// Every job with its state, for the API and the Settings page.
    pub fn list(&self) -> Result<Vec<JobView>, store::Error> {
        let read = self.store.read()?;
        let mut out = Vec::new();
        for job in &self.jobs {
            let rec = read.job::<JobRecord>(job.name)?.unwrap_or_default();
            out.push(JobView {
                name: job.name.to_string(),
                about: job.about.to_string(),
                schedule: job.schedule.describe(),
                daily_at: match job.schedule {
                    Schedule::DailyAt(t) => Some(t.format("%H:%M").to_string()),
                },
                next_due: local_rfc3339(rec.next_due, self.tz),
                running_since: rec.running_since.map(|t| local_rfc3339(t, self.tz)),
                runs: rec.runs,
                interrupted: rec.interrupted,
                last: rec.last,
            });
        }
        Ok(out)
    }
}

/// RFC 3339 in the shop's time zone, to the second.
pub fn local_rfc3339(ms: i64, tz: Tz) -> String {
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_schedule_is_midnight_in_the_shop_time_zone() {
        let tz = chrono_tz::Asia::Seoul;
        let midnight = Schedule::DailyAt(NaiveTime::MIN);
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        // 23:30 in Seoul is 14:30 UTC; the next midnight in Seoul is 15:00 UTC.
        assert_eq!(
            midnight.next_after(at("2026-11-03T14:30:00Z"), tz),
            at("2026-11-03T15:00:00Z")
        );
        // Exactly at midnight: the next one is a day later.
        assert_eq!(
            midnight.next_after(at("2026-11-03T15:00:00Z"), tz),
            at("2026-11-04T15:00:00Z")
        );
        // New York's spring-forward day has a midnight; 02:30 does not exist and moves on an hour.
        let ny = chrono_tz::America::New_York;
        let half_two = Schedule::DailyAt(NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(
            half_two.next_after(at("2026-03-08T05:00:00Z"), ny),
            at("2026-03-08T07:30:00Z")
        );
    }
}
