//! An HTTP provider for texts and Kakao (`Provider`, kept in the messaging settings) and the request
//! it is sent: the URL, and the shop's JSON template filled in with the message, each value as a
//! JSON literal, sent as JSON or as a form; and the check that a template fills in.

use serde::{Deserialize, Serialize};

use super::Channel;

/// How a provider's request body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// The filled-in template as JSON (`application/json`).
    #[default]
    Json,
    /// The filled-in template's top-level fields as a form (`application/x-www-form-urlencoded`),
    /// as Aligo takes them.
    Form,
}

/// How a provider's request proves who sends it, beyond the `auth_header: auth_value` pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signing {
    /// Nothing beyond `auth_header: auth_value`.
    #[default]
    None,
    /// Solapi's: `Authorization: HMAC-SHA256 apiKey=ACCOUNT, date=ISO 8601, salt=RANDOM,
    /// signature=hex(HMAC-SHA256(auth_value, date + salt))`, made anew for every request.
    SolapiHmac,
}

/// What a provider's answer says when it took the message, for providers that answer 200 to a
/// refusal too (Aligo's `result_code`, NHN Cloud's `header.isSuccessful`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OkWhen {
    /// A JSON pointer into the answer, e.g. `/header/isSuccessful`.
    pub pointer: String,
    /// The value it must have; a number and a string of the same digits are the same.
    #[schema(value_type = Object)]
    pub equals: serde_json::Value,
}

/// An HTTP provider for texts or Kakao: dangol POSTs `body` (a JSON template) to `url`. With a
/// `preset` (see `presets.rs`), the URL, headers, body, format, signing and the answer's check
/// are the preset's, and the owner gives only `account`, `auth_value` and `from`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provider {
    /// Where the request goes. May hold `{{ account }}` and `{{ channel }}` (sms, lms, alimtalk,
    /// friendtalk), as NHN Cloud's URLs do.
    #[serde(default)]
    pub url: String,
    /// The header that authenticates us, e.g. `Authorization`.
    #[serde(default)]
    pub auth_header: Option<String>,
    /// Write-only, like the SMTP password.
    #[serde(default)]
    pub auth_value: Option<String>,
    /// The request body, a JSON template with `{{ to }}`, `{{ from }}`, `{{ text }}`,
    /// `{{ subject }}`, `{{ kind }}` (sms, lms, alimtalk, friendtalk), `{{ template_code }}`,
    /// `{{ sender_key }}`, `{{ message_id }}`, `{{ callback_url }}` (where to POST the delivery
    /// result); each value is JSON-escaped.
    #[serde(default = "default_template")]
    pub body: String,
    /// The sender number (texts) or the Kakao channel's sender key.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Attempts after the first on a 5xx, 429 or a timeout, with backoff doubling from 1 s.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The Korean provider this was filled in from (`solapi`, `aligo`, `nhn_cloud`); its URL,
    /// header, body, format, signing and check replace what is given for them when saved.
    #[serde(default)]
    pub preset: Option<String>,
    /// The account's id a provider wants besides its secret: Solapi's API key, Aligo's user id,
    /// NHN Cloud's app key (`{{ account }}` in the URL and the body).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub format: BodyFormat,
    #[serde(default)]
    pub signing: Signing,
    #[serde(default)]
    pub ok_when: Option<OkWhen>,
}

/// The provider body used when none is set.
fn default_timeout() -> u64 {
    10_000
}

fn default_retries() -> u32 {
    3
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
    /// Where the provider may report delivery (`{{ callback_url }}`).
    pub callback_url: Option<String>,
}

fn json(v: Option<&str>) -> String {
    serde_json::to_string(&v).expect("a string encodes")
}

/// The template a provider gets when none is set: every value under its own name.
pub fn default_template() -> String {
    r#"{"to": {{ to }}, "from": {{ from }}, "type": {{ kind }}, "subject": {{ subject }}, "text": {{ text }}, "template_code": {{ template_code }}, "message_id": {{ message_id }}, "callback_url": {{ callback_url }}}"#.into()
}

/// A provider's request, filled in: where it goes, what it carries and as what.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: String,
    pub body: String,
    pub content_type: &'static str,
}

fn fill(template: &str, ctx: minijinja::Value) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_template("t", template).map_err(|e| e.to_string())?;
    env.get_template("t")
        .and_then(|tpl| tpl.render(ctx))
        .map_err(|e| e.to_string())
}

/// The provider's URL for a message on `channel`: `{{ account }}` (percent-encoded, so it stays
/// one path segment) and `{{ channel }}` filled in.
pub fn url(p: &Provider, channel: Channel) -> Result<String, String> {
    if !p.url.contains("{{") && !p.url.contains("{%") {
        return Ok(p.url.clone());
    }
    let account: String = p
        .account
        .as_deref()
        .unwrap_or("")
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    fill(
        &p.url,
        minijinja::context! { account => account, channel => channel.as_str() },
    )
}

/// The provider's request body: the template with each value as a JSON literal (`from` is the
/// provider's sender number or Kakao sender key, `account` its account id, `secret` its
/// `auth_value`, `sms_from` the text provider's sender number for a Kakao provider's fallback),
/// and the bare words `channel` and `has_subject` for the template's conditions. With the form
/// format, the filled-in JSON object's fields are sent as a form.
pub fn render(p: &Provider, t: &Text, sms_from: Option<&str>) -> Result<Request, String> {
    let ctx = minijinja::context! {
        to => json(Some(&t.to)),
        from => json(p.from.as_deref()),
        sender_key => json(p.from.as_deref()),
        account => json(p.account.as_deref()),
        secret => json(p.auth_value.as_deref()),
        sms_from => json(sms_from),
        kind => json(Some(t.kind.as_str())),
        channel => t.kind.as_str(),
        subject => json(t.subject.as_deref()),
        has_subject => t.subject.as_deref().is_some_and(|s| !s.trim().is_empty()),
        text => json(Some(&t.text)),
        template_code => json(t.template_code.as_deref()),
        message_id => json(Some(&t.message_id)),
        callback_url => json(t.callback_url.as_deref()),
    };
    let body = fill(&p.body, ctx)?;
    let value = serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| format!("the body is not JSON once filled in: {e}"))?;
    let url = url(p, t.kind)?;
    match p.format {
        BodyFormat::Json => Ok(Request {
            url,
            body,
            content_type: "application/json",
        }),
        BodyFormat::Form => {
            let serde_json::Value::Object(fields) = value else {
                return Err("a form body must fill in to a JSON object".into());
            };
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &fields {
                match v {
                    serde_json::Value::Null => {}
                    serde_json::Value::String(s) => {
                        form.append_pair(k, s);
                    }
                    other => {
                        form.append_pair(k, &other.to_string());
                    }
                }
            }
            Ok(Request {
                url,
                body: form.finish(),
                content_type: "application/x-www-form-urlencoded",
            })
        }
    }
}

/// Whether a provider's body template fills in to JSON (an object, for a form) and its URL to
/// a URL, for a text of each channel.
pub fn check(p: &Provider) -> Result<(), String> {
    for kind in [Channel::Sms, Channel::Lms, Channel::Alimtalk, Channel::Friendtalk] {
        let t = Text {
            kind,
            to: "01012345678".into(),
            subject: Some("s".into()),
            text: "t \"quoted\"".into(),
            template_code: Some("T1".into()),
            message_id: "m".into(),
            callback_url: Some("http://h/v1/m/r/t".into()),
        };
        render(p, &t, Some("0215880000"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_body_is_json_with_every_value_escaped() {
        let t = Text {
            kind: Channel::Lms,
            to: "01012345678".into(),
            subject: Some("(광고) \"세일\"".into()),
            text: "줄\n바꿈 {{ not a template }}".into(),
            template_code: None,
            message_id: "1.2.3".into(),
            callback_url: None,
        };
        let p = Provider {
            url: "https://sms.example/send".into(),
            body: default_template(),
            from: Some("0215880000".into()),
            ..Provider::default()
        };
        let req = render(&p, &t, None).unwrap();
        assert_eq!(req.content_type, "application/json");
        let v: serde_json::Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(v["to"], "01012345678");
        assert_eq!(v["from"], "0215880000");
        assert_eq!(v["type"], "lms");
        assert_eq!(v["subject"], "(광고) \"세일\"");
        assert_eq!(v["text"], "줄\n바꿈 {{ not a template }}");
        assert_eq!(v["template_code"], serde_json::Value::Null);
        let with = |body: &str| Provider {
            body: body.into(),
            ..p.clone()
        };
        assert!(check(&with(r#"{"to": {{ to }}"#)).is_err());
        assert!(check(&with(r#"{"msg": {{ text }}, "dest": [{{ to }}]}"#)).is_ok());
        // A form is the object's fields (in name order), numbers as written, nulls left out.
        let form = Provider {
            format: BodyFormat::Form,
            ..with(r#"{"receiver": {{ to }}, "msg": {{ text }}, "n": 1, "title": {{ template_code }}}"#)
        };
        let req = render(&form, &t, None).unwrap();
        assert_eq!(req.content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            req.body,
            "msg=%EC%A4%84%0A%EB%B0%94%EA%BF%88+%7B%7B+not+a+template+%7D%7D&n=1&receiver=01012345678"
        );
        assert!(check(&with(r#"[{{ to }}]"#)).is_ok());
        assert!(
            check(&Provider {
                format: BodyFormat::Form,
                ..with(r#"[{{ to }}]"#)
            })
            .is_err()
        );
        // The URL's account stays one path segment.
        let nhn = Provider {
            url:
                "https://api.example/appKeys/{{ account }}/sender/{% if channel == 'lms' %}mms{% else %}sms{% endif %}"
                    .into(),
            account: Some("a/b c".into()),
            ..p.clone()
        };
        assert_eq!(
            url(&nhn, Channel::Lms).unwrap(),
            "https://api.example/appKeys/a%2Fb%20c/sender/mms"
        );
        assert_eq!(
            url(&nhn, Channel::Sms).unwrap(),
            "https://api.example/appKeys/a%2Fb%20c/sender/sms"
        );
    }
}
