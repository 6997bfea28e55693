//! Which on-site messages are due for a visitor on a page now, rendered for them (CONTRACT §7,
//! `GET /v1/messages`), and a coupon message's code issued on a click. Targeting reads only what
//! CONTRACT §5 lets a storefront request know of the person (`asking`); how often the visitor saw
//! a message is read from what their browser reported.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use roaring::RoaringTreemap;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::campaign::render::{CustomerVars, ProductVars, Vars, price_text};
use crate::coupon::{CodeRecord, CouponRecord, Hold};
use crate::i18n::Lang;
use crate::onsite::content::{self, Card, CouponView, Parts};
use crate::onsite::eligible;
use crate::onsite::seen::Seen;
use crate::onsite::{Device, Kind, Measure, Membership, MessageRecord, Position, Status, Trigger, VARIANT, Visitor};
use crate::recommend::{Request, Strategy};
use crate::store::{self, ReadTx, Touch};

/// Candidates one answer holds (the script shows the first whose trigger fires).
const MAX_ANSWERED: usize = 5;
/// How long a segment's members and a social-proof count are reused.
const SEGMENT_TTL_MS: i64 = 60_000;
const PROOF_TTL_MS: i64 = 30_000;
/// What "viewing now" looks back over.
const NOW_WINDOW_MS: i64 = 5 * 60_000;
/// The cart: products carted in this long and not bought since.
const CART_DAYS: i64 = 7;

/// A segment's or a rule's members, reused for a while.
type Members = Kept<RoaringTreemap>;

/// What the answers reuse for a little while: segment members and social-proof counts.
#[derive(Default)]
pub struct Cache {
    segments: Mutex<HashMap<u64, Arc<Kept<RoaringTreemap>>>>,
    /// Each message's live rule: the members, under the time the message was last changed.
    rules: Mutex<HashMap<u64, (i64, Arc<Members>)>>,
    /// The count of every product, by measure.
    purchased_today: Kept<HashMap<String, u64>>,
    viewing_now: Kept<HashMap<String, u64>>,
}

/// A value reused for a while and made by one request at a time: while it is made for the first
/// time the others wait for it; once it is old, one request makes it again and the others go on
/// with the old one meanwhile. (Under load, every request finding it old at once and making it
/// again together held the storefront for seconds.)
pub struct Kept<T> {
    slot: Mutex<Option<(i64, Arc<T>)>>,
    first: Mutex<()>,
    renewing: std::sync::atomic::AtomicBool,
}

impl<T> Default for Kept<T> {
    fn default() -> Kept<T> {
        Kept {
            slot: Mutex::new(None),
            first: Mutex::new(()),
            renewing: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl<T> Kept<T> {
    fn get<E>(&self, now: i64, ttl: i64, make: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        use std::sync::atomic::Ordering;
        let current = self.slot.lock().expect("not poisoned").clone();
        let old = match current {
            Some((at, v)) if now - at < ttl => return Ok(v),
            Some((_, v)) => Some(v),
            None => None,
        };
        let _first;
        match old {
            Some(v) => {
                if self.renewing.swap(true, Ordering::AcqRel) {
                    return Ok(v);
                }
            }
            None => {
                _first = self.first.lock().expect("not poisoned");
                if let Some((_, v)) = self.slot.lock().expect("not poisoned").clone() {
                    return Ok(v);
                }
                self.renewing.store(true, Ordering::Release);
            }
        }
        let made = make();
        self.renewing.store(false, Ordering::Release);
        let v = Arc::new(made?);
        *self.slot.lock().expect("not poisoned") = Some((now, v.clone()));
        Ok(v)
    }
}

/// What a storefront asks with.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub user_hash: Option<String>,
    /// The request came with a server write key.
    pub server: bool,
    pub url: String,
    pub device: Option<Device>,
    pub product_id: Option<String>,
    pub lang: Option<Lang>,
}

/// A message due for the visitor, as the script shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Shown {
    pub id: u64,
    pub variant: String,
    #[schema(value_type = String)]
    pub kind: Kind,
    /// When to show it: the first of these to happen.
    #[schema(value_type = Vec<Object>)]
    pub trigger: Vec<Trigger>,
    #[schema(value_type = String)]
    pub position: Position,
    /// The message, for a shadow root: styles included, text escaped, the shop's HTML sanitised.
    pub html: String,
    /// The products on its cards.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub coupon: Option<CouponView>,
    /// The days "7일간 보지 않기" puts it away for (0: not offered).
    pub dont_show_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_dismiss_seconds: Option<u32>,
}

/// What one request knows of the visitor, worked out once for all the messages.
struct Visit {
    /// The customer the request may speak for (CONTRACT §5).
    person: Option<u64>,
    member: bool,
    returning: bool,
    device: Device,
    /// What they carted in the last week and have not bought: (value, products).
    cart: (f64, usize),
    /// What this browser reported of each message.
    seen: HashMap<u64, Seen>,
    visit_start: Option<i64>,
}

impl Visit {
    /// `person` is who the request speaks for; `browser` whose device this is (how often they saw
    /// a message is what this browser reported), when the two differ.
    fn of(
        read: &ReadTx,
        person: Option<u64>,
        browser: Option<u64>,
        device: Device,
        now: i64,
    ) -> Result<Visit, store::Error> {
        let visitor = match person.or(browser) {
            Some(id) => crate::customer::get(read, id).ok(),
            None => None,
        };
        let (visits, visit_start, seen) = match &visitor {
            Some((id, rec)) => {
                let times = read.customer_event_times_back(*id, 500)?;
                let seen: HashMap<u64, Seen> = read.onsite_seen_of::<Seen>(*id)?.into_iter().collect();
                (rec.stats.visits, crate::recommend::visit_start(&times, now), seen)
            }
            None => (0, None, HashMap::new()),
        };
        let member = person.is_some_and(|p| {
            crate::customer::get(read, p)
                .ok()
                .is_some_and(|(_, r)| r.user_id.is_some())
        });
        Ok(Visit {
            person,
            member,
            // A visit not yet counted is this one: a visitor with no earlier visit is new.
            returning: visits > 1 || (visits == 1 && visit_start.is_none()),
            device,
            cart: match person {
                Some(p) => cart_of(read, p, now)?,
                None => (0.0, 0),
            },
            seen,
            visit_start,
        })
    }

    /// Messages (of those still active) viewed in this visit.
    fn shown_this_visit(&self, active: &[(u64, MessageRecord)]) -> usize {
        active
            .iter()
            .filter_map(|(id, _)| self.seen.get(id))
            .filter(|s| matches!((s.last_view_at, self.visit_start), (Some(t), Some(v)) if t >= v))
            .count()
    }
}

/// A part of a message's targeting, as the console's preview explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Its start and end, weekdays and hours.
    Schedule,
    /// Its URL rules.
    Page,
    Device,
    /// Members or guests.
    Member,
    /// New or returning.
    Visitor,
    CartValue,
    CartItems,
    /// How often the visitor may see it, and whether a click, close or order stopped it.
    Frequency,
    /// Its saved segment.
    Segment,
    /// Its live rule.
    Rule,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Schedule => "schedule",
            Part::Page => "page",
            Part::Device => "device",
            Part::Member => "member",
            Part::Visitor => "visitor",
            Part::CartValue => "cart_value",
            Part::CartItems => "cart_items",
            Part::Frequency => "frequency",
            Part::Segment => "segment",
            Part::Rule => "rule",
        }
    }
}

/// Walks the parts of a message's targeting for this visit, cheapest first, telling `each` whether
/// each one holds (only the parts the message uses); stops when `each` answers false. The answer:
/// whether every part walked held. `kept`: the message's live rule is reused by its id (saved
/// messages); a draft's is evaluated afresh.
#[allow(clippy::too_many_arguments)]
fn walk_target(
    st: &AppState,
    read: &ReadTx,
    id: u64,
    rec: &MessageRecord,
    v: &Visit,
    url: &str,
    now: i64,
    kept: bool,
    mut each: impl FnMut(Part, bool) -> bool,
) -> Result<bool, store::Error> {
    let d = &rec.definition;
    let t = &d.target;
    let mut all = true;
    let mut step = |part: Part, holds: bool| {
        all &= holds;
        each(part, holds)
    };
    let cheap = [
        (Part::Schedule, true, eligible::scheduled(&d.display, now, st.tz)),
        (Part::Page, !t.urls.is_empty(), eligible::url_allowed(&t.urls, url)),
        (
            Part::Device,
            !t.devices.is_empty(),
            eligible::device_allowed(&t.devices, v.device),
        ),
        (
            Part::Member,
            t.member != Membership::Any,
            match t.member {
                Membership::Any => true,
                Membership::Member => v.member,
                Membership::Guest => !v.member,
            },
        ),
        (
            Part::Visitor,
            t.visitor != Visitor::Any,
            match t.visitor {
                Visitor::Any => true,
                Visitor::New => !v.returning,
                Visitor::Returning => v.returning,
            },
        ),
        (
            Part::CartValue,
            t.cart_value.is_some(),
            t.cart_value.is_none_or(|r| r.holds(v.cart.0)),
        ),
        (
            Part::CartItems,
            t.cart_items.is_some(),
            t.cart_items.is_none_or(|r| r.holds(v.cart.1 as f64)),
        ),
        (
            Part::Frequency,
            true,
            eligible::frequency_allows(&d.display, v.seen.get(&id), v.visit_start, now),
        ),
    ];
    for (part, used, holds) in cheap {
        if used && !step(part, holds) {
            return Ok(false);
        }
    }
    if let Some(segment) = t.segment_id {
        let holds = match v.person {
            Some(p) => in_segment(st, read, segment, p, now)?,
            None => false,
        };
        if !step(Part::Segment, holds) {
            return Ok(false);
        }
    }
    if let Some(rule) = &t.rule {
        let holds = match v.person {
            Some(p) => in_rule(st, read, kept.then_some((id, rec.updated_at)), rule, p, now)?,
            None => false,
        };
        if !step(Part::Rule, holds) {
            return Ok(false);
        }
    }
    Ok(all)
}

/// The messages due now for this visitor on this page, best first.
pub fn due(st: &AppState, read: &ReadTx, ask: &Ask) -> Result<Vec<Shown>, store::Error> {
    let mut active: Vec<(u64, MessageRecord)> = read
        .onsite_messages::<MessageRecord>()?
        .into_iter()
        .filter(|(_, m)| m.status == Status::Active)
        .collect();
    if active.is_empty() {
        return Ok(Vec::new());
    }
    active.sort_by_key(|(id, m)| (std::cmp::Reverse(m.definition.display.priority), *id));
    let now = st.now_ms();
    // Whose data the answer may use (CONTRACT §5), and whose browser this is.
    let person = super::asking::customer(
        st,
        read,
        ask.server,
        ask.user_id.as_deref(),
        ask.user_hash.as_deref(),
        ask.anonymous_id.as_deref(),
    )?;
    let browser = match ask.anonymous_id.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => read.identity(&crate::customer::anon_key(a))?,
        None => None,
    };
    let v = Visit::of(read, person, browser, ask.device.unwrap_or(Device::Desktop), now)?;
    if v.shown_this_visit(&active) >= crate::onsite::settings(read)?.per_visit as usize {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (id, rec) in active {
        if out.len() >= MAX_ANSWERED {
            break;
        }
        if !walk_target(st, read, id, &rec, &v, &ask.url, now, true, |_, holds| holds)? {
            continue;
        }
        if let Ok(s) = shown(st, read, id, &rec, person, ask, now)? {
            out.push(s);
        }
    }
    Ok(out)
}

/// A message as the console's preview shows it for one customer on one page: what they would
/// see, and which parts of its targeting hold for them now.
pub struct Preview {
    pub shown: Result<Shown, Missing>,
    pub parts: Vec<(Part, bool)>,
    /// Every part held (the message would be answered, if active, and within the per-visit cap).
    pub due: bool,
}

/// Previews a message (saved or not: `id` 0 for a draft) for `customer` (None: a new guest) on a
/// page: rendered as `GET /v1/messages` would render it for them, whatever its targeting says,
/// with that targeting explained part by part.
pub fn preview(
    st: &AppState,
    read: &ReadTx,
    id: u64,
    rec: &MessageRecord,
    customer: Option<u64>,
    ask: &Ask,
) -> Result<Preview, store::Error> {
    let now = st.now_ms();
    let v = Visit::of(read, customer, None, ask.device.unwrap_or(Device::Desktop), now)?;
    let mut parts = Vec::new();
    let due = walk_target(st, read, id, rec, &v, &ask.url, now, false, |part, holds| {
        parts.push((part, holds));
        true
    })?;
    Ok(Preview {
        shown: shown(st, read, id, rec, customer, ask, now)?,
        parts,
        due,
    })
}

/// What the visitor carted in the last week and has not bought since: (value, products).
fn cart_of(read: &ReadTx, customer: u64, now: i64) -> Result<(f64, usize), store::Error> {
    let rows = read.interests_of(customer)?;
    let since = now - CART_DAYS * 86_400_000;
    let mut value = 0.0;
    let mut items = 0;
    for r in rows.iter().filter(|r| r.touch == Touch::Carted && r.last >= since) {
        let Some(p) = r.item.strip_prefix("p:") else { continue };
        let bought_since = rows
            .iter()
            .any(|b| b.touch == Touch::Purchased && b.item == r.item && b.last >= r.last);
        if bought_since {
            continue;
        }
        items += 1;
        if let Some(prod) = read.product(p)? {
            value += prod.sale_price.or(prod.price).unwrap_or(0.0);
        }
    }
    Ok((value, items))
}

fn in_segment(st: &AppState, read: &ReadTx, segment: u64, customer: u64, now: i64) -> Result<bool, store::Error> {
    let kept = st
        .onsite
        .segments
        .lock()
        .expect("not poisoned")
        .entry(segment)
        .or_default()
        .clone();
    let members = kept.get(now, SEGMENT_TTL_MS, || {
        match st.with_env(read, |env| crate::segment::saved::current_members(env, segment)) {
            Ok(m) => Ok(m),
            // A segment deleted, or with a rule that no longer parses, admits nobody.
            Err(crate::segment::saved::SegmentError::Store(e)) => Err(e),
            Err(_) => Ok(RoaringTreemap::new()),
        }
    })?;
    Ok(members.contains(customer))
}

/// Whether the customer matches a message's live rule. `kept`: the message's id and the time it
/// was last changed, under which the rule's members are reused for a minute.
fn in_rule(
    st: &AppState,
    read: &ReadTx,
    kept: Option<(u64, i64)>,
    rule: &serde_json::Value,
    customer: u64,
    now: i64,
) -> Result<bool, store::Error> {
    // Parsed only when the members are made; a rule that no longer parses (it was checked when
    // saved) admits nobody.
    let make = || match crate::segment::rule::Rule::parse(rule) {
        Ok(rule) => st.with_env(read, |env| crate::segment::members_now(&rule, env)),
        Err(_) => Ok(RoaringTreemap::new()),
    };
    let Some(key) = kept else {
        return Ok(make()?.contains(customer));
    };
    let slot = {
        let mut rules = st.onsite.rules.lock().expect("not poisoned");
        let entry = rules.entry(key.0).or_default();
        if entry.0 != key.1 {
            *entry = (key.1, Arc::default());
        }
        entry.1.clone()
    };
    Ok(slot.get(now, SEGMENT_TTL_MS, make)?.contains(customer))
}

fn product_vars(read: &ReadTx, id: &str) -> Result<Option<ProductVars>, store::Error> {
    Ok(read.product(id)?.map(|p| {
        let price = p.sale_price.or(p.price);
        ProductVars {
            id: p.id,
            name: p.name,
            price,
            price_text: price.map(|v| price_text(v, p.currency.as_deref())).unwrap_or_default(),
            image_url: crate::value::web_url(p.image_url.as_deref()),
            url: crate::value::web_url(p.url.as_deref()),
            category: p.category,
        }
    }))
}

/// Why a message has nothing to show a visitor it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Recently viewed, carted or purchased: none of the visitor's own products (for recently
    /// viewed: none from an earlier visit).
    OwnProducts,
    /// The strategy found no product at all.
    Cards,
    /// The coupon was deleted or has ended.
    Coupon,
    /// Social proof on a page without a product.
    Product,
    /// Social proof under its minimum.
    Count { count: u64, minimum: u32 },
    /// A title or subtitle that does not render.
    Render,
}

impl Missing {
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::OwnProducts => "own_products",
            Missing::Cards => "cards",
            Missing::Coupon => "coupon",
            Missing::Product => "product",
            Missing::Count { .. } => "count",
            Missing::Render => "render",
        }
    }
}

/// One message made for this visitor, or why it has nothing to show them.
fn shown(
    st: &AppState,
    read: &ReadTx,
    id: u64,
    rec: &MessageRecord,
    person: Option<u64>,
    ask: &Ask,
    now: i64,
) -> Result<Result<Shown, Missing>, store::Error> {
    let d = &rec.definition;
    let mut parts = Parts {
        lang: ask.lang,
        fallbacks: Some(&d.fallbacks),
        ..Parts::default()
    };
    let mut vars = Vars::default();
    if let Some(p) = person
        && let Ok((cid, c)) = crate::customer::get(read, p)
    {
        let first_name = c
            .traits
            .get("first_name")
            .or_else(|| c.traits.get("firstName"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| c.name.as_deref().map(crate::value::given_name))
            .unwrap_or_default();
        vars.customer = CustomerVars {
            id: cid,
            name: c.name.clone().unwrap_or_default(),
            first_name,
            user_id: c.user_id.clone().unwrap_or_default(),
            orders: c.stats.orders_count,
            total_spent: c.stats.total_spent,
            ..CustomerVars::default()
        };
    }
    if let Some(pid) = &ask.product_id {
        vars.product = product_vars(read, pid)?;
    }
    if let Some(slot) = &d.recommend {
        let strategy = Strategy::parse(&slot.strategy).unwrap_or(Strategy::ForYou);
        let req = Request {
            strategy,
            product: ask.product_id.clone(),
            category: None,
            days: super::recommend::DEFAULT_DAYS,
            limit: slot.limit,
        };
        let answer = super::recommend::answer(st, read, person, &req)?;
        // A cart reminder and a review request are about the visitor's own products: the
        // fallback chain's bestsellers would be neither. "Recently viewed" needs one product of
        // an earlier visit, and may fill up from the fallback.
        use crate::recommend::Source;
        let (own, only_own) = match strategy {
            Strategy::RecentlyViewed => (Some(Source::RecentlyViewed), false),
            Strategy::RecentlyCarted => (Some(Source::RecentlyCarted), true),
            Strategy::RecentlyPurchased => (Some(Source::RecentlyPurchased), true),
            _ => (None, false),
        };
        if let Some(s) = own
            && !answer.items.iter().any(|c| c.source == s)
        {
            return Ok(Err(Missing::OwnProducts));
        }
        parts.cards = answer
            .items
            .into_iter()
            .filter(|c| !only_own || own == Some(c.source))
            .map(|c| Card {
                review_url: (strategy == Strategy::RecentlyPurchased)
                    .then(|| slot.review_url.as_deref().map(|u| u.replace("{id}", &c.product_id)))
                    .flatten(),
                id: c.product_id,
                name: c.name,
                price: c.price,
                sale_price: c.sale_price,
                currency: c.currency,
                image_url: c.image_url,
                url: c.url,
            })
            .collect();
        if parts.cards.is_empty() {
            return Ok(Err(Missing::Cards));
        }
    }
    if let Some(coupon_id) = d.coupon_id {
        let Some(coupon) = read.coupon::<CouponRecord>(coupon_id)? else {
            return Ok(Err(Missing::Coupon));
        };
        if coupon.ends_at.is_some_and(|e| now > e) {
            return Ok(Err(Missing::Coupon));
        }
        let code = match person {
            Some(p) => held_code(read, p, coupon_id, &coupon, now)?,
            None => None,
        };
        let discount = crate::coupon::discount_words(&coupon.discount);
        vars.coupon = Some(crate::campaign::render::CouponVars {
            code: code.clone().unwrap_or_default(),
            name: coupon.name.clone(),
            discount: discount.clone(),
            expires: String::new(),
        });
        parts.coupon = Some(CouponView {
            id: coupon_id,
            name: coupon.name,
            discount,
            code,
        });
    }
    if let Some(proof) = &d.social_proof {
        let Some(product) = ask.product_id.as_deref() else {
            return Ok(Err(Missing::Product));
        };
        let count = proof_count(st, read, proof.measure, product, now)?;
        if count < u64::from(proof.minimum) {
            return Ok(Err(Missing::Count {
                count,
                minimum: proof.minimum,
            }));
        }
        parts.count = Some(count);
    }
    parts.vars = vars;
    let html = match content::render(d, &parts) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(message = id, error = %e, "an on-site message did not render");
            return Ok(Err(Missing::Render));
        }
    };
    Ok(Ok(Shown {
        id,
        variant: VARIANT.to_string(),
        kind: d.kind,
        trigger: d.triggers.clone(),
        position: content::position(d),
        html,
        products: parts.cards.iter().map(|c| c.id.clone()).collect(),
        coupon: parts.coupon,
        dont_show_days: d.display.dont_show_days,
        auto_dismiss_seconds: d.content.auto_dismiss_seconds,
    }))
}

/// The code of `coupon` the customer holds and may still use.
fn held_code(
    read: &ReadTx,
    customer: u64,
    coupon_id: u64,
    coupon: &CouponRecord,
    now: i64,
) -> Result<Option<String>, store::Error> {
    let Some(hold) = read.coupon_hold::<Hold>(customer, coupon_id)? else {
        return Ok(None);
    };
    let mut codes = Vec::new();
    for c in &hold.codes {
        if let Some(rec) = read.coupon_code::<CodeRecord>(c)? {
            codes.push(rec);
        }
    }
    Ok(
        (crate::coupon::hold_status(coupon, &hold, &codes, now) == crate::coupon::HoldStatus::Held)
            .then(|| hold.codes.last().cloned())
            .flatten(),
    )
}

/// Real counts: customers who bought `product` since midnight in the shop's time zone, or
/// visitors who viewed it in the last five minutes. Every product is counted in one pass, reused
/// for half a minute.
fn proof_count(st: &AppState, read: &ReadTx, measure: Measure, product: &str, now: i64) -> Result<u64, store::Error> {
    let kept = match measure {
        Measure::PurchasedToday => &st.onsite.purchased_today,
        Measure::ViewingNow => &st.onsite.viewing_now,
    };
    let counts = kept.get(now, PROOF_TTL_MS, || count_all(st, read, measure, now))?;
    Ok(counts.get(product).copied().unwrap_or(0))
}

/// The counts of every product for `measure`. At most the day's newest 5,000 orders and the
/// events of the last five minutes, up to 10,000, are read.
fn count_all(st: &AppState, read: &ReadTx, measure: Measure, now: i64) -> Result<HashMap<String, u64>, store::Error> {
    let mut people: HashMap<String, std::collections::HashSet<u64>> = HashMap::new();
    match measure {
        Measure::PurchasedToday => {
            let today = crate::analysis::day_date(crate::analysis::local_day(now, st.tz));
            let midnight = crate::analysis::day_start(st.tz, today);
            for o in read.orders_before(None, Some(midnight), 5_000)? {
                for l in &o.lines {
                    people.entry(l.product_id.clone()).or_default().insert(o.customer);
                }
            }
        }
        Measure::ViewingNow => {
            let since = now - NOW_WINDOW_MS;
            read.for_each_latest_event(10_000, |e| {
                if e.received_at < since {
                    return false;
                }
                if e.timestamp >= since && e.event.as_deref() == Some("Product Viewed") {
                    let id = match e.properties.get("product_id") {
                        Some(serde_json::Value::String(s)) => Some(s.clone()),
                        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                        _ => None,
                    };
                    if let Some(id) = id {
                        people.entry(id).or_default().insert(e.customer);
                    }
                }
                true
            })?;
        }
    }
    Ok(people.into_iter().map(|(p, who)| (p, who.len() as u64)).collect())
}

#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("on-site message {0} is not an active coupon message")]
    NotCoupon(u64),
    #[error(
        "no customer this request may speak for: a member needs `userHash` with `userId`, a visitor an `anonymousId` that was tracked first"
    )]
    Nobody,
    #[error("the coupon has no code left to give")]
    Exhausted,
    #[error("this visitor's code of the coupon was used or has expired")]
    Used,
    #[error("on-site message {0} is not for this visitor now")]
    NotForYou(u64),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for CodeError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            CodeError::NotCoupon(_) => ErrorCode::NotFound,
            CodeError::Nobody => ErrorCode::CustomerNotFound,
            CodeError::Exhausted | CodeError::Used => ErrorCode::Conflict,
            CodeError::NotForYou(_) => ErrorCode::Forbidden,
            CodeError::Store(_) => ErrorCode::Internal,
        }
    }
}

/// A coupon message was clicked: the visitor's code, issued now if they hold none (idempotent: the
/// same visitor gets the same code). Only for a visitor the message is for now (its schedule, its
/// members or guests, its segment; the page's own rules are the script's to have applied), while
/// the coupon runs, and never a code that was used.
pub async fn reveal(st: &AppState, message: u64, ask: Ask) -> Result<String, CodeError> {
    let state = st.clone();
    let now = st.now_ms();
    let (customer, coupon_id) = st
        .store
        .call(move |s| -> Result<_, CodeError> {
            let read = s.read()?;
            let rec = read
                .onsite_message::<MessageRecord>(message)?
                .filter(|m| m.status == Status::Active && m.definition.kind == Kind::Coupon)
                .ok_or(CodeError::NotCoupon(message))?;
            let d = &rec.definition;
            let coupon_id = d.coupon_id.ok_or(CodeError::NotCoupon(message))?;
            let customer = super::asking::customer(
                &state,
                &read,
                ask.server,
                ask.user_id.as_deref(),
                ask.user_hash.as_deref(),
                ask.anonymous_id.as_deref(),
            )?
            .ok_or(CodeError::Nobody)?;
            let member = crate::customer::get(&read, customer).is_ok_and(|(_, r)| r.user_id.is_some());
            let for_them = eligible::scheduled(&d.display, now, state.tz)
                && match d.target.member {
                    Membership::Any => true,
                    Membership::Member => member,
                    Membership::Guest => !member,
                }
                && match d.target.segment_id {
                    Some(segment) => in_segment(&state, &read, segment, customer, now)?,
                    None => true,
                }
                && match &d.target.rule {
                    Some(rule) => in_rule(&state, &read, Some((message, rec.updated_at)), rule, customer, now)?,
                    None => true,
                };
            if !for_them {
                return Err(CodeError::NotForYou(message));
            }
            let coupon = read
                .coupon::<CouponRecord>(coupon_id)?
                .filter(|c| c.ends_at.is_none_or(|e| now <= e))
                .ok_or(CodeError::NotForYou(message))?;
            if read.coupon_hold::<Hold>(customer, coupon_id)?.is_some()
                && held_code(&read, customer, coupon_id, &coupon, now)?.is_none()
            {
                return Err(CodeError::Used);
            }
            Ok((customer, coupon_id))
        })
        .await?;
    st.store
        .write(move |tx| -> Result<String, CodeError> {
            if let Some(hold) = tx.coupon_hold::<Hold>(customer, coupon_id)?
                && let Some(code) = hold.codes.last()
            {
                return Ok(code.clone());
            }
            let issued = crate::coupon::issue(tx, coupon_id, &[customer], "", "onsite", now)?
                .ok_or(CodeError::NotCoupon(message))?;
            issued.into_iter().next().map(|(_, c)| c).ok_or(CodeError::Exhausted)
        })
        .await
}
