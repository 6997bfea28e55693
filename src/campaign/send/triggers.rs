//! Step 2: new events start the triggers they match (the cursor moves in the same commit), and
//! due triggers become outbox rows unless a cancelling event came first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use roaring::RoaringTreemap;
use serde::Deserialize;

use super::super::law::Skip;
use super::super::{CampaignRecord, Late, Status, When, templates};
use crate::store::{self, Touch};

use super::*;

impl Sender {
    /// Reads the events stored since the cursor and starts the triggers they match.
    pub(super) fn scan_events(&self, campaigns: &[(u64, CampaignRecord)], now: i64) -> Result<u64, store::Error> {
        let triggered: Vec<(u64, CampaignRecord)> = campaigns
            .iter()
            .filter(|(_, c)| {
                c.status == Status::Active
                    && matches!(c.definition.when, When::Trigger { .. })
                    && c.definition.template.as_deref() != Some(templates::CONSENT_RESULT)
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
                    } = &c.definition.when
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
                    if r.pending_trigger.is_some() || !may_queue(&r, c.definition.repeat, ev.timestamp, tz) {
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

    /// Turns due triggers into outbox rows, or drops them (cancelled, out of the audience, late).
    pub(super) fn fire_triggers(&self, all: &[(u64, CampaignRecord)], now: i64) -> Result<u64, store::Error> {
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
            let When::Trigger { cancel_on, .. } = &c.definition.when else {
                decided.push((at, id, customer, t, Err(Skip::NotInAudience)));
                continue;
            };
            // The person may have been merged into another since the event: their events moved.
            let current = crate::customer::get(&read, customer).map_or(customer, |(id, _)| id);
            let outcome = if c.status != Status::Active {
                Err(Skip::NotInAudience)
            } else if now - at > LATE_MS && c.definition.late == Late::Skip {
                Err(Skip::Late)
            } else if !cancel_on.is_empty()
                && read
                    .customer_events_between_as::<Named>(current, t.at + 1, now)?
                    .iter()
                    .any(|e| e.event.as_deref().is_some_and(|n| cancel_on.iter().any(|c| c == n)))
            {
                Err(Skip::Cancelled)
            } else {
                let has_audience = c.definition.audience.segment_id.is_some() || c.definition.audience.rule.is_some();
                let members = audiences.entry(id).or_insert_with(|| {
                    has_audience
                        .then(|| self.audience(&read, &c.definition.audience, now).ok())
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
        let queueing: HashMap<u64, Queueing> = campaigns
            .iter()
            .filter_map(|(id, c)| c.as_ref().map(|c| (*id, Queueing::of(*id, c, tz))))
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
                        let Some(q) = queueing.get(id) else {
                            continue;
                        };
                        if queue_one(tx, q, t.at, *customer, t.product.clone(), now, tz)? {
                            bump_day(tx, *id, now, tz, |d| d.targeted += 1)?;
                        }
                    }
                }
            }
            Ok::<_, store::Error>(())
        })?;
        Ok(n)
    }
}

const CURSOR: &str = "campaign-cursor";
/// A due trigger and what becomes of it: (due, campaign, customer, trigger, queue or skip).
type Decided = (i64, u64, u64, Triggered, Result<(), Skip>);

/// The event name alone, to look for cancelling events without decoding the rest.
#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    event: Option<String>,
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
pub fn passes(props: &serde_json::Value, t: &super::super::PropertyTest) -> bool {
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
        let t = |property: &str, op: &str, value: serde_json::Value| super::super::super::PropertyTest {
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
}
