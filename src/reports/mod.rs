//! Web-analytics reports (CONTRACT §8): a follower that keeps, from the event log, one row per
//! visit and per shop-local day the counts, sums and visitor bitmaps of every dimension value
//! (`rollup`, `follow`; built whole by `build`), and the reports read from them: the overview and
//! breakdowns (`query`), the funnel (`funnel`), cohorts (`cohorts`) and today so far (`today`). No
//! report scans the log; live (`live`) reads its newest end. The products report (`products`)
//! reads the writer's per-product days.

mod build;
pub mod cohorts;
mod follow;
pub mod funnel;
pub mod live;
pub mod products;
pub mod query;
mod rollup;
mod slim;
pub mod today;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono_tz::Tz;

pub use build::Built;
use follow::{Follower, Mark, Stepped};
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
    /// Reports waiting for the tables: the follower, which runs at the lowest CPU priority,
    /// gives way to them between customers (they apply the rest at theirs).
    waiting: AtomicUsize,
    /// The newest end of the log as the live report keeps it between answers, and the writer's
    /// notices it reads for customers merged or erased (whose events it must not show on).
    live: Mutex<(live::Window, Notices)>,
}

type Notices = tokio::sync::broadcast::Receiver<Arc<Vec<store::records::CustomerRow>>>;

impl Reports {
    pub fn new(store: Store, tz: Tz, agents: Arc<Agents>) -> Arc<Reports> {
        let live_notices = store.customer_changes();
        Arc::new(Reports {
            notices: Mutex::new(store.customer_changes()),
            store,
            tz,
            agents,
            state: Mutex::new(None),
            building: AtomicBool::new(false),
            gone: Mutex::default(),
            sweep: AtomicBool::new(true),
            waiting: AtomicUsize::new(0),
            live: Mutex::new((live::Window::default(), live_notices)),
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
    ///
    /// The follower asks with `may_build`; a report without. A report waiting for the follower
    /// makes it give way between customers, and then applies the rest itself.
    pub fn catch_up(&self, stop: &AtomicBool, may_build: bool) -> Result<bool, store::Error> {
        if !may_build && self.building.load(Ordering::Acquire) {
            return Ok(false);
        }
        let mut state = if may_build {
            self.state.lock().expect("not poisoned")
        } else {
            self.waiting.fetch_add(1, Ordering::AcqRel);
            let state = self.state.lock();
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            state.expect("not poisoned")
        };
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
            let give_way = || may_build && self.waiting.load(Ordering::Acquire) > 0;
            match follow::step(&self.store, self.tz, &self.agents, f, &gone, &give_way) {
                Ok(Stepped::Applied) => {}
                Ok(Stepped::Nothing) => break,
                Ok(Stepped::GaveWay) => {
                    self.gone(gone);
                    break;
                }
                Err(e) => {
                    self.gone(gone);
                    return Err(e);
                }
            }
        }
        Ok(true)
    }

    /// On an empty log, makes the (empty) tables at once, before the server takes a request:
    /// there is nothing to read, and reports of the first events must not wait for the
    /// follower's first turn (its thread runs at the lowest priority, and on a busy machine came
    /// after them: they answered `not_ready`).
    pub fn ready_if_empty(&self) -> Result<(), store::Error> {
        if self.store.read()?.last_seq()? == 0 {
            self.catch_up(&AtomicBool::new(false), true)?;
        }
        Ok(())
    }

    /// Who is on the shop now (the live report), at `now`. The window starts again when a
    /// customer was merged or erased (a merge gives their events another customer in place, an
    /// erasure takes them out: the window kept them as they were).
    pub fn live(&self, now: i64) -> Result<live::Live, store::Error> {
        use tokio::sync::broadcast::error::TryRecvError;
        let mut guard = self.live.lock().expect("not poisoned");
        let (window, notices) = &mut *guard;
        loop {
            match notices.try_recv() {
                Ok(rows) if rows.iter().all(|r| r.live) => {}
                Ok(_) | Err(TryRecvError::Lagged(_)) => *window = live::Window::default(),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        // Read under the lock: an answer of an older snapshot after a newer one would take the
        // window for another store's.
        window.now(&self.store.read()?, now, &self.agents)
    }

    /// Builds the tables again from the whole log (what `dangol reindex` does).
    pub fn rebuild(&self) -> Result<Option<Built>, store::Error> {
        let mut state = self.state.lock().expect("not poisoned");
        *state = None;
        let built = build::rebuild(&self.store, self.tz, &self.agents, &AtomicBool::new(false))?;
        Ok(built)
    }
}

/// The follower waits for a lull in the log: it applies new events once none has been committed
/// for this long. Ingest comes first: its commits wait for the one writer, which the follower's
/// writes also take, and on a 2-core machine its catch-ups took the CPU that a burst of
/// `/v1/batch` wanted (about a tenth of the events per second, measured interleaved in session 12).
const LULL: Duration = Duration::from_millis(500);
/// Without a lull, the follower takes its turn this long after the first event it has not applied
/// (or when its rest after the last turn is over, if later): a steady stream still has its tables
/// kept. A report applies what is new itself, so it is exact
/// however far behind the follower is.
const MAX_BEHIND: Duration = Duration::from_secs(30);
/// And under such a stream it waits at least this many times its last catch-up's time between
/// two, so that it takes at most a ninth of a core from ingest.
const LOAD_FACTOR: u32 = 8;

/// A catch-up asked of the follower's thread, and where its answer goes.
type Job = tokio::sync::oneshot::Sender<Result<bool, store::Error>>;

/// The follower's own thread, at the lowest CPU priority (nice 19): the tables are derived and
/// wait for ingest, which runs at the normal one. Without it, catching up on a burst of events
/// took a core the HTTP workers wanted: `/v1/track` right after a burst of `/v1/batch` fell by a
/// third on the 2-core bench. A report waiting for the tables makes the follower give way at its
/// next check (each event read, each customer redone or re-shared) and applies the rest itself
/// (`Reports::catch_up`): it waits for this thread only up to that check. The first turn, at the
/// start, runs at the normal priority: it is the first build of the tables when there is one,
/// which reports wait for (`not_ready`); on a loaded machine, at nice 19 it took minutes.
fn follower_thread(reports: Arc<Reports>, stopping: Arc<AtomicBool>) -> std::io::Result<std::sync::mpsc::Sender<Job>> {
    let (jobs, asked) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("dangol-reports".into())
        .spawn(move || {
            let mut first = true;
            for reply in asked {
                let done = reports.catch_up(&stopping, true);
                if std::mem::take(&mut first)
                    && let Err(e) = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
                {
                    tracing::warn!(error = %e, "the web reports' follower runs at the normal CPU priority");
                }
                let _ = reply.send(done);
            }
        })?;
    Ok(jobs)
}

/// Keeps the reports' tables in step with the log until `stop` turns true.
pub async fn follow(reports: Arc<Reports>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let stopping = Arc::new(AtomicBool::new(false));
    let flag = stopping.clone();
    let mut stop2 = stop.clone();
    tokio::spawn(async move {
        let _ = stop2.wait_for(|s| *s).await;
        flag.store(true, Ordering::Relaxed);
    });
    let jobs = match follower_thread(reports.clone(), stopping) {
        Ok(jobs) => jobs,
        Err(e) => {
            // Reports still apply what is new when asked.
            tracing::error!(error = %e, "the web reports' follower could not start");
            return;
        }
    };
    let mut committed = reports.store.committed_seq();
    // When the first event not applied yet was committed (None: none is waiting), the end of the
    // lull after the last commit, and the earliest the next catch-up may start (the load factor's
    // rest after the last).
    let mut behind_since: Option<tokio::time::Instant> = None;
    let mut due = tokio::time::Instant::now();
    let mut rest_until = tokio::time::Instant::now();
    // The first catch-up (a first build of the tables, which reports wait for) goes at once.
    let mut fire = true;
    loop {
        if !fire {
            let at = behind_since.map_or_else(
                || tokio::time::Instant::now() + Duration::from_secs(3600),
                |since| due.min(since + MAX_BEHIND).max(rest_until),
            );
            tokio::select! {
                changed = committed.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = tokio::time::Instant::now();
                    behind_since.get_or_insert(now);
                    due = now + LULL;
                }
                _ = tokio::time::sleep_until(at), if behind_since.is_some() => {
                    behind_since = None;
                    fire = true;
                }
                _ = stop.wait_for(|s| *s) => return,
            }
            if !fire {
                continue;
            }
        }
        fire = false;
        let started = std::time::Instant::now();
        let (reply, done) = tokio::sync::oneshot::channel();
        if jobs.send(reply).is_err() {
            return;
        }
        let done = done.await;
        // At most MAX_BEHIND: after a first build of minutes, the follower must not rest for
        // most of an hour (every report would apply the backlog itself meanwhile).
        rest_until = tokio::time::Instant::now() + (started.elapsed() * LOAD_FACTOR).min(MAX_BEHIND);
        match done {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "web reports could not catch up; trying again in 10 s");
                behind_since = Some(tokio::time::Instant::now());
                rest_until = tokio::time::Instant::now() + Duration::from_secs(10);
            }
            Err(_) => {
                // Its thread panicked; reports still apply what is new when asked.
                tracing::error!("the web reports' follower stopped");
                return;
            }
        }
    }
}
