//! Customers: identity (which person a message belongs to), merges, profile traits and the
//! activity aggregates kept at write time, and the reads the API and pages need.
//! Called by `track` (writes, inside the writer) and by `api`/`web` (reads).

pub mod columns;
pub mod recent;

use serde_json::{Map, Value};

use crate::store::records::{Consent, ConsentChange, ConsentChannel, Consents, CustomerRecord, CustomerStats};
use crate::store::{self, ReadTx, Tx};
use crate::value::{is_email, normalize_email, parse_time};

/// A visit ends after this long without activity.
pub const VISIT_GAP_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("customer {0} not found")]
    NotFound(u64),
    #[error("customer {0} was erased")]
    Erased(u64),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for Error {
    fn code(&self) -> crate::error::ErrorCode {
        match self {
            Error::NotFound(_) | Error::Erased(_) => crate::error::ErrorCode::CustomerNotFound,
            Error::Store(_) => crate::error::ErrorCode::Internal,
        }
    }
}

pub fn user_key(id: &str) -> String {
    format!("u:{id}")
}
pub fn anon_key(id: &str) -> String {
    format!("a:{id}")
}
pub fn email_key(email: &str) -> String {
    format!("e:{}", normalize_email(email))
}

/// The keys a message carries.
#[derive(Debug, Default, Clone)]
pub struct Keys<'a> {
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
    /// Normalised email, for guest orders and identify traits.
    pub email: Option<&'a str>,
}

fn is_member(tx: &Tx, id: u64) -> Result<bool, store::Error> {
    Ok(tx.customer(id)?.is_some_and(|c| c.user_id.is_some()))
}

/// How far a message is believed about whom it speaks for (CONTRACT §5 "Writes under the
/// public key").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// An import, the demo, a server write key, or a message whose `userHash` proves its
    /// `userId`: every claim is taken.
    Verified,
    /// The public write key without a valid `userHash`. The message may make a customer and add
    /// events, but it may not tie an anonymous id or email to an existing member, merge two
    /// customers that exist, or change the contact points, tags or consents of a customer it
    /// reached by a claim (a member's user id, someone's email) rather than as its own browser.
    Public,
}

/// The customer a message belongs to, and what of its claims was not taken ([`Trust::Public`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resolved {
    pub id: u64,
    /// The customer is not the message's own to change: its contact points, tags and consents
    /// stay as they are.
    pub protected: bool,
    /// The anonymous id was not linked to the customer (or an alias's `previousId` not joined).
    pub anonymous_refused: bool,
    /// The email was not used to find, link or merge anyone.
    pub email_refused: bool,
}

/// Finds the customer a message with these keys belongs to (see [`Trust`]).
pub fn resolve(tx: &mut Tx, keys: &Keys, now: i64, trust: Trust) -> Result<Resolved, store::Error> {
    match trust {
        Trust::Verified => Ok(Resolved {
            id: resolve_verified(tx, keys, now)?,
            ..Resolved::default()
        }),
        Trust::Public => resolve_public(tx, keys, now),
    }
}

/// [`resolve`] for a message whose claims are all taken: finds the customer these keys belong
/// to, creating one if none is known, linking unknown keys to it and merging anonymous profiles
/// that the keys now show to be the same person.
///
/// A user id is the strongest key. An anonymous id or email that belongs to another *member*
/// is not merged (a shared computer, a shared address): the anonymous id moves to this person,
/// the email stays where it is. Without a user id, an email (a guest order) wins over the
/// browser's anonymous id.
fn resolve_verified(tx: &mut Tx, keys: &Keys, now: i64) -> Result<u64, store::Error> {
    let by_user = match keys.user_id {
        Some(u) => tx.identity(&user_key(u))?,
        None => None,
    };
    let by_anon = match keys.anonymous_id {
        Some(a) => tx.identity(&anon_key(a))?,
        None => None,
    };
    let by_email = match keys.email {
        Some(e) => tx.identity(&email_key(e))?,
        None => None,
    };
    let anonymous_only = |tx: &Tx, id: Option<u64>| -> Result<Option<u64>, store::Error> {
        match id {
            Some(id) if !is_member(tx, id)? => Ok(Some(id)),
            _ => Ok(None),
        }
    };
    let mut primary = match (keys.user_id, by_user) {
        (Some(_), Some(id)) => id,
        (Some(_), None) => match anonymous_only(tx, by_anon)? {
            Some(id) => id,
            None => match anonymous_only(tx, by_email)? {
                Some(id) => id,
                None => new_customer(tx, now)?,
            },
        },
        (None, _) => match by_email.or(by_anon) {
            Some(id) => id,
            None => new_customer(tx, now)?,
        },
    };
    for other in [by_anon, by_email].into_iter().flatten() {
        if other != primary && !is_member(tx, other)? && tx.customer(other)?.is_some_and(|c| c.merged_into.is_none()) {
            primary = merge(tx, primary, other, now)?;
        }
    }
    // `by_user` is where the user key pointed before any merge; if a merge moved it onto the
    // survivor already, setting it again changes nothing.
    if let Some(u) = keys.user_id
        && by_user != Some(primary)
    {
        tx.set_identity(&user_key(u), primary)?;
    }
    if let Some(u) = keys.user_id {
        let rec = tx.customer_mut(primary)?.expect("primary exists");
        if rec.user_id.is_none() {
            rec.user_id = Some(u.to_string());
        }
    }
    if let Some(a) = keys.anonymous_id
        && by_anon != Some(primary)
    {
        tx.set_identity(&anon_key(a), primary)?;
    }
    if let Some(e) = keys.email {
        let key = email_key(e);
        if tx.identity(&key)?.is_none() {
            tx.set_identity(&key, primary)?;
        }
        let rec = tx.customer_mut(primary)?.expect("primary exists");
        if rec.email.is_none() {
            rec.email = Some(normalize_email(e));
        }
    }
    Ok(primary)
}

/// [`resolve`] for a message under the public write key without a valid `userHash`. Its own
/// browser (the anonymous id) is the only key that may grow a profile; a user id or email that
/// names somebody who exists gets the message's events and nothing else. Nothing is merged.
fn resolve_public(tx: &mut Tx, keys: &Keys, now: i64) -> Result<Resolved, store::Error> {
    let find = |tx: &Tx, key: Option<String>| -> Result<Option<u64>, store::Error> {
        match key {
            Some(k) => tx.identity(&k),
            None => Ok(None),
        }
    };
    let by_user = find(tx, keys.user_id.map(user_key))?;
    let by_anon = find(tx, keys.anonymous_id.map(anon_key))?;
    let by_email = find(tx, keys.email.map(email_key))?;
    let mut r = Resolved::default();
    match (keys.user_id, by_user) {
        // A claim to be an existing member: the events are theirs, nothing else.
        (Some(_), Some(id)) => {
            r.id = id;
            r.protected = true;
            r.anonymous_refused = keys.anonymous_id.is_some() && by_anon != Some(id);
            r.email_refused = keys.email.is_some() && by_email != Some(id);
        }
        // A new member: this browser's anonymous profile becomes them, or a new customer does.
        (Some(u), None) => {
            r.id = match by_anon {
                Some(a) if !is_member(tx, a)? => a,
                Some(_) => {
                    r.anonymous_refused = true;
                    new_customer(tx, now)?
                }
                None => new_customer(tx, now)?,
            };
            tx.set_identity(&user_key(u), r.id)?;
            let rec = tx.customer_mut(r.id)?.expect("exists");
            rec.user_id = Some(u.to_string());
        }
        (None, _) => match (by_anon, by_email) {
            (Some(a), _) => {
                r.id = a;
                r.protected = is_member(tx, a)?;
            }
            // A guest order naming an email the store knows: the order is that customer's, but
            // this browser is not tied to them on the message's word.
            (None, Some(e)) if !is_member(tx, e)? => {
                r.id = e;
                r.protected = true;
                r.anonymous_refused = keys.anonymous_id.is_some();
            }
            (None, email) => {
                r.email_refused = email.is_some();
                r.id = new_customer(tx, now)?;
            }
        },
    }
    if let Some(a) = keys.anonymous_id
        && by_anon.is_none()
        && !r.anonymous_refused
    {
        tx.set_identity(&anon_key(a), r.id)?;
    }
    if let Some(e) = keys.email {
        if by_email.is_some_and(|e| e != r.id) {
            r.email_refused = true;
        }
        if !r.protected && !r.email_refused {
            if by_email.is_none() {
                tx.set_identity(&email_key(e), r.id)?;
            }
            let rec = tx.customer_mut(r.id)?.expect("exists");
            if rec.email.is_none() {
                rec.email = Some(normalize_email(e));
            }
        }
    }
    Ok(r)
}

fn new_customer(tx: &mut Tx, now: i64) -> Result<u64, store::Error> {
    tx.bump_rollup(now, |r| r.new_customers += 1)?;
    Ok(tx.insert_customer(CustomerRecord {
        created_at: now,
        updated_at: now,
        ..Default::default()
    }))
}

/// Merges two customers into one: the smaller history is rewritten onto the larger, and the
/// other record is left as a redirect. Returns the survivor.
pub fn merge(tx: &mut Tx, a: u64, b: u64, now: i64) -> Result<u64, store::Error> {
    if a == b {
        return Ok(a);
    }
    let ra = tx.customer(a)?.unwrap_or_default();
    let rb = tx.customer(b)?.unwrap_or_default();
    let (keep, gone, mut rk, rg) = if (ra.stats.events, b) >= (rb.stats.events, a) {
        (a, b, ra, rb)
    } else {
        (b, a, rb, ra)
    };
    tx.move_events(gone, keep)?;
    tx.move_interests(gone, keep)?;
    tx.move_consent_log(gone, Some(keep))?;
    tx.move_onsite_seen(gone, keep)?;
    crate::experiment::merge(tx, gone, keep)?;
    for order_id in tx.order_ids_of(gone)? {
        if let Some(mut order) = tx.order(&order_id)? {
            order.customer = keep;
            tx.put_order(&order)?;
        }
    }
    for key in tx.identities_of(gone)? {
        tx.set_identity(&key, keep)?;
    }
    absorb(&mut rk, &rg);
    rk.updated_at = now;
    *tx.customer_mut(keep)?.expect("exists") = rk;
    *tx.customer_mut(gone)?.expect("exists") = CustomerRecord {
        merged_into: Some(keep),
        created_at: rg.created_at,
        updated_at: now,
        ..Default::default()
    };
    tx.mark_customer_gone(gone)?;
    tx.bump_rollup(now, |r| r.merged += 1)?;
    tracing::debug!(keep, gone, "merged customers");
    Ok(keep)
}

/// Folds what `other` knows into `rec`: missing fields, tags, newer consents, summed stats.
fn absorb(rec: &mut CustomerRecord, other: &CustomerRecord) {
    fn fill<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
        if a.is_none() {
            a.clone_from(b);
        }
    }
    fill(&mut rec.user_id, &other.user_id);
    fill(&mut rec.email, &other.email);
    fill(&mut rec.name, &other.name);
    fill(&mut rec.phone, &other.phone);
    fill(&mut rec.birthday, &other.birthday);
    fill(&mut rec.city, &other.city);
    fill(&mut rec.country, &other.country);
    rec.signed_up_at = min_opt(rec.signed_up_at, other.signed_up_at);
    for t in &other.tags {
        if !rec.tags.contains(t) {
            rec.tags.push(t.clone());
        }
    }
    for (mine, theirs) in [
        (&mut rec.consents.email, &other.consents.email),
        (&mut rec.consents.sms, &other.consents.sms),
        (&mut rec.consents.kakao, &other.consents.kakao),
    ] {
        if let Some(t) = theirs
            && mine.as_ref().is_none_or(|m| m.at < t.at)
        {
            *mine = Some(t.clone());
        }
    }
    for (k, v) in &other.traits {
        rec.traits.entry(k.clone()).or_insert_with(|| v.clone());
    }
    rec.created_at = rec.created_at.min(other.created_at);
    let (s, o) = (&mut rec.stats, &other.stats);
    *s = CustomerStats {
        events: s.events + o.events,
        first_seen: min_opt(s.first_seen, o.first_seen),
        last_seen: s.last_seen.max(o.last_seen),
        visits: s.visits + o.visits,
        orders_count: s.orders_count + o.orders_count,
        total_spent: s.total_spent + o.total_spent,
        first_order_at: min_opt(s.first_order_at, o.first_order_at),
        last_order_at: s.last_order_at.max(o.last_order_at),
        refunds_count: s.refunds_count + o.refunds_count,
        refunded_amount: s.refunded_amount + o.refunded_amount,
    };
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Counts an event, and for activity (track, page, screen) its visit and first/last seen.
pub fn record_activity(rec: &mut CustomerRecord, at: i64, is_activity: bool) {
    let s = &mut rec.stats;
    s.events += 1;
    if !is_activity {
        return;
    }
    if s.last_seen.is_none_or(|last| at > last + VISIT_GAP_MS) {
        s.visits += 1;
    }
    s.first_seen = min_opt(s.first_seen, Some(at));
    s.last_seen = s.last_seen.max(Some(at));
}

/// Traits with a meaning of their own (CONTRACT §2); all others are kept in `traits`.
const KNOWN_TRAITS: [&str; 16] = [
    "email",
    "name",
    "first_name",
    "last_name",
    "firstName",
    "lastName",
    "phone",
    "created_at",
    "createdAt",
    "birthday",
    "address",
    "tags",
    "email_consent",
    "sms_consent",
    "kakao_consent",
    "night_consent",
];

/// Traits only a trusted message may change on a customer it reached by a claim (CONTRACT §5):
/// where campaigns and coupon codes go, what tag-restricted coupons see, and consents.
pub const GUARDED_TRAITS: [&str; 7] = [
    "email",
    "phone",
    "tags",
    "email_consent",
    "sms_consent",
    "kakao_consent",
    "night_consent",
];

fn text_trait<'a>(traits: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    traits
        .get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Applies identify traits to a profile. Consents are recorded with time and source when they
/// change.
pub fn apply_traits(rec: &mut CustomerRecord, traits: &Map<String, Value>, at: i64, source: &str) {
    if let Some(e) = text_trait(traits, "email").filter(|e| is_email(e)) {
        rec.email = Some(normalize_email(e));
    }
    if let Some(p) = text_trait(traits, "phone") {
        rec.phone = Some(p.to_string());
    }
    match traits.get("tags") {
        Some(Value::Array(items)) => {
            rec.tags = items.iter().filter_map(Value::as_str).map(str::to_string).collect();
        }
        Some(Value::String(s)) => {
            rec.tags = s
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
        }
        _ => {}
    }
    for ch in ConsentChannel::ALL {
        if let Some(granted) = traits.get(&format!("{}_consent", ch.as_str())).and_then(Value::as_bool) {
            set_consent(rec, ch, granted, at, source);
        }
    }
    apply_open_traits(rec, traits, at);
}

/// Applies the traits that are not [`GUARDED_TRAITS`], and answers which guarded ones the
/// traits carry (left as they were).
pub fn apply_open_traits(rec: &mut CustomerRecord, traits: &Map<String, Value>, at: i64) -> Vec<&'static str> {
    let text = |k: &str| text_trait(traits, k);
    let first = text("first_name").or_else(|| text("firstName"));
    let last = text("last_name").or_else(|| text("lastName"));
    if let Some(n) = text("name") {
        rec.name = Some(n.to_string());
    } else if first.is_some() || last.is_some() {
        rec.name = crate::value::full_name(first, last);
    }
    match traits.get("created_at").or_else(|| traits.get("createdAt")) {
        Some(Value::String(s)) => {
            if let Some(t) = parse_time(s).or_else(|| parse_date(s)) {
                rec.signed_up_at = Some(t);
            }
        }
        Some(Value::Number(n)) => {
            if let Some(secs) = n.as_i64() {
                // Seconds or milliseconds since the epoch, as clients send either.
                rec.signed_up_at = Some(if secs > 100_000_000_000 { secs } else { secs * 1000 });
            }
        }
        _ => {}
    }
    if let Some(b) = text("birthday") {
        rec.birthday = Some(b.to_string());
    }
    if let Some(addr) = traits.get("address").and_then(Value::as_object) {
        if let Some(c) = addr.get("city").and_then(Value::as_str) {
            rec.city = Some(c.to_string());
        }
        if let Some(c) = addr.get("country").and_then(Value::as_str) {
            rec.country = Some(c.to_string());
        }
    }
    for (k, v) in traits {
        if !KNOWN_TRAITS.contains(&k.as_str()) {
            rec.traits.insert(k.clone(), v.clone());
        }
    }
    rec.updated_at = rec.updated_at.max(at);
    GUARDED_TRAITS
        .into_iter()
        .filter(|k| traits.get(*k).is_some_and(|v| !v.is_null()))
        .collect()
}

/// Sets a consent if it changes; returns whether it did. The caller logs the change
/// ([`log_consents`]).
pub fn set_consent(rec: &mut CustomerRecord, ch: ConsentChannel, granted: bool, at: i64, source: &str) -> bool {
    let slot = rec.consents.slot(ch);
    if slot.as_ref().is_some_and(|c| c.granted == granted) {
        return false;
    }
    *slot = Some(Consent {
        granted,
        at,
        source: source.to_string(),
    });
    true
}

/// Writes to the consent log every consent of `customer` that differs from `before`.
pub fn log_consents(tx: &mut Tx, customer: u64, before: &Consents, campaign: Option<u64>) -> Result<(), store::Error> {
    let Some(rec) = tx.customer(customer)? else {
        return Ok(());
    };
    for ch in ConsentChannel::ALL {
        if let Some(c) = rec.consents.get(ch)
            && before.get(ch) != Some(c)
        {
            let change = ConsentChange {
                granted: c.granted,
                source: c.source.clone(),
                campaign,
            };
            tx.log_consent(customer, c.at, ch, &change)?;
        }
    }
    Ok(())
}

fn parse_date(s: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis())
}

/// In the writer: the live customer `id` is now (following merges), or None if erased or unknown.
pub fn get_in(tx: &Tx, id: u64) -> Option<(u64, CustomerRecord)> {
    let mut id = id;
    for _ in 0..16 {
        match tx.customer(id).ok()?? {
            rec if rec.erased_at.is_some() => return None,
            rec => match rec.merged_into {
                Some(next) => id = next,
                None => return Some((id, rec)),
            },
        }
    }
    None
}

/// A customer by id, following merge redirects. Returns the id it ended at.
pub fn get(read: &ReadTx, id: u64) -> Result<(u64, CustomerRecord), Error> {
    let mut id = id;
    for _ in 0..16 {
        match read.customer(id)? {
            Some(rec) if rec.erased_at.is_some() => return Err(Error::Erased(id)),
            Some(rec) => match rec.merged_into {
                Some(next) => id = next,
                None => return Ok((id, rec)),
            },
            None => return Err(Error::NotFound(id)),
        }
    }
    Err(Error::NotFound(id))
}

/// What an erasure removed.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub customer_id: u64,
    pub events: u64,
    pub interests: u64,
    pub identities: u64,
    /// Orders are kept for the shop's accounts, detached from the person (customer 0).
    pub orders_detached: u64,
}

/// Follows merge redirects inside a transaction to the live customer.
fn live_id(tx: &Tx, id: u64) -> Result<u64, Error> {
    let mut id = id;
    for _ in 0..16 {
        match tx.customer(id)? {
            None => return Err(Error::NotFound(id)),
            Some(r) if r.erased_at.is_some() => return Err(Error::Erased(id)),
            Some(r) => match r.merged_into {
                Some(next) => id = next,
                None => return Ok(id),
            },
        }
    }
    Err(Error::NotFound(id))
}

/// The id orders of erased customers are moved to.
pub const ERASED: u64 = 0;

/// Erases the customer record of a person (privacy law): profile, events, interests, consent log
/// and identity keys; their orders stay, for the shop's accounts, without anything that points at
/// the person. The customer id stays taken so that it never names somebody else. The analysis and
/// the outbox keep rows of their own: `app::erase::person` erases all of it in one commit.
pub fn erase(tx: &mut Tx, id: u64, now: i64) -> Result<Erased, Error> {
    let id = live_id(tx, id)?;
    let mut report = Erased {
        customer_id: id,
        ..Default::default()
    };
    report.events = tx.delete_events_of(id)?;
    report.interests = tx.delete_interests_of(id)?;
    tx.move_consent_log(id, None)?;
    for key in tx.identities_of(id)? {
        tx.delete_identity(&key)?;
        report.identities += 1;
    }
    for order_id in tx.order_ids_of(id)? {
        if let Some(mut order) = tx.order(&order_id)? {
            order.customer = ERASED;
            tx.put_order(&order)?;
            report.orders_detached += 1;
        }
    }
    let rec = tx.customer_mut(id)?.expect("exists");
    *rec = CustomerRecord {
        created_at: rec.created_at,
        updated_at: now,
        erased_at: Some(now),
        ..Default::default()
    };
    tx.mark_customer_gone(id)?;
    tx.bump_rollup(now, |r| r.erased += 1)?;
    tracing::info!(customer = id, events = report.events, "customer erased");
    Ok(report)
}

/// The customer a user id, anonymous id or email belongs to.
pub fn find_by_key(read: &ReadTx, key: &str) -> Result<Option<u64>, Error> {
    let id = read
        .identity(&user_key(key))?
        .or(read.identity(&anon_key(key))?)
        .or(if is_email(key) {
            read.identity(&email_key(key))?
        } else {
            None
        });
    Ok(id)
}

/// One page of customers in id order. With `q`, an exact id, user id, anonymous id or email is
/// looked up directly; other text is matched against name, email and phone by scanning, at most
/// `SCAN_LIMIT` records per page (the page's `next` cursor continues the scan).
pub fn list(read: &ReadTx, after: u64, limit: usize, q: Option<&str>) -> Result<store::CustomerPage, Error> {
    const SCAN_LIMIT: usize = 200_000;
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    let Some(q) = q else {
        let (items, _) = read.customers_after(after, limit + 1, usize::MAX, |r| {
            r.merged_into.is_none() && r.erased_at.is_none()
        })?;
        return Ok(page(items, limit));
    };
    if after == 0
        && let Some(id) = find_by_key(read, q)?
    {
        let (id, rec) = get(read, id)?;
        return Ok((vec![(id, rec)], None));
    }
    let needle = q.to_lowercase();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let (items, scanned_to) = read.customers_after(after, limit + 1, SCAN_LIMIT, |r| {
        r.merged_into.is_none()
            && r.erased_at.is_none()
            && (r.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&needle))
                || r.email.as_deref().is_some_and(|e| e.contains(&needle))
                || (digits.len() >= 4
                    && r.phone.as_deref().is_some_and(|p| {
                        p.chars()
                            .filter(char::is_ascii_digit)
                            .collect::<String>()
                            .contains(&digits)
                    })))
    })?;
    if items.len() > limit {
        return Ok(page(items, limit));
    }
    Ok((items, scanned_to))
}

fn page(mut items: Vec<(u64, CustomerRecord)>, limit: usize) -> (Vec<(u64, CustomerRecord)>, Option<u64>) {
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(|(id, _)| *id);
        (items, next)
    } else {
        (items, None)
    }
}

/// Adds and removes tags on a customer (staff or API), keeping their order. Returns the tags.
pub fn change_tags(tx: &mut Tx, id: u64, add: &[String], remove: &[String], now: i64) -> Result<Vec<String>, Error> {
    let id = live_id(tx, id)?;
    let rec = tx.customer_mut(id)?.expect("exists");
    rec.tags.retain(|t| !remove.iter().any(|r| r.trim() == t));
    for t in add.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if !rec.tags.iter().any(|x| x == t) {
            rec.tags.push(t.to_string());
        }
    }
    rec.updated_at = now;
    Ok(rec.tags.clone())
}
