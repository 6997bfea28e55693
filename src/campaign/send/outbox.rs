//! The outbox's rows and what each customer was sent: the row per (campaign, occurrence,
//! customer), written before a message goes out and marked after; the recipients, the messages a
//! person received, the waiting triggers and the counts per day; the feedback of signed links;
//! and forgetting a person.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::super::law::Skip;
use super::super::{CampaignRecord, Channel, templates};
use crate::store::records::ConsentChannel;
use crate::store::{self, SendKey, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Waiting in the queue.
    Queued,
    /// Quiet hours: waiting until they end.
    Held,
    /// Claimed by a worker and handed (or being handed) to the channel.
    Sending,
    Sent,
    /// The channel failed it for good or too often.
    Failed,
    /// Not sent, for the reason in `skip`.
    Skipped,
}

/// One outbox row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxRow {
    pub state: SendState,
    pub channel: Channel,
    pub queued_at: i64,
    /// Where the row sits in the queue (while queued, held or sending).
    pub due: i64,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub skip: Option<Skip>,
    /// Held by quiet hours at least once.
    #[serde(default)]
    pub held: bool,
    /// Sent again after a crash left it `sending`.
    #[serde(default)]
    pub resent: bool,
    #[serde(default)]
    pub sent_at: Option<i64>,
    /// The channel's answer, or the last error.
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// The product that triggered it (a viewed or carted product).
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub coupon_code: Option<String>,
    /// Accepted by the mail server (email), or reported delivered by the provider (texts).
    #[serde(default)]
    pub delivered_at: Option<i64>,
    #[serde(default)]
    pub opened_at: Option<i64>,
    #[serde(default)]
    pub clicked_at: Option<i64>,
    #[serde(default)]
    pub unsubscribed_at: Option<i64>,
    /// The experiment's variant the person was given (its index), when the campaign runs one.
    #[serde(default)]
    pub arm: Option<u8>,
}

impl OutboxRow {
    /// A new row, queued at `now`.
    pub(super) fn queued(channel: Channel, now: i64, product: Option<String>) -> OutboxRow {
        OutboxRow {
            state: SendState::Queued,
            channel,
            queued_at: now,
            due: now,
            attempts: 0,
            skip: None,
            held: false,
            resent: false,
            sent_at: None,
            result: None,
            address: None,
            product,
            coupon_code: None,
            delivered_at: None,
            opened_at: None,
            clicked_at: None,
            unsubscribed_at: None,
            arm: None,
        }
    }
}

/// Per campaign and customer: what "never twice" and "once a day" are checked against.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Recipient {
    /// When the person was last queued (an occurrence or a fired trigger).
    #[serde(default)]
    pub last_queued: Option<i64>,
    #[serde(default)]
    pub sends: u32,
    #[serde(default)]
    pub last_sent: Option<i64>,
    /// A trigger waiting out its delay, due then.
    #[serde(default)]
    pub pending_trigger: Option<i64>,
}

/// A row of `customer-messages`: what a customer received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivered {
    pub channel: Channel,
    pub ad: bool,
    pub occurrence: i64,
}

/// A behaviour trigger waiting out its delay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Triggered {
    /// When the event happened.
    pub at: i64,
    pub seq: u64,
    #[serde(default)]
    pub product: Option<String>,
}

/// A campaign's counts on one shop-local day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayCounts {
    /// Put in the outbox.
    #[serde(default)]
    pub targeted: u64,
    /// Held by quiet hours (each message once).
    #[serde(default)]
    pub held: u64,
    /// Not sent, by reason (`no_consent`, `capped`, `cancelled`, …).
    #[serde(default)]
    pub skipped: BTreeMap<String, u64>,
    /// Handed to the channel and accepted (SMTP 250, the provider's 2xx).
    #[serde(default)]
    pub sent: u64,
    #[serde(default)]
    pub failed: u64,
    /// Email accepted by the receiving server; texts and Kakao reported delivered by the
    /// provider (`POST /v1/m/r/TOKEN`).
    #[serde(default)]
    pub delivered: u64,
    /// Reported undelivered by the provider after it accepted the message.
    #[serde(default)]
    pub undelivered: u64,
    /// Sent again after a crash.
    #[serde(default)]
    pub resent: u64,
    #[serde(default)]
    pub opened: u64,
    #[serde(default)]
    pub clicked: u64,
    #[serde(default)]
    pub unsubscribed: u64,
}

/// Adds to a campaign's counts of the day `at` falls on.
pub fn bump_day(
    tx: &mut Tx,
    campaign: u64,
    at: i64,
    tz: Tz,
    f: impl FnOnce(&mut DayCounts),
) -> Result<(), store::Error> {
    let day = crate::analysis::local_day(at, tz);
    let mut d: DayCounts = tx.campaign_day(campaign, day)?;
    f(&mut d);
    tx.put_campaign_day(campaign, day, &d)
}

/// Forgets what was sent to an erased customer: their message rows, and the address kept on
/// each outbox row that went out. Returns how many messages.
pub fn forget(tx: &mut Tx, customer: u64) -> Result<u64, store::Error> {
    let messages = tx.take_customer_messages::<Delivered>(customer)?;
    for (_, campaign, d) in &messages {
        let key = (*campaign, d.occurrence, customer);
        if let Some(mut row) = tx.send_row::<OutboxRow>(key)? {
            row.address = None;
            tx.put_send_row(key, &row)?;
        }
    }
    Ok(messages.len() as u64)
}

/// What a signed link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    Unsubscribe,
    Open,
    Click,
    /// A provider's receipt: delivered (true) or not (false).
    Receipt(bool),
}

/// Records an unsubscribe, an open or a click of outbox row `key`. An unsubscribe withdraws the
/// consent of the campaign's channel at once (source `link`, logged with the campaign). Returns
/// false when the row is unknown.
pub fn feedback(tx: &mut Tx, key: SendKey, what: Feedback, now: i64, tz: Tz) -> Result<bool, store::Error> {
    let Some(mut row) = tx.send_row::<OutboxRow>(key)? else {
        return Ok(false);
    };
    let campaign = key.0;
    match what {
        Feedback::Open => {
            if row.opened_at.is_none() {
                row.opened_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.opened += 1)?;
            }
        }
        Feedback::Click => {
            if row.opened_at.is_none() {
                // A click shows the message was opened, whether or not images loaded.
                row.opened_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.opened += 1)?;
            }
            if row.clicked_at.is_none() {
                row.clicked_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.clicked += 1)?;
            }
        }
        Feedback::Receipt(delivered) => {
            if row.delivered_at.is_none() && row.state == SendState::Sent {
                if delivered {
                    row.delivered_at = Some(now);
                    bump_day(tx, campaign, now, tz, |d| d.delivered += 1)?;
                } else {
                    row.state = SendState::Failed;
                    row.result = Some("the provider reported it undelivered".into());
                    bump_day(tx, campaign, now, tz, |d| d.undelivered += 1)?;
                }
            }
        }
        Feedback::Unsubscribe => {
            // The reconfirmation's link refuses every ad channel; a campaign's, its own channel.
            let everything = tx
                .campaign::<CampaignRecord>(campaign)?
                .is_some_and(|c| c.definition.template.as_deref() == Some(templates::CONSENT_RECONFIRM));
            let channels: Vec<ConsentChannel> = if everything {
                vec![
                    ConsentChannel::Email,
                    ConsentChannel::Sms,
                    ConsentChannel::Kakao,
                    ConsentChannel::Night,
                ]
            } else {
                vec![row.channel.consent()]
            };
            if let Some((customer, rec)) = crate::customer::get_in(tx, key.2) {
                let before = rec.consents.clone();
                let rec = tx.customer_mut(customer)?.expect("exists");
                let mut changed = false;
                for ch in channels {
                    changed |= crate::customer::set_consent(rec, ch, false, now, "link");
                }
                if changed {
                    rec.updated_at = rec.updated_at.max(now);
                    crate::customer::log_consents(tx, customer, &before, Some(campaign))?;
                }
            }
            if row.unsubscribed_at.is_none() {
                row.unsubscribed_at = Some(now);
                bump_day(tx, campaign, now, tz, |d| d.unsubscribed += 1)?;
            }
        }
    }
    tx.put_send_row(key, &row)?;
    Ok(true)
}
