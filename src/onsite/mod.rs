//! On-site messages (CONTRACT §7): the popups, slide-ins and bars the storefront script shows on
//! the shop's own pages: recommendations, a coupon, real social proof, or the shop's own words.
//! A message is a definition (what it shows, to whom, on which trigger, how often) checked once
//! when it is saved; which messages are due for a visitor on a page is decided per request
//! (`eligible`), and what each visitor saw, clicked or closed is kept from the events the script
//! sends (`seen`). Called by `track` (the events) and by `app::onsite` (the answers).

pub mod content;
pub mod eligible;
pub mod seen;
pub mod templates;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ErrorCode, HasCode};
use crate::recommend::Strategy;
use crate::store::{self, ReadTx, Tx};

#[derive(Debug, thiserror::Error)]
pub enum OnsiteError {
    #[error("on-site message {0} not found")]
    NotFound(u64),
    #[error("`{field}` {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl HasCode for OnsiteError {
    fn code(&self) -> ErrorCode {
        match self {
            OnsiteError::NotFound(_) => ErrorCode::NotFound,
            OnsiteError::Invalid { .. } => ErrorCode::InvalidField,
            OnsiteError::Store(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            OnsiteError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> OnsiteError {
    OnsiteError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// What a message shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A box in the middle of the page, over a dimmed backdrop.
    Modal,
    /// A box that slides in from a corner.
    SlideIn,
    /// A bar across the top or the bottom.
    Bar,
    /// Product cards from a recommendation strategy.
    Recommendation,
    /// A coupon whose code is issued to the visitor when they click.
    Coupon,
    /// Real counts about the product on the page: bought today, viewing now.
    SocialProof,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Modal,
        Kind::SlideIn,
        Kind::Bar,
        Kind::Recommendation,
        Kind::Coupon,
        Kind::SocialProof,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Modal => "modal",
            Kind::SlideIn => "slide_in",
            Kind::Bar => "bar",
            Kind::Recommendation => "recommendation",
            Kind::Coupon => "coupon",
            Kind::SocialProof => "social_proof",
        }
    }
}

/// Where on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    #[default]
    Center,
    Top,
    Bottom,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

/// The words, picture and look of a message. `title` and `subtitle` take the variables of
/// campaign templates (`{{ customer.name }}`, `{{ coupon.discount }}`, `{{ product.name }}`,
/// `{{ count }}` in social proof), each with a fallback.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Content {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    /// The shop's own HTML under the subtitle: sanitised when saved (no script, no handlers, no
    /// styles that escape the box).
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub button_text: Option<String>,
    #[serde(default)]
    pub button_url: Option<String>,
    /// Product cards: show the price, and the regular price struck through when on sale.
    #[serde(default = "yes")]
    pub show_price: bool,
    #[serde(default = "yes")]
    pub show_regular_price: bool,
    /// `#rrggbb` colours.
    #[serde(default)]
    pub background: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub border: Option<String>,
    #[serde(default)]
    pub accent: Option<String>,
    /// Dim the page behind (modals).
    #[serde(default = "yes")]
    pub backdrop: bool,
    #[serde(default)]
    pub position: Position,
    /// Close by itself after this many seconds.
    #[serde(default)]
    pub auto_dismiss_seconds: Option<u32>,
    #[serde(default = "yes")]
    pub close_button: bool,
}

fn yes() -> bool {
    true
}

impl Default for Content {
    /// What a message without a `content` shows: the defaults of each field.
    fn default() -> Content {
        serde_json::from_value(serde_json::json!({})).expect("every field has a default")
    }
}

/// Product cards from a strategy of CONTRACT §5.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecommendSlot {
    /// `recently_viewed` (this visit's products left out, as ifdo's default), `recently_carted`,
    /// `recently_purchased`, `for_you`, `bought_together`, `cross_sell`, `bestsellers`,
    /// `most_viewed`.
    pub strategy: String,
    /// 1 to 12 cards (default 4).
    #[serde(default = "four")]
    pub limit: usize,
    /// Recently purchased: each card links to writing a review (`review_url`, `{id}` for the
    /// product).
    #[serde(default)]
    pub review_url: Option<String>,
}

fn four() -> usize {
    4
}

/// What a social-proof message counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Customers who bought the page's product since midnight in the shop's time zone.
    PurchasedToday,
    /// Visitors who viewed the page's product in the last five minutes.
    ViewingNow,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SocialProof {
    pub measure: Measure,
    /// Below this count the message is not shown (default 3): a small number persuades nobody
    /// and says too much about the few.
    #[serde(default = "three")]
    pub minimum: u32,
}

fn three() -> u32 {
    3
}

/// How a URL rule matches the page's URL (path and query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UrlMatch {
    Contains,
    StartsWith,
    Equals,
    Regex,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UrlRule {
    #[serde(rename = "match")]
    pub matching: UrlMatch,
    pub value: String,
    /// A page this rule matches is left out (else: only pages some include rule matches).
    #[serde(default)]
    pub exclude: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Mobile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visitor {
    #[default]
    Any,
    /// On their first visit.
    New,
    /// Back for another visit.
    Returning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    #[default]
    Any,
    /// Signed in, with the `userHash` that proves it.
    Member,
    Guest,
}

/// A range; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Range {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

impl Range {
    pub fn holds(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

/// Who sees a message. Every part given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Target {
    /// Members of this saved segment (its nightly membership, or live).
    #[serde(default)]
    pub segment_id: Option<u64>,
    /// A live segment: a rule in the segment rule language (CONTRACT §4), evaluated as the
    /// message is asked for (its members are reused for a minute).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub rule: Option<serde_json::Value>,
    #[serde(default)]
    pub urls: Vec<UrlRule>,
    /// Empty: every device.
    #[serde(default)]
    pub devices: Vec<Device>,
    #[serde(default)]
    pub visitor: Visitor,
    #[serde(default)]
    pub member: Membership,
    /// The value of what the visitor carted in the last 7 days and has not bought.
    #[serde(default)]
    pub cart_value: Option<Range>,
    #[serde(default)]
    pub cart_items: Option<Range>,
}

/// When the script shows a message on the page. Several race; the first shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Trigger {
    Arrival,
    /// After this many seconds on the page.
    Delay {
        seconds: u32,
    },
    /// Once the visitor scrolled this far down the page.
    Scroll {
        percent: u32,
    },
    /// Desktop: the pointer leaves the page upwards; touch screens: a quick scroll up, or coming
    /// back to the page after leaving it for another tab or app.
    ExitIntent,
    /// From this page view of the visit on.
    PageViews {
        count: u32,
    },
    /// When the page tracks this event (`Product Added`).
    Event {
        event: String,
    },
}

/// How often one visitor may see a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(tag = "every", rename_all = "snake_case")]
pub enum Frequency {
    /// On every page view.
    Page,
    /// Once a visit.
    #[default]
    Visit,
    /// Once in so many days.
    Days { days: u32 },
    /// Once, ever.
    Once,
}

/// What stops a message for a visitor for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopAfter {
    Click,
    Close,
    Conversion,
}

/// Hours of the day, in the shop's time zone: from `from` up to `to` (0–24); `from` > `to` runs
/// over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hours {
    pub from: u32,
    pub to: u32,
}

/// When and how often a message shows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Display {
    /// RFC 3339.
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    /// 1 (Monday) to 7 (Sunday); empty: every day.
    #[serde(default)]
    pub weekdays: Vec<u32>,
    #[serde(default)]
    pub hours: Option<Hours>,
    #[serde(default)]
    pub frequency: Frequency,
    /// At most this many times per visitor, ever.
    #[serde(default)]
    pub max_views: Option<u32>,
    #[serde(default)]
    pub stop_after: Vec<StopAfter>,
    /// Higher first when several are due.
    #[serde(default)]
    pub priority: i32,
    /// "7일간 보지 않기": the days a visitor may put the message away for. A message that can
    /// show again must offer it (the 2025 전자상거래법 rule on repeated popups), so it is 7 by
    /// default and at least 7 then; 0 is allowed only for a message shown once.
    #[serde(default = "seven")]
    pub dont_show_days: u32,
}

fn seven() -> u32 {
    7
}

impl Default for Display {
    fn default() -> Display {
        Display {
            starts_at: None,
            ends_at: None,
            weekdays: Vec::new(),
            hours: None,
            frequency: Frequency::Visit,
            max_views: None,
            stop_after: Vec::new(),
            priority: 0,
            dont_show_days: 7,
        }
    }
}

fn default_triggers() -> Vec<Trigger> {
    vec![Trigger::Arrival]
}

fn one() -> u32 {
    1
}

/// A message as the API and the console's form take it (the POST and PUT body).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageInput {
    pub name: String,
    pub kind: Kind,
    /// The ready-made template it was made from, if any.
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub content: Content,
    /// Fallbacks for empty variables (`customer.name`: "고객").
    #[serde(default)]
    pub fallbacks: BTreeMap<String, String>,
    /// `recommendation`: the cards.
    #[serde(default)]
    pub recommend: Option<RecommendSlot>,
    /// `coupon`: the coupon whose code is issued.
    #[serde(default)]
    pub coupon_id: Option<u64>,
    /// `social_proof`: what is counted.
    #[serde(default)]
    pub social_proof: Option<SocialProof>,
    #[serde(default)]
    pub target: Target,
    #[serde(default = "default_triggers")]
    pub triggers: Vec<Trigger>,
    #[serde(default)]
    pub display: Display,
    /// An order this many days after a view or click counts as the message's conversion.
    #[serde(default = "one")]
    pub attribution_days: u32,
}

/// A message as its record keeps it: the checked input (see `campaign::Definition` for why the
/// two are apart).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub kind: Kind,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub content: Content,
    #[serde(default)]
    pub fallbacks: BTreeMap<String, String>,
    #[serde(default)]
    pub recommend: Option<RecommendSlot>,
    #[serde(default)]
    pub coupon_id: Option<u64>,
    #[serde(default)]
    pub social_proof: Option<SocialProof>,
    #[serde(default)]
    pub target: Target,
    #[serde(default = "default_triggers")]
    pub triggers: Vec<Trigger>,
    #[serde(default)]
    pub display: Display,
    #[serde(default = "one")]
    pub attribution_days: u32,
}

impl From<&Definition> for MessageInput {
    fn from(d: &Definition) -> MessageInput {
        let d = d.clone();
        MessageInput {
            name: d.name,
            kind: d.kind,
            template: d.template,
            content: d.content,
            fallbacks: d.fallbacks,
            recommend: d.recommend,
            coupon_id: d.coupon_id,
            social_proof: d.social_proof,
            target: d.target,
            triggers: d.triggers,
            display: d.display,
            attribution_days: d.attribution_days,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being written; shown to nobody (the console's preview shows it).
    #[default]
    Draft,
    Active,
    Paused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Active => "active",
            Status::Paused => "paused",
        }
    }
}

/// A message as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRecord {
    pub definition: Definition,
    #[serde(default)]
    pub status: Status,
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    #[serde(default)]
    pub activated_at: Option<i64>,
}

/// The variant every message has until experiments split them (CONTRACT §9).
pub const VARIANT: &str = "a";

/// Longest pattern of a URL rule, and the most rules a message takes.
const MAX_PATTERN: usize = 500;
const MAX_URL_RULES: usize = 50;

/// A URL rule's regex, compiled with a bound on its size (a pattern cannot make the server build
/// a huge automaton).
pub fn url_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(256 * 1024)
        .dfa_size_limit(256 * 1024)
        .build()
}

fn web_url_field(field: &str, v: &Option<String>) -> Result<Option<String>, OnsiteError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(u) if u.starts_with('/') && !u.starts_with("//") => Ok(Some(u.to_string())),
        Some(u) => crate::value::web_url(Some(u))
            .map(Some)
            .ok_or_else(|| invalid(field, "must be an http(s) address or a path of the shop")),
    }
}

fn colour(field: &str, v: &Option<String>) -> Result<(), OnsiteError> {
    match v.as_deref() {
        None => Ok(()),
        Some(c) if c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|h| h.is_ascii_hexdigit()) => Ok(()),
        Some(_) => Err(invalid(field, "must be a colour as #rrggbb")),
    }
}

/// Checks an input and makes it a definition: every error names its field.
pub fn check(read: &impl Lookups, input: &MessageInput) -> Result<Definition, OnsiteError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "is required"));
    }
    if name.chars().count() > 200 {
        return Err(invalid("name", "may be at most 200 characters"));
    }
    let mut content = input.content.clone();
    for (field, template) in [
        ("content.title", &content.title),
        ("content.subtitle", &content.subtitle),
    ] {
        crate::campaign::render::check_template(template)
            .map_err(|e| invalid(field, format!("is not a valid template: {e}")))?;
    }
    if let Some(html) = &content.html {
        if html.len() > 64 * 1024 {
            return Err(invalid("content.html", "may be at most 64 KB"));
        }
        if let Some(what) = content::unsafe_part(html) {
            return Err(invalid(
                "content.html",
                format!("holds {what}, which a message may not run; remove it"),
            ));
        }
        content.html = Some(content::sanitise(html)).filter(|h| !h.trim().is_empty());
    }
    content.image_url = web_url_field("content.image_url", &content.image_url)?;
    content.button_url = web_url_field("content.button_url", &content.button_url)?;
    for (field, v) in [
        ("content.background", &content.background),
        ("content.color", &content.color),
        ("content.border", &content.border),
        ("content.accent", &content.accent),
    ] {
        colour(field, v)?;
    }
    if content.auto_dismiss_seconds.is_some_and(|s| s == 0 || s > 3600) {
        return Err(invalid("content.auto_dismiss_seconds", "must be 1 to 3600"));
    }
    let recommend = match (input.kind, &input.recommend) {
        (Kind::Recommendation, None) => return Err(invalid("recommend", "is required for a recommendation message")),
        (_, Some(r)) => {
            let strategy = Strategy::parse(&r.strategy).ok_or_else(|| {
                let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
                invalid("recommend.strategy", format!("must be one of {}", names.join(", ")))
            })?;
            if !(1..=12).contains(&r.limit) {
                return Err(invalid("recommend.limit", "must be 1 to 12"));
            }
            Some(RecommendSlot {
                strategy: strategy.as_str().to_string(),
                limit: r.limit,
                review_url: web_url_field("recommend.review_url", &r.review_url)?,
            })
        }
        (_, None) => None,
    };
    match (input.kind, input.coupon_id) {
        (Kind::Coupon, None) => return Err(invalid("coupon_id", "is required for a coupon message")),
        (_, Some(id)) if !read.coupon_exists(id)? => return Err(invalid("coupon_id", format!("no coupon {id}"))),
        _ => {}
    }
    if input.kind == Kind::SocialProof && input.social_proof.is_none() {
        return Err(invalid("social_proof", "is required for a social-proof message"));
    }
    if input.social_proof.as_ref().is_some_and(|s| s.minimum == 0) {
        return Err(invalid(
            "social_proof.minimum",
            "must be at least 1: a message never says 0",
        ));
    }
    let t = &input.target;
    if let Some(id) = t.segment_id
        && !read.segment_exists(id)?
    {
        return Err(invalid("target.segment_id", format!("no segment {id}")));
    }
    if let Some(rule) = &t.rule {
        crate::segment::rule::Rule::parse(rule).map_err(|e| {
            invalid(
                format!("target.rule{}", e.path.trim_start_matches('$')),
                format!("expected {}", e.expected),
            )
        })?;
    }
    if t.urls.len() > MAX_URL_RULES {
        return Err(invalid(
            "target.urls",
            format!("may hold at most {MAX_URL_RULES} rules"),
        ));
    }
    for (i, rule) in t.urls.iter().enumerate() {
        let field = format!("target.urls[{i}].value");
        if rule.value.trim().is_empty() {
            return Err(invalid(field, "is required"));
        }
        if rule.value.len() > MAX_PATTERN {
            return Err(invalid(field, format!("may be at most {MAX_PATTERN} characters")));
        }
        if rule.matching == UrlMatch::Regex
            && let Err(e) = url_regex(&rule.value)
        {
            return Err(invalid(field, format!("is not a valid regular expression: {e}")));
        }
    }
    for (field, r) in [
        ("target.cart_value", &t.cart_value),
        ("target.cart_items", &t.cart_items),
    ] {
        if let Some(r) = r
            && (r.min.is_some_and(|m| !m.is_finite() || m < 0.0)
                || r.max.is_some_and(|m| !m.is_finite() || m < 0.0)
                || matches!((r.min, r.max), (Some(a), Some(b)) if a > b))
        {
            return Err(invalid(
                field,
                "must be a range of numbers from 0, `min` no more than `max`",
            ));
        }
    }
    if input.triggers.is_empty() {
        return Err(invalid("triggers", "needs at least one trigger"));
    }
    for (i, trigger) in input.triggers.iter().enumerate() {
        let bad = match trigger {
            Trigger::Delay { seconds } => (*seconds > 3600).then_some(("seconds", "must be 0 to 3600")),
            Trigger::Scroll { percent } => (!(1..=100).contains(percent)).then_some(("percent", "must be 1 to 100")),
            Trigger::PageViews { count } => (!(1..=100).contains(count)).then_some(("count", "must be 1 to 100")),
            Trigger::Event { event } => event.trim().is_empty().then_some(("event", "is required")),
            Trigger::Arrival | Trigger::ExitIntent => None,
        };
        if let Some((f, m)) = bad {
            return Err(invalid(format!("triggers[{i}].{f}"), m));
        }
    }
    let d = &input.display;
    let time = |field: &str, v: &Option<String>| -> Result<(), OnsiteError> {
        match v {
            Some(s) if crate::value::parse_time(s).is_none() => Err(invalid(field, "must be an RFC 3339 date-time")),
            _ => Ok(()),
        }
    };
    time("display.starts_at", &d.starts_at)?;
    time("display.ends_at", &d.ends_at)?;
    if let (Some(a), Some(b)) = (
        d.starts_at.as_deref().and_then(crate::value::parse_time),
        d.ends_at.as_deref().and_then(crate::value::parse_time),
    ) && a >= b
    {
        return Err(invalid("display.ends_at", "must be after `starts_at`"));
    }
    if let Some(w) = d.weekdays.iter().find(|w| !(1..=7).contains(*w)) {
        return Err(invalid(
            "display.weekdays",
            format!("are 1 (Monday) to 7 (Sunday), not {w}"),
        ));
    }
    if let Some(h) = d.hours
        && (h.from > 24 || h.to > 24 || h.from == h.to)
    {
        return Err(invalid("display.hours", "are two different hours from 0 to 24"));
    }
    if let Frequency::Days { days } = d.frequency
        && !(1..=365).contains(&days)
    {
        return Err(invalid("display.frequency.days", "must be 1 to 365"));
    }
    if d.max_views == Some(0) {
        return Err(invalid(
            "display.max_views",
            "must be at least 1 (pause the message to show it to nobody)",
        ));
    }
    let shows_again = d.frequency != Frequency::Once && d.max_views != Some(1);
    if d.dont_show_days > 365 {
        return Err(invalid("display.dont_show_days", "must be at most 365"));
    }
    if shows_again && d.dont_show_days < 7 {
        return Err(invalid(
            "display.dont_show_days",
            "must be at least 7: a message that asks again must offer \"7일간 보지 않기\" (전자상거래법)",
        ));
    }
    if !(1..=90).contains(&input.attribution_days) {
        return Err(invalid("attribution_days", "must be 1 to 90"));
    }
    for (k, v) in &input.fallbacks {
        if k.len() > 100 || v.len() > 500 {
            return Err(invalid(format!("fallbacks.{k}"), "is too long"));
        }
    }
    Ok(Definition {
        name: name.to_string(),
        kind: input.kind,
        template: input.template.clone(),
        content,
        fallbacks: input.fallbacks.clone(),
        recommend,
        coupon_id: input.coupon_id,
        social_proof: input.social_proof.clone(),
        target: input.target.clone(),
        triggers: input.triggers.clone(),
        display: input.display.clone(),
        attribution_days: input.attribution_days,
    })
}

/// What [`check`] asks the store.
pub trait Lookups {
    fn coupon_exists(&self, id: u64) -> Result<bool, store::Error>;
    fn segment_exists(&self, id: u64) -> Result<bool, store::Error>;
}

impl Lookups for Tx<'_> {
    fn coupon_exists(&self, id: u64) -> Result<bool, store::Error> {
        Ok(self.coupon::<serde::de::IgnoredAny>(id)?.is_some())
    }
    fn segment_exists(&self, id: u64) -> Result<bool, store::Error> {
        Ok(self.segment::<serde::de::IgnoredAny>(id)?.is_some())
    }
}

impl Lookups for ReadTx {
    fn coupon_exists(&self, id: u64) -> Result<bool, store::Error> {
        Ok(self.coupon::<serde::de::IgnoredAny>(id)?.is_some())
    }
    fn segment_exists(&self, id: u64) -> Result<bool, store::Error> {
        Ok(self.segment::<serde::de::IgnoredAny>(id)?.is_some())
    }
}

/// What holds for every message: how many different messages one visitor may see in one visit
/// (one a page view is the script's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// 1 to 20 (default 3).
    #[serde(default = "three")]
    pub per_visit: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { per_visit: 3 }
    }
}

const SETTINGS_KEY: &str = "onsite_settings";

/// The shop's settings for on-site messages (the defaults until saved).
pub fn settings(read: &ReadTx) -> Result<Settings, store::Error> {
    Ok(read.meta(SETTINGS_KEY)?.unwrap_or_default())
}

pub fn save_settings(tx: &mut Tx, s: &Settings) -> Result<(), OnsiteError> {
    if !(1..=20).contains(&s.per_visit) {
        return Err(invalid("per_visit", "must be 1 to 20"));
    }
    tx.put_meta(SETTINGS_KEY, s)?;
    Ok(())
}

pub fn create(tx: &mut Tx, input: &MessageInput, now: i64) -> Result<u64, OnsiteError> {
    let definition = check(tx, input)?;
    let id = tx.next_onsite_message_id()?;
    tx.put_onsite_message(
        id,
        &MessageRecord {
            definition,
            status: Status::Draft,
            created_at: now,
            updated_at: now,
            activated_at: None,
        },
    )?;
    Ok(id)
}

pub fn update(tx: &mut Tx, id: u64, input: &MessageInput, now: i64) -> Result<MessageRecord, OnsiteError> {
    let mut rec: MessageRecord = tx.onsite_message(id)?.ok_or(OnsiteError::NotFound(id))?;
    rec.definition = check(tx, input)?;
    rec.updated_at = now;
    tx.put_onsite_message(id, &rec)?;
    Ok(rec)
}

pub fn set_status(tx: &mut Tx, id: u64, status: Status, now: i64) -> Result<MessageRecord, OnsiteError> {
    let mut rec: MessageRecord = tx.onsite_message(id)?.ok_or(OnsiteError::NotFound(id))?;
    if status == Status::Active && rec.status != Status::Active {
        rec.activated_at = Some(now);
    }
    rec.status = status;
    rec.updated_at = now;
    tx.put_onsite_message(id, &rec)?;
    Ok(rec)
}

/// Deletes a message and its counts. What visitors saw of it stays behind, unread: its id is never
/// given again.
pub fn delete(tx: &mut Tx, id: u64) -> Result<(), OnsiteError> {
    if !tx.delete_onsite_message(id)? {
        return Err(OnsiteError::NotFound(id));
    }
    Ok(())
}

pub fn get(read: &ReadTx, id: u64) -> Result<MessageRecord, OnsiteError> {
    read.onsite_message(id)?.ok_or(OnsiteError::NotFound(id))
}

pub fn list(read: &ReadTx) -> Result<Vec<(u64, MessageRecord)>, OnsiteError> {
    Ok(read.onsite_messages()?)
}
