//! Settings ▸ Messaging (`/settings/messaging`): who sends (name, contact, the free 080 number),
//! the addresses of links, SMTP, the SMS and Kakao providers, quiet hours, the frequency cap,
//! the rates and the workers. Everybody signed in sees it (secrets never: only whether one is
//! stored); only owners change it, through `Settings::save` as `PUT /api/v1/settings/messaging`
//! does. An empty password or auth value keeps the stored one. A provider is chosen from the
//! presets of Korean providers (Solapi, Aligo, NHN Cloud: the owner gives the account, the secret
//! and the sender) or written by hand (URL, header, body).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::frame::Frame;
use super::{Staff, failed, render};
use crate::app::AppState;
use crate::campaign::presets::{self, Family};
use crate::campaign::settings::{
    BodyFormat, Cap, OkWhen, Provider, QuietHours, Rates, Security, Settings, SettingsInput, Signing, Smtp,
};
use crate::campaign::{CampaignError, body};
use crate::i18n::Catalog;
use crate::store::records::Role;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/messaging", get(show).post(save))
        .route("/settings/messaging/test", post(test_send))
}

/// An SMS or Kakao provider as the form shows it.
#[derive(Debug, Clone, Default)]
pub struct ProviderDraft {
    /// `sms` or `kakao`: the prefix of its fields' names.
    pub prefix: &'static str,
    pub title: &'static str,
    pub on: bool,
    /// The preset's key, or empty for a provider written by hand.
    pub preset: String,
    /// Solapi's API key, Aligo's user id, NHN Cloud's app key.
    pub account: String,
    pub url: String,
    pub auth_header: String,
    /// Write-only: always shown empty.
    pub auth_value: String,
    pub auth_value_set: bool,
    pub body: String,
    pub from: String,
    pub timeout_ms: String,
    pub retries: String,
    /// What the form does not show of a provider written by hand (its body's format, its signing
    /// and its answer's check, as the API set them), kept as stored.
    pub kept: (BodyFormat, Signing, Option<OkWhen>),
}

impl ProviderDraft {
    fn family(&self) -> Family {
        if self.prefix == "kakao" {
            Family::Kakao
        } else {
            Family::Sms
        }
    }

    /// The presets of this slot as (key, name, chosen), for the form's choice.
    pub fn preset_options(&self) -> Vec<(&'static str, &'static str, bool)> {
        presets::all()
            .into_iter()
            .filter(|p| p.family == self.family())
            .map(|p| (p.key, p.name, self.preset == p.key))
            .collect()
    }

    /// What to fill in for each preset of this slot: (name, in the provider's own words).
    pub fn preset_hints(&self, t: &Catalog) -> Vec<(&'static str, String)> {
        presets::all()
            .into_iter()
            .filter(|p| p.family == self.family())
            .map(|p| (p.name, t.get(&p.hint_key()).to_string()))
            .collect()
    }

    fn new(prefix: &'static str, title: &'static str, p: Option<&Provider>) -> ProviderDraft {
        match p {
            Some(p) => ProviderDraft {
                prefix,
                title,
                on: true,
                preset: p.preset.clone().unwrap_or_default(),
                account: p.account.clone().unwrap_or_default(),
                url: p.url.clone(),
                auth_header: p.auth_header.clone().unwrap_or_default(),
                auth_value: String::new(),
                auth_value_set: p.auth_value.is_some(),
                body: p.body.clone(),
                from: p.from.clone().unwrap_or_default(),
                timeout_ms: p.timeout_ms.to_string(),
                retries: p.retries.to_string(),
                kept: (p.format, p.signing, p.ok_when.clone()),
            },
            // The defaults a new provider starts from.
            None => ProviderDraft {
                prefix,
                title,
                auth_header: "Authorization".into(),
                body: body::default_template(),
                timeout_ms: "10000".into(),
                retries: "3".into(),
                ..ProviderDraft::default()
            },
        }
    }

    fn set(&mut self, key: &str, v: String) {
        match key {
            "on" => self.on = true,
            "preset" => self.preset = v,
            "account" => self.account = v,
            "url" => self.url = v,
            "auth_header" => self.auth_header = v,
            "auth_value" => self.auth_value = v,
            "body" => self.body = v,
            "from" => self.from = v,
            "timeout_ms" => self.timeout_ms = v,
            "retries" => self.retries = v,
            _ => {}
        }
    }
}

/// What the form does not show of a stored hand-written provider. A preset's format, signing and
/// check are the preset's (it fills them in again when saved); switching from a preset to
/// writing one's own starts from plain JSON, unsigned, unchecked, not from the preset's (an
/// Aligo form body or Solapi's signature sent to another provider).
fn kept(p: Option<&Provider>) -> (BodyFormat, Signing, Option<OkWhen>) {
    p.filter(|p| p.preset.as_deref().is_none_or(str::is_empty))
        .map(|p| (p.format, p.signing, p.ok_when.clone()))
        .unwrap_or_default()
}

/// The form as typed.
#[derive(Debug, Clone, Default)]
struct Draft {
    csrf: String,
    sender_name: String,
    sender_contact: String,
    unsubscribe_phone: String,
    public_url: String,
    /// The public address is the one this page was reached at, the settings never saved.
    public_url_guessed: bool,
    shop_url: String,
    smtp_on: bool,
    smtp_host: String,
    smtp_port: String,
    /// `starttls`, `tls` or `plain`.
    smtp_security: String,
    smtp_username: String,
    /// Write-only: always shown empty.
    smtp_password: String,
    smtp_password_set: bool,
    smtp_from_email: String,
    smtp_reply_to: String,
    providers: Vec<ProviderDraft>,
    quiet_enabled: bool,
    quiet_start: String,
    quiet_end: String,
    quiet_email: bool,
    cap_on: bool,
    cap_messages: String,
    cap_days: String,
    rate_email: String,
    rate_sms: String,
    rate_kakao: String,
    workers: String,
}

fn security_str(s: Security) -> &'static str {
    match s {
        Security::Starttls => "starttls",
        Security::Tls => "tls",
        Security::Plain => "plain",
    }
}

impl Draft {
    fn from_settings(s: &Settings, t: &'static Catalog) -> Draft {
        let smtp = s.smtp.clone().unwrap_or_default();
        let cap = s.cap.clone();
        Draft {
            csrf: String::new(),
            sender_name: s.sender_name.clone(),
            sender_contact: s.sender_contact.clone(),
            unsubscribe_phone: s.unsubscribe_phone.clone().unwrap_or_default(),
            public_url: s.public_url.clone(),
            public_url_guessed: false,
            shop_url: s.shop_url.clone().unwrap_or_default(),
            smtp_on: s.smtp.is_some(),
            smtp_host: smtp.host,
            smtp_port: smtp.port.map(|p| p.to_string()).unwrap_or_default(),
            smtp_security: security_str(smtp.security).into(),
            smtp_username: smtp.username.unwrap_or_default(),
            smtp_password: String::new(),
            smtp_password_set: smtp.password.is_some(),
            smtp_from_email: smtp.from_email,
            smtp_reply_to: smtp.reply_to.unwrap_or_default(),
            providers: vec![
                ProviderDraft::new("sms", t.get("messaging.sms"), s.sms.as_ref()),
                ProviderDraft::new("kakao", t.get("messaging.kakao"), s.kakao.as_ref()),
            ],
            quiet_enabled: s.quiet_hours.enabled,
            quiet_start: s.quiet_hours.start.to_string(),
            quiet_end: s.quiet_hours.end.to_string(),
            quiet_email: s.quiet_hours.email,
            cap_on: cap.is_some(),
            cap_messages: cap.as_ref().map_or(2, |c| c.messages).to_string(),
            cap_days: cap.as_ref().map_or(7, |c| c.days).to_string(),
            rate_email: s.rates.email.to_string(),
            rate_sms: s.rates.sms.to_string(),
            rate_kakao: s.rates.kakao.to_string(),
            workers: s.workers.to_string(),
        }
    }

    /// From the posted pairs; what the stored settings say whether a secret is set.
    fn from_pairs(pairs: Vec<(String, String)>, stored: &Settings, t: &'static Catalog) -> Draft {
        let mut d = Draft {
            smtp_password_set: stored.smtp.as_ref().is_some_and(|s| s.password.is_some()),
            providers: vec![
                ProviderDraft {
                    prefix: "sms",
                    title: t.get("messaging.sms"),
                    auth_value_set: stored.sms.as_ref().is_some_and(|p| p.auth_value.is_some()),
                    kept: kept(stored.sms.as_ref()),
                    ..ProviderDraft::default()
                },
                ProviderDraft {
                    prefix: "kakao",
                    title: t.get("messaging.kakao"),
                    auth_value_set: stored.kakao.as_ref().is_some_and(|p| p.auth_value.is_some()),
                    kept: kept(stored.kakao.as_ref()),
                    ..ProviderDraft::default()
                },
            ],
            ..Draft::default()
        };
        for (k, v) in pairs {
            // Browsers send a textarea's line breaks as CRLF.
            let v = v.replace("\r\n", "\n");
            match k.as_str() {
                "csrf" => d.csrf = v,
                "sender_name" => d.sender_name = v,
                "sender_contact" => d.sender_contact = v,
                "unsubscribe_phone" => d.unsubscribe_phone = v,
                "public_url" => d.public_url = v,
                "shop_url" => d.shop_url = v,
                "smtp_on" => d.smtp_on = true,
                "smtp_host" => d.smtp_host = v,
                "smtp_port" => d.smtp_port = v,
                "smtp_security" => d.smtp_security = v,
                "smtp_username" => d.smtp_username = v,
                "smtp_password" => d.smtp_password = v,
                "smtp_from_email" => d.smtp_from_email = v,
                "smtp_reply_to" => d.smtp_reply_to = v,
                "quiet_enabled" => d.quiet_enabled = true,
                "quiet_start" => d.quiet_start = v,
                "quiet_end" => d.quiet_end = v,
                "quiet_email" => d.quiet_email = true,
                "cap_on" => d.cap_on = true,
                "cap_messages" => d.cap_messages = v,
                "cap_days" => d.cap_days = v,
                "rate_email" => d.rate_email = v,
                "rate_sms" => d.rate_sms = v,
                "rate_kakao" => d.rate_kakao = v,
                "workers" => d.workers = v,
                other => {
                    for p in &mut d.providers {
                        if let Some(key) = other.strip_prefix(p.prefix).and_then(|k| k.strip_prefix('_')) {
                            p.set(key, v.clone());
                        }
                    }
                }
            }
        }
        d
    }

    /// The settings to save, or the first field that cannot be read, named as the API names it.
    fn settings(&self, t: &Catalog) -> Result<SettingsInput, (String, String)> {
        fn number<T: std::str::FromStr>(field: &str, s: &str, t: &Catalog) -> Result<Option<T>, (String, String)> {
            let s: String = s.chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse()
                .map(Some)
                .map_err(|_| (field.to_string(), t.get("messaging.error.number").to_string()))
        }
        let required = |field: &str, s: &str| -> Result<u64, (String, String)> {
            number::<u64>(field, s, t)?.ok_or_else(|| (field.to_string(), t.get("messaging.error.number").to_string()))
        };
        let small = |field: &str, s: &str| -> Result<u32, (String, String)> {
            u32::try_from(required(field, s)?)
                .map_err(|_| (field.to_string(), t.get("messaging.error.number").to_string()))
        };
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let smtp = if self.smtp_on {
            Some(Smtp {
                host: self.smtp_host.trim().to_string(),
                port: number("smtp.port", &self.smtp_port, t)?,
                security: match self.smtp_security.as_str() {
                    "tls" => Security::Tls,
                    "plain" => Security::Plain,
                    _ => Security::Starttls,
                },
                username: opt(&self.smtp_username),
                // Empty: keep the stored one (`Settings::save`).
                password: Some(self.smtp_password.clone()).filter(|p| !p.is_empty()),
                from_email: self.smtp_from_email.trim().to_string(),
                reply_to: opt(&self.smtp_reply_to),
            })
        } else {
            None
        };
        let mut providers = Vec::new();
        for p in &self.providers {
            providers.push(if p.on {
                let mut provider = Provider {
                    preset: opt(&p.preset),
                    account: opt(&p.account),
                    url: p.url.trim().to_string(),
                    auth_header: opt(&p.auth_header),
                    auth_value: Some(p.auth_value.clone()).filter(|v| !v.is_empty()),
                    body: if p.body.trim().is_empty() {
                        body::default_template()
                    } else {
                        p.body.clone()
                    },
                    from: opt(&p.from),
                    timeout_ms: required(&format!("{}.timeout_ms", p.prefix), &p.timeout_ms)?,
                    retries: small(&format!("{}.retries", p.prefix), &p.retries)?,
                    format: p.kept.0,
                    signing: p.kept.1,
                    ok_when: p.kept.2.clone(),
                };
                // A preset fills in the URL, header and body (as `Settings::save` does again).
                presets::apply(p.family(), &mut provider).map_err(|e| match e {
                    CampaignError::Field { field, message } => (field, message),
                    other => (format!("{}.preset", p.prefix), other.to_string()),
                })?;
                Some(provider)
            } else {
                None
            });
        }
        let kakao = providers.pop().flatten();
        let sms = providers.pop().flatten();
        Ok(SettingsInput {
            sender_name: self.sender_name.trim().to_string(),
            sender_contact: self.sender_contact.trim().to_string(),
            unsubscribe_phone: opt(&self.unsubscribe_phone),
            public_url: self.public_url.trim().to_string(),
            shop_url: opt(&self.shop_url),
            smtp,
            sms,
            kakao,
            quiet_hours: QuietHours {
                enabled: self.quiet_enabled,
                start: small("quiet_hours.start", &self.quiet_start)?,
                end: small("quiet_hours.end", &self.quiet_end)?,
                email: self.quiet_email,
            },
            cap: if self.cap_on {
                Some(Cap {
                    messages: small("cap.messages", &self.cap_messages)?,
                    days: small("cap.days", &self.cap_days)?,
                })
            } else {
                None
            },
            rates: Rates {
                email: small("rates.email", &self.rate_email)?,
                sms: small("rates.sms", &self.rate_sms)?,
                kakao: small("rates.kakao", &self.rate_kakao)?,
            },
            workers: small("workers", &self.workers)?,
        })
    }
}

/// A wrong field: as the API names it, and where its message sits (`error-SLOT`: the field's
/// name with `_` for `.`, or its block: `quiet_hours`, `cap`, `rates`).
pub struct FieldError {
    pub field: String,
    pub slot: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "settings/messaging.html")]
struct MessagingPage {
    f: Frame,
    owner: bool,
    d: Draft,
    /// (value, label, selected) of the SMTP security choices.
    securities: Vec<(&'static str, &'static str, bool)>,
    error: Option<FieldError>,
    saved: bool,
    tz: String,
    /// How the last test send went: (ok, the server's or provider's answer or the refusal).
    tested: Option<(bool, String)>,
    /// The test form as typed: channel and address.
    test_channel: String,
    test_to: String,
}

impl MessagingPage {
    fn error_for(&self, slot: &str) -> Option<String> {
        match &self.error {
            Some(e) if e.slot == slot => Some(format!("{}: {}", e.field, e.message)),
            _ => None,
        }
    }

    /// What is wrong with field `key` of provider `prefix` (`sms`, `kakao`).
    fn provider_error(&self, prefix: &str, key: &str) -> Option<String> {
        self.error_for(&format!("{prefix}_{key}"))
    }

    /// What to fill in for each preset a provider's form offers.
    fn hints_of(&self, p: &ProviderDraft) -> Vec<(&'static str, String)> {
        p.preset_hints(self.f.t)
    }
}

fn page(st: &AppState, staff: &Staff, d: Draft, error: Option<(String, String)>, saved: bool) -> Response {
    page_with(st, staff, d, error, saved, None)
}

fn page_with(
    st: &AppState,
    staff: &Staff,
    d: Draft,
    error: Option<(String, String)>,
    saved: bool,
    test: Option<(TestForm, bool, String)>,
) -> Response {
    let t = staff.t;
    let error = error.map(|(field, message)| FieldError {
        slot: field.replace('.', "_"),
        field,
        message,
    });
    let securities = ["starttls", "tls", "plain"]
        .into_iter()
        .map(|s| (s, t.get(&format!("messaging.security_{s}")), d.smtp_security == s))
        .collect();
    let status = if error.is_some() || test.as_ref().is_some_and(|(_, ok, _)| !ok) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (test_channel, test_to, tested) = match test {
        Some((form, ok, answer)) => (form.channel, form.to, Some((ok, answer))),
        None => ("email".to_string(), String::new(), None),
    };
    let page = MessagingPage {
        f: Frame::new(staff, "settings"),
        owner: staff.user.role == Role::Owner,
        d,
        securities,
        error,
        saved,
        tz: st.tz.name().to_string(),
        tested,
        test_channel,
        test_to,
    };
    (status, render(&page)).into_response()
}

async fn stored(st: &AppState) -> Result<Settings, crate::store::Error> {
    st.store.call(|s| Settings::load(&s.read()?)).await
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    /// Set by the redirect after saving.
    saved: Option<u8>,
}

async fn show(
    State(st): State<AppState>,
    staff: Staff,
    headers: axum::http::HeaderMap,
    Query(q): Query<ShowQuery>,
) -> Response {
    match st.store.call(|s| Settings::saved(&s.read()?)).await {
        Ok(Some(s)) => page(&st, &staff, Draft::from_settings(&s, staff.t), None, q.saved.is_some()),
        Ok(None) => {
            // Never saved: the server's address starts as the one this page was reached at,
            // not a guess, and says so.
            let mut d = Draft::from_settings(&Settings::default(), staff.t);
            if let Some(url) = reached_at(&headers) {
                d.public_url = url;
                d.public_url_guessed = true;
            }
            page(&st, &staff, d, None, q.saved.is_some())
        }
        Err(e) => failed(staff.lang, &e),
    }
}

/// The address the browser reached the console at: `X-Forwarded-Proto` (a TLS proxy's) or http,
/// and the `Host` header, when it is a plain host name or address with a port.
fn reached_at(headers: &axum::http::HeaderMap) -> Option<String> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if host.is_empty() || !host.chars().all(plain) {
        return None;
    }
    let scheme = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some(p) if p.trim().eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

/// Saves the settings as `PUT /api/v1/settings/messaging` does; owners only. A wrong field comes
/// back named, with what was typed (secrets excepted).
async fn save(State(st): State<AppState>, staff: Staff, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Some(r) = super::settings::refuse(&staff, &csrf) {
        return r;
    }
    let old = match stored(&st).await {
        Ok(s) => s,
        Err(e) => return failed(staff.lang, &e),
    };
    let mut d = Draft::from_pairs(pairs, &old, staff.t);
    let new = match d.settings(staff.t) {
        Ok(s) => s,
        Err(e) => {
            d.forget_secrets();
            return page(&st, &staff, d, Some(e), false);
        }
    };
    let deny = st.campaigns.deny_private_targets();
    match st.store.write(move |tx| Settings::save(tx, new.clone(), deny)).await {
        Ok(_) => {
            st.campaigns.wake();
            Redirect::to("/settings/messaging?saved=1").into_response()
        }
        Err(CampaignError::Field { field, message }) => {
            d.forget_secrets();
            page(&st, &staff, d, Some((field, message)), false)
        }
        Err(e) => failed(staff.lang, &e),
    }
}

#[derive(Deserialize, Default)]
struct TestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    to: String,
}

/// Sends a short test message with the settings as saved (an email through the SMTP server, a
/// text or Kakao message through the provider) and shows the answer; owners only.
async fn test_send(State(st): State<AppState>, staff: Staff, Form(form): Form<TestForm>) -> Response {
    if let Some(r) = super::settings::refuse(&staff, &form.csrf) {
        return r;
    }
    let stored = match stored(&st).await {
        Ok(s) => s,
        Err(e) => return failed(staff.lang, &e),
    };
    let t = staff.t;
    let (ok, answer) = match crate::campaign::Channel::parse(&form.channel) {
        None => (false, t.get("messaging.test_channel_error").to_string()),
        Some(channel) => match st.campaigns.test_settings(channel, form.to.trim()).await {
            Ok(answer) => (true, t.get("messaging.test_sent").replace("{answer}", &answer)),
            Err(CampaignError::Field { field, .. }) if field == "channel" => {
                (false, t.get("messaging.test_not_set_up").to_string())
            }
            Err(e) => (false, format!("{} {e}", t.get("messaging.test_failed"))),
        },
    };
    page_with(
        &st,
        &staff,
        Draft::from_settings(&stored, t),
        None,
        false,
        Some((form, ok, answer)),
    )
}

impl Draft {
    /// Secrets typed are never sent back in a page.
    fn forget_secrets(&mut self) {
        self.smtp_password.clear();
        for p in &mut self.providers {
            p.auth_value.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::Lang;

    /// Found in review: going from a preset back to one's own provider kept the preset's form
    /// body, signing and check, hidden from the form.
    #[test]
    fn a_provider_written_by_hand_keeps_what_the_form_hides_and_a_preset_does_not() {
        let aligo = Provider {
            preset: Some("aligo".into()),
            format: BodyFormat::Form,
            signing: Signing::SolapiHmac,
            ok_when: Some(OkWhen {
                pointer: "/result_code".into(),
                equals: serde_json::json!(1),
            }),
            ..Provider::default()
        };
        assert_eq!(kept(Some(&aligo)), (BodyFormat::Json, Signing::None, None));
        let own = Provider {
            preset: None,
            ..aligo.clone()
        };
        assert_eq!(
            kept(Some(&own)),
            (BodyFormat::Form, Signing::SolapiHmac, aligo.ok_when.clone())
        );
        assert_eq!(kept(None), (BodyFormat::Json, Signing::None, None));
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn settings_go_through_the_form_unchanged_and_a_wrong_number_is_named() {
        let t = Catalog::for_lang(Lang::En);
        let s = Settings {
            sender_name: "단골상점".into(),
            smtp: Some(Smtp {
                host: "smtp.example.com".into(),
                port: Some(587),
                from_email: "shop@example.com".into(),
                ..Smtp::default()
            }),
            sms: Some(Provider {
                url: "https://sms.example/send".into(),
                auth_header: Some("Authorization".into()),
                body: body::default_template(),
                timeout_ms: 5000,
                retries: 2,
                ..Provider::default()
            }),
            ..Settings::default()
        };
        let shown = Draft::from_settings(&s, t);
        assert_eq!(
            Settings::from(shown.settings(t).unwrap()),
            s,
            "the form shows what is stored"
        );
        let body = body::default_template();
        let mut posted = pairs(&[
            ("sender_name", "단골상점"),
            ("public_url", "http://127.0.0.1:8080"),
            ("smtp_on", "on"),
            ("smtp_host", "smtp.example.com"),
            ("smtp_port", "587"),
            ("smtp_security", "starttls"),
            ("smtp_password", ""),
            ("smtp_from_email", "shop@example.com"),
            ("sms_on", "on"),
            ("sms_url", "https://sms.example/send"),
            ("sms_auth_header", "Authorization"),
            ("sms_body", body.as_str()),
            ("sms_timeout_ms", "5000"),
            ("sms_retries", "2"),
            ("kakao_timeout_ms", "10000"),
            ("kakao_retries", "3"),
            ("quiet_enabled", "on"),
            ("quiet_start", "21"),
            ("quiet_end", "8"),
            ("cap_on", "on"),
            ("cap_messages", "2"),
            ("cap_days", "7"),
            ("rate_email", "1000"),
            ("rate_sms", "50"),
            ("rate_kakao", "50"),
            ("workers", "4"),
        ]);
        let d = Draft::from_pairs(posted.clone(), &s, t);
        assert_eq!(Settings::from(d.settings(t).unwrap()), s, "posted back unchanged");
        posted.retain(|(k, _)| k != "cap_on");
        let no_cap = Draft::from_pairs(posted.clone(), &s, t).settings(t).unwrap();
        assert_eq!(no_cap.cap, None);
        posted.push(("sms_retries".into(), "many".into()));
        let e = Draft::from_pairs(posted, &s, t).settings(t).unwrap_err();
        assert_eq!(e.0, "sms.retries");
    }
}
