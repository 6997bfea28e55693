//! The body an HTTP provider (SMS/LMS, Kakao) is sent: the shop's JSON template filled in with
//! the message, each value as a JSON literal, and the check that a template fills in to JSON.

use super::Channel;

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

/// The provider's request body: the template with each value as a JSON literal; `from` is the
/// provider's sender number (or Kakao sender key).
pub fn render(template: &str, from: Option<&str>, t: &Text) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_template("body", template).map_err(|e| e.to_string())?;
    let ctx = minijinja::context! {
        to => json(Some(&t.to)),
        from => json(from),
        sender_key => json(from),
        kind => json(Some(t.kind.as_str())),
        subject => json(t.subject.as_deref()),
        text => json(Some(&t.text)),
        template_code => json(t.template_code.as_deref()),
        message_id => json(Some(&t.message_id)),
        callback_url => json(t.callback_url.as_deref()),
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
pub fn check(template: &str) -> Result<(), String> {
    let t = Text {
        kind: Channel::Sms,
        to: "01012345678".into(),
        subject: Some("s".into()),
        text: "t \"quoted\"".into(),
        template_code: None,
        message_id: "m".into(),
        callback_url: Some("http://h/v1/m/r/t".into()),
    };
    render(template, None, &t).map(|_| ())
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
        let body = render(&default_template(), Some("0215880000"), &t).unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["to"], "01012345678");
        assert_eq!(v["from"], "0215880000");
        assert_eq!(v["type"], "lms");
        assert_eq!(v["subject"], "(광고) \"세일\"");
        assert_eq!(v["text"], "줄\n바꿈 {{ not a template }}");
        assert_eq!(v["template_code"], serde_json::Value::Null);
        assert!(check(r#"{"to": {{ to }}"#).is_err());
        assert!(check(r#"{"msg": {{ text }}, "dest": [{{ to }}]}"#).is_ok());
    }
}
