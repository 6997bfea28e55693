//! Ready-made HTTP providers for texts and Kakao: the Korean providers whose HTTP APIs are
//! public, filled in from their own documentation, so that an owner gives only the account, the
//! secret and the sender, never a URL or a JSON body.
//!
//! Sources (each provider's public API reference; the request shapes are tested against a local
//! server in `tests/integration/presets.rs`):
//! - Solapi: "API Key 인증 방식" (`Authorization: HMAC-SHA256 apiKey=…, date=…, salt=…,
//!   signature=…`, the signature an HMAC-SHA256 of date + salt under the API secret, a date within
//!   15 minutes) and "단일 메시지" (`POST https://api.solapi.com/messages/v4/send`,
//!   `{"message": {to, from, text, type, subject, kakaoOptions: {pfId, templateId, disableSms}}}`;
//!   types SMS, LMS, ATA 알림톡, CTA 친구톡; `statusCode` "2000" when taken), in solapi/documents.
//! - Aligo: "문자보내기" (`POST https://apis.aligo.in/send/`, a form of key, user_id, sender,
//!   receiver, msg, msg_type SMS/LMS, title; `result_code` 1 when taken, below 0 with the reason in
//!   `message`). Aligo's Kakao API first asks for a token of its own (`/akv10/token/create/`), which
//!   one request cannot do: it has no Kakao preset.
//! - NHN Cloud: SMS API v3.0 (`POST https://api-sms.cloud.toast.com/sms/v3.0/appKeys/{appKey}/
//!   sender/sms`, `…/sender/mms` for long texts with a title; header `X-Secret-Key`; body
//!   `{body, sendNo, title, recipientList: [{recipientNo}]}`) and KakaoTalk Bizmessage
//!   (`https://api-alimtalk.cloud.toast.com/alimtalk/v2.3/appkeys/{appkey}/raw-messages` with
//!   `{senderKey, templateCode, recipientList: [{recipientNo, content}]}`, and FriendTalk v2.4's
//!   `…/friendtalk/v2.4/appkeys/{appkey}/messages`); every answer carries `header.isSuccessful`.

use super::body::{BodyFormat, OkWhen, Provider, Signing};
use super::{CampaignError, bad};

/// Which provider slot a preset fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Sms,
    Kakao,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Sms => "sms",
            Family::Kakao => "kakao",
        }
    }
}

/// A ready-made provider.
pub struct Preset {
    /// What `Provider::preset` says: `solapi`, `aligo`, `nhn_cloud`.
    pub key: &'static str,
    /// The provider's name as it writes it (the same in both languages).
    pub name: &'static str,
    pub family: Family,
    pub url: &'static str,
    pub auth_header: Option<&'static str>,
    pub signing: Signing,
    pub format: BodyFormat,
    pub body: &'static str,
    /// (JSON pointer, the value that means "taken").
    pub ok_when: Option<(&'static str, serde_json::Value)>,
}

impl Preset {
    /// The catalogue key of what the owner fills in for it, in the provider's own words
    /// (`messaging.preset.solapi_sms`).
    pub fn hint_key(&self) -> String {
        format!("messaging.preset.{}_{}", self.key, self.family.as_str())
    }
}

const SOLAPI_URL: &str = "https://api.solapi.com/messages/v4/send";

/// Every preset, texts first.
pub fn all() -> Vec<Preset> {
    vec![
        Preset {
            key: "solapi",
            name: "Solapi (솔라피)",
            family: Family::Sms,
            url: SOLAPI_URL,
            auth_header: None,
            signing: Signing::SolapiHmac,
            format: BodyFormat::Json,
            body: r#"{"message": {"to": {{ to }}, "from": {{ from }}, "text": {{ text }}, "type": {% if channel == "lms" %}"LMS"{% if has_subject %}, "subject": {{ subject }}{% endif %}{% else %}"SMS"{% endif %}}}"#,
            ok_when: Some(("/statusCode", serde_json::json!("2000"))),
        },
        Preset {
            key: "aligo",
            name: "Aligo (알리고)",
            family: Family::Sms,
            url: "https://apis.aligo.in/send/",
            auth_header: None,
            signing: Signing::None,
            format: BodyFormat::Form,
            body: r#"{"key": {{ secret }}, "user_id": {{ account }}, "sender": {{ from }}, "receiver": {{ to }}, "msg": {{ text }}, "msg_type": {% if channel == "lms" %}"LMS"{% if has_subject %}, "title": {{ subject }}{% endif %}{% else %}"SMS"{% endif %}}"#,
            ok_when: Some(("/result_code", serde_json::json!(1))),
        },
        Preset {
            key: "nhn_cloud",
            name: "NHN Cloud",
            family: Family::Sms,
            url: r#"https://api-sms.cloud.toast.com/sms/v3.0/appKeys/{{ account }}/sender/{% if channel == "lms" %}mms{% else %}sms{% endif %}"#,
            auth_header: Some("X-Secret-Key"),
            signing: Signing::None,
            format: BodyFormat::Json,
            body: r#"{"body": {{ text }}, "sendNo": {{ from }}, {% if channel == "lms" %}"title": {% if has_subject %}{{ subject }}{% else %}{{ from }}{% endif %}, {% endif %}"recipientList": [{"recipientNo": {{ to }}}]}"#,
            ok_when: Some(("/header/isSuccessful", serde_json::json!(true))),
        },
        Preset {
            key: "solapi",
            name: "Solapi (솔라피)",
            family: Family::Kakao,
            url: SOLAPI_URL,
            auth_header: None,
            signing: Signing::SolapiHmac,
            format: BodyFormat::Json,
            body: r#"{"message": {"to": {{ to }}, "from": {{ sms_from }}, "text": {{ text }}, "type": {% if channel == "friendtalk" %}"CTA"{% else %}"ATA"{% endif %}, "kakaoOptions": {"pfId": {{ from }}{% if channel != "friendtalk" %}, "templateId": {{ template_code }}{% endif %}, "disableSms": true}}}"#,
            ok_when: Some(("/statusCode", serde_json::json!("2000"))),
        },
        Preset {
            key: "nhn_cloud",
            name: "NHN Cloud",
            family: Family::Kakao,
            url: r#"https://api-alimtalk.cloud.toast.com/{% if channel == "friendtalk" %}friendtalk/v2.4/appkeys/{{ account }}/messages{% else %}alimtalk/v2.3/appkeys/{{ account }}/raw-messages{% endif %}"#,
            auth_header: Some("X-Secret-Key"),
            signing: Signing::None,
            format: BodyFormat::Json,
            body: r#"{"senderKey": {{ from }}, {% if channel != "friendtalk" %}"templateCode": {{ template_code }}, {% endif %}"recipientList": [{"recipientNo": {{ to }}, "content": {{ text }}}]}"#,
            ok_when: Some(("/header/isSuccessful", serde_json::json!(true))),
        },
    ]
}

/// The preset `key` for a slot.
pub fn find(family: Family, key: &str) -> Option<Preset> {
    all().into_iter().find(|p| p.family == family && p.key == key)
}

/// Fills a provider in from its preset: the preset's URL, header, body, format, signing and
/// check replace the provider's own. A provider without a preset is left as it is.
pub fn apply(family: Family, p: &mut Provider) -> Result<(), CampaignError> {
    let Some(key) = p.preset.as_deref().map(str::trim).filter(|k| !k.is_empty()) else {
        p.preset = None;
        return Ok(());
    };
    let Some(preset) = find(family, key) else {
        let known: Vec<&str> = all().iter().filter(|p| p.family == family).map(|p| p.key).collect();
        return Err(bad(
            format!("{}.preset", family.as_str()),
            format!(
                "\"{key}\" is not a preset for {}: {}",
                family.as_str(),
                known.join(", ")
            ),
        ));
    };
    if p.account.as_deref().is_none_or(|a| a.trim().is_empty()) {
        return Err(bad(
            format!("{}.account", family.as_str()),
            format!("is empty: {} needs the account's id", preset.name),
        ));
    }
    p.preset = Some(preset.key.to_string());
    p.url = preset.url.to_string();
    p.auth_header = preset.auth_header.map(str::to_string);
    p.signing = preset.signing;
    p.format = preset.format;
    p.body = preset.body.to_string();
    p.ok_when = preset.ok_when.map(|(pointer, equals)| OkWhen {
        pointer: pointer.to_string(),
        equals,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Channel;
    use super::super::body::{Text, check, render};
    use super::*;

    fn text(kind: Channel) -> Text {
        Text {
            kind,
            to: "01012345678".into(),
            subject: Some("(광고) 가을 세일".into()),
            text: "단골상점: 오늘만 20% \"할인\"".into(),
            template_code: Some("ORDER_DONE".into()),
            message_id: "m1".into(),
            callback_url: None,
        }
    }

    fn provider(family: Family, key: &str) -> Provider {
        let mut p = Provider {
            preset: Some(key.into()),
            account: Some("ACCOUNT1".into()),
            auth_value: Some("SECRET1".into()),
            from: Some("0215880000".into()),
            timeout_ms: 1000,
            ..Provider::default()
        };
        apply(family, &mut p).unwrap();
        p
    }

    #[test]
    fn every_preset_fills_in_for_every_channel() {
        for preset in all() {
            let p = provider(preset.family, preset.key);
            check(&p).unwrap_or_else(|e| panic!("{} {}: {e}", preset.family.as_str(), preset.key));
        }
    }

    #[test]
    fn the_requests_are_the_providers_own() {
        let p = provider(Family::Sms, "nhn_cloud");
        let lms = render(&p, &text(Channel::Lms), None).unwrap();
        assert_eq!(
            lms.url,
            "https://api-sms.cloud.toast.com/sms/v3.0/appKeys/ACCOUNT1/sender/mms"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&lms.body).unwrap(),
            serde_json::json!({"body": "단골상점: 오늘만 20% \"할인\"", "sendNo": "0215880000",
                               "title": "(광고) 가을 세일", "recipientList": [{"recipientNo": "01012345678"}]})
        );
        let aligo = render(&provider(Family::Sms, "aligo"), &text(Channel::Sms), None).unwrap();
        assert_eq!(aligo.url, "https://apis.aligo.in/send/");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(aligo.body.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (
                get("key"),
                get("user_id"),
                get("sender"),
                get("receiver"),
                get("msg_type"),
                get("title")
            ),
            (
                Some("SECRET1"),
                Some("ACCOUNT1"),
                Some("0215880000"),
                Some("01012345678"),
                Some("SMS"),
                None
            )
        );
        let kakao = render(
            &provider(Family::Kakao, "solapi"),
            &text(Channel::Alimtalk),
            Some("0215880000"),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&kakao.body).unwrap()["message"]["kakaoOptions"],
            serde_json::json!({"pfId": "0215880000", "templateId": "ORDER_DONE", "disableSms": true})
        );
    }

    #[test]
    fn an_unknown_preset_or_a_missing_account_names_the_field() {
        let mut p = Provider {
            preset: Some("aligo".into()),
            account: Some("me".into()),
            ..Provider::default()
        };
        let e = apply(Family::Kakao, &mut p).unwrap_err();
        assert!(
            matches!(&e, CampaignError::Field { field, .. } if field == "kakao.preset"),
            "{e}"
        );
        let mut p = Provider {
            preset: Some("solapi".into()),
            ..Provider::default()
        };
        let e = apply(Family::Sms, &mut p).unwrap_err();
        assert!(
            matches!(&e, CampaignError::Field { field, .. } if field == "sms.account"),
            "{e}"
        );
    }
}
