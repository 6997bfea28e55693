//! The channels: email over SMTP (lettre, kept-open connections, STARTTLS/TLS/plain as configured,
//! HTML and text parts, RFC 8058 one-click List-Unsubscribe), and texts and Kakao through an HTTP
//! provider whose URL, auth header and body (JSON or a form) are settings, signed as Solapi asks
//! when set so, its answer checked where the provider says "refused" with a 200, retried with
//! backoff on 5xx, 429 and timeouts. Each channel is throttled to its messages per second.

use std::num::NonZeroU32;
use std::time::Duration;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::Channel;
use super::body::Text;
use super::settings::{OkWhen, Provider, Security, Settings, Signing};

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

/// An implicit-TLS stream (port 465) as lettre's connection takes it.
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl tokio::io::AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// SMTP connections kept open between messages. They are made here rather than by lettre's
/// pool so that they carry TCP_NODELAY: lettre 0.11.23 writes a message's final `.` on its own,
/// and with Nagle on, that waits for the server's delayed ACK: 40 ms a message (lettre/lettre#1159,
/// merged upstream but not released).
struct SmtpPool {
    settings: super::settings::Smtp,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    hello: ClientId,
}

impl SmtpPool {
    fn port(&self) -> u16 {
        self.settings.port.unwrap_or(match self.settings.security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::Plain => 25,
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let s = &self.settings;
        let transient = |what: &str, e: &dyn std::fmt::Display| Failure {
            transient: true,
            message: format!("smtp {what}: {e}"),
        };
        let tcp = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::net::TcpStream::connect((s.host.as_str(), self.port())),
        )
        .await
        .map_err(|e| transient("connect", &e))?
        .map_err(|e| transient("connect", &e))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn AsyncTokioStream> = match s.security {
            Security::Tls => {
                let mut roots = tokio_rustls::rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
                    tokio_rustls::rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| transient("tls", &e))?
                .with_root_certificates(roots)
                .with_no_client_auth();
                let name = tokio_rustls::rustls::pki_types::ServerName::try_from(s.host.clone())
                    .map_err(|e| Failure::permanent(format!("smtp host: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| transient("tls", &e))?;
                Box::new(ImplicitTls(tls))
            }
            _ => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
            .await
            .map_err(smtp_failure)?;
        if s.security == Security::Starttls {
            let params = TlsParameters::new_rustls(s.host.clone()).map_err(smtp_failure)?;
            conn.starttls(params, &self.hello).await.map_err(smtp_failure)?;
        }
        if let Some(user) = &s.username {
            let creds = Credentials::new(user.clone(), s.password.clone().unwrap_or_default());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .await
                .map_err(smtp_failure)?;
        }
        Ok(conn)
    }

    async fn send(&self, message: &lettre::Message) -> Result<String, Failure> {
        let pooled = self.idle.lock().expect("not poisoned").pop();
        let mut conn = match pooled {
            // A connection idle for a while may have been closed by the server: ask first.
            Some((mut c, since)) if since.elapsed() > Duration::from_secs(20) => {
                if c.test_connected().await {
                    c
                } else {
                    self.connect().await?
                }
            }
            Some((c, _)) => c,
            None => self.connect().await?,
        };
        let sent = conn.send(message.envelope(), &message.formatted()).await;
        match sent {
            Ok(r) => {
                if !conn.has_broken() {
                    self.idle.lock().expect("not poisoned").push((conn, Instant::now()));
                }
                Ok(format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" ")))
            }
            Err(e) => Err(smtp_failure(e)),
        }
    }
}

fn smtp_failure(e: lettre::transport::smtp::Error) -> Failure {
    Failure {
        transient: e.is_transient() || e.is_timeout() || !e.is_permanent(),
        message: format!("smtp: {e}"),
    }
}

/// The configured channels, built from the settings (and rebuilt when they change).
pub struct Channels {
    settings: Settings,
    deny_private: bool,
    mailer: Option<SmtpPool>,
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
    pub fn new(settings: &Settings, deny_private: bool) -> Result<Channels, String> {
        let mailer = settings.smtp.as_ref().map(|s| SmtpPool {
            settings: s.clone(),
            idle: Mutex::new(Vec::new()),
            hello: ClientId::default(),
        });
        Ok(Channels {
            settings: settings.clone(),
            deny_private,
            mailer,
            // No redirects: a provider that answers 303 must not turn into a read of another page.
            http: crate::outbound::client(deny_private)?,
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
        mailer.send(&message).await
    }

    async fn send_text(&self, p: &Provider, t: &Text) -> Result<String, Failure> {
        // A Kakao provider's text fallback goes from the text provider's sender number.
        let sms_from = self.settings.sms.as_ref().and_then(|s| s.from.as_deref());
        let request = super::body::render(p, t, sms_from).map_err(Failure::permanent)?;
        crate::outbound::check_url(&request.url, self.deny_private).map_err(Failure::permanent)?;
        let mut delay = Duration::from_secs(1);
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .post(&request.url)
                .timeout(Duration::from_millis(p.timeout_ms))
                .header("content-type", request.content_type)
                .header("idempotency-key", &t.message_id)
                .body(request.body.clone());
            if let (Some(h), Some(v)) = (&p.auth_header, &p.auth_value) {
                req = req.header(h.as_str(), v.as_str());
            }
            if p.signing == Signing::SolapiHmac {
                req = req.header(
                    "authorization",
                    solapi_authorization(
                        p.account.as_deref().unwrap_or_default(),
                        p.auth_value.as_deref().unwrap_or_default(),
                        chrono::Utc::now(),
                    ),
                );
            }
            let outcome = match req.send().await {
                Ok(res) => {
                    let status = res.status();
                    let answer = res.text().await.unwrap_or_default();
                    // Kept and shown: the status and a short, plain excerpt of the answer.
                    let text = crate::outbound::excerpt(&answer);
                    if status.is_success() {
                        if let Some(ok) = &p.ok_when
                            && !answer_says(&answer, ok)
                        {
                            return Err(Failure::permanent(format!(
                                "provider refused ({} is not {}): {text}",
                                ok.pointer, ok.equals
                            )));
                        }
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

/// Whether a provider's answer says it took the message: the value at the pointer equals the
/// expected one, a number and a string of the same digits being the same ("1" and 1).
fn answer_says(answer: &str, ok: &OkWhen) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(answer) else {
        return false;
    };
    let plain = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    value
        .pointer(&ok.pointer)
        .is_some_and(|v| plain(v) == plain(&ok.equals))
}

/// Solapi's `Authorization` header: `HMAC-SHA256 apiKey=KEY, date=ISO 8601, salt=RANDOM,
/// signature=hex(HMAC-SHA256(secret, date + salt))`, with a new salt every time (Solapi refuses a
/// signature seen in the last 15 minutes).
pub fn solapi_authorization(api_key: &str, secret: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let date = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let salt: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let signature = solapi_signature(secret, &date, &salt);
    format!("HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}")
}

/// hex(HMAC-SHA256(secret, date + salt)), Solapi's signature.
pub fn solapi_signature(secret: &str, date: &str, salt: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(date.as_bytes());
    mac.update(salt.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}
