//! Who is on the shop now (CONTRACT §8, `GET /api/v1/reports/live`): the distinct visitors with an
//! event in the last five minutes, the page each of them is on, and the latest events; bots left
//! out and counted. The newest end of the log is kept between answers (`Window`): each answer
//! decodes only the events stored since the one before (slim: the fields a hit reads), so a busy
//! shop's five minutes are not read again every few seconds.

use std::collections::{HashMap, VecDeque};

use super::slim::Slim;
use crate::store::records::EventKind;
use crate::store::{self, ReadTx};
use crate::traffic::Agents;

/// What "now" looks back over.
pub const WINDOW_MS: i64 = 5 * 60_000;
/// The latest events listed.
pub const LATEST: usize = 50;
/// The most events read for one answer, and kept (a very busy shop's five minutes are cut there).
pub const MAX_READ: usize = 20_000;

/// An event as the live view lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    pub kind: EventKind,
    pub event: Option<String>,
    pub customer: u64,
    pub at: i64,
    pub path: Option<String>,
    pub product_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub visitors_now: u64,
    /// (path, visitors on it now), most visitors first.
    pub pages: Vec<(String, u64)>,
    /// Newest first.
    pub events: Vec<LiveEvent>,
    /// Bot events seen while reading (left out of everything above).
    pub bots_left_out: u64,
}

/// An event of the window, as the live view needs it.
#[derive(Debug, Clone)]
struct Seen {
    event: LiveEvent,
    received_at: i64,
    page_view: bool,
    bot: bool,
}

impl Seen {
    fn recent(&self, since: i64) -> bool {
        self.received_at >= since || self.event.at >= since
    }
}

/// The newest end of the log as the live view keeps it between answers.
#[derive(Debug, Default)]
pub struct Window {
    /// The last sequence read.
    seq: u64,
    /// Oldest first: the events of the last five minutes, and at least the [`LATEST`] listed.
    seen: VecDeque<Seen>,
    /// How many of `seen` are not bots'.
    listed: usize,
}

impl Window {
    /// The shop now, at `now`: the events stored since the last answer read and added, those out
    /// of the window let go.
    pub fn now(&mut self, read: &ReadTx, now: i64, agents: &Agents) -> Result<Live, store::Error> {
        let since = now - WINDOW_MS;
        if read.last_seq()? < self.seq {
            // Another store under the same server (a restored backup): start again.
            *self = Window::default();
        }
        let (known, first) = (self.seq, self.seq == 0);
        let mut new: Vec<Seen> = Vec::new();
        let mut listed = 0;
        let mut caught_up = first;
        read.for_each_latest_event_bytes(MAX_READ, |seq, bytes| {
            if seq <= known {
                caught_up = true;
                return Ok(false);
            }
            let e = Slim::read(seq, bytes)?;
            let recent = e.received_at >= since || e.timestamp >= since;
            if first && !recent && listed >= LATEST {
                return Ok(false);
            }
            if matches!(e.kind, EventKind::Identify | EventKind::Alias | EventKind::Group) {
                return Ok(true);
            }
            let hit = e.any_hit();
            let bot = hit.user_agent.as_deref().is_some_and(|ua| agents.get(ua).bot);
            listed += usize::from(!bot);
            new.push(Seen {
                event: LiveEvent {
                    kind: e.kind,
                    event: e.event.map(str::to_string),
                    customer: e.customer,
                    at: e.timestamp,
                    path: hit.path.as_deref().map(str::to_string),
                    product_id: hit.product.as_deref().map(str::to_string),
                },
                received_at: e.received_at,
                page_view: hit.page_view,
                bot,
            });
            Ok(true)
        })?;
        self.seq = read.last_seq()?.max(known);
        if !caught_up && !first {
            // More came since the last answer than one reads: what was kept is older than all of it.
            self.seen.clear();
            self.listed = 0;
        }
        for s in new.into_iter().rev() {
            self.listed += usize::from(!s.bot);
            self.seen.push_back(s);
        }
        // Let go of what is out of the window, keeping the latest events listed.
        while let Some(front) = self.seen.front() {
            if front.recent(since) || (!front.bot && self.listed <= LATEST) {
                break;
            }
            self.listed -= usize::from(!front.bot);
            self.seen.pop_front();
        }
        while self.seen.len() > MAX_READ {
            let front = self.seen.pop_front().expect("longer than MAX_READ");
            self.listed -= usize::from(!front.bot);
        }
        Ok(self.answer(since, now))
    }

    fn answer(&self, since: i64, now: i64) -> Live {
        let mut live = Live::default();
        // Each visitor's newest page within the window (the first one met, newest first).
        let mut on_page: HashMap<u64, Option<&str>> = HashMap::new();
        for s in self.seen.iter().rev() {
            let recent = s.recent(since);
            if s.bot {
                live.bots_left_out += u64::from(recent);
                continue;
            }
            if live.events.len() < LATEST {
                live.events.push(s.event.clone());
            }
            let e = &s.event;
            if recent && e.at >= since && e.at <= now + 60_000 {
                let page = on_page.entry(e.customer).or_insert(None);
                if page.is_none() && s.page_view {
                    *page = Some(e.path.as_deref().unwrap_or("/"));
                }
            }
        }
        live.visitors_now = on_page.len() as u64;
        let mut pages: HashMap<&str, u64> = HashMap::new();
        for path in on_page.into_values().flatten() {
            *pages.entry(path).or_default() += 1;
        }
        live.pages = pages.into_iter().map(|(p, n)| (p.to_string(), n)).collect();
        live.pages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        live
    }
}
