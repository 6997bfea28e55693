//! The law and good manners (정보통신망법 §50, decree §61–62): consent per channel (absent means
//! no), quiet hours 21:00–08:00 for ad texts and Kakao unless the person gave a separate night
//! consent, the shop-wide frequency cap, and the labels every ad message carries: "(광고)" first,
//! the sender's name and contact, and a way to refuse (an unsubscribe link, or a free 080 number).
//! Pure: the outbox asks, this answers.

use chrono::{TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::render::Rendered;
use super::settings::{QuietHours, Settings};
use super::{Channel, Purpose};
use crate::store::records::{ConsentChannel, CustomerRecord};

/// Why a message was not sent (and will not be).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// No consent to advertising on this channel (or it was withdrawn).
    NoConsent,
    /// The shop-wide frequency cap was reached.
    Capped,
    /// No email address or phone number to send to.
    NoAddress,
    /// The person was merged away or erased.
    Gone,
    /// A cancelling event came before the delay was over.
    Cancelled,
    /// No longer in the audience when it fell due.
    NotInAudience,
    /// Due while the server was down, and the campaign skips late sends.
    Late,
    /// The channel is not set up.
    NoChannel,
    /// The channel refused the message for good (a bad address, a rejected template).
    Rejected,
    /// In the experiment's hold-out since it was queued (merged into a self held out).
    HeldOut,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NoConsent => "no_consent",
            Skip::Capped => "capped",
            Skip::NoAddress => "no_address",
            Skip::Gone => "gone",
            Skip::Cancelled => "cancelled",
            Skip::NotInAudience => "not_in_audience",
            Skip::Late => "late",
            Skip::NoChannel => "no_channel",
            Skip::Rejected => "rejected",
            Skip::HeldOut => "held_out",
        }
    }
}

/// What to do with a due message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Quiet hours: held until this instant.
    HoldUntil(i64),
    Skip(Skip),
}

/// The end of the quiet hours `at` falls in (unix millis), or None outside them.
pub fn quiet_until(at: i64, tz: Tz, q: &QuietHours) -> Option<i64> {
    if !q.enabled || q.start == q.end {
        return None;
    }
    let local = tz.timestamp_millis_opt(at).single()?;
    let hour = local.hour();
    let inside = if q.start > q.end {
        hour >= q.start || hour < q.end
    } else {
        hour >= q.start && hour < q.end
    };
    if !inside {
        return None;
    }
    let mut day = local.date_naive();
    if q.start > q.end && hour >= q.start {
        day = day.succ_opt()?;
    }
    let end = day.and_hms_opt(q.end, 0, 0)?;
    tz.from_local_datetime(&end).earliest().map(|t| t.timestamp_millis())
}

/// The address a channel sends to, if the person has one.
pub fn address(channel: Channel, rec: &CustomerRecord) -> Option<String> {
    match channel {
        Channel::Email => rec.email.clone().filter(|e| crate::value::is_email(e)),
        _ => rec
            .phone
            .as_deref()
            .map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|p| p.len() >= 9),
    }
}

/// The checks, in order: an address, consent, the cap, quiet hours. `recent_ads` is how many ad
/// messages the person got within the cap's days.
pub fn verdict(
    channel: Channel,
    purpose: Purpose,
    rec: &CustomerRecord,
    settings: &Settings,
    now: i64,
    tz: Tz,
    recent_ads: u32,
) -> Verdict {
    if rec.merged_into.is_some() || rec.erased_at.is_some() {
        return Verdict::Skip(Skip::Gone);
    }
    if address(channel, rec).is_none() {
        return Verdict::Skip(Skip::NoAddress);
    }
    let ad = purpose == Purpose::Ad;
    // FriendTalk goes only to those who agreed to hear from the channel, whatever it says.
    let needs_consent = ad || channel == Channel::Friendtalk;
    if needs_consent && !rec.consents.granted(channel.consent()) {
        return Verdict::Skip(Skip::NoConsent);
    }
    if !ad {
        return Verdict::Send;
    }
    if let Some(cap) = &settings.cap
        && recent_ads >= cap.messages
    {
        return Verdict::Skip(Skip::Capped);
    }
    let quiet_applies = channel != Channel::Email || settings.quiet_hours.email;
    if quiet_applies
        && !rec.consents.granted(ConsentChannel::Night)
        && let Some(until) = quiet_until(now, tz, &settings.quiet_hours)
    {
        return Verdict::HoldUntil(until);
    }
    Verdict::Send
}

/// The labels of an ad message, added to what the template rendered: "(광고)" at the start of the
/// subject (email, LMS) or text, the sender's name and contact, and how to refuse.
pub fn label(channel: Channel, purpose: Purpose, r: Rendered, settings: &Settings, unsubscribe_url: &str) -> Rendered {
    if purpose != Purpose::Ad {
        return r;
    }
    let mark = |s: &str| {
        if s.trim_start().starts_with("(광고)") {
            s.to_string()
        } else {
            format!("(광고) {s}")
        }
    };
    let sender = match (settings.sender_name.trim(), settings.sender_contact.trim()) {
        ("", "") => String::new(),
        (n, "") => n.to_string(),
        ("", c) => c.to_string(),
        (n, c) => format!("{n} {c}"),
    };
    match channel {
        Channel::Email => {
            let subject = r.subject.as_deref().map(mark);
            let text = format!(
                "{}\n\n--\n{sender}\n수신을 원하지 않으시면 수신거부하세요 (Unsubscribe): {unsubscribe_url}\n",
                r.text.trim_end()
            );
            let html = r.html.map(|h| {
                format!(
                    "{h}\n<hr><p style=\"font-size:12px;color:#666\">{}<br>수신을 원하지 않으시면 <a href=\"{}\">수신거부</a>하세요. (Unsubscribe)</p>",
                    html_escape(&sender),
                    html_escape(unsubscribe_url)
                )
            });
            Rendered { subject, text, html }
        }
        Channel::Sms | Channel::Lms => {
            let mut text = format!("(광고){} {}", settings.sender_name.trim(), r.text.trim());
            if r.text.trim_start().starts_with("(광고)") {
                text = r.text.trim().to_string();
            }
            if let Some(free) = settings.unsubscribe_phone.as_deref().filter(|p| !p.trim().is_empty()) {
                text.push_str(&format!("\n무료거부 {}", free.trim()));
            }
            Rendered {
                subject: r.subject.as_deref().map(mark),
                text,
                html: None,
            }
        }
        Channel::Alimtalk | Channel::Friendtalk => {
            let mut text = mark(r.text.trim());
            if !sender.is_empty() {
                text.push_str(&format!("\n\n{sender}"));
            }
            text.push_str("\n수신거부: 채널 차단");
            Rendered {
                subject: r.subject,
                text,
                html: None,
            }
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::Consent;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn person(sms: bool, night: bool) -> CustomerRecord {
        let mut r = CustomerRecord {
            phone: Some("010-1234-5678".into()),
            email: Some("a@example.com".into()),
            ..Default::default()
        };
        let c = |g| {
            Some(Consent {
                granted: g,
                at: 0,
                source: "api".into(),
            })
        };
        r.consents.sms = c(sms);
        if night {
            r.consents.night = c(true);
        }
        r
    }

    #[test]
    fn quiet_hours_run_from_nine_pm_to_eight_am_shop_time() {
        let tz = chrono_tz::Asia::Seoul;
        let q = QuietHours::default();
        assert_eq!(quiet_until(at("2026-11-23T20:59:59+09:00"), tz, &q), None);
        assert_eq!(
            quiet_until(at("2026-11-23T21:00:00+09:00"), tz, &q),
            Some(at("2026-11-24T08:00:00+09:00"))
        );
        assert_eq!(
            quiet_until(at("2026-11-24T03:00:00+09:00"), tz, &q),
            Some(at("2026-11-24T08:00:00+09:00"))
        );
        assert_eq!(quiet_until(at("2026-11-24T08:00:00+09:00"), tz, &q), None);
    }

    #[test]
    fn consent_cap_and_night_decide_an_ad_text() {
        let tz = chrono_tz::Asia::Seoul;
        let s = Settings::default();
        let day = at("2026-11-23T10:00:00+09:00");
        let night = at("2026-11-23T22:00:00+09:00");
        let v = |rec: &CustomerRecord, now, recent| verdict(Channel::Sms, Purpose::Ad, rec, &s, now, tz, recent);
        assert_eq!(v(&person(false, false), day, 0), Verdict::Skip(Skip::NoConsent));
        assert_eq!(v(&CustomerRecord::default(), day, 0), Verdict::Skip(Skip::NoAddress));
        assert_eq!(v(&person(true, false), day, 0), Verdict::Send);
        assert_eq!(v(&person(true, false), day, 2), Verdict::Skip(Skip::Capped));
        assert_eq!(
            v(&person(true, false), night, 0),
            Verdict::HoldUntil(at("2026-11-24T08:00:00+09:00"))
        );
        assert_eq!(v(&person(true, true), night, 0), Verdict::Send);
        // Email is exempt from quiet hours unless the shop opts in; informational skips the ad rules.
        let mut email = person(false, false);
        email.consents.email = person(true, false).consents.sms;
        assert_eq!(
            verdict(Channel::Email, Purpose::Ad, &email, &s, night, tz, 0),
            Verdict::Send
        );
        assert_eq!(
            verdict(
                Channel::Sms,
                Purpose::Informational,
                &person(false, false),
                &s,
                night,
                tz,
                9
            ),
            Verdict::Send
        );
    }

    #[test]
    fn ad_messages_are_labelled() {
        let s = Settings {
            sender_name: "단골상점".into(),
            sender_contact: "02-123-4567".into(),
            unsubscribe_phone: Some("080-123-4567".into()),
            ..Default::default()
        };
        let r = Rendered {
            subject: Some("주말 세일".into()),
            text: "20% 할인".into(),
            html: Some("<p>20% 할인</p>".into()),
        };
        let e = label(Channel::Email, Purpose::Ad, r.clone(), &s, "http://x/u/1");
        assert_eq!(e.subject.as_deref(), Some("(광고) 주말 세일"));
        assert!(e.text.contains("단골상점 02-123-4567"));
        assert!(e.text.contains("http://x/u/1"));
        assert!(e.html.unwrap().contains("<a href=\"http://x/u/1\">수신거부</a>"));
        let t = label(Channel::Sms, Purpose::Ad, r.clone(), &s, "");
        assert_eq!(t.text, "(광고)단골상점 20% 할인\n무료거부 080-123-4567");
        let k = label(Channel::Friendtalk, Purpose::Ad, r.clone(), &s, "");
        assert!(k.text.starts_with("(광고) 20% 할인\n\n단골상점 02-123-4567"));
        assert_eq!(label(Channel::Sms, Purpose::Informational, r.clone(), &s, ""), r);
    }
}
