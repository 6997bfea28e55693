//! Stored values. Their encoding is a promise to every older data dir: add fields with
//! `#[serde(default)]`, never rename or retype one, never `deny_unknown_fields`.
//! Times are UTC unix milliseconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Identify,
    Track,
    Page,
    Screen,
    Group,
    Alias,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::Track => "track",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Group => "group",
            Self::Alias => "alias",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "identify" => Self::Identify,
            "track" => Self::Track,
            "page" => Self::Page,
            "screen" => Self::Screen,
            "group" => Self::Group,
            "alias" => Self::Alias,
            _ => return None,
        })
    }
}

/// One entry of the append-only event log: the Segment message as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    pub kind: EventKind,
    /// The customer the message was tied to when it was stored; merges rewrite it.
    pub customer: u64,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub anonymous_id: Option<String>,
    #[serde(default)]
    pub previous_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    pub message_id: String,
    pub timestamp: i64,
    pub received_at: i64,
    #[serde(default)]
    pub sent_at: Option<i64>,
    #[serde(default)]
    pub properties: Value,
    #[serde(default)]
    pub traits: Value,
    #[serde(default)]
    pub context: Value,
}

/// The borrowed twin of [`EventRecord`], to encode a message without copying it. Same field
/// names, so the bytes decode as an `EventRecord`; absent and empty fields are left out (they
/// decode as their defaults), which keeps the log about a tenth smaller.
#[derive(Debug, Serialize)]
pub struct NewEvent<'a> {
    pub kind: EventKind,
    pub customer: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<&'a str>,
    pub message_id: &'a str,
    pub timestamp: i64,
    pub received_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub properties: &'a serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub traits: &'a serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub context: &'a serde_json::Map<String, Value>,
}

/// A consent as a record: what was given or withdrawn, when, and how we learned it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub granted: bool,
    pub at: i64,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Consents {
    #[serde(default)]
    pub email: Option<Consent>,
    #[serde(default)]
    pub sms: Option<Consent>,
    #[serde(default)]
    pub kakao: Option<Consent>,
    /// The separate consent to advertising between 21:00 and 08:00 (정보통신망법 §50③).
    #[serde(default)]
    pub night: Option<Consent>,
}

/// A consent channel as the consent log numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChannel {
    Email = 0,
    Sms = 1,
    Kakao = 2,
    Night = 3,
}

impl ConsentChannel {
    pub const ALL: [ConsentChannel; 4] = [Self::Email, Self::Sms, Self::Kakao, Self::Night];

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(v as usize).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Kakao => "kakao",
            Self::Night => "night",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl Consents {
    pub fn get(&self, ch: ConsentChannel) -> Option<&Consent> {
        match ch {
            ConsentChannel::Email => self.email.as_ref(),
            ConsentChannel::Sms => self.sms.as_ref(),
            ConsentChannel::Kakao => self.kakao.as_ref(),
            ConsentChannel::Night => self.night.as_ref(),
        }
    }

    pub fn slot(&mut self, ch: ConsentChannel) -> &mut Option<Consent> {
        match ch {
            ConsentChannel::Email => &mut self.email,
            ConsentChannel::Sms => &mut self.sms,
            ConsentChannel::Kakao => &mut self.kakao,
            ConsentChannel::Night => &mut self.night,
        }
    }

    /// Whether consent on `ch` stands (absent means no).
    pub fn granted(&self, ch: ConsentChannel) -> bool {
        self.get(ch).is_some_and(|c| c.granted)
    }
}

/// One entry of the consent log: a consent given or withdrawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentChange {
    pub granted: bool,
    /// How we learned it: `identify`, `import`, `api`, `link` (an unsubscribe link), `console`.
    pub source: String,
    /// The campaign whose unsubscribe link was used, if any.
    #[serde(default)]
    pub campaign: Option<u64>,
}

/// Profile aggregates, kept in the same transaction as the events that change them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerStats {
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub first_seen: Option<i64>,
    #[serde(default)]
    pub last_seen: Option<i64>,
    /// Visits: a visit ends after 30 minutes without activity.
    #[serde(default)]
    pub visits: u32,
    #[serde(default)]
    pub orders_count: u32,
    /// Money spent, net of refunds, in the shop's currency.
    #[serde(default)]
    pub total_spent: f64,
    #[serde(default)]
    pub first_order_at: Option<i64>,
    #[serde(default)]
    pub last_order_at: Option<i64>,
    #[serde(default)]
    pub refunds_count: u32,
    #[serde(default)]
    pub refunded_amount: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerRecord {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Sign-up time: the `created_at` trait or a `Signed Up` event.
    #[serde(default)]
    pub signed_up_at: Option<i64>,
    #[serde(default)]
    pub birthday: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub consents: Consents,
    /// Every other identify trait, usable in segments as `trait.NAME`.
    #[serde(default)]
    pub traits: BTreeMap<String, Value>,
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    #[serde(default)]
    pub stats: CustomerStats,
    /// Set when this customer was merged into another: a redirect.
    #[serde(default)]
    pub merged_into: Option<u64>,
    /// Set when the person was erased on request: the record keeps only its id, so that the id
    /// is never given to anybody else.
    #[serde(default)]
    pub erased_at: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProductRecord {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub sale_price: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "yes")]
    pub in_stock: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Fields of the catalogue that dangol does not interpret (e.g. `name_en`).
    #[serde(default)]
    pub extra: BTreeMap<String, Value>,
    /// Where the product came from: `api`, `import` or `event` (seen in an e-commerce event).
    #[serde(default)]
    pub source: String,
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Completed,
    PartiallyRefunded,
    Refunded,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub price: f64,
    #[serde(default)]
    pub quantity: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub at: i64,
    pub amount: f64,
    pub message_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order_id: String,
    pub customer: u64,
    pub placed_at: i64,
    pub status: OrderStatus,
    #[serde(default)]
    pub currency: Option<String>,
    /// What the customer paid: `total`, else `revenue`, else the lines less the discount.
    pub total: f64,
    #[serde(default)]
    pub revenue: Option<f64>,
    #[serde(default)]
    pub discount: f64,
    #[serde(default)]
    pub shipping: Option<f64>,
    #[serde(default)]
    pub tax: Option<f64>,
    #[serde(default)]
    pub coupon: Option<String>,
    #[serde(default)]
    pub lines: Vec<OrderLine>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    /// The sequence of the `Order Completed` event that created it.
    pub seq: u64,
}

impl OrderRecord {
    pub fn refunded_amount(&self) -> f64 {
        self.refunds.iter().map(|r| r.amount).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Bearer key of the admin API.
    Admin,
    /// Write key of the tracking and storefront API: public, it sits in the shop's pages.
    Write,
    /// Write key for the shop's own backend, kept secret: its messages and storefront requests
    /// are trusted like a valid `userHash` (CONTRACT §5).
    ServerWrite,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub kind: KeyKind,
    /// The first characters of the key, to recognise it in a list.
    pub prefix: String,
    pub created_at: i64,
    #[serde(default)]
    pub revoked_at: Option<i64>,
    /// What an admin key may do; absent on keys made before scopes (see `auth::scope_of`).
    #[serde(default)]
    pub scope: Option<KeyScope>,
}

/// What an admin key may do on the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    /// Everything, including who may ask (`/keys`, `/users`, `/settings/*`): the master key only.
    Master,
    /// Everything but who may ask.
    Full,
    /// Reading only (GET), and not who may ask.
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Marketer,
    Viewer,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user: String,
    /// The token every form of this session must send back.
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoginFailures {
    /// Failures since the last success or lock.
    pub count: u32,
    pub last_at: i64,
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// Locks so far: each lock lasts twice as long as the one before.
    #[serde(default)]
    pub locks: u32,
}

/// Shop-wide counts of one 15-minute bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    #[serde(default)]
    pub events: u64,
    #[serde(default)]
    pub new_customers: u64,
    #[serde(default)]
    pub orders: u64,
    #[serde(default)]
    pub revenue: f64,
    #[serde(default)]
    pub refunds: u64,
    #[serde(default)]
    pub refunded: f64,
    /// Customers that stopped existing on their own: merged into another, or erased.
    #[serde(default)]
    pub merged: u64,
    #[serde(default)]
    pub erased: u64,
}

impl Rollup {
    /// Customers that exist, over the buckets summed: made, less merged and erased.
    pub fn live_customers(&self) -> u64 {
        self.new_customers.saturating_sub(self.merged + self.erased)
    }

    pub fn add(&mut self, o: &Rollup) {
        self.events += o.events;
        self.new_customers += o.new_customers;
        self.orders += o.orders;
        self.revenue += o.revenue;
        self.refunds += o.refunds;
        self.refunded += o.refunded;
        self.merged += o.merged;
        self.erased += o.erased;
    }
}

/// Per product: touches and distinct customers for each kind (viewed, carted, checkout,
/// purchased, in `Touch` order). A merge of two customers who both touched the product keeps
/// counting them as two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductStats {
    #[serde(default)]
    pub touches: [u64; 4],
    #[serde(default)]
    pub customers: [u64; 4],
}

/// What the in-memory customer columns keep of a customer, made by the writer from the record
/// it has just committed, so that followers need not read it back.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub id: u64,
    /// False for a customer merged into another or erased.
    pub live: bool,
    pub last_seen: Option<i64>,
    pub spent: f64,
    pub orders: u32,
    pub tags: Vec<String>,
    /// Consent given, by channel: email, SMS, Kakao.
    pub consents: [bool; 3],
    /// What text search looks in: the lower-cased name, email and user id, then the phone's
    /// digits, separated by U+0001.
    pub search: String,
    pub signed_up_at: Option<i64>,
    pub last_order_at: Option<i64>,
    /// Lower-cased and trimmed, for segment rules.
    pub city: Option<String>,
    pub country: Option<String>,
    /// Products and categories this commit saw the customer touch for the first time:
    /// (kind as `Touch`'s number, "p:ID" | "c:CATEGORY"). Empty outside the writer's notices.
    pub new_touches: Vec<(u8, String)>,
    /// Every view, cart and checkout touch this commit counted, with its time and the sequence of
    /// the event it came from: (kind, item, unix millis, seq). Empty outside the writer's notices.
    pub touches: Vec<(u8, String, i64, u64)>,
    /// The orders this commit completed for the customer: (the event's sequence, its product
    /// ids). Empty outside the writer's notices.
    pub bought: Vec<(u64, Vec<String>)>,
    /// The customer this one was merged into, if it was.
    pub merged_into: Option<u64>,
}

impl CustomerRow {
    pub fn of(id: u64, rec: &CustomerRecord) -> CustomerRow {
        let granted = |c: &Option<Consent>| c.as_ref().is_some_and(|c| c.granted);
        CustomerRow {
            id,
            live: rec.merged_into.is_none() && rec.erased_at.is_none(),
            last_seen: rec.stats.last_seen,
            spent: rec.stats.total_spent,
            orders: rec.stats.orders_count,
            tags: rec.tags.clone(),
            consents: [
                granted(&rec.consents.email),
                granted(&rec.consents.sms),
                granted(&rec.consents.kakao),
            ],
            signed_up_at: rec.signed_up_at,
            last_order_at: rec.stats.last_order_at,
            city: rec
                .city
                .as_deref()
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty()),
            country: rec
                .country
                .as_deref()
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty()),
            new_touches: Vec::new(),
            touches: Vec::new(),
            bought: Vec::new(),
            merged_into: rec.merged_into,
            search: format!(
                "{}\u{1}{}\u{1}{}\u{1}{}",
                rec.name.as_deref().unwrap_or("").to_lowercase(),
                rec.email.as_deref().unwrap_or(""),
                rec.user_id.as_deref().unwrap_or("").to_lowercase(),
                rec.phone
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            ),
        }
    }
}
