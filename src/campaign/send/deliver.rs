//! Step 3: due outbox rows go out: a worker claims a row (consent, cap, quiet hours, the coupon)
//! in one commit, hands the message to its channel, and finishes the row in the next.

use std::collections::HashSet;
use std::sync::Arc;

use super::super::body::Text;
use super::super::channel::{Channels, Email, Outgoing};
use super::super::law::{self, Skip, Verdict};
use super::super::render::{self, CouponVars, CustomerVars, ProductVars, ShopVars, Vars};
use super::super::settings::Settings;
use super::super::{CampaignRecord, Channel, Purpose, Status, templates};
use crate::store::records::{ConsentChannel, CustomerRecord};
use crate::store::{self, ReadTx, SendKey, Touch};

use super::*;

impl Sender {
    /// Step 3: hands the first thousand due outbox rows to workers, at most `workers` at once;
    /// returns how many rows it took up. (A thousand at a time, so that triggers and occurrences
    /// are looked at between them even while a big campaign goes out at a slow rate.)
    pub(super) async fn deliver_due(self: Arc<Self>, stop: &tokio::sync::watch::Receiver<bool>) -> Result<u64, String> {
        let now = self.clock.now_ms();
        let due = {
            let read = self.store.read().map_err(|e| e.to_string())?;
            // A paused campaign's rows wait in the queue; the others' pass them by.
            let paused: HashSet<u64> = read
                .campaigns::<CampaignRecord>()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|(_, c)| c.status == Status::Paused || c.status == Status::Draft)
                .map(|(id, _)| id)
                .collect();
            read.due_sends(now, 1_000, |c| !paused.contains(&c))
                .map_err(|e| e.to_string())?
        };
        if due.is_empty() {
            return Ok(0);
        }
        let channels = self.channels()?;
        let workers = channels.settings().workers.max(1) as usize;
        let limit = Arc::new(tokio::sync::Semaphore::new(workers));
        let mut tasks = tokio::task::JoinSet::new();
        let mut taken = 0;
        for (at, key) in due {
            if *stop.borrow() {
                break;
            }
            if !self.in_flight.lock().expect("not poisoned").insert(key) {
                continue;
            }
            taken += 1;
            let permit = limit.clone().acquire_owned().await.expect("never closed");
            let me = self.clone();
            let channels = channels.clone();
            tasks.spawn(async move {
                let result = me.deliver_one(at, key, &channels).await;
                me.in_flight.lock().expect("not poisoned").remove(&key);
                drop(permit);
                if let Err(e) = result {
                    tracing::error!(campaign = key.0, customer = key.2, error = %e, "a message could not be handled");
                }
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        Ok(taken)
    }

    /// Claims one row, sends it, finishes it.
    async fn deliver_one(self: &Arc<Self>, due: i64, key: SendKey, channels: &Arc<Channels>) -> Result<(), String> {
        let me = self.clone();
        let settings = channels.settings().clone();
        let claim = tokio::task::spawn_blocking(move || me.claim(due, key, &settings))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let Claim::Send(claimed) = claim else {
            return Ok(());
        };
        let me = self.clone();
        let settings = channels.settings().clone();
        let built = tokio::task::spawn_blocking(move || {
            let out = me.build(key, &claimed, &settings);
            (claimed, out)
        })
        .await
        .map_err(|e| e.to_string())?;
        let (claimed, out) = built;
        let result = match out {
            Ok(out) => channels.send(&out).await,
            Err(e) => Err(super::super::channel::Failure {
                transient: false,
                message: e,
            }),
        };
        let me = self.clone();
        let ad = claimed.campaign.definition.purpose == Purpose::Ad;
        let channel = claimed.campaign.definition.channel;
        tokio::task::spawn_blocking(move || me.finish(due, key, channel, ad, claimed.customer_id, result))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// Decides a due row inside one commit: skip it, hold it for quiet hours, or mark it `sending`
    /// (issuing its coupon) and hand it out.
    fn claim(&self, due: i64, key: SendKey, settings: &Settings) -> Result<Claim, store::Error> {
        let now = self.clock.now_ms();
        let tz = self.tz;
        let settings = settings.clone();
        let (campaign_id, _occ, customer_key) = key;
        let out = self.store.write_blocking(move |tx| {
            let Some(mut row) = tx.send_row::<OutboxRow>(key)? else {
                tx.unqueue_send(due, key)?;
                return Ok::<_, store::Error>(None);
            };
            if row.due != due || matches!(row.state, SendState::Sent | SendState::Failed | SendState::Skipped) {
                tx.unqueue_send(due, key)?;
                return Ok(None);
            }
            let Some(mut campaign) = tx.campaign::<CampaignRecord>(campaign_id)? else {
                tx.unqueue_send(due, key)?;
                return Ok(None);
            };
            if matches!(campaign.status, Status::Paused | Status::Draft) {
                return Ok(None);
            }
            // The person may have been merged into another since: send to the one that remains.
            let (customer_id, customer) = match crate::customer::get_in(tx, customer_key) {
                Some(found) => found,
                None => (
                    customer_key,
                    CustomerRecord {
                        erased_at: Some(now),
                        ..Default::default()
                    },
                ),
            };
            // The person's variant as it stands now (a merge keeps the earlier assigned self's
            // arm), with its content and coupon; a person now held out gets nothing.
            if let Some(queued_arm) = row.arm {
                let exp = (crate::experiment::CAMPAIGN, campaign_id);
                let arm = tx
                    .assignment::<crate::experiment::Assignment>(customer_id, exp)?
                    .map_or(queued_arm, |a| a.arm);
                if campaign.definition.design(tz).and_then(|d| d.holdout()) == Some(arm) {
                    row.state = SendState::Skipped;
                    row.skip = Some(Skip::HeldOut);
                    tx.unqueue_send(due, key)?;
                    tx.put_send_row(key, &row)?;
                    let reason = Skip::HeldOut.as_str().to_string();
                    bump_day(tx, campaign_id, now, tz, |d| *d.skipped.entry(reason).or_default() += 1)?;
                    return Ok(None);
                }
                row.arm = Some(arm);
                campaign.definition = campaign.definition.for_arm(row.arm).into_owned();
            }
            let input = &campaign.definition;
            let recent = match &settings.cap {
                Some(cap) if input.purpose == Purpose::Ad => tx
                    .customer_messages_since::<Delivered>(customer_id, now - i64::from(cap.days) * store::DAY_MS)?
                    .iter()
                    .filter(|(_, _, d)| d.ad)
                    .count() as u32,
                _ => 0,
            };
            let channel_ready = match input.channel {
                Channel::Email => settings.smtp.is_some(),
                Channel::Sms | Channel::Lms => settings.sms.is_some(),
                _ => settings.kakao.is_some(),
            };
            let verdict = if !channel_ready {
                Verdict::Skip(Skip::NoChannel)
            } else {
                law::verdict(input.channel, input.purpose, &customer, &settings, now, tz, recent)
            };
            match verdict {
                Verdict::Skip(skip) => {
                    row.state = SendState::Skipped;
                    row.skip = Some(skip);
                    tx.unqueue_send(due, key)?;
                    tx.put_send_row(key, &row)?;
                    let reason = skip.as_str().to_string();
                    bump_day(tx, campaign_id, now, tz, |d| *d.skipped.entry(reason).or_default() += 1)?;
                    Ok(None)
                }
                Verdict::HoldUntil(until) => {
                    tx.unqueue_send(due, key)?;
                    tx.queue_send(until, key)?;
                    let first = !row.held;
                    row.state = SendState::Held;
                    row.held = true;
                    row.due = until;
                    tx.put_send_row(key, &row)?;
                    if first {
                        bump_day(tx, campaign_id, now, tz, |d| d.held += 1)?;
                    }
                    Ok(None)
                }
                Verdict::Send => {
                    if row.state == SendState::Sending {
                        // It was in hand when the server stopped: this is the one message a
                        // crash may repeat.
                        row.resent = true;
                        bump_day(tx, campaign_id, now, tz, |d| d.resent += 1)?;
                    }
                    row.state = SendState::Sending;
                    row.attempts += 1;
                    row.address = law::address(input.channel, &customer);
                    if let Some(coupon) = input.coupon_id
                        && row.coupon_code.is_none()
                    {
                        row.coupon_code = issue_coupon(tx, coupon, customer_id, now)?;
                    }
                    tx.put_send_row(key, &row)?;
                    Ok(Some(Box::new(Claimed {
                        campaign: campaign.clone(),
                        customer_id,
                        customer,
                        row: row.clone(),
                    })))
                }
            }
        })?;
        Ok(match out {
            Some(c) => Claim::Send(c),
            None => Claim::Nothing,
        })
    }

    /// The message for a claimed row: variables, templates, the law's labels.
    fn build(&self, key: SendKey, c: &Claimed, settings: &Settings) -> Result<Outgoing, String> {
        let read = self.store.read().map_err(|e| e.to_string())?;
        let vars = self
            .vars(
                &read,
                key,
                c.customer_id,
                &c.customer,
                &c.campaign,
                &c.row,
                settings,
                true,
            )
            .map_err(|e| e.to_string())?;
        let renderer = self.renderer(key.0, c.row.arm, &c.campaign)?;
        let rendered = renderer.render(&vars)?;
        let input = &c.campaign.definition;
        let mut rendered = law::label(input.channel, input.purpose, rendered, settings, &vars.unsubscribe_url);
        let address = c.row.address.clone().ok_or("no address")?;
        let message_id = format!("<{}.{}.{}@dangol>", key.0, key.1, key.2);
        Ok(match input.channel {
            Channel::Email => {
                let mut html = rendered
                    .html
                    .take()
                    .unwrap_or_else(|| render::html_of_text(&rendered.text));
                html.push_str(&format!(
                    "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">",
                    self.links.open_url(&settings.public_url, key)
                ));
                Outgoing::Email(Email {
                    to: address,
                    to_name: c.customer.name.clone(),
                    subject: rendered.subject.unwrap_or_default(),
                    text: rendered.text,
                    html,
                    unsubscribe_url: (input.purpose == Purpose::Ad).then(|| vars.unsubscribe_url.clone()),
                    message_id,
                })
            }
            kind => Outgoing::Text(Text {
                kind: text_kind(kind, &rendered.text),
                to: address,
                subject: rendered.subject,
                text: rendered.text,
                template_code: input.content.template_code.clone(),
                message_id,
                callback_url: Some(self.links.receipt_url(&settings.public_url, key)),
            }),
        })
    }

    /// What a message's templates see. `track` turns product links into tracked clicks.
    #[allow(clippy::too_many_arguments)]
    pub fn vars(
        &self,
        read: &ReadTx,
        key: SendKey,
        customer_id: u64,
        customer: &CustomerRecord,
        campaign: &CampaignRecord,
        row: &OutboxRow,
        settings: &Settings,
        track: bool,
    ) -> Result<Vars, store::Error> {
        let now = self.clock.now_ms();
        let link = |url: Option<String>| -> Option<String> {
            match url {
                Some(u) if track && campaign.definition.channel == Channel::Email => {
                    Some(self.links.click_url(&settings.public_url, key, &u))
                }
                other => other,
            }
        };
        let product_vars = |id: &str| -> Result<Option<ProductVars>, store::Error> {
            Ok(read.product(id)?.map(|p| {
                let price = p.sale_price.or(p.price);
                ProductVars {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    price,
                    price_text: price
                        .map(|v| render::price_text(v, p.currency.as_deref()))
                        .unwrap_or_default(),
                    image_url: crate::value::web_url(p.image_url.as_deref()),
                    url: link(crate::value::web_url(p.url.as_deref())),
                    category: p.category.clone(),
                }
            }))
        };
        let mut recommendations = Vec::new();
        if let Some(spec) = &campaign.definition.recommend {
            let strategy =
                crate::recommend::Strategy::parse(&spec.strategy).unwrap_or(crate::recommend::Strategy::ForYou);
            let engine = &self.parts.recommend;
            let history = engine.history(read, customer_id, now)?;
            let req = crate::recommend::Request {
                strategy,
                product: row.product.clone(),
                category: None,
                days: 30,
                limit: spec.limit,
            };
            for (id, _) in engine.recommend(&req, &history, now) {
                if let Some(p) = product_vars(&id)? {
                    recommendations.push(p);
                }
            }
        }
        // The cart: products carted and not bought since, newest first.
        let interests = read.interests_of(customer_id)?;
        let mut carted: Vec<(i64, &str)> = interests
            .iter()
            .filter(|r| r.touch == Touch::Carted)
            .filter_map(|r| r.item.strip_prefix("p:").map(|p| (r.last, p)))
            .filter(|(at, p)| {
                !interests
                    .iter()
                    .any(|b| b.touch == Touch::Purchased && b.item.strip_prefix("p:") == Some(p) && b.last >= *at)
            })
            .collect();
        carted.sort_by_key(|c| std::cmp::Reverse(c.0));
        let mut cart = Vec::new();
        for (_, p) in carted.into_iter().take(6) {
            if let Some(v) = product_vars(p)? {
                cart.push(v);
            }
        }
        let product = match &row.product {
            Some(p) => product_vars(p)?,
            None => None,
        };
        let coupon = match (campaign.definition.coupon_id, &row.coupon_code) {
            (Some(id), Some(code)) => read.coupon::<crate::coupon::CouponRecord>(id)?.map(|c| {
                let hold: Option<crate::coupon::Hold> = read.coupon_hold(customer_id, id).ok().flatten();
                CouponVars {
                    code: code.clone(),
                    name: c.name.clone(),
                    discount: crate::coupon::discount_words(&c.discount),
                    expires: hold
                        .and_then(|h| crate::coupon::hold_expires(&c, &h))
                        .map(|t| crate::analysis::local_date(t, self.tz))
                        .unwrap_or_default(),
                }
            }),
            _ => None,
        };
        let first_name = customer
            .traits
            .get("first_name")
            .or_else(|| customer.traits.get("firstName"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| customer.name.as_deref().map(crate::value::given_name))
            .unwrap_or_default();
        Ok(Vars {
            customer: CustomerVars {
                id: customer_id,
                name: customer.name.clone().unwrap_or_default(),
                first_name,
                email: customer.email.clone().unwrap_or_default(),
                phone: customer.phone.clone().unwrap_or_default(),
                user_id: customer.user_id.clone().unwrap_or_default(),
                city: customer.city.clone().unwrap_or_default(),
                orders: customer.stats.orders_count,
                total_spent: customer.stats.total_spent,
            },
            coupon,
            recommendations,
            cart,
            product,
            shop: ShopVars {
                name: settings.sender_name.clone(),
                url: settings.shop_url.clone().unwrap_or_default(),
                contact: settings.sender_contact.clone(),
            },
            unsubscribe_url: self.links.unsubscribe_url(&settings.public_url, key),
            consent_changes: if campaign.definition.template.as_deref() == Some(templates::CONSENT_RESULT) {
                read.consent_log(customer_id)?
                    .into_iter()
                    .filter(|(at, _, _)| *at >= key.1)
                    .map(|(at, ch, c)| consent_vars(ch, c.granted, at, self.tz))
                    .collect()
            } else {
                Vec::new()
            },
            consents: ConsentChannel::ALL
                .into_iter()
                .filter_map(|ch| {
                    let c = customer.consents.get(ch)?;
                    c.granted.then(|| consent_vars(ch, true, c.at, self.tz))
                })
                .collect(),
        })
    }

    /// Records the channel's answer: sent, retried later, or failed.
    fn finish(
        &self,
        due: i64,
        key: SendKey,
        channel: Channel,
        ad: bool,
        customer: u64,
        result: Result<String, super::super::channel::Failure>,
    ) -> Result<(), store::Error> {
        let now = self.clock.now_ms();
        let tz = self.tz;
        let ok = result.is_ok();
        self.store.write_blocking(move |tx| {
            let Some(mut row) = tx.send_row::<OutboxRow>(key)? else {
                return Ok::<_, store::Error>(());
            };
            tx.unqueue_send(due, key)?;
            match &result {
                Ok(answer) => {
                    row.state = SendState::Sent;
                    row.sent_at = Some(now);
                    row.result = Some(answer.clone());
                    if channel == Channel::Email {
                        // The receiving server took it: as far as SMTP can tell, delivered.
                        row.delivered_at = Some(now);
                        bump_day(tx, key.0, now, tz, |d| d.delivered += 1)?;
                    }
                    let mut r: Recipient = tx.recipient(key.0, customer)?.unwrap_or_default();
                    r.sends += 1;
                    r.last_sent = Some(now);
                    tx.put_recipient(key.0, customer, &r)?;
                    if row.arm.is_some() {
                        crate::experiment::expose(tx, (crate::experiment::CAMPAIGN, key.0), customer)?;
                    }
                    tx.put_customer_message(
                        customer,
                        now,
                        key.0,
                        &Delivered {
                            channel,
                            ad,
                            occurrence: key.1,
                        },
                    )?;
                    bump_day(tx, key.0, now, tz, |d| d.sent += 1)?;
                }
                Err(f) if f.transient && row.attempts < MAX_ATTEMPTS => {
                    // Tried again after 1, 2, 4, 8 minutes.
                    let later = now + 60_000 * (1i64 << row.attempts.saturating_sub(1).min(6));
                    row.state = SendState::Queued;
                    row.due = later;
                    row.result = Some(f.message.clone());
                    tx.queue_send(later, key)?;
                }
                Err(f) => {
                    row.state = SendState::Failed;
                    row.result = Some(f.message.clone());
                    bump_day(tx, key.0, now, tz, |d| d.failed += 1)?;
                }
            }
            tx.put_send_row(key, &row)?;
            Ok::<_, store::Error>(())
        })?;
        if !ok {
            tracing::warn!(campaign = key.0, customer = key.2, "a message was not accepted");
        }
        Ok(())
    }
}

/// The kind a text goes out as: an SMS longer than 90 bytes (Korean characters count two, as
/// the carriers count them) becomes an LMS.
pub fn text_kind(channel: Channel, text: &str) -> Channel {
    let bytes: usize = text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    if channel == Channel::Sms && bytes > 90 {
        Channel::Lms
    } else {
        channel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_sms_goes_as_lms() {
        assert_eq!(text_kind(Channel::Sms, &"가".repeat(45)), Channel::Sms);
        assert_eq!(text_kind(Channel::Sms, &"가".repeat(46)), Channel::Lms);
        assert_eq!(text_kind(Channel::Sms, &"a".repeat(90)), Channel::Sms);
        assert_eq!(text_kind(Channel::Friendtalk, &"가".repeat(500)), Channel::Friendtalk);
    }
}
