//! Step 1: a one-off or daily campaign whose time has come queues its audience, one outbox row
//! per person, in chunks a crash may repeat without adding rows.

use chrono_tz::Tz;

use super::super::{CampaignRecord, Channel, Late, Occurrence, Repeat, Status, templates};
use crate::experiment::{self, Design};
use crate::store::{self, Tx};

use super::*;

impl Sender {
    pub(super) fn queue_occurrence(&self, id: u64, c: &CampaignRecord, now: i64) -> Result<u64, store::Error> {
        let due = c.next_due.expect("due");
        let tz = self.tz;
        let late = now - due > LATE_MS && c.definition.late == Late::Skip;
        let mut queued = 0u64;
        if !late {
            let ids: Vec<u64> = {
                let read = self.store.read()?;
                if c.definition.template.as_deref() == Some(templates::CONSENT_RECONFIRM) {
                    reconfirm_due(&read, id, now)?
                } else {
                    self.audience(&read, &c.definition.audience, now)?.iter().collect()
                }
            };
            let q = Arc::new(Queueing::of(id, c, tz));
            for chunk in ids.chunks(CHUNK) {
                let chunk = chunk.to_vec();
                let q = q.clone();
                queued += self.store.write_blocking(move |tx| {
                    let mut n = 0u64;
                    for &customer in &chunk {
                        if queue_one(tx, &q, due, customer, None, now, tz)? {
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
            rec.next_due = match rec.definition.daily_plan() {
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
}

/// Whether a customer may be queued again for a campaign at `at`.
pub(super) fn may_queue(r: &Recipient, repeat: Repeat, at: i64, tz: Tz) -> bool {
    match (repeat, r.last_queued) {
        (_, None) => true,
        (Repeat::Never, Some(_)) => false,
        (Repeat::Daily, Some(last)) => crate::analysis::local_day(last, tz) < crate::analysis::local_day(at, tz),
        (Repeat::Each, Some(_)) => true,
    }
}

/// What queueing a person for a campaign needs to know of it.
pub(super) struct Queueing {
    pub id: u64,
    pub channel: Channel,
    pub repeat: Repeat,
    /// The experiment it runs, if any.
    pub design: Option<Design>,
}

impl Queueing {
    pub fn of(id: u64, c: &CampaignRecord, tz: Tz) -> Queueing {
        Queueing {
            id,
            channel: c.definition.channel,
            repeat: c.definition.repeat,
            design: c.definition.design(tz),
        }
    }
}

/// Puts one outbox row in the queue unless the customer may not get this campaign again or the
/// row exists (a chunk re-run after a crash). In an experiment the person is assigned first: the
/// hold-out is recorded and measured, and nothing is queued for it. Returns whether it queued.
pub(super) fn queue_one(
    tx: &mut Tx,
    q: &Queueing,
    occurrence: i64,
    customer: u64,
    product: Option<String>,
    now: i64,
    tz: Tz,
) -> Result<bool, store::Error> {
    let key = (q.id, occurrence, customer);
    if tx.send_row::<OutboxRow>(key)?.is_some() {
        return Ok(false);
    }
    let mut r: Recipient = tx.recipient(q.id, customer)?.unwrap_or_default();
    if !may_queue(&r, q.repeat, now, tz) {
        return Ok(false);
    }
    r.last_queued = Some(now);
    tx.put_recipient(q.id, customer, &r)?;
    let arm = match &q.design {
        Some(d) => Some(experiment::assign(tx, (experiment::CAMPAIGN, q.id), d, customer, now)?),
        None => None,
    };
    if arm.is_some() && arm == q.design.as_ref().and_then(Design::holdout) {
        return Ok(false);
    }
    let mut row = OutboxRow::queued(q.channel, now, product);
    row.arm = arm;
    tx.put_send_row(key, &row)?;
    tx.queue_send(now, key)?;
    Ok(true)
}

/// The code the customer holds of `coupon`, issuing one now if they hold none.
pub(super) fn issue_coupon(tx: &mut Tx, coupon: u64, customer: u64, now: i64) -> Result<Option<String>, store::Error> {
    if let Some(h) = tx.coupon_hold::<crate::coupon::Hold>(customer, coupon)? {
        return Ok(h.codes.first().cloned());
    }
    let issued = crate::coupon::issue(tx, coupon, &[customer], "", "campaign", now)?;
    Ok(issued.and_then(|v| v.into_iter().next()).map(|(_, code)| code))
}

#[cfg(test)]
mod tests {
    use super::*;

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
