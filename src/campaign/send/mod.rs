//! The campaign scheduler and the outbox, in the process and durable in redb (DESIGN.md §8).
//!
//! One loop, each pass:
//! 1. **Occurrences.** A one-off or daily campaign whose `next_due` has come queues its audience:
//!    one outbox row per (campaign, occurrence, customer), written in chunks; a chunk re-run after
//!    a crash finds its rows and adds nothing. `next_due` moves on only after the last chunk.
//!    Someone the campaign reached before is not queued again (or, with `repeat: daily`, not on
//!    the same day).
//! 2. **Triggers.** New events are read from the log after a cursor that moves in the same
//!    transaction as the triggers it produces; a matching event waits out its delay as a row of
//!    `campaign-triggers`. When it falls due, a cancelling event in between (an order after a cart)
//!    drops it; otherwise it becomes an outbox row.
//! 3. **Delivery.** Due outbox rows are handed to workers. A worker *claims* a row (consent, the
//!    cap and quiet hours are decided; the coupon is issued; the row is marked `sending`) in one
//!    commit, hands the message to the channel, and *finishes* it (`sent`, or retried later, or
//!    `failed`) in another. A crash between the two leaves the row `sending` and queued: the next
//!    start sends that one message again (and marks it `resent`). Nothing else is ever sent twice.
//!
//! Time comes from the job runner's clock, so tests drive campaigns across days.

mod deliver;
mod notices;
mod outbox;
mod preview;
mod queue;
mod triggers;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono_tz::Tz;
use roaring::RoaringTreemap;

use super::channel::Channels;
use super::link::Links;
use super::render::Renderer;
use super::settings::Settings;
use super::{Audience, CampaignRecord, Status, When};
use crate::clock::Clock;
use crate::segment::rule::Rule;
use crate::store::records::CustomerRecord;
use crate::store::{self, ReadTx, SendKey, Store};

pub use deliver::text_kind;
use notices::{consent_vars, ensure_system_campaigns, reconfirm_due};
pub use outbox::*;
pub use preview::{Estimate, Preview};
use queue::{Queueing, issue_coupon, may_queue, queue_one};
pub use triggers::passes;

/// A send more than this late counts as late (for campaigns that skip late sends).
const LATE_MS: i64 = 3_600_000;
/// Outbox rows written per commit when an occurrence is queued.
const CHUNK: usize = 2_000;
/// Attempts before a transient failure becomes a failure.
const MAX_ATTEMPTS: u32 = 5;

/// What the sender reads segments and recommendations with.
#[derive(Clone)]
pub struct Parts {
    pub columns: crate::customer::columns::Shared,
    pub segment_days: Arc<crate::segment::eval::AnalysisDays>,
    pub search: Option<Arc<crate::search::Search>>,
    pub holds: Option<Arc<crate::coupon::Holdings>>,
    pub recommend: Arc<crate::recommend::Engine>,
    /// Providers on this machine or a private network are refused (`--deny-private-targets`).
    pub deny_private_targets: bool,
}

/// A campaign's (and variant's) templates as of the campaign's last change (`updated_at`).
type Rendered = (i64, Arc<Renderer>);

/// The scheduler and its workers.
pub struct Sender {
    store: Store,
    tz: Tz,
    clock: Clock,
    pub links: Links,
    parts: Parts,
    wake: tokio::sync::Notify,
    channels: Mutex<Option<Arc<Channels>>>,
    renderers: Mutex<HashMap<(u64, Option<u8>), Rendered>>,
    in_flight: Mutex<HashSet<SendKey>>,
}

/// What a claim decided.
enum Claim {
    /// Nothing to do (already finished, or the campaign is paused).
    Nothing,
    Send(Box<Claimed>),
}

struct Claimed {
    campaign: CampaignRecord,
    customer_id: u64,
    customer: CustomerRecord,
    row: OutboxRow,
}

impl Sender {
    pub fn new(store: Store, tz: Tz, parts: Parts) -> Result<Arc<Sender>, store::Error> {
        let clock = store.clock().clone();
        let links = Links::load_or_create(&store)?;
        ensure_system_campaigns(&store, clock.now_ms(), tz)?;
        Ok(Arc::new(Sender {
            store,
            tz,
            clock,
            links,
            parts,
            wake: tokio::sync::Notify::new(),
            channels: Mutex::new(None),
            renderers: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
        }))
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Look at due work now (a campaign was launched, the clock moved, settings changed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The channels as the settings now say, rebuilt when they changed.
    /// Whether providers on this machine or a private network are refused.
    pub fn deny_private_targets(&self) -> bool {
        self.parts.deny_private_targets
    }

    pub fn channels(&self) -> Result<Arc<Channels>, String> {
        let settings = Settings::load(&self.store.read().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let mut slot = self.channels.lock().expect("not poisoned");
        if let Some(c) = slot.as_ref()
            && c.settings() == &settings
        {
            return Ok(c.clone());
        }
        let c = Arc::new(Channels::new(&settings, self.parts.deny_private_targets)?);
        *slot = Some(c.clone());
        Ok(c)
    }

    fn renderer(&self, id: u64, arm: Option<u8>, rec: &CampaignRecord) -> Result<Arc<Renderer>, String> {
        let mut cache = self.renderers.lock().expect("not poisoned");
        if let Some((at, r)) = cache.get(&(id, arm))
            && *at == rec.updated_at
        {
            return Ok(r.clone());
        }
        let r = Arc::new(Renderer::new(&rec.definition.content, &rec.definition.fallbacks)?);
        cache.insert((id, arm), (rec.updated_at, r.clone()));
        Ok(r)
    }

    /// Runs until `stop`: plans occurrences, follows triggers, delivers.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut events = self.store.committed_seq();
        loop {
            if *stop.borrow() {
                return;
            }
            let me = self.clone();
            let planned = tokio::task::spawn_blocking(move || me.plan_and_trigger()).await;
            let mut busy = match planned {
                Ok(Ok(n)) => n > 0,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "campaigns could not be planned");
                    false
                }
                Err(e) => {
                    tracing::error!(error = %e, "campaign planning panicked");
                    false
                }
            };
            match self.clone().deliver_due(&stop).await {
                Ok(n) => busy |= n > 0,
                Err(e) => tracing::error!(error = %e, "campaign delivery failed"),
            }
            if busy {
                continue;
            }
            let now = self.clock.now_ms();
            let next = self.next_due().unwrap_or(None).unwrap_or(i64::MAX);
            let wait = (next - now).clamp(1_000, 60_000) as u64;
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {}
                _ = self.wake.notified() => {}
                _ = events.changed() => {
                    // New events may trigger something (or carry a consent change): look after a
                    // second, so that a busy shop's events are read in one pass a second.
                    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
                }
                _ = stop.changed() => {}
            }
        }
    }

    /// The earliest time something is due: an occurrence, a trigger or a queued send.
    fn next_due(&self) -> Result<Option<i64>, store::Error> {
        let read = self.store.read()?;
        let mut next: Option<i64> = None;
        let mut take = |t: Option<i64>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        for (_, c) in read.campaigns::<CampaignRecord>()? {
            if c.status == Status::Active {
                take(c.next_due);
            }
        }
        take(read.next_trigger_due()?);
        take(read.next_send_due()?);
        Ok(next)
    }

    /// Steps 1 and 2: queue due occurrences, turn events into triggers, fire due triggers.
    /// Returns how much it did.
    pub fn plan_and_trigger(&self) -> Result<u64, store::Error> {
        let mut done = 0;
        let now = self.clock.now_ms();
        let campaigns = self.store.read()?.campaigns::<CampaignRecord>()?;
        // Audiences are read from the customer columns, built in the background after a start:
        // until they are, nothing due is decided (it would find nobody).
        let ready = self.parts.columns.read().expect("not poisoned").ready();
        if !ready {
            return self.scan_events(&campaigns, now);
        }
        for (id, c) in &campaigns {
            if c.status == Status::Active
                && c.next_due.is_some_and(|d| d <= now)
                && !matches!(c.definition.when, When::Trigger { .. })
            {
                done += self.queue_occurrence(*id, c, now)?;
            }
        }
        done += self.scan_events(&campaigns, now)?;
        done += self.scan_consents(&campaigns, now)?;
        done += self.fire_triggers(&campaigns, now)?;
        Ok(done)
    }

    /// The audience of a campaign now, as customer ids.
    pub fn audience(&self, read: &ReadTx, audience: &Audience, now: i64) -> Result<RoaringTreemap, store::Error> {
        let cols = self.parts.columns.read().expect("not poisoned");
        let env = crate::segment::eval::Env {
            cols: &cols,
            read,
            tz: self.tz,
            now,
            days: &self.parts.segment_days,
            search: self.parts.search.as_deref(),
            holds: self.parts.holds.as_deref(),
        };
        let everyone = Rule::Not(Box::new(Rule::Any(Vec::new())));
        let rule = match &audience.rule {
            Some(v) => Rule::parse(v).unwrap_or(Rule::Any(Vec::new())),
            None => everyone,
        };
        let mut ids = crate::segment::members_now(&rule, &env)?;
        if let Some(seg) = audience.segment_id {
            match crate::segment::saved::current_members(&env, seg) {
                Ok(m) => ids &= m,
                Err(crate::segment::saved::SegmentError::Store(e)) => return Err(e),
                // The segment was deleted: nobody.
                Err(_) => ids.clear(),
            }
        }
        Ok(ids)
    }
}
