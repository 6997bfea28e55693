//! The tracking pipeline: a validated Segment message is tied to a customer, appended to the
//! log, and applied to the profile, orders, catalogue and interests in the same transaction.
//! Called by `api` (the /v1 endpoints), `import` and `demo`, always inside the writer.

pub mod message;
pub mod names;

use crate::store::records::{EventKind, NewEvent};
use crate::store::{self, Touch, Tx};
use crate::{catalog, customer, experiment, onsite, order};
pub use customer::Trust;
pub use message::{FieldError, Message};

/// What happened to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored with this sequence, on this customer; the claims in `ignored` were not taken
    /// ([`Trust::Public`]).
    Stored { seq: u64, customer: u64, ignored: Ignored },
    /// Its `messageId` was stored before: nothing changed.
    Duplicate { seq: u64 },
}

/// The parts of a message that were not taken because it was not trusted with them, by the
/// field the client sent them under.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ignored(u16);

impl Ignored {
    const FIELDS: [&'static str; 11] = [
        "anonymousId",
        "previousId",
        "traits.email",
        "properties.email",
        "context.traits.email",
        "traits.phone",
        "traits.tags",
        "traits.email_consent",
        "traits.sms_consent",
        "traits.kakao_consent",
        "traits.night_consent",
    ];

    fn add(&mut self, field: &str) {
        let i = Self::FIELDS.iter().position(|f| *f == field).expect("a known field");
        self.0 |= 1 << i;
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The fields, in the order above.
    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        Self::FIELDS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, f)| *f)
    }
}

/// Applies one message from the tracking API. `received_at` is when the request arrived (the
/// default event time); `trust` says which of its claims are taken. Consents it carries are
/// logged with the source `api`.
pub fn apply(tx: &mut Tx, msg: &Message, received_at: i64, trust: Trust) -> Result<Outcome, store::Error> {
    apply_with(tx, msg, received_at, "api", trust)
}

/// [`apply`] for a message the shop itself sends from elsewhere, trusted: `source` (`import`,
/// `demo`) is what the consent log records for consents it carries.
pub fn apply_from(tx: &mut Tx, msg: &Message, received_at: i64, source: &str) -> Result<Outcome, store::Error> {
    apply_with(tx, msg, received_at, source, Trust::Verified)
}

fn apply_with(
    tx: &mut Tx,
    msg: &Message,
    received_at: i64,
    source: &str,
    trust: Trust,
) -> Result<Outcome, store::Error> {
    if let Some(id) = &msg.message_id
        && let Some(seq) = tx.message_seq(id)?
    {
        return Ok(Outcome::Duplicate { seq });
    }
    let at = event_time(msg, received_at);
    let email = msg.email();
    let resolved = match msg.kind {
        EventKind::Alias => alias(tx, msg, at, trust)?,
        _ => customer::resolve(
            tx,
            &customer::Keys {
                user_id: msg.user_id.as_deref(),
                anonymous_id: msg.anonymous_id.as_deref(),
                email: email.as_ref().map(|(_, e)| e.as_str()),
            },
            at,
            trust,
        )?,
    };
    let customer = resolved.id;
    let mut ignored = Ignored::default();
    if resolved.anonymous_refused {
        ignored.add(if msg.kind == EventKind::Alias {
            "previousId"
        } else {
            "anonymousId"
        });
    }
    if resolved.email_refused
        && let Some((field, _)) = &email
    {
        ignored.add(field);
    }
    let generated;
    let message_id = match &msg.message_id {
        Some(id) => id.as_str(),
        None => {
            generated = format!("dangol-{}", random_id());
            generated.as_str()
        }
    };
    let record = NewEvent {
        kind: msg.kind,
        customer,
        event: msg.event.as_deref(),
        name: msg.name.as_deref(),
        user_id: msg.user_id.as_deref(),
        anonymous_id: msg.anonymous_id.as_deref(),
        previous_id: msg.previous_id.as_deref(),
        group_id: msg.group_id.as_deref(),
        message_id,
        timestamp: at,
        received_at,
        sent_at: msg.sent_at,
        properties: &msg.properties,
        traits: &msg.traits,
        context: &msg.context,
    };
    let seq = tx.append_event(&record)?;
    tx.bump_rollup(at, |r| r.events += 1)?;
    let is_activity = matches!(msg.kind, EventKind::Track | EventKind::Page | EventKind::Screen);
    let consents_before = {
        let rec = tx.customer_mut(customer)?.expect("resolved customer exists");
        customer::record_activity(rec, at, is_activity);
        if msg.kind == EventKind::Identify {
            let before = rec.consents.clone();
            if resolved.protected {
                for key in customer::apply_open_traits(rec, &msg.traits, at) {
                    ignored.add(&format!("traits.{key}"));
                }
            } else {
                customer::apply_traits(rec, &msg.traits, at, source);
            }
            (before != rec.consents).then_some(before)
        } else {
            None
        }
    };
    if let Some(before) = consents_before {
        customer::log_consents(tx, customer, &before, None)?;
    }
    if msg.kind == EventKind::Track {
        ecommerce(tx, msg, customer, seq, message_id, at)?;
    }
    Ok(Outcome::Stored { seq, customer, ignored })
}

/// When a message happened on the server's clock: its `timestamp`, corrected for the sender's
/// clock as Segment does when it also says when it was sent (`timestamp + receivedAt - sentAt`: a
/// browser whose clock is an hour off still records its events at the right time, and an import
/// of old events keeps their dates); else when it arrived.
fn event_time(msg: &Message, received_at: i64) -> i64 {
    match (msg.timestamp, msg.sent_at) {
        (Some(t), Some(sent)) => t.saturating_add(received_at.saturating_sub(sent)),
        (Some(t), None) => t,
        (None, _) => received_at,
    }
}

/// `alias`: `previousId` (an anonymous id or an earlier user id) and `userId` are one person.
/// Under [`Trust::Public`] only a `previousId` nobody else holds yet, or an anonymous profile
/// becoming a new member, is joined; two customers that exist are never merged on its word.
fn alias(tx: &mut Tx, msg: &Message, at: i64, trust: Trust) -> Result<customer::Resolved, store::Error> {
    let prev = msg.previous_id.as_deref().expect("validated");
    let user = msg.user_id.as_deref().expect("validated");
    let a = match tx.identity(&customer::user_key(prev))? {
        Some(id) => Some(id),
        None => tx.identity(&customer::anon_key(prev))?,
    };
    let b = tx.identity(&customer::user_key(user))?;
    if trust == Trust::Public {
        let member = |tx: &Tx, id: u64| -> Result<bool, store::Error> {
            Ok(tx.customer(id)?.is_some_and(|c| c.user_id.is_some()))
        };
        let joinable = match (a, b) {
            (Some(a), Some(b)) => a == b,
            (Some(a), None) => !member(tx, a)?,
            (None, b) => b.is_none(),
        };
        if !joinable {
            let keys = customer::Keys {
                user_id: Some(user),
                ..Default::default()
            };
            let mut r = customer::resolve(tx, &keys, at, Trust::Public)?;
            r.anonymous_refused = true;
            return Ok(r);
        }
    }
    let id = match (a, b) {
        (Some(a), Some(b)) => customer::merge(tx, b, a, at)?,
        (Some(a), None) => {
            tx.set_identity(&customer::user_key(user), a)?;
            let rec = tx.customer_mut(a)?.expect("exists");
            rec.user_id = Some(user.to_string());
            a
        }
        (None, _) => {
            let keys = customer::Keys {
                user_id: Some(user),
                ..Default::default()
            };
            let id = customer::resolve(tx, &keys, at, trust)?.id;
            tx.set_identity(&customer::anon_key(prev), id)?;
            id
        }
    };
    if let Some(rec) = tx.customer_mut(id)? {
        rec.user_id = Some(user.to_string());
    }
    Ok(customer::Resolved {
        id,
        ..Default::default()
    })
}

/// The E-commerce Spec v2 semantics of a track event.
fn ecommerce(
    tx: &mut Tx,
    msg: &Message,
    customer: u64,
    seq: u64,
    message_id: &str,
    at: i64,
) -> Result<(), store::Error> {
    let props = &msg.properties;
    let name = msg.event.as_deref().unwrap_or_default();
    // A goal of an experiment the customer is in (an order counts below, once, with its worth).
    if name != "Order Completed" {
        experiment::goal(tx, customer, name, 0.0, at)?;
    }
    let kind = match name {
        "Product Viewed" | "Product Clicked" => Some(Touch::Viewed),
        "Product Added" => Some(Touch::Carted),
        "Checkout Started" | "Checkout Step Completed" | "Payment Info Entered" => Some(Touch::Checkout),
        "Order Completed" => {
            if let Some(total) = order::complete(tx, customer, props, seq, at)? {
                onsite::seen::order(tx, customer, total, at)?;
                experiment::goal(tx, customer, "Order Completed", total, at)?;
            }
            None
        }
        "Order Refunded" => {
            order::refund(tx, props, message_id, at)?;
            None
        }
        "Signed Up" => {
            let rec = tx.customer_mut(customer)?.expect("exists");
            if rec.signed_up_at.is_none() {
                rec.signed_up_at = Some(at);
                crate::coupon::on_sign_up(tx, customer, at)?;
            }
            None
        }
        name => {
            if let Some(report) = onsite::seen::Report::of_event(name) {
                onsite::seen::record(tx, customer, report, props, at)?;
            }
            None
        }
    };
    if let Some(kind) = kind {
        for (line, p) in catalog::lines_of(tx, props)? {
            catalog::observe(tx, &line.product_id, p, at)?;
            catalog::touch(tx, customer, kind, &line.product_id, line.category.as_deref(), at)?;
        }
    }
    Ok(())
}

/// A random 128-bit id in hex, for messages sent without a `messageId`.
pub fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}
