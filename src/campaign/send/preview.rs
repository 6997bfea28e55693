//! Before launch: the estimate (예상규모), the preview of a message for any customer with the
//! law's verdict, and test sends.

use std::sync::Arc;

use serde::Serialize;

use super::super::body::Text;
use super::super::channel::{Email, Outgoing};
use super::super::law::{self, Verdict};
use super::super::render::{self, Renderer};
use super::super::settings::Settings;
use super::super::{Audience, CampaignRecord, Channel, Purpose};
use crate::store::{self, ReadTx};

use super::*;

/// A message as it would go out, for the editor's preview and test sends.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub customer_id: u64,
    /// The address it would go to.
    pub to: Option<String>,
    /// `send`, `hold_until` (quiet hours) or `skip`, as the law, the cap and the messaging
    /// settings decide now.
    pub verdict: String,
    /// The reason of a skip (`not_set_up` when the channel or the sender is not set up yet), or
    /// the RFC 3339 time a hold ends.
    pub detail: Option<String>,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// In an experiment, the person's arm (recorded, or the one the hash gives them): the
    /// variant's key, or `holdout` (verdict `skip`, detail `held_out`: the message shown is the
    /// campaign's own).
    pub variant: Option<String>,
}

impl Sender {
    /// What campaign `id` would send `customer_id` now: rendered and labelled, nothing written
    /// (a coupon the person does not hold yet shows as a placeholder code).
    pub fn preview(
        &self,
        id: u64,
        rec: &CampaignRecord,
        customer_id: u64,
    ) -> Result<Preview, super::super::CampaignError> {
        let read = self.store.read()?;
        let (customer_id, customer) = crate::customer::get(&read, customer_id)
            .map_err(|_| super::super::bad("customer_id", format!("no customer {customer_id}")))?;
        let settings = Settings::load(&read)?;
        let now = self.clock.now_ms();
        // The person's arm in an experiment, and the campaign as that arm sends it.
        let design = rec.definition.design(self.tz);
        let arm = match &design {
            Some(d) => {
                let key = (crate::experiment::CAMPAIGN, id);
                Some(
                    read.assignment::<crate::experiment::Assignment>(customer_id, key)?
                        .map_or_else(|| d.arm_of(key, customer_id), |a| a.arm),
                )
            }
            None => None,
        };
        let held_out = arm.is_some() && arm == design.as_ref().and_then(|d| d.holdout());
        let as_sent = CampaignRecord {
            definition: rec.definition.for_arm(arm).into_owned(),
            ..rec.clone()
        };
        let rec = &as_sent;
        let input = &rec.definition;
        let coupon_code = match input.coupon_id {
            Some(c) => Some(
                read.coupon_hold::<crate::coupon::Hold>(customer_id, c)?
                    .and_then(|h| h.codes.first().cloned())
                    .unwrap_or_else(|| "PREVIEW-CODE".into()),
            ),
            None => None,
        };
        let row = OutboxRow {
            address: law::address(input.channel, &customer),
            coupon_code,
            ..OutboxRow::queued(input.channel, now, latest_product(&read, customer_id)?)
        };
        let key = (id, 0, customer_id);
        let vars = self.vars(&read, key, customer_id, &customer, rec, &row, &settings, false)?;
        let renderer = Renderer::new(&input.content, &input.fallbacks).map_err(|e| super::super::bad("content", e))?;
        let rendered = renderer.render(&vars).map_err(|e| super::super::bad("content", e))?;
        let mut out = law::label(input.channel, input.purpose, rendered, &settings, &vars.unsubscribe_url);
        if input.channel == Channel::Email && out.html.is_none() {
            out.html = Some(render::html_of_text(&out.text));
        }
        let recent = match &settings.cap {
            Some(cap) => read
                .customer_messages_between::<Delivered>(customer_id, now - i64::from(cap.days) * store::DAY_MS, now)?
                .iter()
                .filter(|(_, _, d)| d.ad)
                .count() as u32,
            None => 0,
        };
        let (verdict, detail) =
            match law::verdict(input.channel, input.purpose, &customer, &settings, now, self.tz, recent) {
                Verdict::Send => ("send", None),
                Verdict::HoldUntil(t) => ("hold_until", Some(crate::jobs::local_rfc3339(t, self.tz))),
                Verdict::Skip(s) => ("skip", Some(s.as_str().to_string())),
            };
        // Nothing goes out on a channel the settings do not set up (or without what the law
        // needs of them), whatever the person's consents: never "send" then.
        let (verdict, detail) = match settings.ready_to_launch(input) {
            Err(_) if verdict == "send" => ("skip", Some("not_set_up".to_string())),
            _ => (verdict, detail),
        };
        let (verdict, detail) = if held_out {
            ("skip", Some(law::Skip::HeldOut.as_str().to_string()))
        } else {
            (verdict, detail)
        };
        Ok(Preview {
            customer_id,
            to: row.address,
            verdict: verdict.into(),
            detail,
            subject: out.subject,
            text: out.text,
            html: out.html,
            variant: arm
                .zip(design.as_ref())
                .map(|(a, d)| d.key_of(usize::from(a)).to_string()),
        })
    }

    /// Sends the preview for `customer_id` to `to` (an email address or a phone number), marked
    /// as a test in its subject or text; nothing is recorded.
    pub async fn test_send(
        self: &Arc<Self>,
        id: u64,
        rec: &CampaignRecord,
        customer_id: u64,
        to: &str,
    ) -> Result<String, super::super::CampaignError> {
        let me = self.clone();
        let rec2 = rec.clone();
        let p = tokio::task::spawn_blocking(move || me.preview(id, &rec2, customer_id))
            .await
            .map_err(|e| super::super::bad("campaign", e.to_string()))??;
        let message_id = format!("<test.{id}.{}@dangol>", self.clock.now_ms());
        let test = Test {
            channel: rec.definition.channel,
            to,
            subject: p.subject.map(|s| format!("[테스트] {s}")),
            text: format!("[테스트] {}", p.text),
            html: p.html,
            template_code: rec.definition.content.template_code.clone(),
            message_id,
        };
        self.send_test(test).await
    }

    /// Sends a short message on `channel` to `to` (an email address or a phone number) with the
    /// messaging settings as they are: the settings page's "send a test", which shows the SMTP
    /// server's or the provider's answer. Nothing is recorded.
    pub async fn test_settings(&self, channel: Channel, to: &str) -> Result<String, super::super::CampaignError> {
        let text = "dangol 테스트 메시지입니다. 이 메시지가 도착했다면 메시지 발송 설정이 맞습니다.".to_string();
        let test = Test {
            channel,
            to,
            subject: Some("[테스트] dangol 메시지 발송 설정".into()),
            html: Some(super::super::render::html_of_text(&text)),
            text,
            template_code: None,
            message_id: format!("<test.settings.{}@dangol>", self.clock.now_ms()),
        };
        self.send_test(test).await
    }

    async fn send_test(&self, t: Test<'_>) -> Result<String, super::super::CampaignError> {
        let channels = self.channels().map_err(|e| super::super::bad("settings", e))?;
        if !channels.has(t.channel) {
            return Err(super::super::bad(
                "channel",
                format!("{} is not set up in the messaging settings", t.channel.as_str()),
            ));
        }
        let to = t.to;
        let out = match t.channel {
            Channel::Email => {
                if !crate::value::is_email(to) {
                    return Err(super::super::bad("to", format!("{to:?} is not an email address")));
                }
                Outgoing::Email(Email {
                    to: to.to_string(),
                    to_name: None,
                    subject: t.subject.unwrap_or_default(),
                    text: t.text,
                    html: t.html.unwrap_or_default(),
                    unsubscribe_url: None,
                    message_id: t.message_id,
                })
            }
            kind => {
                let digits: String = to.chars().filter(char::is_ascii_digit).collect();
                if digits.len() < 9 {
                    return Err(super::super::bad("to", format!("{to:?} is not a phone number")));
                }
                Outgoing::Text(Text {
                    kind,
                    to: digits,
                    subject: t.subject,
                    text: t.text,
                    template_code: t.template_code,
                    message_id: t.message_id,
                    callback_url: None,
                })
            }
        };
        channels
            .send(&out)
            .await
            .map_err(|f| super::super::bad("to", format!("the channel refused the test: {}", f.message)))
    }
}

/// A test message, as a campaign's or the settings' test sends it.
struct Test<'a> {
    channel: Channel,
    to: &'a str,
    subject: Option<String>,
    text: String,
    html: Option<String>,
    template_code: Option<String>,
    message_id: String,
}

/// The product a person touched last (the preview's stand-in for a trigger's product).
fn latest_product(read: &ReadTx, customer: u64) -> Result<Option<String>, store::Error> {
    Ok(read
        .interests_of(customer)?
        .into_iter()
        .filter(|r| r.item.starts_with("p:"))
        .max_by_key(|r| r.last)
        .and_then(|r| r.item.strip_prefix("p:").map(str::to_string)))
}

/// The estimated size of a campaign before launch (TasOn's 예상규모).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    /// Customers in the audience now.
    pub audience: u64,
    /// Of those, the ones the channel may reach (consent given, where the message needs it).
    pub reachable: u64,
}

impl Sender {
    /// How many customers `audience` holds now, and how many of them `channel` may reach.
    pub fn estimate(&self, audience: &Audience, channel: Channel, purpose: Purpose) -> Result<Estimate, store::Error> {
        let read = self.store.read()?;
        let ids = self.audience(&read, audience, self.clock.now_ms())?;
        let cols = self.parts.columns.read().expect("not poisoned");
        let needs_consent = purpose == Purpose::Ad || channel == Channel::Friendtalk;
        let bitmap = &cols.consents[channel.consent() as usize];
        let reachable = if needs_consent {
            ids.iter()
                .filter(|id| cols.rows.get(id).is_some_and(|r| bitmap.contains(*r)))
                .count() as u64
        } else {
            ids.len()
        };
        Ok(Estimate {
            audience: ids.len(),
            reachable,
        })
    }
}
