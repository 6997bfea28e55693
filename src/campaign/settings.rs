//! The shop's messaging settings: who sends (name, contact, the free 080 number), the channels
//! (SMTP; the SMS and Kakao providers' webhooks), quiet hours, the frequency cap and throttling.
//! Kept in redb (`meta["messaging"]`), edited in the console or `PUT /api/v1/settings/messaging`.

use serde::{Deserialize, Serialize};

pub use super::body::{BodyFormat, OkWhen, Provider, Signing};
use super::{CampaignError, Channel, Definition, Purpose, bad};
use crate::store::{self, ReadTx, Tx};

const KEY: &str = "messaging";

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// STARTTLS on the submission port (587), required.
    #[default]
    Starttls,
    /// TLS from the first byte (465).
    Tls,
    /// No encryption: a relay on this machine or the local network only.
    Plain,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Smtp {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub username: Option<String>,
    /// Write-only: the API shows whether one is set, never the value.
    #[serde(default)]
    pub password: Option<String>,
    /// The From address.
    pub from_email: String,
    #[serde(default)]
    pub reply_to: Option<String>,
}

/// Quiet hours (21:00–08:00 by default, shop time): ad texts, Kakao and push wait until the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuietHours {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Hour they start (0–23).
    #[serde(default = "nine_pm")]
    pub start: u32,
    /// Hour they end.
    #[serde(default = "eight_am")]
    pub end: u32,
    /// Hold ad email too (the decree exempts email, §61②; a shop may opt in).
    #[serde(default)]
    pub email: bool,
}

fn yes() -> bool {
    true
}
fn nine_pm() -> u32 {
    21
}
fn eight_am() -> u32 {
    8
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            enabled: true,
            start: 21,
            end: 8,
            email: false,
        }
    }
}

/// At most `messages` ad messages per person in `days` days, across campaigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cap {
    pub messages: u32,
    pub days: u32,
}

/// Messages per second, per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rates {
    #[serde(default = "email_rate")]
    pub email: u32,
    #[serde(default = "text_rate")]
    pub sms: u32,
    #[serde(default = "text_rate")]
    pub kakao: u32,
}

fn email_rate() -> u32 {
    1000
}
fn text_rate() -> u32 {
    50
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            email: email_rate(),
            sms: text_rate(),
            kakao: text_rate(),
        }
    }
}

/// The messaging settings as stored (`meta["messaging"]`), secrets included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// The sender's name, shown in ad messages as the law asks (and the email's From name).
    #[serde(default)]
    pub sender_name: String,
    /// The sender's contact (phone or address), shown in ad messages.
    #[serde(default)]
    pub sender_contact: String,
    /// The free number for refusing ad texts (무료 수신거부 080-…), added to ad SMS.
    #[serde(default)]
    pub unsubscribe_phone: Option<String>,
    /// The address people reach this server at, for unsubscribe, open and click links.
    #[serde(default = "default_url")]
    pub public_url: String,
    /// The shop's site, for `{{ shop.url }}`.
    #[serde(default)]
    pub shop_url: Option<String>,
    #[serde(default)]
    pub smtp: Option<Smtp>,
    #[serde(default)]
    pub sms: Option<Provider>,
    #[serde(default)]
    pub kakao: Option<Provider>,
    #[serde(default)]
    pub quiet_hours: QuietHours,
    /// The shop-wide frequency cap on ad messages (default 2 per 7 days; null for none).
    #[serde(default = "default_cap")]
    pub cap: Option<Cap>,
    #[serde(default)]
    pub rates: Rates,
    /// Messages in hand at once (parallel connections to the channels).
    #[serde(default = "default_workers")]
    pub workers: u32,
}

/// The messaging settings as the API and the console's form take them
/// (`PUT /api/v1/settings/messaging`): a password or auth value left out keeps the stored one.
/// Stored apart from [`Settings`], the record, so either can change without the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettingsInput {
    /// The sender's name, shown in ad messages as the law asks (and the email's From name).
    #[serde(default)]
    pub sender_name: String,
    /// The sender's contact (phone or address), shown in ad messages.
    #[serde(default)]
    pub sender_contact: String,
    /// The free number for refusing ad texts (무료 수신거부 080-…), added to ad SMS.
    #[serde(default)]
    pub unsubscribe_phone: Option<String>,
    /// The address people reach this server at, for unsubscribe, open and click links.
    #[serde(default = "default_url")]
    pub public_url: String,
    /// The shop's site, for `{{ shop.url }}`.
    #[serde(default)]
    pub shop_url: Option<String>,
    #[serde(default)]
    pub smtp: Option<Smtp>,
    #[serde(default)]
    pub sms: Option<Provider>,
    #[serde(default)]
    pub kakao: Option<Provider>,
    #[serde(default)]
    pub quiet_hours: QuietHours,
    /// The shop-wide frequency cap on ad messages (default 2 per 7 days; null for none).
    #[serde(default = "default_cap")]
    pub cap: Option<Cap>,
    #[serde(default)]
    pub rates: Rates,
    /// Messages in hand at once (parallel connections to the channels).
    #[serde(default = "default_workers")]
    pub workers: u32,
}

impl From<SettingsInput> for Settings {
    fn from(i: SettingsInput) -> Settings {
        Settings {
            sender_name: i.sender_name,
            sender_contact: i.sender_contact,
            unsubscribe_phone: i.unsubscribe_phone,
            public_url: i.public_url,
            shop_url: i.shop_url,
            smtp: i.smtp,
            sms: i.sms,
            kakao: i.kakao,
            quiet_hours: i.quiet_hours,
            cap: i.cap,
            rates: i.rates,
            workers: i.workers,
        }
    }
}

impl From<Settings> for SettingsInput {
    fn from(s: Settings) -> SettingsInput {
        SettingsInput {
            sender_name: s.sender_name,
            sender_contact: s.sender_contact,
            unsubscribe_phone: s.unsubscribe_phone,
            public_url: s.public_url,
            shop_url: s.shop_url,
            smtp: s.smtp,
            sms: s.sms,
            kakao: s.kakao,
            quiet_hours: s.quiet_hours,
            cap: s.cap,
            rates: s.rates,
            workers: s.workers,
        }
    }
}

fn default_url() -> String {
    "http://127.0.0.1:8080".into()
}

fn default_cap() -> Option<Cap> {
    Some(Cap { messages: 2, days: 7 })
}

fn default_workers() -> u32 {
    4
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sender_name: String::new(),
            sender_contact: String::new(),
            unsubscribe_phone: None,
            public_url: default_url(),
            shop_url: None,
            smtp: None,
            sms: None,
            kakao: None,
            quiet_hours: QuietHours::default(),
            cap: default_cap(),
            rates: Rates::default(),
            workers: default_workers(),
        }
    }
}

impl Settings {
    pub fn load(read: &ReadTx) -> Result<Settings, store::Error> {
        Ok(read.meta::<Settings>(KEY)?.unwrap_or_default())
    }

    /// The settings as saved, or None when they never were (the defaults are in use).
    pub fn saved(read: &ReadTx) -> Result<Option<Settings>, store::Error> {
        read.meta::<Settings>(KEY)
    }

    pub fn load_tx(tx: &Tx) -> Result<Settings, store::Error> {
        Ok(tx.meta::<Settings>(KEY)?.unwrap_or_default())
    }

    /// Checks and stores `input`. A password or auth value left out keeps the stored one, but only
    /// for the same destination: a changed SMTP host, port, security or user name, or a changed
    /// provider URL or auth header, drops it (else whoever may change the settings could send the
    /// stored secret to a server of theirs). With `deny_private`, providers on this machine or a
    /// private network are refused.
    pub fn save(tx: &mut Tx, input: SettingsInput, deny_private: bool) -> Result<Settings, CampaignError> {
        let mut new = Settings::from(input);
        for (family, p) in [
            (super::presets::Family::Sms, &mut new.sms),
            (super::presets::Family::Kakao, &mut new.kakao),
        ] {
            if let Some(p) = p {
                super::presets::apply(family, p)?;
            }
        }
        let old = Self::load_tx(tx)?;
        if let (Some(n), Some(o)) = (&mut new.smtp, &old.smtp)
            && n.password.is_none()
            && (&n.host, n.port, n.security, &n.username) == (&o.host, o.port, o.security, &o.username)
        {
            n.password.clone_from(&o.password);
        }
        for (n, o) in [(&mut new.sms, &old.sms), (&mut new.kakao, &old.kakao)] {
            if let (Some(n), Some(o)) = (n, o)
                && n.auth_value.is_none()
                && (&n.url, &n.auth_header, &n.account, n.signing) == (&o.url, &o.auth_header, &o.account, o.signing)
            {
                n.auth_value.clone_from(&o.auth_value);
            }
        }
        new.check()?;
        for (name, p) in [("sms", &new.sms), ("kakao", &new.kakao)] {
            if let Some(p) = p {
                let url = super::body::url(p, super::Channel::Sms).map_err(|e| bad(format!("{name}.url"), e))?;
                crate::outbound::check_url(&url, deny_private).map_err(|e| bad(format!("{name}.url"), e))?;
            }
        }
        tx.put_meta(KEY, &new)?;
        Ok(new)
    }

    pub fn check(&self) -> Result<(), CampaignError> {
        let url = |field: &str, u: &str| -> Result<(), CampaignError> {
            let parsed = reqwest::Url::parse(u).map_err(|e| bad(field, format!("{u:?} is not a URL: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(bad(field, "must be an http or https URL"));
            }
            Ok(())
        };
        url("public_url", &self.public_url)?;
        if let Some(s) = &self.shop_url {
            url("shop_url", s)?;
        }
        if let Some(s) = &self.smtp {
            if s.host.trim().is_empty() {
                return Err(bad("smtp.host", "is empty"));
            }
            if !crate::value::is_email(&s.from_email) {
                return Err(bad(
                    "smtp.from_email",
                    format!("{:?} is not an email address", s.from_email),
                ));
            }
        }
        for (name, p) in [("sms", &self.sms), ("kakao", &self.kakao)] {
            if let Some(p) = p {
                let filled = super::body::url(p, super::Channel::Sms).map_err(|e| bad(format!("{name}.url"), e))?;
                url(&format!("{name}.url"), &filled)?;
                super::body::check(p).map_err(|e| bad(format!("{name}.body"), e))?;
                if p.signing == Signing::SolapiHmac && p.account.as_deref().is_none_or(|a| a.trim().is_empty()) {
                    return Err(bad(
                        format!("{name}.account"),
                        "is empty: Solapi's requests are signed with the API key",
                    ));
                }
                if p.timeout_ms == 0 || p.timeout_ms > 120_000 {
                    return Err(bad(format!("{name}.timeout_ms"), "must be 1 to 120000"));
                }
                if p.retries > 10 {
                    return Err(bad(format!("{name}.retries"), "must be at most 10"));
                }
            }
        }
        let q = &self.quiet_hours;
        if q.start > 23 || q.end > 23 {
            return Err(bad("quiet_hours", "hours are 0 to 23"));
        }
        if let Some(c) = &self.cap
            && (c.messages == 0 || c.days == 0 || c.days > 365)
        {
            return Err(bad("cap", "messages must be at least 1 and days 1 to 365"));
        }
        if self.rates.email == 0 || self.rates.sms == 0 || self.rates.kakao == 0 {
            return Err(bad("rates", "every rate must be at least 1 message per second"));
        }
        if self.workers == 0 || self.workers > 64 {
            return Err(bad("workers", "must be 1 to 64"));
        }
        Ok(())
    }

    /// What the law and the channels need before a campaign may go out.
    pub fn ready_to_launch(&self, input: &Definition) -> Result<(), CampaignError> {
        let settings = self;
        let configured = match input.channel {
            Channel::Email => settings.smtp.is_some(),
            Channel::Sms | Channel::Lms => settings.sms.is_some(),
            Channel::Alimtalk | Channel::Friendtalk => settings.kakao.is_some(),
        };
        if !configured {
            return Err(bad(
                "channel",
                format!(
                    "{} is not set up: add it in the messaging settings first",
                    input.channel.as_str()
                ),
            ));
        }
        if input.purpose == Purpose::Ad {
            if settings.sender_name.trim().is_empty() {
                return Err(bad(
                    "settings.sender_name",
                    "ad messages must name their sender (정보통신망법 §50④)",
                ));
            }
            if settings.sender_contact.trim().is_empty() {
                return Err(bad(
                    "settings.sender_contact",
                    "ad messages must give the sender's contact (정보통신망법 §50④)",
                ));
            }
            if matches!(input.channel, Channel::Sms | Channel::Lms)
                && settings
                    .unsubscribe_phone
                    .as_deref()
                    .is_none_or(|p| p.trim().is_empty())
            {
                return Err(bad(
                    "settings.unsubscribe_phone",
                    "ad texts must give a free number to refuse them (무료 수신거부 080)",
                ));
            }
            // The unsubscribe link must work for the people who get the mail: a server known only
            // as this machine's loopback address is fine for a relay on this machine, not for real mail.
            if let Some(smtp) = &settings.smtp
                && input.channel == Channel::Email
                && is_loopback_url(&settings.public_url)
                && !is_loopback_host(&smtp.host)
            {
                return Err(bad(
                    "settings.public_url",
                    format!(
                        "{} is this machine's own address: recipients could not reach the unsubscribe link; set the address the shop's customers reach dangol at",
                        settings.public_url
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The settings as the API shows them: secrets replaced by whether they are set.
    pub fn redacted(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("plain data");
        if let Some(s) = &self.smtp {
            v["smtp"]["password_set"] = s.password.is_some().into();
            v["smtp"]["password"] = serde_json::Value::Null;
        }
        for (name, p) in [("sms", &self.sms), ("kakao", &self.kakao)] {
            if let Some(p) = p {
                v[name]["auth_value_set"] = p.auth_value.is_some().into();
                v[name]["auth_value"] = serde_json::Value::Null;
            }
        }
        v
    }
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

fn is_loopback_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(is_loopback_host))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ad_mail_needs_a_public_address_for_its_unsubscribe_link() {
        let input: super::super::Definition = serde_json::from_value(serde_json::json!({
            "name": "n", "channel": "email", "when": {"kind": "once"},
            "content": {"subject": "s", "text": "t"}
        }))
        .unwrap();
        let mut settings = Settings {
            sender_name: "단골상점".into(),
            sender_contact: "02-123-4567".into(),
            smtp: Some(Smtp {
                host: "smtp.example.com".into(),
                port: Some(587),
                security: Security::Starttls,
                username: None,
                password: None,
                from_email: "shop@example.com".into(),
                reply_to: None,
            }),
            ..Default::default()
        };
        let e = settings.ready_to_launch(&input).unwrap_err();
        assert!(
            matches!(&e, CampaignError::Field { field, .. } if field == "settings.public_url"),
            "{e}"
        );
        settings.public_url = "https://crm.shop.example".into();
        assert!(settings.ready_to_launch(&input).is_ok());
        // A relay on this machine (and the tests' SMTP server) may go with a loopback address.
        settings.public_url = "http://127.0.0.1:8080".into();
        settings.smtp.as_mut().unwrap().host = "127.0.0.1".into();
        assert!(settings.ready_to_launch(&input).is_ok());
        assert!(is_loopback_host("localhost") && is_loopback_host("[::1]") && !is_loopback_host("10.0.0.5"));
    }
}
