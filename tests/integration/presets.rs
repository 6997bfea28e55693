//! The Korean providers' presets in the messaging settings: the owner gives the account, the
//! secret and the sender; the preset fills in the URL, headers and body from the provider's
//! documentation. Each request's exact shape is checked on a real local server standing in for
//! the provider (the preset's URL with its host swapped for the local one), through the settings'
//! test send.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, console_cookie, csrf_of, element, page, post_form};

/// One request as the provider got it.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes()).into_owned().collect()
    }
}

/// A local server answering every POST with `answer`, recording what it got.
struct FakeProvider {
    base: String,
    got: Arc<Mutex<Vec<Got>>>,
    answer: Arc<Mutex<String>>,
}

impl FakeProvider {
    async fn start(answer: &str) -> FakeProvider {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let answer = Arc::new(Mutex::new(answer.to_string()));
        let (g, a) = (got.clone(), answer.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let (g, a) = (g.clone(), a.clone());
                async move {
                    g.lock().unwrap().push(Got {
                        path: uri.path().to_string(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect(),
                        body,
                    });
                    let answer = a.lock().unwrap().clone();
                    ([(axum::http::header::CONTENT_TYPE, "application/json")], answer)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeProvider { base, got, answer }
    }

    fn last(&self) -> Got {
        self.got
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the provider got a request")
    }
}

async fn put_settings(app: &TestApp, body: Value) -> (u16, Value) {
    let res = app
        .admin(Method::PUT, "/settings/messaging")
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Saves a preset for a slot, checks what it filled in, then points the same provider at the
/// local server (the secret given again, since the URL changed) and sends the settings' test.
async fn through(
    app: &TestApp,
    slot: &str,
    provider: Value,
    fake: &FakeProvider,
    real_host: &str,
    channel: &str,
) -> Value {
    let mut settings = json!({"sender_name": "단골상점", "sender_contact": "02-123-4567"});
    settings[slot] = provider.clone();
    if slot == "kakao" {
        settings["sms"] = json!({"preset": "aligo", "account": "shopid", "auth_value": "k", "from": "0215880000"});
    }
    let (status, saved) = put_settings(app, settings.clone()).await;
    assert_eq!(status, 200, "{saved}");
    let filled = saved[slot].clone();
    assert!(filled["url"].as_str().unwrap().starts_with(real_host), "{filled}");
    assert_eq!(filled["auth_value"], Value::Null, "the secret is never shown back");
    assert_eq!(filled["auth_value_set"], true);

    let mut local = filled.clone();
    local["preset"] = Value::Null;
    local["url"] = filled["url"].as_str().unwrap().replace(real_host, &fake.base).into();
    local["auth_value"] = provider["auth_value"].clone();
    settings[slot] = local;
    let (status, saved) = put_settings(app, settings).await;
    assert_eq!(status, 200, "{saved}");
    let res = app
        .admin(Method::POST, "/settings/messaging/test")
        .json(&json!({"channel": channel, "to": "010-1234-5678"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    json!({"status": status, "body": body, "filled": filled})
}

#[tokio::test]
async fn solapi_is_signed_with_hmac_sha256_and_sends_its_own_json() {
    use hmac::{Hmac, Mac};
    let app = TestApp::spawn().await;
    let fake = FakeProvider::start(
        r#"{"groupId":"G4V1","messageId":"M4V1","statusCode":"2000","statusMessage":"정상 접수(이통사로 접수 예정) "}"#,
    )
    .await;
    let sms =
        json!({"preset": "solapi", "account": "NCSAYU7YDBXYORXC", "auth_value": "SOLAPI-SECRET", "from": "029302266"});
    let out = through(&app, "sms", sms, &fake, "https://api.solapi.com", "lms").await;
    assert_eq!(out["status"], 200, "{out}");
    assert!(out["body"]["result"].as_str().unwrap().starts_with("200 "), "{out}");
    assert_eq!(out["filled"]["url"], "https://api.solapi.com/messages/v4/send");
    assert_eq!(
        (out["filled"]["signing"].as_str(), out["filled"]["format"].as_str()),
        (Some("solapi_hmac"), Some("json"))
    );

    let got = fake.last();
    assert_eq!(got.path, "/messages/v4/send");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.json(),
        json!({"message": {"to": "01012345678", "from": "029302266", "type": "LMS",
                           "subject": "[테스트] dangol 메시지 발송 설정",
                           "text": "dangol 테스트 메시지입니다. 이 메시지가 도착했다면 메시지 발송 설정이 맞습니다."}})
    );
    // Authorization: HMAC-SHA256 apiKey=…, date=…, salt=…, signature=hex(HMAC(secret, date+salt)).
    let auth = got.header("authorization").unwrap().to_string();
    let rest = auth.strip_prefix("HMAC-SHA256 ").unwrap_or_else(|| panic!("{auth}"));
    let part = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {auth}"))
            .to_string()
    };
    assert_eq!(part("apiKey"), "NCSAYU7YDBXYORXC");
    let (date, salt) = (part("date"), part("salt"));
    let at = chrono::DateTime::parse_from_rfc3339(&date).unwrap();
    assert!(
        (chrono::Utc::now() - at.to_utc()).num_seconds().abs() < 60,
        "the real time, as Solapi checks: {date}"
    );
    assert!((12..=64).contains(&salt.len()), "{salt}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"SOLAPI-SECRET").unwrap();
    mac.update(format!("{date}{salt}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(part("signature"), expected);

    // A new salt every request: Solapi refuses a signature it saw in the last 15 minutes.
    app.admin(Method::POST, "/settings/messaging/test")
        .json(&json!({"channel": "sms", "to": "01012345678"}))
        .send()
        .await
        .unwrap();
    let again = fake.last();
    assert_ne!(again.header("authorization"), Some(auth.as_str()));
    assert_eq!(again.json()["message"]["type"], "SMS");
    assert_eq!(
        again.json()["message"].get("subject"),
        None,
        "a short text has no subject"
    );

    // Solapi's Kakao: the channel's pfId as the sender key, the text provider's number as `from`.
    let fake_kakao = FakeProvider::start(r#"{"statusCode":"2000"}"#).await;
    let kakao =
        json!({"preset": "solapi", "account": "NCSAYU7YDBXYORXC", "auth_value": "SOLAPI-SECRET", "from": "KA01PF2004"});
    let out = through(
        &app,
        "kakao",
        kakao,
        &fake_kakao,
        "https://api.solapi.com",
        "friendtalk",
    )
    .await;
    assert_eq!(out["status"], 200, "{out}");
    let message = fake_kakao.last().json()["message"].clone();
    assert_eq!(
        (
            message["type"].as_str(),
            message["from"].as_str(),
            message["kakaoOptions"]["pfId"].as_str()
        ),
        (Some("CTA"), Some("0215880000"), Some("KA01PF2004"))
    );
    assert_eq!(
        message["kakaoOptions"].get("templateId"),
        None,
        "FriendTalk has no template"
    );
}

#[tokio::test]
async fn aligo_gets_a_form_and_its_refusals_with_a_200_are_refusals() {
    let app = TestApp::spawn().await;
    let fake = FakeProvider::start(
        r#"{"result_code":"1","message":"success","msg_id":"123456","success_cnt":1,"error_cnt":0,"msg_type":"SMS"}"#,
    )
    .await;
    let sms = json!({"preset": "aligo", "account": "myshop", "auth_value": "ALIGO-API-KEY", "from": "025114560"});
    let out = through(&app, "sms", sms, &fake, "https://apis.aligo.in", "sms").await;
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["filled"]["url"], "https://apis.aligo.in/send/");
    let got = fake.last();
    assert_eq!(got.path, "/send/");
    assert_eq!(got.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(got.header("authorization"), None);
    let mut form = got.form();
    form.sort();
    assert_eq!(
        form,
        [
            ("key", "ALIGO-API-KEY"),
            (
                "msg",
                "dangol 테스트 메시지입니다. 이 메시지가 도착했다면 메시지 발송 설정이 맞습니다."
            ),
            ("msg_type", "SMS"),
            ("receiver", "01012345678"),
            ("sender", "025114560"),
            ("user_id", "myshop"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );

    // Aligo says no with a 200 and a negative result_code: the test send shows the refusal.
    *fake.answer.lock().unwrap() = r#"{"result_code":"-101","message":"인증오류입니다."}"#.into();
    let res = app
        .admin(Method::POST, "/settings/messaging/test")
        .json(&json!({"channel": "sms", "to": "01012345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("인증오류입니다."),
        "{body}"
    );

    // Aligo has no Kakao preset: asking for one names the field.
    let (status, body) = put_settings(
        &app,
        json!({"kakao": {"preset": "aligo", "account": "myshop", "auth_value": "k"}}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("kakao.preset")),
        "{body}"
    );
}

#[tokio::test]
async fn nhn_cloud_puts_the_app_key_in_the_path_and_the_secret_in_its_header() {
    let app = TestApp::spawn().await;
    let ok = r#"{"header":{"isSuccessful":true,"resultCode":0,"resultMessage":"SUCCESS"},"body":{"data":{"requestId":"20261103"}}}"#;
    let fake = FakeProvider::start(ok).await;
    let sms = json!({"preset": "nhn_cloud", "account": "AppKey123", "auth_value": "NHN-SECRET", "from": "15446859"});
    let out = through(&app, "sms", sms, &fake, "https://api-sms.cloud.toast.com", "lms").await;
    assert_eq!(out["status"], 200, "{out}");
    let got = fake.last();
    assert_eq!(
        got.path, "/sms/v3.0/appKeys/AppKey123/sender/mms",
        "a long text goes to the MMS address"
    );
    assert_eq!(got.header("x-secret-key"), Some("NHN-SECRET"));
    assert_eq!(
        got.json(),
        json!({"body": "dangol 테스트 메시지입니다. 이 메시지가 도착했다면 메시지 발송 설정이 맞습니다.",
               "sendNo": "15446859", "title": "[테스트] dangol 메시지 발송 설정",
               "recipientList": [{"recipientNo": "01012345678"}]})
    );
    app.admin(Method::POST, "/settings/messaging/test")
        .json(&json!({"channel": "sms", "to": "01012345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.last().path, "/sms/v3.0/appKeys/AppKey123/sender/sms");
    assert_eq!(fake.last().json().get("title"), None);

    // NHN answers a refusal with a 200 too: isSuccessful false is a failure.
    *fake.answer.lock().unwrap() =
        r#"{"header":{"isSuccessful":false,"resultCode":-1000,"resultMessage":"Invalid appKey"}}"#.into();
    let res = app
        .admin(Method::POST, "/settings/messaging/test")
        .json(&json!({"channel": "sms", "to": "01012345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // AlimTalk goes as a raw message with the template code; FriendTalk to its own address.
    let fake_kakao = FakeProvider::start(ok).await;
    let kakao =
        json!({"preset": "nhn_cloud", "account": "BizKey9", "auth_value": "NHN-KAKAO-SECRET", "from": "a1b2c3sender"});
    let out = through(
        &app,
        "kakao",
        kakao,
        &fake_kakao,
        "https://api-alimtalk.cloud.toast.com",
        "alimtalk",
    )
    .await;
    assert_eq!(out["status"], 200, "{out}");
    let got = fake_kakao.last();
    assert_eq!(got.path, "/alimtalk/v2.3/appkeys/BizKey9/raw-messages");
    assert_eq!(got.header("x-secret-key"), Some("NHN-KAKAO-SECRET"));
    let body = got.json();
    assert_eq!(body["senderKey"], "a1b2c3sender");
    assert_eq!(body["recipientList"][0]["recipientNo"], "01012345678");
    assert!(body.as_object().unwrap().contains_key("templateCode"));
    app.admin(Method::POST, "/settings/messaging/test")
        .json(&json!({"channel": "friendtalk", "to": "01012345678"}))
        .send()
        .await
        .unwrap();
    let friendtalk = fake_kakao.last();
    assert_eq!(friendtalk.path, "/friendtalk/v2.4/appkeys/BizKey9/messages");
    assert_eq!(friendtalk.json().get("templateCode"), None);
}

#[tokio::test]
async fn the_console_offers_the_presets_and_keeps_the_secret_across_saves() {
    let app = TestApp::spawn().await;
    let owner = format!(
        "{}; dangol_lang=en",
        console_cookie(&app, "admin", "test-admin-password").await
    );
    let (_, html) = page(&app, &owner, "/settings/messaging").await;
    let select = element(&html, "sms_preset");
    assert!(
        select.contains("value=\"solapi\"")
            && select.contains("value=\"aligo\"")
            && select.contains("value=\"nhn_cloud\""),
        "{select}"
    );
    let kakao = element(&html, "kakao_preset");
    assert!(
        kakao.contains("value=\"solapi\"") && !kakao.contains("value=\"aligo\""),
        "{kakao}"
    );
    assert!(element(&html, "sms_preset_hints").contains("API Secret"));
    let csrf = csrf_of(&html);
    let form = |secret: &str, account: &str| {
        crate::common::body(&[
            ("csrf", csrf.as_str()),
            ("public_url", "http://127.0.0.1:8080"),
            ("sms_on", "on"),
            ("sms_preset", "nhn_cloud"),
            ("sms_account", account),
            ("sms_auth_value", secret),
            ("sms_from", "15446859"),
            ("sms_url", ""),
            ("sms_body", ""),
            ("sms_timeout_ms", "10000"),
            ("sms_retries", "3"),
            ("kakao_timeout_ms", "10000"),
            ("kakao_retries", "3"),
            ("quiet_enabled", "on"),
            ("quiet_start", "21"),
            ("quiet_end", "8"),
            ("rate_email", "1000"),
            ("rate_sms", "50"),
            ("rate_kakao", "50"),
            ("workers", "4"),
        ])
    };
    let res = post_form(&app, &owner, "/settings/messaging", form("NHN-SECRET", "AppKey123")).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let saved = app.get("/settings/messaging").await;
    assert_eq!(saved["sms"]["preset"], "nhn_cloud");
    assert_eq!(saved["sms"]["auth_header"], "X-Secret-Key");
    assert!(
        saved["sms"]["url"]
            .as_str()
            .unwrap()
            .contains("/appKeys/{{ account }}/"),
        "{saved}"
    );
    assert_eq!(saved["sms"]["auth_value_set"], true);
    // Saved again with the secret left empty: kept. Another account: dropped, not sent elsewhere.
    post_form(&app, &owner, "/settings/messaging", form("", "AppKey123")).await;
    assert_eq!(app.get("/settings/messaging").await["sms"]["auth_value_set"], true);
    post_form(&app, &owner, "/settings/messaging", form("", "OtherKey")).await;
    assert_eq!(app.get("/settings/messaging").await["sms"]["auth_value_set"], false);
    // A preset without its account names the field.
    let res = post_form(&app, &owner, "/settings/messaging", form("s", "")).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(element(&html, "form-error").contains("sms.account"), "{html}");
    let (_, html) = page(&app, &owner, "/settings/messaging").await;
    assert!(element(&html, "sms_preset").contains("value=\"nhn_cloud\" selected"));
}
