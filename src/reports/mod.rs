//! Web-analytics reports (CONTRACT §8): a follower that keeps, from the event log, one row per
//! visit and per shop-local day the counts, sums and visitor bitmaps of every dimension value
//! (`rollup`, `follow`; built whole by `build`), and the reports read from them: the overview and
//! breakdowns (`query`), the funnel (`funnel`), cohorts (`cohorts`) and today so far (`today`). No
//! report scans the log. The products report (`products`) reads the writer's per-product days.

mod build;
pub mod cohorts;
mod follow;
pub mod funnel;
pub mod products;
pub mod query;
mod rollup;
mod slim;
pub mod today;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono_tz::Tz;

pub use build::Built;
use follow::{Follower, Mark};
pub use rollup::{Cell, Dim, Row};

use crate::store::{self, Store};
use crate::traffic::Agents;

/// The reports' tables and the follower that keeps them.
pub struct Reports {
    store: Store,
    pub tz: Tz,
    agents: Arc<Agents>,
    state: Mutex<Option<Follower>>,
    /// True while the tables are built from the whole log (reports answer `not_ready`).
    building: AtomicBool,
    /// Customers merged or erased, still to be taken out of the visits.
    gone: Mutex<BTreeSet<u64>>,
    /// Set when the notices of gone customers were missed: the visits are checked against the
    /// gone table at the next catch-up.
    sweep: AtomicBool,
    /// The writer's notices, read at each catch-up for the customers that went.
    notices: Mutex<tokio::sync::broadcast::Receiver<Arc<Vec<store::records::CustomerRow>>>>,
}

impl Reports {
    pub fn new(store: Store, tz: Tz, agents: Arc<Agents>) -> Arc<Reports> {
        Arc::new(Reports {
            notices: Mutex::new(store.customer_changes()),
            store,
            tz,
            agents,
            state: Mutex::new(None),
            building: AtomicBool::new(false),
            gone: Mutex::default(),
            sweep: AtomicBool::new(true),
        })
    }

    /// Notes customers that were merged or erased.
    pub fn gone(&self, ids: impl IntoIterator<Item = u64>) {
        self.gone.lock().expect("not poisoned").extend(ids);
    }

    /// Takes the customers merged or erased since the last call from the writer's notices.
    fn drain_notices(&self) {
        use tokio::sync::broadcast::error::TryRecvError;
        let mut notices = self.notices.lock().expect("not poisoned");
        loop {
            match notices.try_recv() {
                Ok(rows) => self.gone(rows.iter().filter(|r| !r.live).map(|r| r.id)),
                Err(TryRecvError::Lagged(_)) => self.sweep.store(true, Ordering::Relaxed),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
    }

    /// Brings the tables up to the log: builds them when they are missing, of another zone or
    /// version, or ahead of the log (only when `may_build`: else returns false); else applies the
    /// events since the mark. Blocking. Returns false when stopped or not built.
    pub fn catch_up(&self, stop: &AtomicBool, may_build: bool) -> Result<bool, store::Error> {
        if !may_build && self.building.load(Ordering::Acquire) {
            return Ok(false);
        }
        let mut state = self.state.lock().expect("not poisoned");
        if state.is_none() {
            let read = self.store.read()?;
            let last = read.last_seq()?;
            let mark = Mark::load(&read)?;
            drop(read);
            if !mark.as_ref().is_some_and(|m| m.fits(self.tz, last)) {
                // An empty log is built at once, by whoever asks first; a log with events is the
                // follower's to build while reports answer `not_ready`.
                if !may_build && last > 0 {
                    return Ok(false);
                }
                let started = std::time::Instant::now();
                // Reports asked for meanwhile answer `not_ready` rather than wait (an empty log is
                // built at once: they wait for that).
                self.building.store(last > 0, Ordering::Release);
                let built = build::rebuild(&self.store, self.tz, &self.agents, stop);
                self.building.store(false, Ordering::Release);
                let Some(built) = built? else {
                    return Ok(false);
                };
                tracing::info!(
                    events = built.events,
                    visits = built.visits,
                    days = built.days,
                    seconds = started.elapsed().as_secs_f64(),
                    "web reports built"
                );
                self.sweep.store(false, Ordering::Relaxed);
            }
            let read = self.store.read()?;
            let applied = Mark::load(&read)?.map_or(0, |m| m.applied);
            *state = Some(Follower {
                names: rollup::Names::load(&read)?,
                applied,
            });
        }
        let f = state.as_mut().expect("loaded above");
        self.drain_notices();
        if self.sweep.swap(false, Ordering::Relaxed) {
            let read = self.store.read()?;
            let with_visits: BTreeSet<u64> = read.web_customers()?.into_iter().collect();
            let gone = read.gone_customer_ids()?;
            self.gone(gone.into_iter().filter(|g| with_visits.contains(g)));
        }
        // What is committed now, and no further: under a steady stream of events a catch-up that
        // chased the log's end would never end, taking a core from ingest (on the 2-core bench,
        // /v1/batch fell by a third); the follower's next turn, or the next report, takes the rest.
        let target = self.store.read()?.last_seq()?;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            self.drain_notices();
            let gone = std::mem::take(&mut *self.gone.lock().expect("not poisoned"));
            if f.applied >= target && gone.is_empty() {
                break;
            }
            match follow::step(&self.store, self.tz, &self.agents, f, &gone) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.gone(gone);
                    return Err(e);
                }
            }
        }
        Ok(true)
    }

    /// Builds the tables again from the whole log (what `dangol reindex` does).
    pub fn rebuild(&self) -> Result<Option<Built>, store::Error> {
        let mut state = self.state.lock().expect("not poisoned");
        *state = None;
        let built = build::rebuild(&self.store, self.tz, &self.agents, &AtomicBool::new(false))?;
        Ok(built)
    }
}

/// How long the follower lets new events gather before it applies them.
const GATHER: Duration = Duration::from_millis(500);
/// Under load the wait grows to this many times the last catch-up's time (at most
/// [`MAX_GATHER`]), so that the follower takes at most a ninth of a core from ingest; a report
/// applies what is new itself, so it is exact however far behind the follower is.
const LOAD_FACTOR: u32 = 8;
const MAX_GATHER: Duration = Duration::from_secs(10);

/// Keeps the reports' tables in step with the log until `stop` turns true.
pub async fn follow(reports: Arc<Reports>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let stopping = Arc::new(AtomicBool::new(false));
    let flag = stopping.clone();
    let mut stop2 = stop.clone();
    tokio::spawn(async move {
        let _ = stop2.wait_for(|s| *s).await;
        flag.store(true, Ordering::Relaxed);
    });
    let mut committed = reports.store.committed_seq();
    let mut due = Some(tokio::time::Instant::now());
    let mut gather = GATHER;
    loop {
        let at = due.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        let mut fire = false;
        tokio::select! {
            changed = committed.changed() => {
                if changed.is_err() {
                    return;
                }
                due.get_or_insert_with(|| tokio::time::Instant::now() + gather);
            }
            _ = tokio::time::sleep_until(at), if due.is_some() => {
                due = None;
                fire = true;
            }
            _ = stop.wait_for(|s| *s) => return,
        }
        if !fire {
            continue;
        }
        let (r, s) = (reports.clone(), stopping.clone());
        let started = std::time::Instant::now();
        let done = tokio::task::spawn_blocking(move || r.catch_up(&s, true)).await;
        gather = (started.elapsed() * LOAD_FACTOR).clamp(GATHER, MAX_GATHER);
        match done {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "web reports could not catch up; trying again in 10 s");
                due = Some(tokio::time::Instant::now() + Duration::from_secs(10));
            }
            Err(e) => {
                tracing::error!(error = %e, "web reports catch-up failed; trying again in 10 s");
                due = Some(tokio::time::Instant::now() + Duration::from_secs(10));
            }
        }
    }
}
