//! Campaigns: who (a segment or a rule), when (once, daily at a time, or N minutes/hours/days after
//! a behaviour unless a cancelling event came first), what (a template with the person's name, a
//! coupon and recommended products) and through which channel. `send.rs` is the scheduler and the
//! outbox that send them exactly once per person; `law.rs` the consent, quiet hours, frequency
//! cap and labels; `channel.rs` SMTP and the HTTP providers; `render.rs` the templates;
//! `report.rs` the counts and attribution; `templates.rs` the eight ready-made campaigns.

pub mod body;
pub mod channel;
pub mod law;
pub mod link;
pub mod presets;
pub mod render;
pub mod report;
pub mod send;
pub mod settings;
pub mod templates;
pub mod variants;

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::segment::rule::Rule;
use crate::store::{self, ReadTx, Tx};
pub use variants::{Variant, VariantContent};

/// The channel a campaign sends through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    /// A short text (SMS; the provider sends it as LMS when it is long).
    Sms,
    /// A long text with a subject (LMS).
    Lms,
    /// Kakao AlimTalk: informational, from a template approved by Kakao.
    Alimtalk,
    /// Kakao FriendTalk: advertising to the shop channel's friends.
    Friendtalk,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Email,
        Channel::Sms,
        Channel::Lms,
        Channel::Alimtalk,
        Channel::Friendtalk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Lms => "lms",
            Channel::Alimtalk => "alimtalk",
            Channel::Friendtalk => "friendtalk",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The consent this channel's advertising needs.
    pub fn consent(self) -> store::records::ConsentChannel {
        use store::records::ConsentChannel as C;
        match self {
            Channel::Email => C::Email,
            Channel::Sms | Channel::Lms => C::Sms,
            Channel::Alimtalk | Channel::Friendtalk => C::Kakao,
        }
    }

    pub fn is_kakao(self) -> bool {
        matches!(self, Channel::Alimtalk | Channel::Friendtalk)
    }

    /// The default attribution window: 5 days for email, 1 day for texts and Kakao.
    pub fn default_window_hours(self) -> u32 {
        match self {
            Channel::Email => 5 * 24,
            _ => 24,
        }
    }
}

/// Advertising (the ad law applies) or informational (order related; it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    #[default]
    Ad,
    Informational,
}

/// Who a one-off or daily campaign goes to, and who a triggered one may go to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Audience {
    /// A saved segment.
    #[serde(default)]
    pub segment_id: Option<u64>,
    /// A rule in the segment rule language (CONTRACT §4), applied as well as the segment.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub rule: Option<Value>,
}

/// A unit of delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Minutes,
    Hours,
    Days,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delay {
    pub amount: u32,
    pub unit: Unit,
}

impl Delay {
    pub fn ms(self) -> i64 {
        i64::from(self.amount)
            * match self.unit {
                Unit::Minutes => 60_000,
                Unit::Hours => 3_600_000,
                Unit::Days => store::DAY_MS,
            }
    }
}

/// A test on a property of the triggering event (`total >= 50000`, `category` starts with `리빙`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PropertyTest {
    /// A property of the event; `products.category` etc. look into each product of the event.
    pub property: String,
    /// `=`, `!=`, `>`, `>=`, `<`, `<=`, `contains`, `starts_with`, `in`.
    pub op: String,
    #[schema(value_type = Object)]
    pub value: Value,
}

/// When a campaign sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum When {
    /// Once: at `at` (RFC 3339), or at launch when absent.
    Once {
        #[serde(default)]
        at: Option<String>,
    },
    /// Every day at `time` (HH:MM, shop time) from `start` (YYYY-MM-DD, default the launch day)
    /// to `end` (inclusive, default none).
    Daily {
        time: String,
        #[serde(default)]
        start: Option<String>,
        #[serde(default)]
        end: Option<String>,
    },
    /// `delay` after each `event` that passes `where`, unless one of `cancel_on` came between.
    /// With `min_count`, only once the person has viewed/carted the event's product that often.
    Trigger {
        event: String,
        #[serde(default, rename = "where")]
        filter: Vec<PropertyTest>,
        delay: Delay,
        #[serde(default)]
        cancel_on: Vec<String>,
        #[serde(default)]
        min_count: Option<u32>,
    },
}

/// The message: a subject (email, LMS), a text, and for email an HTML body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Content {
    #[serde(default)]
    pub subject: Option<String>,
    /// The text (email's plain part; the SMS/Kakao message).
    pub text: String,
    /// The email's HTML part (default: the text, escaped, with line breaks).
    #[serde(default)]
    pub html: Option<String>,
    /// Kakao AlimTalk: the template code approved by Kakao.
    #[serde(default)]
    pub template_code: Option<String>,
}

/// Which recommendations a message carries (`{{ recommendations }}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecommendSpec {
    /// A strategy of `GET /v1/recommendations` (default `for_you`).
    #[serde(default = "for_you")]
    pub strategy: String,
    #[serde(default = "four")]
    pub limit: usize,
}

fn for_you() -> String {
    "for_you".into()
}

fn four() -> usize {
    4
}

impl Default for RecommendSpec {
    fn default() -> Self {
        RecommendSpec {
            strategy: for_you(),
            limit: 4,
        }
    }
}

/// What counts as a conversion, and for how long after a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Goal {
    /// `Order Completed` (default) or any tracked event name.
    #[serde(default = "order_completed")]
    pub event: String,
    /// Hours after the message (default 120 for email, 24 for texts and Kakao).
    #[serde(default)]
    pub window_hours: Option<u32>,
}

fn order_completed() -> String {
    "Order Completed".into()
}

impl Default for Goal {
    fn default() -> Self {
        Goal {
            event: order_completed(),
            window_hours: None,
        }
    }
}

/// How often one person may get this campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    /// Never twice ("중복 발신 허용 안 함").
    #[default]
    Never,
    /// At most once a day.
    Daily,
    /// Every occurrence (the law's notices: each consent change gets its own).
    Each,
}

/// What happens to a send that fell due while the server was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Late {
    /// Sent late.
    #[default]
    Send,
    /// Skipped when more than an hour late.
    Skip,
}

/// A campaign as the API and the console's form take it (the POST and PUT body).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignInput {
    pub name: String,
    /// The ready-made template it was made from, if any.
    #[serde(default)]
    pub template: Option<String>,
    pub channel: Channel,
    #[serde(default)]
    pub purpose: Purpose,
    #[serde(default)]
    pub audience: Audience,
    pub when: When,
    pub content: Content,
    /// A coupon issued to each recipient (`{{ coupon.code }}`).
    #[serde(default)]
    pub coupon_id: Option<u64>,
    #[serde(default)]
    pub recommend: Option<RecommendSpec>,
    /// Fallbacks for empty variables, by name (`customer.name`: "고객").
    #[serde(default)]
    pub fallbacks: BTreeMap<String, String>,
    #[serde(default)]
    pub goal: Goal,
    #[serde(default)]
    pub repeat: Repeat,
    #[serde(default)]
    pub late: Late,
    /// A/B variants (CONTRACT §9): each a share of the people not held out, with what it sends
    /// otherwise. Empty: one message for everyone.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// The percent of the audience held out (0 – 50): assigned and measured, sent nothing.
    #[serde(default)]
    pub holdout_percent: u32,
}

/// What a campaign is, as its record keeps it: the checked input. Stored apart from the API's
/// `CampaignInput` so either can change without the other (a field added here needs a
/// `#[serde(default)]`, one added to the input a conversion).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    /// The ready-made template it was made from, if any.
    #[serde(default)]
    pub template: Option<String>,
    pub channel: Channel,
    #[serde(default)]
    pub purpose: Purpose,
    #[serde(default)]
    pub audience: Audience,
    pub when: When,
    pub content: Content,
    /// A coupon issued to each recipient (`{{ coupon.code }}`).
    #[serde(default)]
    pub coupon_id: Option<u64>,
    #[serde(default)]
    pub recommend: Option<RecommendSpec>,
    /// Fallbacks for empty variables, by name (`customer.name`: "고객").
    #[serde(default)]
    pub fallbacks: BTreeMap<String, String>,
    #[serde(default)]
    pub goal: Goal,
    #[serde(default)]
    pub repeat: Repeat,
    #[serde(default)]
    pub late: Late,
    /// A/B variants (CONTRACT §9): each a share of the people not held out, with what it sends
    /// otherwise. Empty: one message for everyone.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// The percent of the audience held out (0 – 50): assigned and measured, sent nothing.
    #[serde(default)]
    pub holdout_percent: u32,
}

impl From<CampaignInput> for Definition {
    fn from(i: CampaignInput) -> Definition {
        Definition {
            name: i.name,
            template: i.template,
            channel: i.channel,
            purpose: i.purpose,
            audience: i.audience,
            when: i.when,
            content: i.content,
            coupon_id: i.coupon_id,
            recommend: i.recommend,
            fallbacks: i.fallbacks,
            goal: i.goal,
            repeat: i.repeat,
            late: i.late,
            // Stored as the experiment names them (`experiment::Design`, the outbox's variant).
            variants: i
                .variants
                .into_iter()
                .map(|mut v| {
                    v.key = v.key.trim().to_string();
                    v
                })
                .collect(),
            holdout_percent: i.holdout_percent,
        }
    }
}

impl From<&Definition> for CampaignInput {
    fn from(d: &Definition) -> CampaignInput {
        let d = d.clone();
        CampaignInput {
            name: d.name,
            template: d.template,
            channel: d.channel,
            purpose: d.purpose,
            audience: d.audience,
            when: d.when,
            content: d.content,
            coupon_id: d.coupon_id,
            recommend: d.recommend,
            fallbacks: d.fallbacks,
            goal: d.goal,
            repeat: d.repeat,
            late: d.late,
            variants: d.variants,
            holdout_percent: d.holdout_percent,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being written; sends nothing.
    #[default]
    Draft,
    /// Launched: sends when due.
    Active,
    /// Stopped for now; what is queued waits.
    Paused,
    /// Done: a one-off that was sent, or a daily one past its end.
    Done,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Done => "done",
        }
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignRecord {
    /// Stored under the name it had when it was the API's body.
    #[serde(rename = "input")]
    pub definition: Definition,
    #[serde(default)]
    pub status: Status,
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    #[serde(default)]
    pub launched_at: Option<i64>,
    /// One-off and daily: the next occurrence (unix millis).
    #[serde(default)]
    pub next_due: Option<i64>,
    /// Triggered: only events after this sequence count (those stored after the launch).
    #[serde(default)]
    pub since_seq: u64,
    /// Occurrences handled (queued or skipped as late), newest last, at most 60.
    #[serde(default)]
    pub occurrences: Vec<Occurrence>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Occurrence {
    /// When it was due (unix millis).
    pub due: i64,
    /// When it was handled.
    pub at: i64,
    /// People queued.
    pub queued: u64,
    /// Skipped because the server was down too long and the campaign skips late sends.
    #[serde(default)]
    pub skipped_late: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("no campaign {0}")]
    NotFound(u64),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for CampaignError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            CampaignError::Field { .. } => ErrorCode::InvalidField,
            CampaignError::NotFound(_) => ErrorCode::NotFound,
            CampaignError::Conflict(_) => ErrorCode::Conflict,
            CampaignError::Store(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            CampaignError::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

pub(crate) fn bad(field: impl Into<String>, message: impl Into<String>) -> CampaignError {
    CampaignError::Field {
        field: field.into(),
        message: message.into(),
    }
}

/// A daily schedule, parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyPlan {
    pub time: NaiveTime,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl DailyPlan {
    /// The first occurrence at or after `from` (unix millis), within start..=end, or None.
    pub fn first_at_or_after(&self, from: i64, tz: Tz) -> Option<i64> {
        let from_local = tz.timestamp_millis_opt(from).single()?.date_naive();
        let mut day = match self.start {
            Some(s) if s > from_local => s,
            _ => from_local,
        };
        for _ in 0..3 {
            if self.end.is_some_and(|e| day > e) {
                return None;
            }
            // The time on `day`; a time skipped by a daylight-saving jump moves on an hour.
            let local = day.and_time(self.time);
            let at = tz
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| tz.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())?
                .timestamp_millis();
            if at >= from {
                return Some(at);
            }
            day = day.succ_opt()?;
        }
        None
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

fn parse_day(field: &str, s: &Option<String>) -> Result<Option<NaiveDate>, CampaignError> {
    s.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| bad(field, format!("{s:?} is not a date (YYYY-MM-DD)")))
        })
        .transpose()
}

const OPS: [&str; 9] = ["=", "!=", ">", ">=", "<", "<=", "contains", "starts_with", "in"];

impl CampaignInput {
    /// Checks every field; the first wrong one is named in the error.
    pub fn check(&self, read: &ReadTx) -> Result<(), CampaignError> {
        Definition::from(self.clone()).check(read)
    }
}

impl Definition {
    /// Checks every field; the first wrong one is named in the error.
    pub fn check(&self, read: &ReadTx) -> Result<(), CampaignError> {
        if self.name.trim().is_empty() {
            return Err(bad("name", "is empty"));
        }
        if self.name.chars().count() > 200 {
            return Err(bad("name", "is longer than 200 characters"));
        }
        if let Some(id) = self.audience.segment_id
            && read.segment::<Value>(id)?.is_none()
        {
            return Err(bad("audience.segment_id", format!("no segment {id}")));
        }
        if let Some(rule) = &self.audience.rule {
            Rule::parse(rule).map_err(|e| {
                bad(
                    format!("audience.rule{}", e.path.trim_start_matches('$')),
                    format!("expected {}", e.expected),
                )
            })?;
        }
        self.schedule_check()?;
        self.content_check(read)?;
        self.variants_check(read)?;
        if let Some(r) = &self.recommend {
            if crate::recommend::Strategy::parse(&r.strategy).is_none() {
                return Err(bad("recommend.strategy", format!("{:?} is not a strategy", r.strategy)));
            }
            if r.limit == 0 || r.limit > 12 {
                return Err(bad("recommend.limit", "must be 1 to 12"));
            }
        }
        if self.goal.event.trim().is_empty() {
            return Err(bad("goal.event", "is empty"));
        }
        if let Some(h) = self.goal.window_hours
            && (h == 0 || h > 24 * 90)
        {
            return Err(bad("goal.window_hours", "must be 1 to 2160 hours (90 days)"));
        }
        Ok(())
    }

    /// Checks what is sent: the content for the channel and the coupon.
    fn content_check(&self, read: &ReadTx) -> Result<(), CampaignError> {
        if self.content.text.trim().is_empty() {
            return Err(bad("content.text", "is empty"));
        }
        if matches!(self.channel, Channel::Email | Channel::Lms)
            && self.content.subject.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            return Err(bad(
                "content.subject",
                format!("{} needs a subject", self.channel.as_str()),
            ));
        }
        if self.channel == Channel::Alimtalk {
            if self.purpose == Purpose::Ad {
                return Err(bad(
                    "purpose",
                    "AlimTalk carries informational messages only; use friendtalk for advertising",
                ));
            }
            if self
                .content
                .template_code
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
            {
                return Err(bad(
                    "content.template_code",
                    "AlimTalk needs the template code Kakao approved",
                ));
            }
        }
        for (field, text) in [
            ("content.subject", self.content.subject.as_deref()),
            ("content.text", Some(self.content.text.as_str())),
            ("content.html", self.content.html.as_deref()),
        ] {
            if let Some(t) = text {
                render::check_template(t).map_err(|e| bad(field, e))?;
            }
        }
        if let Some(id) = self.coupon_id
            && read.coupon::<Value>(id)?.is_none()
        {
            return Err(bad("coupon_id", format!("no coupon {id}")));
        }
        Ok(())
    }

    fn schedule_check(&self) -> Result<(), CampaignError> {
        match &self.when {
            When::Once { at } => {
                if let Some(at) = at
                    && crate::value::parse_time(at).is_none()
                {
                    return Err(bad("when.at", format!("{at:?} is not an RFC 3339 time")));
                }
            }
            When::Daily { .. } => {
                self.daily_plan()?;
            }
            When::Trigger {
                event,
                filter,
                delay,
                min_count,
                ..
            } => {
                if event.trim().is_empty() {
                    return Err(bad("when.event", "is empty"));
                }
                if delay.ms() > 365 * store::DAY_MS {
                    return Err(bad("when.delay", "must be at most a year"));
                }
                for (i, t) in filter.iter().enumerate() {
                    if t.property.trim().is_empty() {
                        return Err(bad(format!("when.where[{i}].property"), "is empty"));
                    }
                    if !OPS.contains(&t.op.as_str()) {
                        return Err(bad(
                            format!("when.where[{i}].op"),
                            format!("{:?} is not one of {}", t.op, OPS.join(", ")),
                        ));
                    }
                    if t.op == "in" && !t.value.is_array() {
                        return Err(bad(format!("when.where[{i}].value"), "`in` takes a list"));
                    }
                }
                if min_count == &Some(0) {
                    return Err(bad("when.min_count", "must be at least 1"));
                }
            }
        }
        Ok(())
    }

    /// The daily plan of a daily campaign.
    pub fn daily_plan(&self) -> Result<Option<DailyPlan>, CampaignError> {
        let When::Daily { time, start, end } = &self.when else {
            return Ok(None);
        };
        let time = parse_time(time).ok_or_else(|| bad("when.time", format!("{time:?} is not a time (HH:MM)")))?;
        let start = parse_day("when.start", start)?;
        let end = parse_day("when.end", end)?;
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            return Err(bad("when.end", "is before the start"));
        }
        Ok(Some(DailyPlan { time, start, end }))
    }

    /// The attribution window in milliseconds.
    pub fn window_ms(&self) -> i64 {
        i64::from(
            self.goal
                .window_hours
                .unwrap_or_else(|| self.channel.default_window_hours()),
        ) * 3_600_000
    }
}

impl CampaignRecord {
    /// A draft of `definition`, made at `now`.
    pub fn draft(definition: Definition, now: i64) -> CampaignRecord {
        CampaignRecord {
            definition,
            status: Status::Draft,
            created_at: now,
            updated_at: now,
            launched_at: None,
            next_due: None,
            since_seq: 0,
            occurrences: Vec::new(),
        }
    }
}

/// Creates a draft.
pub fn create(tx: &mut Tx, input: &CampaignInput, now: i64) -> Result<u64, CampaignError> {
    let id = tx.next_campaign_id()?;
    tx.put_campaign(id, &CampaignRecord::draft(input.clone().into(), now))?;
    Ok(id)
}

/// Replaces a campaign's definition. A launched campaign keeps its schedule state; a change of
/// its `when` takes effect from now.
pub fn update(tx: &mut Tx, id: u64, input: &CampaignInput, now: i64, tz: Tz) -> Result<(), CampaignError> {
    let mut rec: CampaignRecord = tx.campaign(id)?.ok_or(CampaignError::NotFound(id))?;
    let when_changed = rec.definition.when != input.when;
    if rec.status != Status::Draft {
        // The arms of an experiment under way stay as they were drawn: new ones would measure
        // people by a split they were not given.
        if rec.definition.variants.len() != input.variants.len()
            || rec
                .definition
                .variants
                .iter()
                .zip(&input.variants)
                .any(|(a, b)| a.key.trim() != b.key.trim() || a.weight != b.weight)
        {
            return Err(bad(
                "variants",
                "the keys and weights stay as launched: copy the campaign to try others",
            ));
        }
        if rec.definition.holdout_percent != input.holdout_percent {
            return Err(bad(
                "holdout_percent",
                "stays as launched: copy the campaign to try another",
            ));
        }
    }
    rec.definition = input.clone().into();
    if rec.status != Status::Draft
        && let Some(design) = rec.definition.design(tz)
    {
        // The goal and its window may change; what counted stays counted.
        crate::experiment::define(tx, (crate::experiment::CAMPAIGN, id), &design)?;
    }
    rec.updated_at = now;
    if when_changed && matches!(rec.status, Status::Active | Status::Paused) {
        rec.next_due = first_due(&rec.definition, now, tz)?;
        rec.since_seq = tx.last_event_seq();
    }
    tx.put_campaign(id, &rec)?;
    Ok(())
}

/// When a campaign launched at `now` is first due (None for a triggered one).
fn first_due(input: &Definition, now: i64, tz: Tz) -> Result<Option<i64>, CampaignError> {
    Ok(match &input.when {
        When::Once { at } => Some(
            at.as_deref()
                .and_then(crate::value::parse_time)
                .map_or(now, |t| t.max(now)),
        ),
        When::Daily { .. } => {
            let plan = input.daily_plan()?.expect("daily");
            match plan.first_at_or_after(now, tz) {
                Some(t) => Some(t),
                None => return Err(bad("when.end", "is past: the campaign would never send")),
            }
        }
        When::Trigger { .. } => None,
    })
}

/// Launches (or resumes) a campaign: from now on it sends when due. Refused, with the field
/// named, while the messaging settings lack what the channel or the ad law needs.
pub fn launch(tx: &mut Tx, id: u64, now: i64, tz: Tz) -> Result<CampaignRecord, CampaignError> {
    let rec: CampaignRecord = tx.campaign(id)?.ok_or(CampaignError::NotFound(id))?;
    if rec.status != Status::Active {
        settings::Settings::load_tx(tx)?.ready_to_launch(&rec.definition)?;
    }
    activate(tx, id, now, tz)
}

/// [`launch`] without the settings check: the law's notices are on from a store's first start,
/// before any channel is set up (until one is, they are skipped as `no_channel`).
pub(crate) fn activate(tx: &mut Tx, id: u64, now: i64, tz: Tz) -> Result<CampaignRecord, CampaignError> {
    let mut rec: CampaignRecord = tx.campaign(id)?.ok_or(CampaignError::NotFound(id))?;
    match rec.status {
        Status::Active => return Ok(rec),
        Status::Done => return Err(CampaignError::Conflict(format!("campaign {id} is done"))),
        Status::Paused => {
            // Resuming: a daily campaign's missed days are not sent; a trigger resumes from now;
            // a one-off whose occurrence was queued already goes on sending it.
            if matches!(rec.definition.when, When::Daily { .. }) {
                rec.next_due = first_due(&rec.definition, now, tz)?;
            }
            if matches!(rec.definition.when, When::Trigger { .. }) {
                rec.since_seq = tx.last_event_seq();
            }
            if matches!(rec.definition.when, When::Once { .. }) && rec.next_due.is_none() {
                rec.status = Status::Done;
                rec.updated_at = now;
                tx.put_campaign(id, &rec)?;
                return Ok(rec);
            }
        }
        Status::Draft => {
            rec.launched_at = Some(now);
            rec.next_due = first_due(&rec.definition, now, tz)?;
            rec.since_seq = tx.last_event_seq();
            if let Some(design) = rec.definition.design(tz) {
                crate::experiment::define(tx, (crate::experiment::CAMPAIGN, id), &design)?;
            }
        }
    }
    rec.status = Status::Active;
    rec.updated_at = now;
    tx.put_campaign(id, &rec)?;
    Ok(rec)
}

/// Pauses a campaign: nothing more is queued or sent until it is launched again (a one-off that
/// has queued its occurrence — `done` — stops sending what is left of it).
pub fn pause(tx: &mut Tx, id: u64, now: i64) -> Result<CampaignRecord, CampaignError> {
    let mut rec: CampaignRecord = tx.campaign(id)?.ok_or(CampaignError::NotFound(id))?;
    if matches!(rec.status, Status::Active | Status::Done) {
        rec.status = Status::Paused;
        rec.updated_at = now;
        tx.put_campaign(id, &rec)?;
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_plan_runs_from_its_start_to_its_end() {
        let tz = chrono_tz::Asia::Seoul;
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        let plan = DailyPlan {
            time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            start: NaiveDate::from_ymd_opt(2026, 11, 25),
            end: NaiveDate::from_ymd_opt(2026, 11, 26),
        };
        assert_eq!(
            plan.first_at_or_after(at("2026-11-23T09:00:00+09:00"), tz),
            Some(at("2026-11-25T10:00:00+09:00"))
        );
        assert_eq!(
            plan.first_at_or_after(at("2026-11-25T10:00:00.001+09:00"), tz),
            Some(at("2026-11-26T10:00:00+09:00"))
        );
        assert_eq!(plan.first_at_or_after(at("2026-11-26T10:00:01+09:00"), tz), None);
    }
}
