//! Who is on the shop now (CONTRACT §8, `GET /api/v1/reports/live`): the distinct visitors with an
//! event in the last five minutes, the page each of them is on, and the latest events; bots left
//! out and counted. Reads the newest end of the log only, up to `MAX_READ` events, each decoded
//! slim (the fields a hit reads, borrowed).

use std::collections::HashMap;

use super::slim::Slim;
use crate::store::records::EventKind;
use crate::store::{self, ReadTx};
use crate::traffic::Agents;

/// What "now" looks back over.
pub const WINDOW_MS: i64 = 5 * 60_000;
/// The latest events listed.
pub const LATEST: usize = 50;
/// The most events read for one answer (a very busy shop's five minutes are cut there).
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

/// The shop now, at `now`.
pub fn now(read: &ReadTx, now: i64, agents: &Agents) -> Result<Live, store::Error> {
    let since = now - WINDOW_MS;
    let mut live = Live::default();
    // Each visitor's newest page within the window (the first one met, reading newest first).
    let mut on_page: HashMap<u64, Option<String>> = HashMap::new();
    read.for_each_latest_event_bytes(MAX_READ, |seq, bytes| {
        let e = Slim::read(seq, bytes)?;
        let recent = e.received_at >= since || e.timestamp >= since;
        if !recent && live.events.len() >= LATEST {
            return Ok(false);
        }
        if matches!(e.kind, EventKind::Identify | EventKind::Alias | EventKind::Group) {
            return Ok(true);
        }
        let hit = e.any_hit();
        if hit.user_agent.as_deref().is_some_and(|ua| agents.get(ua).bot) {
            live.bots_left_out += 1;
            return Ok(true);
        }
        if live.events.len() < LATEST {
            live.events.push(LiveEvent {
                kind: e.kind,
                event: e.event.map(str::to_string),
                customer: e.customer,
                at: e.timestamp,
                path: hit.path.as_deref().map(str::to_string),
                product_id: hit.product.as_deref().map(str::to_string),
            });
        }
        if recent && e.timestamp >= since && e.timestamp <= now + 60_000 {
            let page = on_page.entry(e.customer).or_insert(None);
            if page.is_none() && hit.page_view {
                *page = Some(hit.path.map_or_else(|| "/".to_string(), |p| p.into_owned()));
            }
        }
        Ok(true)
    })?;
    live.visitors_now = on_page.len() as u64;
    let mut pages: HashMap<String, u64> = HashMap::new();
    for path in on_page.into_values().flatten() {
        *pages.entry(path).or_default() += 1;
    }
    live.pages = pages.into_iter().collect();
    live.pages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(live)
}
