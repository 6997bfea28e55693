//! Saved segments: a name, a rule and a "live" flag, and their membership recomputed every night
//! at 00:00 shop time (after the analysis, so rules on its fields see the new day) and kept per
//! date with who entered and who left.

use std::sync::Arc;

use roaring::RoaringTreemap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::eval::AnalysisDays;
use super::{Rule, RuleError};
use crate::analysis::{day_date, local_day};
use crate::customer::columns::Shared;
use crate::store::{self, ReadTx, Store, Tx};
use crate::value::csv_cell;

/// The job's name in the runner.
pub const JOB: &str = "segments";
/// Days of membership kept whole; older days are kept as each month's first recomputed day.
pub const KEEP_DAILY: i32 = 90;
pub const KEEP_MONTHLY: i32 = 760;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SegmentRecord {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The rule as given (it parsed when saved).
    #[serde(default)]
    pub rule: Value,
    /// Campaigns may ask "is this person in it now" of a live segment (evaluated on demand).
    #[serde(default)]
    pub live: bool,
    /// A tag the nightly recompute keeps on the members (Shopify-style automatic tags, "VIP",
    /// "lapsed"): members get it, those who leave lose it; a hand-added tag on someone the rule
    /// never selected stays.
    #[serde(default)]
    pub auto_tag: Option<String>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

/// One recomputed day of a segment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SegmentDay {
    #[serde(default)]
    pub count: u64,
    /// Members who were not members on the previous recomputed day, and the reverse.
    #[serde(default)]
    pub entered: u64,
    #[serde(default)]
    pub left: u64,
    /// The members' customer ids, a serialized roaring treemap.
    #[serde(default, with = "serde_bytes_vec")]
    pub members: Vec<u8>,
}

/// The counts of a day without its members (cheap to read for a history).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SegmentCounts {
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub entered: u64,
    #[serde(default)]
    pub left: u64,
}

/// MessagePack `bin` for a byte vector (not an array of numbers).
mod serde_bytes_vec {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::ser::Serializer;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

impl SegmentDay {
    pub fn member_ids(&self) -> RoaringTreemap {
        RoaringTreemap::deserialize_from(self.members.as_slice()).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("no segment {0}")]
    NotFound(u64),
    #[error("`name` must be 1 to 200 characters")]
    Name,
    #[error("`auto_tag` must be 1 to 100 characters")]
    AutoTag,
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What a client sends to create or change a segment.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SegmentInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[schema(value_type = Object)]
    pub rule: Value,
    #[serde(default)]
    pub live: bool,
    /// A tag the nightly recompute adds to the members and takes from those who leave.
    #[serde(default)]
    pub auto_tag: Option<String>,
}

impl SegmentInput {
    /// The rule parsed, and the name and automatic tag checked.
    pub fn check(&self) -> Result<Rule, SegmentError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(SegmentError::Name);
        }
        if self.auto_tag.as_deref().is_some_and(|t| t.trim().chars().count() > 100) {
            return Err(SegmentError::AutoTag);
        }
        Ok(Rule::parse(&self.rule)?)
    }

    /// The automatic tag, trimmed; an empty one is none.
    fn tag(&self) -> Option<String> {
        self.auto_tag
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }
}

/// Creates a segment; returns its id.
pub async fn create(store: &Store, input: SegmentInput, now: i64) -> Result<u64, SegmentError> {
    input.check()?;
    store
        .write(move |tx| {
            let id = tx.next_segment_id()?;
            tx.put_segment(
                id,
                &SegmentRecord {
                    name: input.name.trim().to_string(),
                    description: input.description.clone(),
                    rule: input.rule.clone(),
                    live: input.live,
                    auto_tag: input.tag(),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Ok::<_, SegmentError>(id)
        })
        .await
}

/// Replaces a segment's name, description, rule and live flag; its history stays.
pub async fn update(store: &Store, id: u64, input: SegmentInput, now: i64) -> Result<(), SegmentError> {
    input.check()?;
    store
        .write(move |tx| {
            let mut rec: SegmentRecord = tx.segment(id)?.ok_or(SegmentError::NotFound(id))?;
            rec.name = input.name.trim().to_string();
            rec.description.clone_from(&input.description);
            rec.rule = input.rule.clone();
            rec.live = input.live;
            rec.auto_tag = input.tag();
            rec.updated_at = now;
            tx.put_segment(id, &rec)?;
            Ok(())
        })
        .await
}

pub async fn delete(store: &Store, id: u64) -> Result<(), SegmentError> {
    store
        .write(move |tx| {
            if tx.delete_segment(id)? {
                Ok(())
            } else {
                Err(SegmentError::NotFound(id))
            }
        })
        .await
}

/// The nightly recompute, registered after the analysis job.
pub fn job(
    columns: Shared,
    days: Arc<AnalysisDays>,
    search: Option<Arc<crate::search::Search>>,
    holds: Option<Arc<crate::coupon::Holdings>>,
) -> crate::jobs::Job {
    crate::jobs::Job {
        name: JOB,
        about: "every saved segment's members, kept per date with who entered and left",
        schedule: crate::jobs::Schedule::DailyAt(chrono::NaiveTime::MIN),
        body: Arc::new(move |store, ctx| recompute(store, &columns, &days, search.as_deref(), holds.as_deref(), ctx)),
    }
}

/// Evaluates every saved segment as of `now` and returns the writes of the day's membership.
fn recompute(
    store: &Store,
    columns: &Shared,
    days: &AnalysisDays,
    search: Option<&crate::search::Search>,
    holds: Option<&crate::coupon::Holdings>,
    ctx: &crate::jobs::JobContext,
) -> anyhow::Result<crate::jobs::Finish> {
    let (now, tz) = (ctx.now, ctx.tz);
    // The columns are built in the background after a start: 73 s for 1,000,000 customers on two
    // cores beside the other jobs of a start, so the job waits up to ten minutes for them.
    for _ in 0..6_000 {
        if columns.read().expect("not poisoned").ready() {
            break;
        }
        anyhow::ensure!(
            !ctx.stopping.load(std::sync::atomic::Ordering::Relaxed),
            "the server stopped before the customer columns were built"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::ensure!(
        columns.read().expect("not poisoned").ready(),
        "the customer columns were not built within ten minutes"
    );
    let read = store.read()?;
    let today = local_day(now, tz);
    let mut results: Vec<(u64, Counted)> = Vec::new();
    let mut failed = Vec::new();
    for (id, rec) in read.segments::<SegmentRecord>()? {
        let rule = match Rule::parse(&rec.rule) {
            Ok(r) => r,
            Err(e) => {
                failed.push(format!("segment {id}: {e}"));
                continue;
            }
        };
        // The columns are locked per segment, so that the writer's notices keep flowing between.
        let counted = {
            let cols = columns.read().expect("not poisoned");
            let env = super::eval::Env {
                cols: &cols,
                read: &read,
                tz,
                now,
                days,
                search,
                holds,
            };
            count(&env, id, &rec, &rule)?
        };
        results.push((id, counted));
    }
    let tagging = results.iter().filter(|(_, c)| c.tag.is_some()).count();
    let (added, removed) = results
        .iter()
        .filter_map(|(_, c)| c.tag.as_ref())
        .fold((0, 0), |(a, r), (_, add, remove)| (a + add.len(), r + remove.len()));
    let mut figures = vec![
        ("segments", results.len().to_string()),
        ("date", day_date(today).to_string()),
    ];
    if tagging > 0 {
        figures.push(("tags_added", added.to_string()));
        figures.push(("tags_removed", removed.to_string()));
    }
    if !failed.is_empty() {
        figures.push(("skipped", failed.len().to_string()));
    }
    let message = crate::jobs::Done::new(
        format!(
            "{} segments recomputed for {}{}{}",
            results.len(),
            day_date(today),
            if tagging == 0 {
                String::new()
            } else {
                format!("; automatic tags: {added} added, {removed} removed")
            },
            if failed.is_empty() {
                String::new()
            } else {
                format!("; skipped: {}", failed.join("; "))
            }
        ),
        &figures,
    );
    Ok(Box::new(move |tx: &mut Tx| {
        for (id, counted) in &results {
            put_counted(tx, *id, today, counted, now)?;
        }
        Ok(message.clone())
    }))
}

/// A segment's members as of `env.now`, with who entered and left since its last recomputed day
/// before today, and what its automatic tag gains and loses.
pub struct Counted {
    pub day: SegmentDay,
    /// (tag, who gets it, who loses it).
    tag: Option<(String, RoaringTreemap, RoaringTreemap)>,
}

/// Counts segment `id` (its record `rec`, its rule `rule`) in `env`: the nightly run does it for
/// every segment, and a save for the one saved.
pub fn count(env: &super::eval::Env, id: u64, rec: &SegmentRecord, rule: &Rule) -> Result<Counted, store::Error> {
    let (read, cols) = (env.read, env.cols);
    let today = local_day(env.now, env.tz);
    let rows = super::eval::evaluate(rule, env)?;
    let members: RoaringTreemap = rows.iter().map(|r| cols.ids[r as usize]).collect();
    let before = read
        .segment_day_on_or_before::<SegmentDay>(id, today - 1)?
        .map(|(_, d)| d.member_ids())
        .unwrap_or_default();
    let tag = match &rec.auto_tag {
        None => None,
        Some(tag) => {
            let tagged: RoaringTreemap = match cols.tags.get(tag) {
                Some(rows) => rows.iter().map(|r| cols.ids[r as usize]).collect(),
                None => RoaringTreemap::new(),
            };
            // Members without the tag get it; those who left since the last count (today's
            // earlier one, if any) lose it.
            let last = match read.segment_day_on_or_before::<SegmentDay>(id, today)? {
                Some((day, d)) if day == today => d.member_ids(),
                _ => before.clone(),
            };
            Some((tag.clone(), &members - &tagged, &(&last - &members) & &tagged))
        }
    };
    let mut bytes = Vec::with_capacity(members.serialized_size());
    members
        .serialize_into(&mut bytes)
        .expect("writing into memory cannot fail");
    Ok(Counted {
        day: SegmentDay {
            count: members.len(),
            entered: (&members - &before).len(),
            left: (&before - &members).len(),
            members: bytes,
        },
        tag,
    })
}

/// Writes a count as the day `today` of segment `id`, the days too old pruned, its automatic tag
/// given and taken.
pub fn put_counted(tx: &mut Tx, id: u64, today: i32, counted: &Counted, now: i64) -> Result<(), store::Error> {
    tx.put_segment_day(id, today, &counted.day)?;
    prune(tx, id, today)?;
    if let Some((tag, add, remove)) = &counted.tag {
        let tag = std::slice::from_ref(tag);
        for (who, add, remove) in [(add, tag, &[][..]), (remove, &[][..], tag)] {
            for customer in who.iter() {
                match crate::customer::change_tags(tx, customer, add, remove, now) {
                    Ok(_) | Err(crate::customer::Error::NotFound(_) | crate::customer::Error::Erased(_)) => {}
                    Err(crate::customer::Error::Store(e)) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// Keeps every day of the last `KEEP_DAILY` and each month's first day for `KEEP_MONTHLY`.
fn prune(tx: &mut Tx, id: u64, today: i32) -> Result<(), store::Error> {
    let days = tx.segment_days(id)?;
    for day in crate::analysis::days_to_drop(&days, today, KEEP_DAILY, KEEP_MONTHLY) {
        tx.delete_segment_day(id, day)?;
    }
    Ok(())
}

/// A segment's members on a day (the latest recomputed day on or before it), in id order from
/// `after`, at most `limit`; and that day.
pub fn members(
    read: &ReadTx,
    id: u64,
    day: i32,
    after: u64,
    limit: usize,
) -> Result<Option<(i32, SegmentDay, Vec<u64>)>, store::Error> {
    let Some((day, d)) = read.segment_day_on_or_before::<SegmentDay>(id, day)? else {
        return Ok(None);
    };
    let ids = d.member_ids();
    let page: Vec<u64> = ids.iter().filter(|&c| c > after).take(limit).collect();
    Ok(Some((day, d, page)))
}

/// When a segment's members were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedAt {
    /// Just now: a live segment, or one never counted (its rule is evaluated rather than taken
    /// as empty).
    Now,
    /// On this shop-local day (days since 1970-01-01): at its save or by the nightly run.
    Day(i32),
}

/// A saved segment's members as of now, as coupons and campaigns see them, and when they were
/// counted: a live segment's rule evaluated in `env`; a nightly one's latest counted day on or
/// before today, or its rule evaluated now if it was never counted, so that a segment is never
/// taken as empty only because no count has run yet.
pub fn current_membership(env: &super::eval::Env, id: u64) -> Result<(RoaringTreemap, CountedAt), SegmentError> {
    let rec: SegmentRecord = env.read.segment(id)?.ok_or(SegmentError::NotFound(id))?;
    if !rec.live
        && let Some((day, d)) = env
            .read
            .segment_day_on_or_before::<SegmentDay>(id, local_day(env.now, env.tz))?
    {
        return Ok((d.member_ids(), CountedAt::Day(day)));
    }
    let rule = Rule::parse(&rec.rule)?;
    Ok((super::members_now(&rule, env)?, CountedAt::Now))
}

/// A saved segment's members as of now ([`current_membership`]).
pub fn current_members(env: &super::eval::Env, id: u64) -> Result<RoaringTreemap, SegmentError> {
    Ok(current_membership(env, id)?.0)
}

/// Members as CSV (id, user_id, email, name, phone), one row per customer still on record; the
/// API's `members.csv` and the console's export write the same file. Text cells are made safe for
/// spreadsheets ([`csv_cell`]).
pub fn members_csv(read: &ReadTx, ids: &RoaringTreemap) -> Result<Vec<u8>, store::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing five fields a row into memory cannot fail.
    w.write_record(["id", "user_id", "email", "name", "phone"])
        .expect("in memory");
    for c in ids.iter() {
        if let Some(rec) = read.customer(c)? {
            let cell = |v: Option<String>| csv_cell(&v.unwrap_or_default()).into_owned();
            w.write_record([
                c.to_string(),
                cell(rec.user_id),
                cell(rec.email),
                cell(rec.name),
                cell(rec.phone),
            ])
            .expect("in memory");
        }
    }
    Ok(w.into_inner().expect("in memory"))
}

impl crate::error::HasCode for SegmentError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            SegmentError::NotFound(_) => ErrorCode::NotFound,
            SegmentError::Name | SegmentError::AutoTag => ErrorCode::InvalidField,
            SegmentError::Rule(_) => ErrorCode::InvalidRule,
            SegmentError::Store(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            SegmentError::Name => Some("name"),
            SegmentError::AutoTag => Some("auto_tag"),
            _ => None,
        }
    }
}
