//! A campaign's report: per day, targeted, held by quiet hours, skipped by reason, sent, failed,
//! opened, clicked, unsubscribed, and the conversions attributed to it: a goal (an order, or any
//! named event) within the attribution window after a message, when that message was the last one
//! the person received before it (last touch, across campaigns).

use std::collections::{BTreeMap, HashSet};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::CampaignRecord;
use super::send::{DayCounts, OutboxRow, SendState};
use crate::store::{self, ReadTx};

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DayReport {
    /// YYYY-MM-DD, shop time.
    pub day: String,
    #[serde(flatten)]
    pub counts: DayCounts,
    pub conversions: u64,
    pub revenue: f64,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub campaign: u64,
    /// The goal event and its window in hours.
    pub goal: String,
    pub window_hours: u32,
    pub totals: DayCounts,
    /// Goals reached within the window after a message that was the person's last.
    pub conversions: u64,
    /// People with at least one conversion.
    pub converted: u64,
    /// `converted / sent`.
    pub conversion_rate: f64,
    /// The orders' worth (order goals).
    pub revenue: f64,
    pub days: Vec<DayReport>,
    /// A campaign with variants or a hold-out: each arm measured on everyone assigned (CONTRACT §9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<crate::experiment::report::ExperimentReport>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    event: Option<String>,
    timestamp: i64,
}

/// Builds the report of campaign `id`.
pub fn report(read: &ReadTx, id: u64, rec: &CampaignRecord, tz: Tz) -> Result<Report, store::Error> {
    let window = rec.definition.window_ms();
    let goal = rec.definition.goal.event.clone();
    let mut days: BTreeMap<i32, DayReport> = BTreeMap::new();
    let mut totals = DayCounts::default();
    for (day, c) in read.campaign_days::<DayCounts>(id)? {
        add(&mut totals, &c);
        days.entry(day).or_default().counts = c;
    }
    let mut sends = Vec::new();
    read.for_each_send_of::<OutboxRow>(id, |_, customer, s| {
        if let Some(at) = s.sent_at {
            sends.push((customer, at));
        }
        true
    })?;
    let mut seen: HashSet<(u64, i64)> = HashSet::new();
    let mut converted: HashSet<u64> = HashSet::new();
    let (mut conversions, mut revenue) = (0u64, 0.0);
    for (customer, sent_at) in sends {
        let Ok((customer, _)) = crate::customer::get(read, customer) else {
            continue;
        };
        for (t, amount) in goals_after(read, customer, sent_at, window, &goal)? {
            if !seen.insert((customer, t)) {
                continue;
            }
            conversions += 1;
            revenue += amount;
            converted.insert(customer);
            let d = days.entry(crate::analysis::local_day(t, tz)).or_default();
            d.conversions += 1;
            d.revenue += amount;
        }
    }
    let days = days
        .into_iter()
        .map(|(day, mut d)| {
            d.day = crate::analysis::day_date(day).to_string();
            d
        })
        .collect();
    Ok(Report {
        campaign: id,
        goal,
        window_hours: (window / 3_600_000) as u32,
        conversion_rate: if totals.sent > 0 {
            converted.len() as f64 / totals.sent as f64
        } else {
            0.0
        },
        totals,
        conversions,
        converted: converted.len() as u64,
        revenue,
        days,
        experiment: crate::experiment::report::report(read, (crate::experiment::CAMPAIGN, id))?,
    })
}

/// The goals `customer` (as stored now) reached within `window` after a message sent at
/// `sent_at` while it was their last message (last touch): (time, the order's worth or 0).
fn goals_after(
    read: &ReadTx,
    customer: u64,
    sent_at: i64,
    window: i64,
    goal: &str,
) -> Result<Vec<(i64, f64)>, store::Error> {
    let end = sent_at + window;
    let goals: Vec<(i64, f64)> = if goal == "Order Completed" {
        read.purchases_of(customer)?
            .into_iter()
            .filter(|(t, _)| *t > sent_at && *t <= end)
            .collect()
    } else {
        read.customer_events_between_as::<Named>(customer, sent_at + 1, end)?
            .into_iter()
            .filter(|e| e.event.as_deref() == Some(goal))
            .map(|e| (e.timestamp, 0.0))
            .collect()
    };
    let mut out = Vec::with_capacity(goals.len());
    for (t, amount) in goals {
        // Last touch: no other message reached the person between this one and the goal.
        if read
            .customer_messages_between::<serde_json::Value>(customer, sent_at + 1, t)?
            .is_empty()
        {
            out.push((t, amount));
        }
    }
    Ok(out)
}

/// What a campaign's recipients did, for picking some out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Did {
    /// Every row.
    Any,
    Opened,
    Clicked,
    /// Reached the goal after the message (last touch, within the window).
    Converted,
    Unsubscribed,
    /// Skipped or failed: not sent.
    NotSent,
}

impl Did {
    pub const ALL: [Did; 6] = [
        Did::Any,
        Did::Opened,
        Did::Clicked,
        Did::Converted,
        Did::Unsubscribed,
        Did::NotSent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Did::Any => "any",
            Did::Opened => "opened",
            Did::Clicked => "clicked",
            Did::Converted => "converted",
            Did::Unsubscribed => "unsubscribed",
            Did::NotSent => "not_sent",
        }
    }

    pub fn parse(s: &str) -> Option<Did> {
        Did::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// One message of a campaign and what its recipient did.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub customer: u64,
    /// The occurrence (trigger time) it belongs to.
    pub occurrence: i64,
    pub row: OutboxRow,
    /// The goals reached after it: how many and their worth.
    pub conversions: u64,
    pub revenue: f64,
}

/// The campaign's latest messages (by occurrence, then customer, newest first) whose recipient
/// did `did`, at most `limit`.
pub fn recipients(
    read: &ReadTx,
    id: u64,
    rec: &CampaignRecord,
    did: Did,
    limit: usize,
) -> Result<Vec<Recipient>, store::Error> {
    let (window, goal) = (rec.definition.window_ms(), rec.definition.goal.event.as_str());
    let mut out = Vec::new();
    let mut failed = None;
    read.for_each_send_of_newest_first::<OutboxRow>(id, |occurrence, customer, row| {
        let mut r = Recipient {
            customer,
            occurrence,
            row,
            conversions: 0,
            revenue: 0.0,
        };
        // What the row says first (cheap); the goals, a few reads each, only for rows kept or
        // when they are what is asked for.
        let keep = match did {
            Did::Any | Did::Converted => true,
            Did::Opened => r.row.opened_at.is_some(),
            Did::Clicked => r.row.clicked_at.is_some(),
            Did::Unsubscribed => r.row.unsubscribed_at.is_some(),
            Did::NotSent => matches!(r.row.state, SendState::Skipped | SendState::Failed),
        };
        if !keep {
            return true;
        }
        // A merged customer's goals are the survivor's; an erased one's are none.
        if let (Some(at), Ok((now_id, _))) = (r.row.sent_at, crate::customer::get(read, customer)) {
            match goals_after(read, now_id, at, window, goal) {
                Ok(goals) => {
                    r.conversions = goals.len() as u64;
                    r.revenue = goals.iter().map(|(_, v)| v).sum();
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
        }
        let keep = did != Did::Converted || r.conversions > 0;
        if keep {
            out.push(r);
        }
        out.len() < limit
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn add(a: &mut DayCounts, b: &DayCounts) {
    a.targeted += b.targeted;
    a.held += b.held;
    for (k, v) in &b.skipped {
        *a.skipped.entry(k.clone()).or_default() += v;
    }
    a.sent += b.sent;
    a.failed += b.failed;
    a.delivered += b.delivered;
    a.undelivered += b.undelivered;
    a.resent += b.resent;
    a.opened += b.opened;
    a.clicked += b.clicked;
    a.unsubscribed += b.unsubscribed;
}
