//! The channels: email over SMTP (lettre, pooled connections, STARTTLS/TLS/plain as configured,
//! HTML and text parts, RFC 8058 one-click List-Unsubscribe), and texts and Kakao through an HTTP
//! provider whose URL, auth header and JSON body are settings, retried with backoff on 5xx, 429
//! and timeouts. Each channel is throttled to its messages per second.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::Channel;
use super::settings::{Provider, Security, Settings};

/// An email ready to hand over.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe URL (RFC 8058), on ad messages.
    pub unsubscribe_url: Option<String>,
    /// `<…@…>`: the same for a message re-sent after a crash, so receivers can tell.
    pub message_id: String,
}

/// A text or Kakao message ready to hand over.
#[derive(Debug, Clone)]
pub struct Text {
    pub kind: Channel,
    pub to: String,
    pub subject: Option<String>,
    pub text: String,
    pub template_code: Option<String>,
    pub message_id: String,
}

#[derive(Debug, Clone)]
pub enum Outgoing {
    Email(Email),
    Text(Text),
}

/// Why a message was not handed over; `transient` ones are tried again later.
#[derive(Debug, Clone)]
pub struct Failure {
    pub transient: bool,
    pub message: String,
}

impl Failure {
    fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            transient: false,
            message: message.into(),
        }
    }
}

/// The configured channels, built from the settings (and rebuilt when they change).
pub struct Channels {
    settings: Settings,
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    http: reqwest::Client,
    email_rate: DefaultDirectRateLimiter,
    sms_rate: DefaultDirectRateLimiter,
    kakao_rate: DefaultDirectRateLimiter,
}

fn limiter(per_second: u32) -> DefaultDirectRateLimiter {
    let n = NonZeroU32::new(per_second.max(1)).expect("at least 1");
    RateLimiter::direct(Quota::per_second(n))
}

impl Channels {
    pub fn new(settings: &Settings) -> Result<Channels, String> {
        let mailer = match &settings.smtp {
            None => None,
            Some(s) => {
                let builder = match s.security {
                    Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                        .map_err(|e| format!("smtp: {e}"))?,
                    Security::Tls => {
                        AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| format!("smtp: {e}"))?
                    }
                    Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
                };
                let mut builder = builder
                    .timeout(Some(Duration::from_secs(30)))
                    .pool_config(PoolConfig::new().max_size(settings.workers.max(1)));
                if let Some(port) = s.port {
                    builder = builder.port(port);
                }
                if let Some(user) = &s.username {
                    builder =
                        builder.credentials(Credentials::new(user.clone(), s.password.clone().unwrap_or_default()));
                }
                Some(builder.build())
            }
        };
        Ok(Channels {
            settings: settings.clone(),
            mailer,
            http: reqwest::Client::builder()
                .build()
                .map_err(|e| format!("http client: {e}"))?,
            email_rate: limiter(settings.rates.email),
            sms_rate: limiter(settings.rates.sms),
            kakao_rate: limiter(settings.rates.kakao),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether `channel` is configured.
    pub fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.mailer.is_some(),
            Channel::Sms | Channel::Lms => self.settings.sms.is_some(),
            Channel::Alimtalk | Channel::Friendtalk => self.settings.kakao.is_some(),
        }
    }

    /// Hands one message over; returns what the server answered.
    pub async fn send(&self, out: &Outgoing) -> Result<String, Failure> {
        match out {
            Outgoing::Email(m) => {
                self.email_rate.until_ready().await;
                self.send_email(m).await
            }
            Outgoing::Text(t) => {
                let (provider, rate) = if t.kind.is_kakao() {
                    (self.settings.kakao.as_ref(), &self.kakao_rate)
                } else {
                    (self.settings.sms.as_ref(), &self.sms_rate)
                };
                let provider = provider
                    .ok_or_else(|| Failure::permanent(format!("no provider is set for {}", t.kind.as_str())))?;
                rate.until_ready().await;
                self.send_text(provider, t).await
            }
        }
    }

    async fn send_email(&self, m: &Email) -> Result<String, Failure> {
        let (Some(mailer), Some(smtp)) = (&self.mailer, &self.settings.smtp) else {
            return Err(Failure::permanent("no SMTP server is set"));
        };
        let from_name = (!self.settings.sender_name.is_empty()).then(|| self.settings.sender_name.clone());
        let from = Mailbox::new(
            from_name,
            smtp.from_email
                .parse()
                .map_err(|e| Failure::permanent(format!("from address: {e}")))?,
        );
        let to = Mailbox::new(
            m.to_name.clone(),
            m.to.parse()
                .map_err(|e| Failure::permanent(format!("address {:?}: {e}", m.to)))?,
        );
        let mut b = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(m.message_id.clone()));
        if let Some(r) = smtp.reply_to.as_deref().and_then(|r| r.parse().ok()) {
            b = b.reply_to(r);
        }
        if let Some(u) = &m.unsubscribe_url {
            b = b
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{u}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message = b
            .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
            .map_err(|e| Failure::permanent(format!("message: {e}")))?;
        match mailer.send(message).await {
            Ok(r) => Ok(format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" "))),
            Err(e) => Err(Failure {
                transient: e.is_transient() || e.is_timeout() || !e.is_permanent(),
                message: format!("smtp: {e}"),
            }),
        }
    }

    async fn send_text(&self, p: &Provider, t: &Text) -> Result<String, Failure> {
        let body = render_body(&p.body, p, t).map_err(Failure::permanent)?;
        let mut delay = Duration::from_secs(1);
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .post(&p.url)
                .timeout(Duration::from_millis(p.timeout_ms))
                .header("content-type", "application/json")
                .header("idempotency-key", &t.message_id)
                .body(body.clone());
            if let (Some(h), Some(v)) = (&p.auth_header, &p.auth_value) {
                req = req.header(h.as_str(), v.as_str());
            }
            let outcome = match req.send().await {
                Ok(res) => {
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    let text: String = text.chars().take(300).collect();
                    if status.is_success() {
                        return Ok(format!("{} {text}", status.as_u16()));
                    }
                    let transient = status.is_server_error() || status.as_u16() == 429;
                    Failure {
                        transient,
                        message: format!("provider answered {}: {text}", status.as_u16()),
                    }
                }
                Err(e) => Failure {
                    transient: e.is_timeout() || e.is_connect() || e.is_request(),
                    message: format!("provider: {e}"),
                },
            };
            if !outcome.transient || attempt >= p.retries {
                return Err(outcome);
            }
            attempt += 1;
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
}

fn json(v: Option<&str>) -> String {
    serde_json::to_string(&v).expect("a string encodes")
}

/// The provider's request body: the template with each value as a JSON literal.
pub fn render_body(template: &str, p: &Provider, t: &Text) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_template("body", template).map_err(|e| e.to_string())?;
    let ctx = minijinja::context! {
        to => json(Some(&t.to)),
        from => json(p.from.as_deref()),
        sender_key => json(p.from.as_deref()),
        kind => json(Some(t.kind.as_str())),
        subject => json(t.subject.as_deref()),
        text => json(Some(&t.text)),
        template_code => json(t.template_code.as_deref()),
        message_id => json(Some(&t.message_id)),
    };
    let body = env
        .get_template("body")
        .and_then(|tpl| tpl.render(ctx))
        .map_err(|e| e.to_string())?;
    serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| format!("the body is not JSON once filled in: {e}"))?;
    Ok(body)
}

/// Whether a provider body template fills in to JSON.
pub fn check_body(template: &str) -> Result<(), String> {
    let t = Text {
        kind: Channel::Sms,
        to: "01012345678".into(),
        subject: Some("s".into()),
        text: "t \"quoted\"".into(),
        template_code: None,
        message_id: "m".into(),
    };
    render_body(template, &Provider::default(), &t).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_body_is_json_with_every_value_escaped() {
        let p = Provider {
            from: Some("0215880000".into()),
            ..Default::default()
        };
        let t = Text {
            kind: Channel::Lms,
            to: "01012345678".into(),
            subject: Some("(광고) \"세일\"".into()),
            text: "줄\n바꿈 {{ not a template }}".into(),
            template_code: None,
            message_id: "1.2.3".into(),
        };
        let body = render_body(&super::super::settings::default_body(), &p, &t).unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["to"], "01012345678");
        assert_eq!(v["from"], "0215880000");
        assert_eq!(v["type"], "lms");
        assert_eq!(v["subject"], "(광고) \"세일\"");
        assert_eq!(v["text"], "줄\n바꿈 {{ not a template }}");
        assert_eq!(v["template_code"], serde_json::Value::Null);
        assert!(check_body(r#"{"to": {{ to }}"#).is_err());
        assert!(check_body(r#"{"msg": {{ text }}, "dest": [{{ to }}]}"#).is_ok());
    }
}
