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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono_tz::Tz;
use roaring::RoaringTreemap;
use serde::{Deserialize, Serialize};

use super::body::Text;
use super::channel::{Channels, Email, Outgoing};
use super::law::{self, Skip, Verdict};
use super::link::Links;
use super::render::{self, CouponVars, CustomerVars, ProductVars, Renderer, ShopVars, Vars};
use super::settings::Settings;
use super::{Audience, CampaignRecord, Channel, Late, Occurrence, Purpose, Repeat, Status, When, templates};
use crate::clock::Clock;
use crate::segment::rule::Rule;
use crate::store::records::{ConsentChannel, CustomerRecord};
use crate::store::{self, ReadTx, SendKey, Store, Touch, Tx};

/// A send more than this late counts as late (for campaigns that skip late sends).
const LATE_MS: i64 = 3_600_000;
/// Outbox rows written per commit when an occurrence is queued.
const CHUNK: usize = 2_000;
/// Attempts before a transient failure becomes a failure.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Waiting in the queue.
    Queued,
    /// Quiet hours: waiting until they end.
    Held,
    /// Claimed by a worker and handed (or being handed) to the channel.
    Sending,
    Sent,
    /// The channel failed it for good or too often.
    Failed,
    /// Not sent, for the reason in `skip`.
    Skipped,
}

/// One outbox row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Send {
    pub state: SendState,
    pub channel: Channel,
    pub queued_at: i64,
    /// Where the row sits in the queue (while queued, held or sending).
    pub due: i64,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub skip: Option<Skip>,
    /// Held by quiet hours at least once.
    #[serde(default)]
    pub held: bool,
    /// Sent again after a crash left it `sending`.
    #[serde(default)]
    pub resent: bool,
    #[serde(default)]
    pub sent_at: Option<i64>,
    /// The channel's answer, or the last error.
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// The product that triggered it (a viewed or carted product).
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub coupon_code: Option<String>,
    /// Accepted by the mail server (email), or reported delivered by the provider (texts).
    #[serde(default)]
    pub delivered_at: Option<i64>,
    #[serde(default)]
    pub opened_at: Option<i64>,
    #[serde(default)]
    pub clicked_at: Option<i64>,
    #[serde(default)]
    pub unsubscribed_at: Option<i64>,
}

impl Send {
    /// A new row, queued at `now`.
    fn queued(channel: Channel, now: i64, product: Option<String>) -> Send {
        Send {
            state: SendState::Queued,
            channel,
            queued_at: now,
            due: now,
            attempts: 0,
            skip: None,
            held: false,
            resent: false,
            sent_at: None,
            result: None,
            address: None,
            product,
            coupon_code: None,
            delivered_at: None,
            opened_at: None,
            clicked_at: None,
            unsubscribed_at: None,
        }
    }
}

/// Per campaign and customer: what "never twice" and "once a day" are checked against.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Recipient {
    /// When the person was last queued (an occurrence or a fired trigger).
    #[serde(default)]
    pub last_queued: Option<i64>,
    #[serde(default)]
    pub sends: u32,
    #[serde(default)]
    pub last_sent: Option<i64>,
    /// A trigger waiting out its delay, due then.
    #[serde(default)]
    pub pending_trigger: Option<i64>,
}

/// A row of `customer-messages`: what a customer received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivered {
    pub channel: Channel,
    pub ad: bool,
    pub occurrence: i64,
}

/// A behaviour trigger waiting out its delay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Triggered {
    /// When the event happened.
    pub at: i64,
    pub seq: u64,
    #[serde(default)]
    pub product: Option<String>,
}

/// A campaign's counts on one shop-local day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayCounts {
    /// Put in the outbox.
    #[serde(default)]
    pub targeted: u64,
    /// Held by quiet hours (each message once).
    #[serde(default)]
    pub held: u64,
    /// Not sent, by reason (`no_consent`, `capped`, `cancelled`, …).
    #[serde(default)]
    pub skipped: BTreeMap<String, u64>,
    /// Handed to the channel and accepted (SMTP 250, the provider's 2xx).
    #[serde(default)]
    pub sent: u64,
    #[serde(default)]
    pub failed: u64,
    /// Email accepted by the receiving server; texts and Kakao reported delivered by the
    /// provider (`POST /v1/m/r/TOKEN`).
    #[serde(default)]
    pub delivered: u64,
    /// Reported undelivered by the provider after it accepted the message.
    #[serde(default)]
    pub undelivered: u64,
    /// Sent again after a crash.
    #[serde(default)]
    pub resent: u64,
    #[serde(default)]
    pub opened: u64,
    #[serde(default)]
    pub clicked: u64,
    #[serde(default)]
    pub unsubscribed: u64,
}

/// Adds to a campaign's counts of the day `at` falls on.
pub fn bump_day(
    tx: &mut Tx,
    campaign: u64,
    at: i64,
    tz: Tz,
    f: impl FnOnce(&mut DayCounts),
) -> Result<(), store::Error> {
    let day = crate::analysis::local_day(at, tz);
    let mut d: DayCounts = tx.campaign_day(campaign, day)?;
    f(&mut d);
    tx.put_campaign_day(campaign, day, &d)
}

/// What the sender reads segments and recommendations with.
#[derive(Clone)]
pub struct Parts {
    pub columns: crate::customer::columns::Shared,
    pub segment_days: Arc<crate::segment::eval::AnalysisDays>,
    pub search: Option<Arc<crate::search::Search>>,
    pub holds: Option<Arc<crate::coupon::Holdings>>,
    pub recommend: Arc<crate::recommend::Engine>,
}

/// The scheduler and its workers.
pub struct Sender {
    store: Store,
    tz: Tz,
    clock: Clock,
    pub links: Links,
    parts: Parts,
    wake: tokio::sync::Notify,
    channels: Mutex<Option<Arc<Channels>>>,
    renderers: Mutex<HashMap<u64, (i64, Arc<Renderer>)>>,
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
    row: Send,
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
    pub fn channels(&self) -> Result<Arc<Channels>, String> {
        let settings = Settings::load(&self.store.read().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let mut slot = self.channels.lock().expect("not poisoned");
        if let Some(c) = slot.as_ref()
            && c.settings() == &settings
        {
            return Ok(c.clone());
        }
        let c = Arc::new(Channels::new(&settings)?);
        *slot = Some(c.clone());
        Ok(c)
    }

    fn renderer(&self, id: u64, rec: &CampaignRecord) -> Result<Arc<Renderer>, String> {
        let mut cache = self.renderers.lock().expect("not poisoned");
        if let Some((at, r)) = cache.get(&id)
            && *at == rec.updated_at
        {
            return Ok(r.clone());
        }
        let r = Arc::new(Renderer::new(&rec.input.content, &rec.input.fallbacks)?);
        cache.insert(id, (rec.updated_at, r.clone()));
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
                && !matches!(c.input.when, When::Trigger { .. })
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

    fn queue_occurrence(&self, id: u64, c: &CampaignRecord, now: i64) -> Result<u64, store::Error> {
        let due = c.next_due.expect("due");
        let tz = self.tz;
        let late = now - due > LATE_MS && c.input.late == Late::Skip;
        let mut queued = 0u64;
        if !late {
            let ids: Vec<u64> = {
                let read = self.store.read()?;
                if c.input.template.as_deref() == Some(templates::CONSENT_RECONFIRM) {
                    reconfirm_due(&read, id, now)?
                } else {
                    self.audience(&read, &c.input.audience, now)?.iter().collect()
                }
            };
            let repeat = c.input.repeat;
            let channel = c.input.channel;
            for chunk in ids.chunks(CHUNK) {
                let chunk = chunk.to_vec();
                queued += self.store.write_blocking(move |tx| {
                    let mut n = 0u64;
                    for &customer in &chunk {
                        if queue_one(tx, id, due, customer, channel, repeat, None, now, tz)? {
                            n += 1;
                        }
                    }
                    if n > 0 {
                        bump_day(tx, id, now, tz, |d| d.targeted += n)?;
                    }
                    Ok::<_, store::Error>(n)
                })?;
            }
        }
        // The occurrence is done: move on (one catch-up occurrence stands for every missed one).
        self.store.write_blocking(move |tx| {
            let Some(mut rec) = tx.campaign::<CampaignRecord>(id)? else {
                return Ok(());
            };
            if rec.next_due != Some(due) {
                return Ok(());
            }
            rec.occurrences.push(Occurrence {
                due,
                at: now,
                queued,
                skipped_late: late,
            });
            if rec.occurrences.len() > 60 {
                rec.occurrences.remove(0);
            }
            rec.next_due = match rec.input.daily_plan() {
                Ok(Some(plan)) => plan.first_at_or_after(now.max(due) + 1, tz),
                _ => None,
            };
            if rec.next_due.is_none() {
                rec.status = Status::Done;
            }
            tx.put_campaign(id, &rec)?;
            Ok::<_, store::Error>(())
        })?;
        tracing::info!(campaign = id, queued, late, "campaign occurrence queued");
        Ok(queued.max(1))
    }

    /// Reads the events stored since the cursor and starts the triggers they match.
    fn scan_events(&self, campaigns: &[(u64, CampaignRecord)], now: i64) -> Result<u64, store::Error> {
        let triggered: Vec<(u64, CampaignRecord)> = campaigns
            .iter()
            .filter(|(_, c)| {
                c.status == Status::Active
                    && matches!(c.input.when, When::Trigger { .. })
                    && c.input.template.as_deref() != Some(templates::CONSENT_RESULT)
            })
            .cloned()
            .collect();
        let read = self.store.read()?;
        let cursor = read.meta::<u64>(CURSOR)?.unwrap_or(0);
        let last = read.last_seq()?;
        if cursor >= last {
            return Ok(0);
        }
        if triggered.is_empty() {
            // Nothing listens: the cursor stays, and a campaign launched later starts at its own
            // launch (below), not here.
            return Ok(0);
        }
        let from = triggered
            .iter()
            .map(|(_, c)| c.since_seq)
            .min()
            .unwrap_or(0)
            .max(cursor);
        let events = read.events_after(from, 5_000)?;
        drop(read);
        let Some(&(upto, _)) = events.last() else {
            return Ok(0);
        };
        let tz = self.tz;
        let events = Arc::new(events);
        let started = self.store.write_blocking(move |tx| {
            // The cursor moves only with the triggers it produced; a pass that lost a race with
            // another one changes nothing.
            if tx.meta::<u64>(CURSOR)?.unwrap_or(0) != cursor {
                return Ok::<_, store::Error>(0u64);
            }
            let mut n = 0;
            for (seq, ev) in events.iter() {
                if ev.kind != store::records::EventKind::Track {
                    continue;
                }
                let Some(name) = ev.event.as_deref() else { continue };
                // History loaded after the fact (an import of last year's orders) starts nothing:
                // only what happened in the last day does.
                if ev.timestamp < now - store::DAY_MS {
                    continue;
                }
                for (id, c) in &triggered {
                    let When::Trigger {
                        event,
                        filter,
                        delay,
                        min_count,
                        ..
                    } = &c.input.when
                    else {
                        continue;
                    };
                    if event != name || *seq <= c.since_seq || !filter.iter().all(|t| passes(&ev.properties, t)) {
                        continue;
                    }
                    let product = product_of(&ev.properties, |sku| tx.product_id_by_sku(sku))?;
                    if let Some(min) = min_count {
                        let touch = if name == "Product Added" {
                            Touch::Carted
                        } else {
                            Touch::Viewed
                        };
                        let count = match &product {
                            Some(p) => tx.interest_count(ev.customer, touch, &format!("p:{p}"))?,
                            None => 0,
                        };
                        if count < *min {
                            continue;
                        }
                    }
                    let mut r: Recipient = tx.recipient(*id, ev.customer)?.unwrap_or_default();
                    if r.pending_trigger.is_some() || !may_queue(&r, c.input.repeat, ev.timestamp, tz) {
                        continue;
                    }
                    let due = ev.timestamp + delay.ms();
                    r.pending_trigger = Some(due);
                    tx.put_recipient(*id, ev.customer, &r)?;
                    tx.put_trigger(
                        due,
                        *id,
                        ev.customer,
                        &Triggered {
                            at: ev.timestamp,
                            seq: *seq,
                            product,
                        },
                    )?;
                    n += 1;
                }
            }
            tx.put_meta(CURSOR, &upto)?;
            Ok(n)
        })?;
        Ok(started.max(1))
    }

    /// Follows the consent log: each change not from an import or the demo starts the consent
    /// result notice (one per person per pass, reporting the changes since the earliest).
    fn scan_consents(&self, campaigns: &[(u64, CampaignRecord)], now: i64) -> Result<u64, store::Error> {
        let read = self.store.read()?;
        let cursor = read.meta::<u64>(CONSENT_CURSOR)?.unwrap_or(0);
        let changes = read.consent_changes_after(cursor, 5_000)?;
        drop(read);
        let Some(&(upto, ..)) = changes.last() else {
            return Ok(0);
        };
        let notice = campaigns
            .iter()
            .find(|(_, c)| c.status == Status::Active && c.input.template.as_deref() == Some(templates::CONSENT_RESULT))
            .map(|(id, _)| *id);
        let mut first: BTreeMap<u64, i64> = BTreeMap::new();
        if notice.is_some() {
            for (_, customer, at, _, entry) in &changes {
                if entry
                    .as_ref()
                    .is_some_and(|e| e.source != "import" && e.source != "demo")
                {
                    let t = first.entry(*customer).or_insert(*at);
                    *t = (*t).min(*at);
                }
            }
        }
        let n = first.len() as u64;
        self.store.write_blocking(move |tx| {
            if tx.meta::<u64>(CONSENT_CURSOR)?.unwrap_or(0) != cursor {
                return Ok::<_, store::Error>(());
            }
            if let Some(id) = notice {
                for (&customer, &at) in &first {
                    tx.put_trigger(
                        now,
                        id,
                        customer,
                        &Triggered {
                            at,
                            seq: 0,
                            product: None,
                        },
                    )?;
                }
            }
            tx.put_meta(CONSENT_CURSOR, &upto)
        })?;
        Ok(n.max(1))
    }

    /// Turns due triggers into outbox rows, or drops them (cancelled, out of the audience, late).
    fn fire_triggers(&self, all: &[(u64, CampaignRecord)], now: i64) -> Result<u64, store::Error> {
        let read = self.store.read()?;
        // A paused campaign's triggers wait (until it resumes); the others' pass them by.
        let paused: HashSet<u64> = all
            .iter()
            .filter(|(_, c)| c.status == Status::Paused)
            .map(|(id, _)| *id)
            .collect();
        let due: Vec<(i64, u64, u64, Triggered)> = read.due_triggers(now, 1_000, |c| !paused.contains(&c))?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut campaigns: HashMap<u64, Option<CampaignRecord>> = HashMap::new();
        let mut audiences: HashMap<u64, Option<RoaringTreemap>> = HashMap::new();
        let mut decided: Vec<Decided> = Vec::new();
        for (at, id, customer, t) in due {
            let c = campaigns
                .entry(id)
                .or_insert_with(|| read.campaign::<CampaignRecord>(id).ok().flatten())
                .clone();
            let Some(c) = c else {
                decided.push((at, id, customer, t, Err(Skip::NotInAudience)));
                continue;
            };
            let When::Trigger { cancel_on, .. } = &c.input.when else {
                decided.push((at, id, customer, t, Err(Skip::NotInAudience)));
                continue;
            };
            // The person may have been merged into another since the event: their events moved.
            let current = crate::customer::get(&read, customer).map_or(customer, |(id, _)| id);
            let outcome = if c.status != Status::Active {
                Err(Skip::NotInAudience)
            } else if now - at > LATE_MS && c.input.late == Late::Skip {
                Err(Skip::Late)
            } else if !cancel_on.is_empty()
                && read
                    .customer_events_between_as::<Named>(current, t.at + 1, now)?
                    .iter()
                    .any(|e| e.event.as_deref().is_some_and(|n| cancel_on.iter().any(|c| c == n)))
            {
                Err(Skip::Cancelled)
            } else {
                let has_audience = c.input.audience.segment_id.is_some() || c.input.audience.rule.is_some();
                let members = audiences.entry(id).or_insert_with(|| {
                    has_audience
                        .then(|| self.audience(&read, &c.input.audience, now).ok())
                        .flatten()
                });
                match members {
                    Some(m) if !m.contains(current) => Err(Skip::NotInAudience),
                    _ => Ok(()),
                }
            };
            decided.push((at, id, customer, t, outcome));
        }
        drop(read);
        let n = decided.len() as u64;
        let tz = self.tz;
        let channels: HashMap<u64, (Channel, Repeat)> = campaigns
            .iter()
            .filter_map(|(id, c)| c.as_ref().map(|c| (*id, (c.input.channel, c.input.repeat))))
            .collect();
        let decided = Arc::new(decided);
        self.store.write_blocking(move |tx| {
            for (at, id, customer, t, outcome) in decided.iter() {
                if !tx.remove_trigger(*at, *id, *customer)? {
                    continue;
                }
                let mut r: Recipient = tx.recipient(*id, *customer)?.unwrap_or_default();
                r.pending_trigger = None;
                tx.put_recipient(*id, *customer, &r)?;
                match outcome {
                    Err(skip) => {
                        let reason = skip.as_str().to_string();
                        bump_day(tx, *id, now, tz, |d| *d.skipped.entry(reason).or_default() += 1)?;
                    }
                    Ok(()) => {
                        let Some(&(channel, repeat)) = channels.get(id) else {
                            continue;
                        };
                        if queue_one(tx, *id, t.at, *customer, channel, repeat, t.product.clone(), now, tz)? {
                            bump_day(tx, *id, now, tz, |d| d.targeted += 1)?;
                        }
                    }
                }
            }
            Ok::<_, store::Error>(())
        })?;
        Ok(n)
    }

    /// Step 3: hands the first thousand due outbox rows to workers, at most `workers` at once;
    /// returns how many rows it took up. (A thousand at a time, so that triggers and occurrences
    /// are looked at between them even while a big campaign goes out at a slow rate.)
    async fn deliver_due(self: Arc<Self>, stop: &tokio::sync::watch::Receiver<bool>) -> Result<u64, String> {
        let now = self.clock.now_ms();
        let due = {
            let read = self.store.read().map_err(|e| e.to_string())?;
            // A paused campaign's rows wait in the queue; the others' pass them by.
            let paused: HashSet<u64> = read
                .campaigns::<CampaignRecord>()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|(_, c)| c.status == Status::Paused || c.status == Status::Draft)
                .map(|(id, _)| id)
                .collect();
            read.due_sends(now, 1_000, |c| !paused.contains(&c))
                .map_err(|e| e.to_string())?
        };
        if due.is_empty() {
            return Ok(0);
        }
        let channels = self.channels()?;
        let workers = channels.settings().workers.max(1) as usize;
        let limit = Arc::new(tokio::sync::Semaphore::new(workers));
        let mut tasks = tokio::task::JoinSet::new();
        let mut taken = 0;
        for (at, key) in due {
            if *stop.borrow() {
                break;
            }
            if !self.in_flight.lock().expect("not poisoned").insert(key) {
                continue;
            }
            taken += 1;
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            let me = self.clone();
            let channels = channels.clone();
            tasks.spawn(async move {
                let result = me.deliver_one(at, key, &channels).await;
                me.in_flight.lock().expect("not poisoned").remove(&key);
                drop(permit);
                if let Err(e) = result {
                    tracing::error!(campaign = key.0, customer = key.2, error = %e, "a message could not be handled");
                }
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        Ok(taken)
    }

    /// Claims one row, sends it, finishes it.
    async fn deliver_one(self: &Arc<Self>, due: i64, key: SendKey, channels: &Arc<Channels>) -> Result<(), String> {
        let me = self.clone();
        let settings = channels.settings().clone();
        let claim = tokio::task::spawn_blocking(move || me.claim(due, key, &settings))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let Claim::Send(claimed) = claim else {
            return Ok(());
        };
        let me = self.clone();
        let settings = channels.settings().clone();
        let built = tokio::task::spawn_blocking(move || {
            let out = me.build(key, &claimed, &settings);
            (claimed, out)
        })
        .await
        .map_err(|e| e.to_string())?;
        let (claimed, out) = built;
        let result = match out {
            Ok(out) => channels.send(&out).await,
            Err(e) => Err(super::channel::Failure {
                transient: false,
                message: e,
            }),
        };
        let me = self.clone();
        let ad = claimed.campaign.input.purpose == Purpose::Ad;
        let channel = claimed.campaign.input.channel;
        tokio::task::spawn_blocking(move || me.finish(due, key, channel, ad, claimed.customer_id, result))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// Decides a due row inside one commit: skip it, hold it for quiet hours, or mark it `sending`
    /// (issuing its coupon) and hand it out.
    fn claim(&self, due: i64, key: SendKey, settings: &Settings) -> Result<Claim, store::Error> {
        let now = self.clock.now_ms();
        let tz = self.tz;
        let settings = settings.clone();
        let (campaign_id, _occ, customer_key) = key;
        let out = self.store.write_blocking(move |tx| {
            let Some(mut row) = tx.send_row::<Send>(key)? else {
                tx.unqueue_send(due, key)?;
                return Ok::<_, store::Error>(None);
            };
            if row.due != due || matches!(row.state, SendState::Sent | SendState::Failed | SendState::Skipped) {
                tx.unqueue_send(due, key)?;
                return Ok(None);
            }
            let Some(campaign) = tx.campaign::<CampaignRecord>(campaign_id)? else {
                tx.unqueue_send(due, key)?;
                return Ok(None);
            };
            if matches!(campaign.status, Status::Paused | Status::Draft) {
                return Ok(None);
            }
            let input = &campaign.input;
            // The person may have been merged into another since: send to the one that remains.
            let (customer_id, customer) = match crate::customer::get_in(tx, customer_key) {
                Some(found) => found,
                None => (
                    customer_key,
                    CustomerRecord {
                        erased_at: Some(now),
                        ..Default::default()
                    },
                ),
            };
            let recent = match &settings.cap {
                Some(cap) if input.purpose == Purpose::Ad => tx
                    .customer_messages_since::<Delivered>(customer_id, now - i64::from(cap.days) * store::DAY_MS)?
                    .iter()
                    .filter(|(_, _, d)| d.ad)
                    .count() as u32,
                _ => 0,
            };
            let channel_ready = match input.channel {
                Channel::Email => settings.smtp.is_some(),
                Channel::Sms | Channel::Lms => settings.sms.is_some(),
                _ => settings.kakao.is_some(),
            };
            let verdict = if !channel_ready {
                Verdict::Skip(Skip::NoChannel)
            } else {
                law::verdict(input.channel, input.purpose, &customer, &settings, now, tz, recent)
            };
            match verdict {
                Verdict::Skip(skip) => {
                    row.state = SendState::Skipped;
                    row.skip = Some(skip);
                    tx.unqueue_send(due, key)?;
                    tx.put_send_row(key, &row)?;
                    let reason = skip.as_str().to_string();
                    bump_day(tx, campaign_id, now, tz, |d| *d.skipped.entry(reason).or_default() += 1)?;
                    Ok(None)
                }
                Verdict::HoldUntil(until) => {
                    tx.unqueue_send(due, key)?;
                    tx.queue_send(until, key)?;
                    let first = !row.held;
                    row.state = SendState::Held;
                    row.held = true;
                    row.due = until;
                    tx.put_send_row(key, &row)?;
                    if first {
                        bump_day(tx, campaign_id, now, tz, |d| d.held += 1)?;
                    }
                    Ok(None)
                }
                Verdict::Send => {
                    if row.state == SendState::Sending {
                        // It was in hand when the server stopped: this is the one message a
                        // crash may repeat.
                        row.resent = true;
                        bump_day(tx, campaign_id, now, tz, |d| d.resent += 1)?;
                    }
                    row.state = SendState::Sending;
                    row.attempts += 1;
                    row.address = law::address(input.channel, &customer);
                    if let Some(coupon) = input.coupon_id
                        && row.coupon_code.is_none()
                    {
                        row.coupon_code = issue_coupon(tx, coupon, customer_id, now)?;
                    }
                    tx.put_send_row(key, &row)?;
                    Ok(Some(Box::new(Claimed {
                        campaign: campaign.clone(),
                        customer_id,
                        customer,
                        row: row.clone(),
                    })))
                }
            }
        })?;
        Ok(match out {
            Some(c) => Claim::Send(c),
            None => Claim::Nothing,
        })
    }

    /// The message for a claimed row: variables, templates, the law's labels.
    fn build(&self, key: SendKey, c: &Claimed, settings: &Settings) -> Result<Outgoing, String> {
        let read = self.store.read().map_err(|e| e.to_string())?;
        let vars = self
            .vars(
                &read,
                key,
                c.customer_id,
                &c.customer,
                &c.campaign,
                &c.row,
                settings,
                true,
            )
            .map_err(|e| e.to_string())?;
        let renderer = self.renderer(key.0, &c.campaign)?;
        let rendered = renderer.render(&vars)?;
        let input = &c.campaign.input;
        let mut rendered = law::label(input.channel, input.purpose, rendered, settings, &vars.unsubscribe_url);
        let address = c.row.address.clone().ok_or("no address")?;
        let message_id = format!("<{}.{}.{}@dangol>", key.0, key.1, key.2);
        Ok(match input.channel {
            Channel::Email => {
                let mut html = rendered
                    .html
                    .take()
                    .unwrap_or_else(|| render::html_of_text(&rendered.text));
                html.push_str(&format!(
                    "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">",
                    self.links.open_url(&settings.public_url, key)
                ));
                Outgoing::Email(Email {
                    to: address,
                    to_name: c.customer.name.clone(),
                    subject: rendered.subject.unwrap_or_default(),
                    text: rendered.text,
                    html,
                    unsubscribe_url: (input.purpose == Purpose::Ad).then(|| vars.unsubscribe_url.clone()),
                    message_id,
                })
            }
            kind => Outgoing::Text(Text {
                kind: text_kind(kind, &rendered.text),
                to: address,
                subject: rendered.subject,
                text: rendered.text,
                template_code: input.content.template_code.clone(),
                message_id,
                callback_url: Some(self.links.receipt_url(&settings.public_url, key)),
            }),
        })
    }

    /// What a message's templates see. `track` turns product links into tracked clicks.
    #[allow(clippy::too_many_arguments)]
    pub fn vars(
        &self,
        read: &ReadTx,
        key: SendKey,
        customer_id: u64,
        customer: &CustomerRecord,
        campaign: &CampaignRecord,
        row: &Send,
        settings: &Settings,
        track: bool,
    ) -> Result<Vars, store::Error> {
        let now = self.clock.now_ms();
        let link = |url: Option<String>| -> Option<String> {
            match url {
                Some(u) if track && campaign.input.channel == Channel::Email => {
                    Some(self.links.click_url(&settings.public_url, key, &u))
                }
                other => other,
            }
        };
        let product_vars = |id: &str| -> Result<Option<ProductVars>, store::Error> {
            Ok(read.product(id)?.map(|p| {
                let price = p.sale_price.or(p.price);
                ProductVars {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    price,
                    price_text: price
                        .map(|v| render::price_text(v, p.currency.as_deref()))
                        .unwrap_or_default(),
                    image_url: p.image_url.clone(),
                    url: link(p.url.clone()),
                    category: p.category.clone(),
                }
            }))
        };
        let mut recommendations = Vec::new();
        if let Some(spec) = &campaign.input.recommend {
            let strategy =
                crate::recommend::Strategy::parse(&spec.strategy).unwrap_or(crate::recommend::Strategy::ForYou);
            let engine = &self.parts.recommend;
            let history = engine.history(read, customer_id, now)?;
            let req = crate::recommend::Request {
                strategy,
                product: row.product.clone(),
                category: None,
                days: 30,
                limit: spec.limit,
            };
            for (id, _) in engine.recommend(&req, &history, now) {
                if let Some(p) = product_vars(&id)? {
                    recommendations.push(p);
                }
            }
        }
        // The cart: products carted and not bought since, newest first.
        let interests = read.interests_of(customer_id)?;
        let mut carted: Vec<(i64, &str)> = interests
            .iter()
            .filter(|r| r.touch == Touch::Carted)
            .filter_map(|r| r.item.strip_prefix("p:").map(|p| (r.last, p)))
            .filter(|(at, p)| {
                !interests
                    .iter()
                    .any(|b| b.touch == Touch::Purchased && b.item.strip_prefix("p:") == Some(p) && b.last >= *at)
            })
            .collect();
        carted.sort_by_key(|c| std::cmp::Reverse(c.0));
        let mut cart = Vec::new();
        for (_, p) in carted.into_iter().take(6) {
            if let Some(v) = product_vars(p)? {
                cart.push(v);
            }
        }
        let product = match &row.product {
            Some(p) => product_vars(p)?,
            None => None,
        };
        let coupon = match (campaign.input.coupon_id, &row.coupon_code) {
            (Some(id), Some(code)) => read.coupon::<crate::coupon::CouponRecord>(id)?.map(|c| {
                let hold: Option<crate::coupon::Hold> = read.coupon_hold(customer_id, id).ok().flatten();
                CouponVars {
                    code: code.clone(),
                    name: c.name.clone(),
                    discount: crate::coupon::discount_words(&c.discount),
                    expires: hold
                        .and_then(|h| crate::coupon::hold_expires(&c, &h))
                        .map(|t| crate::analysis::local_date(t, self.tz))
                        .unwrap_or_default(),
                }
            }),
            _ => None,
        };
        let first_name = customer
            .traits
            .get("first_name")
            .or_else(|| customer.traits.get("firstName"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| customer.name.as_deref().map(crate::value::given_name))
            .unwrap_or_default();
        Ok(Vars {
            customer: CustomerVars {
                id: customer_id,
                name: customer.name.clone().unwrap_or_default(),
                first_name,
                email: customer.email.clone().unwrap_or_default(),
                phone: customer.phone.clone().unwrap_or_default(),
                user_id: customer.user_id.clone().unwrap_or_default(),
                city: customer.city.clone().unwrap_or_default(),
                orders: customer.stats.orders_count,
                total_spent: customer.stats.total_spent,
            },
            coupon,
            recommendations,
            cart,
            product,
            shop: ShopVars {
                name: settings.sender_name.clone(),
                url: settings.shop_url.clone().unwrap_or_default(),
                contact: settings.sender_contact.clone(),
            },
            unsubscribe_url: self.links.unsubscribe_url(&settings.public_url, key),
            consent_changes: if campaign.input.template.as_deref() == Some(templates::CONSENT_RESULT) {
                read.consent_log(customer_id)?
                    .into_iter()
                    .filter(|(at, _, _)| *at >= key.1)
                    .map(|(at, ch, c)| consent_vars(ch, c.granted, at, self.tz))
                    .collect()
            } else {
                Vec::new()
            },
            consents: ConsentChannel::ALL
                .into_iter()
                .filter_map(|ch| {
                    let c = customer.consents.get(ch)?;
                    c.granted.then(|| consent_vars(ch, true, c.at, self.tz))
                })
                .collect(),
        })
    }

    /// Records the channel's answer: sent, retried later, or failed.
    fn finish(
        &self,
        due: i64,
        key: SendKey,
        channel: Channel,
        ad: bool,
        customer: u64,
        result: Result<String, super::channel::Failure>,
    ) -> Result<(), store::Error> {
        let now = self.clock.now_ms();
        let tz = self.tz;
        let ok = result.is_ok();
        self.store.write_blocking(move |tx| {
            let Some(mut row) = tx.send_row::<Send>(key)? else {
                return Ok::<_, store::Error>(());
            };
            tx.unqueue_send(due, key)?;
            match &result {
                Ok(answer) => {
                    row.state = SendState::Sent;
                    row.sent_at = Some(now);
                    row.result = Some(answer.clone());
                    if channel == Channel::Email {
                        // The receiving server took it: as far as SMTP can tell, delivered.
                        row.delivered_at = Some(now);
                        bump_day(tx, key.0, now, tz, |d| d.delivered += 1)?;
                    }
                    let mut r: Recipient = tx.recipient(key.0, customer)?.unwrap_or_default();
                    r.sends += 1;
                    r.last_sent = Some(now);
                    tx.put_recipient(key.0, customer, &r)?;
                    tx.put_customer_message(
                        customer,
                        now,
                        key.0,
                        &Delivered {
                            channel,
                            ad,
                            occurrence: key.1,
                        },
                    )?;
                    bump_day(tx, key.0, now, tz, |d| d.sent += 1)?;
                }
                Err(f) if f.transient && row.attempts < MAX_ATTEMPTS => {
                    // Tried again after 1, 2, 4, 8 minutes.
                    let later = now + 60_000 * (1i64 << row.attempts.saturating_sub(1).min(6));
                    row.state = SendState::Queued;
                    row.due = later;
                    row.result = Some(f.message.clone());
                    tx.queue_send(later, key)?;
                }
                Err(f) => {
                    row.state = SendState::Failed;
                    row.result = Some(f.message.clone());
                    bump_day(tx, key.0, now, tz, |d| d.failed += 1)?;
                }
            }
            tx.put_send_row(key, &row)?;
            Ok::<_, store::Error>(())
        })?;
        if !ok {
            tracing::warn!(campaign = key.0, customer = key.2, "a message was not accepted");
        }
        Ok(())
    }
}

const CURSOR: &str = "campaign-cursor";
/// The consent log's sequence read up to.
const CONSENT_CURSOR: &str = "consent-cursor";
/// Two years, for the reconfirmation.
const TWO_YEARS_MS: i64 = 730 * store::DAY_MS;

/// Who is due the two-yearly reconfirmation now: an ad consent (email, SMS, Kakao) given two
/// years ago or more and still standing, and no reconfirmation sent in the last two years.
fn reconfirm_due(read: &ReadTx, campaign: u64, now: i64) -> Result<Vec<u64>, store::Error> {
    #[derive(Deserialize)]
    struct Slim {
        #[serde(default)]
        consents: store::records::Consents,
        #[serde(default)]
        merged_into: Option<u64>,
        #[serde(default)]
        erased_at: Option<i64>,
    }
    let mut due = Vec::new();
    read.for_each_customer_as::<Slim>(|id, c| {
        if c.merged_into.is_some() || c.erased_at.is_some() {
            return;
        }
        let old_enough = [ConsentChannel::Email, ConsentChannel::Sms, ConsentChannel::Kakao]
            .into_iter()
            .filter_map(|ch| c.consents.get(ch))
            .any(|c| c.granted && c.at <= now - TWO_YEARS_MS);
        if old_enough {
            due.push(id);
        }
    })?;
    let mut out = Vec::with_capacity(due.len());
    for id in due {
        let r: Option<Recipient> = read.recipient(campaign, id)?;
        if r.and_then(|r| r.last_queued).is_none_or(|t| t <= now - TWO_YEARS_MS) {
            out.push(id);
        }
    }
    Ok(out)
}

fn consent_vars(ch: ConsentChannel, granted: bool, at: i64, tz: Tz) -> render::ConsentVars {
    render::ConsentVars {
        channel: match ch {
            ConsentChannel::Email => "이메일",
            ConsentChannel::Sms => "문자(SMS)",
            ConsentChannel::Kakao => "카카오톡",
            ConsentChannel::Night => "야간(21시~8시) 광고",
        }
        .into(),
        result: if granted { "동의" } else { "거부" }.into(),
        date: crate::analysis::local_date(at, tz),
    }
}

/// Makes the law's notice campaigns on a store that has none yet, active.
fn ensure_system_campaigns(store: &Store, now: i64, tz: Tz) -> Result<(), store::Error> {
    let read = store.read()?;
    let mut missing = false;
    for t in templates::system() {
        missing |= read.meta::<u64>(&format!("system-campaign:{}", t.key))?.is_none();
    }
    if !missing {
        // Every start after the first: no write.
        return Ok(());
    }
    store.write_blocking(move |tx| {
        for t in templates::system() {
            let key = format!("system-campaign:{}", t.key);
            if tx.meta::<u64>(&key)?.is_some() {
                continue;
            }
            let id = match super::create(tx, &t.input, now) {
                Ok(id) => id,
                Err(super::CampaignError::Store(e)) => return Err(e),
                Err(e) => unreachable!("the notices are valid campaigns: {e}"),
            };
            match super::activate(tx, id, now, tz) {
                Ok(_) => {}
                Err(super::CampaignError::Store(e)) => return Err(e),
                Err(e) => unreachable!("the notices launch: {e}"),
            }
            tx.put_meta(&key, &id)?;
        }
        Ok(())
    })
}

/// A due trigger and what becomes of it: (due, campaign, customer, trigger, queue or skip).
type Decided = (i64, u64, u64, Triggered, Result<(), Skip>);

/// The event name alone, to look for cancelling events without decoding the rest.
#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    event: Option<String>,
}

/// Whether a customer may be queued again for a campaign at `at`.
fn may_queue(r: &Recipient, repeat: Repeat, at: i64, tz: Tz) -> bool {
    match (repeat, r.last_queued) {
        (_, None) => true,
        (Repeat::Never, Some(_)) => false,
        (Repeat::Daily, Some(last)) => crate::analysis::local_day(last, tz) < crate::analysis::local_day(at, tz),
        (Repeat::Each, Some(_)) => true,
    }
}

/// Puts one outbox row in the queue unless the customer may not get this campaign again or the
/// row exists (a chunk re-run after a crash). Returns whether it queued.
#[allow(clippy::too_many_arguments)]
fn queue_one(
    tx: &mut Tx,
    campaign: u64,
    occurrence: i64,
    customer: u64,
    channel: Channel,
    repeat: Repeat,
    product: Option<String>,
    now: i64,
    tz: Tz,
) -> Result<bool, store::Error> {
    let key = (campaign, occurrence, customer);
    if tx.send_row::<Send>(key)?.is_some() {
        return Ok(false);
    }
    let mut r: Recipient = tx.recipient(campaign, customer)?.unwrap_or_default();
    if !may_queue(&r, repeat, now, tz) {
        return Ok(false);
    }
    r.last_queued = Some(now);
    tx.put_recipient(campaign, customer, &r)?;
    tx.put_send_row(key, &Send::queued(channel, now, product))?;
    tx.queue_send(now, key)?;
    Ok(true)
}

/// The code the customer holds of `coupon`, issuing one now if they hold none.
fn issue_coupon(tx: &mut Tx, coupon: u64, customer: u64, now: i64) -> Result<Option<String>, store::Error> {
    if let Some(h) = tx.coupon_hold::<crate::coupon::Hold>(customer, coupon)? {
        return Ok(h.codes.first().cloned());
    }
    let issued = crate::coupon::issue(tx, coupon, &[customer], "", "campaign", now)?;
    Ok(issued.and_then(|v| v.into_iter().next()).map(|(_, code)| code))
}

/// The product an e-commerce event is about: the catalogue id its first product line names (as
/// the writer counted the interest, SKUs resolved through `by_sku`).
fn product_of(
    props: &serde_json::Value,
    by_sku: impl Fn(&str) -> Result<Option<String>, store::Error>,
) -> Result<Option<String>, store::Error> {
    for line in crate::catalog::products_of_value(props) {
        if let Some(id) = crate::catalog::product_id_with(line, &by_sku)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Whether an event's properties pass a test. `products.X` passes when any product's X does.
pub fn passes(props: &serde_json::Value, t: &super::PropertyTest) -> bool {
    if let Some(inner) = t.property.strip_prefix("products.") {
        return props
            .get("products")
            .and_then(|p| p.as_array())
            .is_some_and(|items| items.iter().any(|p| test_value(p.get(inner), &t.op, &t.value)));
    }
    let mut v = Some(props);
    for part in t.property.split('.') {
        v = v.and_then(|x| x.get(part));
    }
    test_value(v, &t.op, &t.value)
}

fn test_value(v: Option<&serde_json::Value>, op: &str, want: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    let num = |v: &J| match v {
        J::Number(n) => n.as_f64(),
        J::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let text = |v: &J| match v {
        J::String(s) => Some(s.to_lowercase()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let Some(v) = v else {
        return op == "!=";
    };
    match op {
        ">" | ">=" | "<" | "<=" => match (num(v), num(want)) {
            (Some(a), Some(b)) => match op {
                ">" => a > b,
                ">=" => a >= b,
                "<" => a < b,
                _ => a <= b,
            },
            _ => false,
        },
        "=" | "!=" => {
            let eq = match (num(v), num(want)) {
                (Some(a), Some(b)) => a == b,
                _ => text(v).is_some() && text(v) == text(want),
            };
            eq == (op == "=")
        }
        "contains" => matches!((text(v), text(want)), (Some(a), Some(b)) if a.contains(&b)),
        "starts_with" => matches!((text(v), text(want)), (Some(a), Some(b)) if a.starts_with(&b)),
        "in" => want
            .as_array()
            .is_some_and(|items| items.iter().any(|w| test_value(Some(v), "=", w))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn property_tests_read_numbers_text_and_products() {
        let t = |property: &str, op: &str, value: serde_json::Value| super::super::PropertyTest {
            property: property.into(),
            op: op.into(),
            value,
        };
        let order = json!({"total": "59000", "products": [{"product_id": "p1", "category": "리빙/향초"}, {"product_id": 7, "category": "패션"}]});
        assert!(passes(&order, &t("total", ">=", json!(50000))));
        assert!(!passes(&order, &t("total", ">", json!(59000))));
        assert!(passes(&order, &t("products.category", "starts_with", json!("리빙"))));
        assert!(!passes(&order, &t("products.category", "=", json!("식품"))));
        assert!(passes(&order, &t("products.product_id", "in", json!(["x", "7"]))));
        assert!(passes(&order, &t("coupon", "!=", json!("X"))));
        let no_skus = |_: &str| Ok(None);
        assert_eq!(product_of(&order, no_skus).unwrap().as_deref(), Some("p1"));
        assert_eq!(
            product_of(&json!({"product_id": 42}), no_skus).unwrap().as_deref(),
            Some("42")
        );
        assert_eq!(
            product_of(&json!({"sku": "S-1"}), |_| Ok(Some("p7".into())))
                .unwrap()
                .as_deref(),
            Some("p7")
        );
    }

    #[test]
    fn a_long_sms_goes_as_lms() {
        assert_eq!(text_kind(Channel::Sms, &"가".repeat(45)), Channel::Sms);
        assert_eq!(text_kind(Channel::Sms, &"가".repeat(46)), Channel::Lms);
        assert_eq!(text_kind(Channel::Sms, &"a".repeat(90)), Channel::Sms);
        assert_eq!(text_kind(Channel::Friendtalk, &"가".repeat(500)), Channel::Friendtalk);
    }

    #[test]
    fn repeat_never_and_once_a_day() {
        let tz = chrono_tz::Asia::Seoul;
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        let fresh = Recipient::default();
        assert!(may_queue(&fresh, Repeat::Never, 0, tz));
        let r = Recipient {
            last_queued: Some(at("2026-11-23T23:00:00+09:00")),
            ..Default::default()
        };
        assert!(!may_queue(&r, Repeat::Never, at("2027-01-01T10:00:00+09:00"), tz));
        assert!(!may_queue(&r, Repeat::Daily, at("2026-11-23T23:30:00+09:00"), tz));
        assert!(may_queue(&r, Repeat::Daily, at("2026-11-24T00:00:00+09:00"), tz));
    }
}

/// A message as it would go out, for the editor's preview and test sends.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub customer_id: u64,
    /// The address it would go to.
    pub to: Option<String>,
    /// `send`, `hold_until` (quiet hours) or `skip`, as the law and the cap decide now.
    pub verdict: String,
    /// The reason of a skip, or the RFC 3339 time a hold ends.
    pub detail: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

impl Sender {
    /// What campaign `id` would send `customer_id` now: rendered and labelled, nothing written
    /// (a coupon the person does not hold yet shows as a placeholder code).
    pub fn preview(&self, id: u64, rec: &CampaignRecord, customer_id: u64) -> Result<Preview, super::CampaignError> {
        let read = self.store.read()?;
        let (customer_id, customer) = crate::customer::get(&read, customer_id)
            .map_err(|_| super::bad("customer_id", format!("no customer {customer_id}")))?;
        let settings = Settings::load(&read)?;
        let now = self.clock.now_ms();
        let input = &rec.input;
        let coupon_code = match input.coupon_id {
            Some(c) => Some(
                read.coupon_hold::<crate::coupon::Hold>(customer_id, c)?
                    .and_then(|h| h.codes.first().cloned())
                    .unwrap_or_else(|| "PREVIEW-CODE".into()),
            ),
            None => None,
        };
        let row = Send {
            address: law::address(input.channel, &customer),
            coupon_code,
            ..Send::queued(input.channel, now, latest_product(&read, customer_id)?)
        };
        let key = (id, 0, customer_id);
        let vars = self.vars(&read, key, customer_id, &customer, rec, &row, &settings, false)?;
        let renderer = Renderer::new(&input.content, &input.fallbacks).map_err(|e| super::bad("content", e))?;
        let rendered = renderer.render(&vars).map_err(|e| super::bad("content", e))?;
        let mut out = law::label(input.channel, input.purpose, rendered, &settings, &vars.unsubscribe_url);
        if input.channel == Channel::Email && out.html.is_none() {
            out.html = Some(render::html_of_text(&out.text));
        }
        let recent = match &settings.cap {
            Some(cap) => read
                .customer_messages_between::<Delivered>(customer_id, now - i64::from(cap.days) * store::DAY_MS, now)?
                .iter()
                .filter(|(_, _, d)| d.ad)
                .count() as u32,
            None => 0,
        };
        let (verdict, detail) =
            match law::verdict(input.channel, input.purpose, &customer, &settings, now, self.tz, recent) {
                Verdict::Send => ("send", None),
                Verdict::HoldUntil(t) => ("hold_until", Some(crate::jobs::local_rfc3339(t, self.tz))),
                Verdict::Skip(s) => ("skip", Some(s.as_str().to_string())),
            };
        Ok(Preview {
            customer_id,
            to: row.address,
            verdict: verdict.into(),
            detail,
            subject: out.subject,
            text: out.text,
            html: out.html,
        })
    }

    /// Sends the preview for `customer_id` to `to` (an email address or a phone number), marked
    /// as a test in its subject or text; nothing is recorded.
    pub async fn test_send(
        self: &Arc<Self>,
        id: u64,
        rec: &CampaignRecord,
        customer_id: u64,
        to: &str,
    ) -> Result<String, super::CampaignError> {
        let me = self.clone();
        let rec2 = rec.clone();
        let p = tokio::task::spawn_blocking(move || me.preview(id, &rec2, customer_id))
            .await
            .map_err(|e| super::bad("campaign", e.to_string()))??;
        let channels = self.channels().map_err(|e| super::bad("settings", e))?;
        if !channels.has(rec.input.channel) {
            return Err(super::bad(
                "channel",
                format!("{} is not set up in the messaging settings", rec.input.channel.as_str()),
            ));
        }
        let message_id = format!("<test.{id}.{}@dangol>", self.clock.now_ms());
        let out = match rec.input.channel {
            Channel::Email => {
                if !crate::value::is_email(to) {
                    return Err(super::bad("to", format!("{to:?} is not an email address")));
                }
                Outgoing::Email(Email {
                    to: to.to_string(),
                    to_name: None,
                    subject: format!("[테스트] {}", p.subject.unwrap_or_default()),
                    text: p.text,
                    html: p.html.unwrap_or_default(),
                    unsubscribe_url: None,
                    message_id,
                })
            }
            kind => {
                let digits: String = to.chars().filter(char::is_ascii_digit).collect();
                if digits.len() < 9 {
                    return Err(super::bad("to", format!("{to:?} is not a phone number")));
                }
                Outgoing::Text(Text {
                    kind,
                    to: digits,
                    subject: p.subject,
                    text: format!("[테스트] {}", p.text),
                    template_code: rec.input.content.template_code.clone(),
                    message_id,
                    callback_url: None,
                })
            }
        };
        channels
            .send(&out)
            .await
            .map_err(|f| super::bad("to", format!("the channel refused the test: {}", f.message)))
    }
}

/// The product a person touched last (the preview's stand-in for a trigger's product).
fn latest_product(read: &ReadTx, customer: u64) -> Result<Option<String>, store::Error> {
    Ok(read
        .interests_of(customer)?
        .into_iter()
        .filter(|r| r.item.starts_with("p:"))
        .max_by_key(|r| r.last)
        .and_then(|r| r.item.strip_prefix("p:").map(str::to_string)))
}

/// Forgets what was sent to an erased customer: their message rows, and the address kept on
/// each outbox row that went out. Returns how many messages.
pub fn forget(tx: &mut Tx, customer: u64) -> Result<u64, store::Error> {
    let messages = tx.take_customer_messages::<Delivered>(customer)?;
    for (_, campaign, d) in &messages {
        let key = (*campaign, d.occurrence, customer);
        if let Some(mut row) = tx.send_row::<Send>(key)? {
            row.address = None;
            tx.put_send_row(key, &row)?;
        }
    }
    Ok(messages.len() as u64)
}

/// The kind a text goes out as: an SMS longer than 90 bytes (Korean characters count two, as
/// the carriers count them) becomes an LMS.
pub fn text_kind(channel: Channel, text: &str) -> Channel {
    let bytes: usize = text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    if channel == Channel::Sms && bytes > 90 {
        Channel::Lms
    } else {
        channel
    }
}

/// What a signed link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    Unsubscribe,
    Open,
    Click,
    /// A provider's receipt: delivered (true) or not (false).
    Receipt(bool),
}

/// Records an unsubscribe, an open or a click of outbox row `key`. An unsubscribe withdraws the
/// consent of the campaign's channel at once (source `link`, logged with the campaign). Returns
/// false when the row is unknown.
pub fn feedback(tx: &mut Tx, key: SendKey, what: Feedback, now: i64, tz: Tz) -> Result<bool, store::Error> {
    let Some(mut row) = tx.send_row::<Send>(key)? else {
        return Ok(false);
    };
    let campaign = key.0;
    match what {
        Feedback::Open => {
            if row.opened_at.is_none() {
                row.opened_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.opened += 1)?;
            }
        }
        Feedback::Click => {
            if row.opened_at.is_none() {
                // A click shows the message was opened, whether or not images loaded.
                row.opened_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.opened += 1)?;
            }
            if row.clicked_at.is_none() {
                row.clicked_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.clicked += 1)?;
            }
        }
        Feedback::Receipt(delivered) => {
            if row.delivered_at.is_none() && row.state == SendState::Sent {
                if delivered {
                    row.delivered_at = Some(now);
                    bump_day(tx, campaign, now, tz, |d| d.delivered += 1)?;
                } else {
                    row.state = SendState::Failed;
                    row.result = Some("the provider reported it undelivered".into());
                    bump_day(tx, campaign, now, tz, |d| d.undelivered += 1)?;
                }
            }
        }
        Feedback::Unsubscribe => {
            // The reconfirmation's link refuses every ad channel; a campaign's, its own channel.
            let everything = tx
                .campaign::<CampaignRecord>(campaign)?
                .is_some_and(|c| c.input.template.as_deref() == Some(templates::CONSENT_RECONFIRM));
            let channels: Vec<ConsentChannel> = if everything {
                vec![
                    ConsentChannel::Email,
                    ConsentChannel::Sms,
                    ConsentChannel::Kakao,
                    ConsentChannel::Night,
                ]
            } else {
                vec![row.channel.consent()]
            };
            if let Some((customer, rec)) = crate::customer::get_in(tx, key.2) {
                let before = rec.consents.clone();
                let rec = tx.customer_mut(customer)?.expect("exists");
                let mut changed = false;
                for ch in channels {
                    changed |= crate::customer::set_consent(rec, ch, false, now, "link");
                }
                if changed {
                    rec.updated_at = rec.updated_at.max(now);
                    crate::customer::log_consents(tx, customer, &before, Some(campaign))?;
                }
            }
            if row.unsubscribed_at.is_none() {
                row.unsubscribed_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.unsubscribed += 1)?;
            }
        }
    }
    tx.put_send_row(key, &row)?;
    Ok(true)
}

/// The estimated size of a campaign before launch (TasOn's 예상규모).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    /// Customers in the audience now.
    pub audience: u64,
    /// Of those, the ones the channel may reach (consent given, where the message needs it).
    pub reachable: u64,
}

impl Sender {
    /// How many customers `audience` holds now, and how many of them `channel` may reach.
    pub fn estimate(&self, audience: &Audience, channel: Channel, purpose: Purpose) -> Result<Estimate, store::Error> {
        let read = self.store.read()?;
        let ids = self.audience(&read, audience, self.clock.now_ms())?;
        let cols = self.parts.columns.read().expect("not poisoned");
        let needs_consent = purpose == Purpose::Ad || channel == Channel::Friendtalk;
        let bitmap = &cols.consents[channel.consent() as usize];
        let reachable = if needs_consent {
            ids.iter()
                .filter(|id| cols.rows.get(id).is_some_and(|r| bitmap.contains(*r)))
                .count() as u64
        } else {
            ids.len()
        };
        Ok(Estimate {
            audience: ids.len(),
            reachable,
        })
    }
}
