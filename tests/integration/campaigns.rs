//! Campaigns end to end: a real SMTP server (aiosmtpd from the test venv) receives the mails, a
//! real local HTTP server stands in for the SMS/Kakao provider, and the server's clock is driven
//! across days (`DANGOL_NOW`, then `POST /api/v1/clock`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::DateTime;
use dangol::config::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, python};

/// aiosmtpd on a free port, writing what it accepts to a JSON-lines file.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mail.jsonl");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(&file)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the SMTP sink said {line:?}"))
            .parse()
            .unwrap();
        SmtpSink {
            child,
            port,
            file,
            _dir: dir,
        }
    }

    /// Every message received so far (a line the sink is still writing is left for later).
    pub fn messages(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        complete.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn to(&self, address: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["rcpt_tos"].as_array().unwrap().iter().any(|r| r == address))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the provider received: each request's JSON body and headers.
pub type Received = Arc<Mutex<Vec<(Value, Vec<(String, String)>)>>>;

/// A local HTTP server standing in for an SMS/Kakao provider: records each request's JSON body
/// and headers; answers 500 to the first `fail_first` requests.
pub struct Provider {
    pub url: String,
    pub received: Received,
    pub fail_first: Arc<Mutex<u32>>,
}

impl Provider {
    pub async fn start() -> Provider {
        use axum::routing::post;
        let received: Received = Arc::default();
        let fail_first = Arc::new(Mutex::new(0u32));
        let (r, f) = (received.clone(), fail_first.clone());
        let app = axum::Router::new().route(
            "/send",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let (r, f) = (r.clone(), f.clone());
                async move {
                    let mut fail = f.lock().unwrap();
                    if *fail > 0 {
                        *fail -= 1;
                        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "busy".to_string());
                    }
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    r.lock()
                        .unwrap()
                        .push((serde_json::from_str(&body).expect("JSON body"), headers));
                    (axum::http::StatusCode::OK, r#"{"result":"queued"}"#.to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Provider {
            url,
            received,
            fail_first,
        }
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.received.lock().unwrap().iter().map(|(b, _)| b.clone()).collect()
    }
}

pub fn at(s: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// A server whose clock starts at `now`.
pub async fn spawn_at(now: &str) -> TestApp {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(tmp.path());
    config.now = Some(at(now));
    let mut app = TestApp::spawn_with(config).await;
    app.keep(tmp);
    app
}

pub async fn set_clock(app: &TestApp, now: &str) {
    let res = app
        .admin(Method::POST, "/clock")
        .json(&json!({ "now": now }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

pub async fn call(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let res = app.admin(method.clone(), path).json(&body).send().await.unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

/// The messaging settings with the sink as SMTP server (plain: a local relay) and `provider` for
/// texts and Kakao.
pub async fn configure(app: &TestApp, smtp: Option<&SmtpSink>, provider: Option<&Provider>, extra: Value) {
    let mut s = json!({
        "sender_name": "단골상점",
        "sender_contact": "02-123-4567",
        "unsubscribe_phone": "080-123-4567",
        "public_url": app.base,
        "shop_url": "https://shop.example",
        "cap": null,
    });
    if let Some(m) = smtp {
        s["smtp"] = json!({"host": "127.0.0.1", "port": m.port, "security": "plain", "from_email": "shop@example.com"});
    }
    if let Some(p) = provider {
        let provider = json!({"url": p.url, "auth_header": "Authorization", "auth_value": "Bearer provider-key", "from": "0215880000", "timeout_ms": 2000, "retries": 2});
        s["sms"] = provider.clone();
        s["kakao"] = provider;
    }
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    call(app, Method::PUT, "/settings/messaging", s).await;
    pause_notices(app).await;
}

/// Pauses the law's notice campaigns (their own test checks them), so that a test sees only the
/// messages of the campaigns it makes.
pub async fn pause_notices(app: &TestApp) {
    for c in app.get("/campaigns").await["items"].as_array().unwrap() {
        if c["template"] == "consent_result" || c["template"] == "consent_reconfirm" {
            call(app, Method::POST, &format!("/campaigns/{}/pause", c["id"]), json!({})).await;
        }
    }
}

/// Identifies people: (user id, traits), with the timestamp given.
pub async fn people(app: &TestApp, when: &str, list: &[(&str, Value)]) {
    let batch: Vec<Value> = list
        .iter()
        .map(|(u, t)| json!({"type": "identify", "userId": u, "traits": t, "timestamp": when}))
        .collect();
    let res = app.send("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(res.status(), 200);
}

pub async fn track(app: &TestApp, user: &str, event: &str, props: Value, when: &str) {
    let res = app
        .send(
            "/v1/track",
            json!({"userId": user, "event": event, "properties": props, "timestamp": when}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

pub async fn id_of(app: &TestApp, user: &str) -> u64 {
    app.customer("user_id", user).await["id"].as_u64().unwrap()
}

pub async fn report(app: &TestApp, id: u64) -> Value {
    app.get(&format!("/campaigns/{id}/report")).await
}

/// Waits until `done(report)` holds.
pub async fn wait_report(app: &TestApp, id: u64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let r = report(app, id).await;
        if done(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("campaign {id}: {what} never happened: {}", report(app, id).await);
}

/// The outbox row of a sent message to `customer`.
pub async fn sent_row(app: &TestApp, campaign: u64, customer: u64) -> Value {
    let sends = app.get(&format!("/campaigns/{campaign}/sends?state=sent")).await;
    sends["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["customer_id"] == customer)
        .unwrap_or_else(|| panic!("no sent row of {customer} in {sends}"))
        .clone()
}

pub async fn create_campaign(app: &TestApp, body: Value) -> u64 {
    call(app, Method::POST, "/campaigns", body).await["id"]
        .as_u64()
        .unwrap()
}

pub async fn launch(app: &TestApp, id: u64) -> Value {
    call(app, Method::POST, &format!("/campaigns/{id}/launch"), json!({})).await
}

async fn catalogue(app: &TestApp) {
    let products: Vec<Value> = (1..=6)
        .map(|i| json!({"id": format!("p{i}"), "name": format!("향초 {i}호"), "price": 10000 * i, "category": "리빙/향초",
                         "url": format!("https://shop.example/p/{i}"), "image_url": format!("https://shop.example/p{i}.jpg")}))
        .collect();
    let res = app
        .admin(Method::POST, "/products")
        .json(&products)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_campaign_reaches_those_who_consented_once_labelled_and_one_click_unsubscribes() {
    let app = spawn_at("2026-11-23T10:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({})).await;
    catalogue(&app).await;
    let t = "2026-11-23T09:00:00+09:00";
    people(
        &app,
        t,
        &[
            (
                "kim",
                json!({"name": "김민지", "email": "kim@example.com", "email_consent": true}),
            ),
            (
                "lee",
                json!({"name": "이서준", "email": "lee@example.com", "email_consent": false}),
            ),
            ("park", json!({"email": "park@example.com"})),
            ("noname", json!({"email": "noname@example.com", "email_consent": true})),
        ],
    )
    .await;
    let coupon = call(
        &app,
        Method::POST,
        "/coupons",
        json!({"name": "겨울 쿠폰", "discount": {"type": "fixed", "amount": 3000}}),
    )
    .await["id"]
        .as_u64()
        .unwrap();
    let id = create_campaign(
        &app,
        json!({
            "name": "겨울 세일",
            "channel": "email",
            "when": {"kind": "once"},
            "content": {
                "subject": "{{ customer.name }}님, 겨울 세일",
                "text": "{{ customer.name }}님 안녕하세요.\n쿠폰 {{ coupon.code }} ({{ coupon.discount }})\n{{ product_lines(recommendations) }}",
                "html": "<p>{{ customer.name }}님</p>{{ product_cards(recommendations) }}"
            },
            "coupon_id": coupon,
            "recommend": {"strategy": "bestsellers", "limit": 3},
            "fallbacks": {"customer.name": "단골 고객"}
        }),
    )
    .await;
    // The estimate before launch: four in the audience, two of them with consent.
    let e = app.get(&format!("/campaigns/{id}/estimate")).await;
    assert_eq!((e["audience"].as_u64(), e["reachable"].as_u64()), (Some(4), Some(2)));
    launch(&app, id).await;
    let r = wait_report(&app, id, "two sent, two skipped", |r| {
        r["totals"]["sent"] == 2 && r["totals"]["skipped"]["no_consent"] == 2
    })
    .await;
    assert_eq!(r["totals"]["targeted"], 4);

    let kim = smtp.to("kim@example.com");
    assert_eq!(kim.len(), 1, "{kim:?}");
    let m = &kim[0];
    assert_eq!(m["subject"], "(광고) 김민지님, 겨울 세일");
    assert!(m["from"].as_str().unwrap().contains("shop@example.com"));
    let text = m["text"].as_str().unwrap();
    assert!(text.starts_with("김민지님 안녕하세요.\n쿠폰 "), "{text}");
    assert!(text.contains("(3,000원 할인)"));
    assert!(text.contains("- 향초 "), "{text}");
    assert!(text.contains("단골상점 02-123-4567"), "{text}");
    let html = m["html"].as_str().unwrap();
    assert!(html.contains("<p>김민지님</p>"));
    assert!(html.contains("<img src=\"https://shop.example/p"), "{html}");
    assert!(html.contains("/v1/m/o/"), "the open pixel: {html}");
    // The code in the mail is the one issued to her.
    let kim_id = id_of(&app, "kim").await;
    let row = sent_row(&app, id, kim_id).await;
    let code = row["coupon_code"].as_str().unwrap();
    assert!(text.contains(code), "{code} in {text}");
    // Someone without a name gets the campaign's fallback.
    assert_eq!(
        smtp.to("noname@example.com")[0]["subject"],
        "(광고) 단골 고객님, 겨울 세일"
    );
    assert!(smtp.to("lee@example.com").is_empty() && smtp.to("park@example.com").is_empty());

    // One-click unsubscribe (RFC 8058): POST to the List-Unsubscribe URL, no sign-in.
    assert_eq!(m["list_unsubscribe_post"], "List-Unsubscribe=One-Click");
    let url = m["list_unsubscribe"]
        .as_str()
        .unwrap()
        .trim_matches(|c| c == '<' || c == '>')
        .to_string();
    assert!(url.starts_with(&format!("{}/v1/m/u/", app.base)));
    // A GET shows a page and changes nothing (mail scanners follow links).
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(app.customer("user_id", "kim").await["email_consent"]["granted"], true);
    let res = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let kim_now = app.customer("user_id", "kim").await;
    assert_eq!(kim_now["email_consent"]["granted"], false);
    assert_eq!(kim_now["email_consent"]["source"], "link");
    // The console's recipients: who unsubscribed, and who was not sent it and why.
    {
        use crate::common::{console_cookie, element, page};
        let owner = console_cookie(&app, "admin", "test-admin-password").await;
        let (_, html) = page(&app, &owner, &format!("/campaigns/{id}?did=unsubscribed")).await;
        let list = element(&html, "recipient-list");
        assert_eq!(list.matches("class=\"recipient\"").count(), 1, "{list}");
        assert!(list.contains(">김민지</a>") && list.contains("Unsubscribed"), "{list}");
        let (_, html) = page(&app, &owner, &format!("/campaigns/{id}?did=not_sent")).await;
        let list = element(&html, "recipient-list");
        assert_eq!(list.matches("not sent: no consent").count(), 2, "{list}");
        assert!(
            list.contains(">이서준</a>") && list.contains(">park@example.com</a>"),
            "{list}"
        );
    }
    let log = app.get(&format!("/customers/{kim_id}/consents")).await;
    let last = log["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["channel"].as_str(), last["granted"].as_bool()),
        (Some("email"), Some(false))
    );
    assert_eq!(last["campaign"], id);
    assert_eq!(report(&app, id).await["totals"]["unsubscribed"], 1);
    // A tampered link is refused.
    let bad = reqwest::Client::new().post(format!("{url}x")).send().await.unwrap();
    assert_eq!(bad.status(), 404);

    // The next campaign skips her at once.
    let second = create_campaign(
        &app,
        json!({"name": "두 번째", "channel": "email", "when": {"kind": "once"},
               "content": {"subject": "두 번째", "text": "안녕하세요"}}),
    )
    .await;
    launch(&app, second).await;
    wait_report(&app, second, "one sent", |r| r["totals"]["sent"] == 1).await;
    assert_eq!(smtp.to("kim@example.com").len(), 1);
    assert_eq!(smtp.to("noname@example.com").len(), 2);

    // An erasure takes the address off what was sent to the person.
    let noname = id_of(&app, "noname").await;
    let res = app
        .admin(Method::DELETE, &format!("/customers/{noname}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(sent_row(&app, id, noname).await["address"], Value::Null);
    assert!(
        app.get(&format!("/campaigns/{id}/sends?state=sent"))
            .await
            .to_string()
            .contains("kim@example.com")
    );

    // A restart sends nothing again.
    let dir = app.dir.clone();
    let mut app = app;
    let tmp = app.stop().await;
    let mut config = Config::for_tests(&dir);
    config.now = Some(at("2026-11-23T11:00:00+09:00"));
    let app2 = TestApp::spawn_with(config).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.messages().len(), 3);
    assert_eq!(report(&app2, id).await["totals"]["sent"], 2);
    drop(tmp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_input_errors_name_the_field_and_launch_needs_the_law_s_settings() {
    let app = spawn_at("2026-11-23T10:00:00+09:00").await;
    let bad = |body: Value, field: &'static str| {
        let app = &app;
        async move {
            let res = app.admin(Method::POST, "/campaigns").json(&body).send().await.unwrap();
            assert_eq!(res.status(), 400);
            let v: Value = res.json().await.unwrap();
            assert_eq!(v["error"]["field"], field, "{v}");
        }
    };
    let ok =
        json!({"name": "n", "channel": "email", "when": {"kind": "once"}, "content": {"subject": "s", "text": "t"}});
    let mut b = ok.clone();
    b["content"]["subject"] = Value::Null;
    bad(b, "content.subject").await;
    let mut b = ok.clone();
    b["content"]["text"] = json!("Hi {{ customer.name ");
    bad(b, "content.text").await;
    let mut b = ok.clone();
    b["when"] = json!({"kind": "daily", "time": "25:00"});
    bad(b, "when.time").await;
    let mut b = ok.clone();
    b["when"] = json!({"kind": "trigger", "event": "Product Added", "delay": {"amount": 1, "unit": "hours"}, "where": [{"property": "total", "op": "~", "value": 1}]});
    bad(b, "when.where[0].op").await;
    let mut b = ok.clone();
    b["audience"] = json!({"rule": {"all": [{"attr": "nope", "op": "=", "value": 1}]}});
    bad(b, "audience.rule.all[0].attr").await;
    let mut b = ok.clone();
    b["channel"] = json!("alimtalk");
    bad(b, "purpose").await;
    let mut b = ok.clone();
    b["coupon_id"] = json!(99);
    bad(b, "coupon_id").await;

    // Launching needs the channel set up, then the sender's name and contact.
    let id = create_campaign(&app, ok.clone()).await;
    let launch = |id: u64| app.admin(Method::POST, &format!("/campaigns/{id}/launch")).send();
    let v: Value = launch(id).await.unwrap().json().await.unwrap();
    assert_eq!(v["error"]["field"], "channel", "{v}");
    call(
        &app,
        Method::PUT,
        "/settings/messaging",
        json!({"public_url": app.base, "smtp": {"host": "127.0.0.1", "port": 9, "security": "plain", "from_email": "a@example.com", "password": "secret"}}),
    )
    .await;
    let v: Value = launch(id).await.unwrap().json().await.unwrap();
    assert_eq!(v["error"]["field"], "settings.sender_name", "{v}");
    // The password is never shown back.
    let s = app.get("/settings/messaging").await;
    assert_eq!(s["smtp"]["password"], Value::Null);
    assert_eq!(s["smtp"]["password_set"], true);
    // Without a bearer key: 401.
    let res = app.client.get(app.url("/api/v1/campaigns")).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_texts_wait_out_quiet_hours_respect_the_cap_and_retry_the_provider() {
    // 22:00 in Seoul: inside quiet hours.
    let app = spawn_at("2026-11-23T22:00:00+09:00").await;
    let provider = Provider::start().await;
    configure(&app, None, Some(&provider), json!({"cap": {"messages": 2, "days": 7}})).await;
    let t = "2026-11-23T21:00:00+09:00";
    people(
        &app,
        t,
        &[
            (
                "day",
                json!({"name": "낮손님", "phone": "010-1111-2222", "sms_consent": true}),
            ),
            (
                "owl",
                json!({"name": "올빼미", "phone": "010-3333-4444", "sms_consent": true, "night_consent": true}),
            ),
            ("none", json!({"name": "미동의", "phone": "010-5555-6666"})),
        ],
    )
    .await;
    *provider.fail_first.lock().unwrap() = 1;
    let sms = |name: &str| {
        json!({"name": name, "channel": "sms", "when": {"kind": "once"},
               "content": {"text": "{{ customer.name }}님, 주말 특가"}})
    };
    let first = create_campaign(&app, sms("첫 번째")).await;
    launch(&app, first).await;
    // The night owl consented to night ads: sent now, after one 500 from the provider.
    let r = wait_report(&app, first, "one sent, one held", |r| {
        r["totals"]["sent"] == 1 && r["totals"]["held"] == 1
    })
    .await;
    assert_eq!(r["totals"]["skipped"]["no_consent"], 1);
    let bodies = provider.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["to"], "01033334444");
    assert_eq!(bodies[0]["type"], "sms");
    assert_eq!(bodies[0]["from"], "0215880000");
    assert_eq!(
        bodies[0]["text"],
        "(광고)단골상점 올빼미님, 주말 특가\n무료거부 080-123-4567"
    );
    let headers = provider.received.lock().unwrap()[0].1.clone();
    assert!(headers.contains(&("authorization".into(), "Bearer provider-key".into())));
    assert!(headers.iter().any(|(k, _)| k == "idempotency-key"));
    // The provider reports delivery to the URL it was given; a forged one is refused.
    let callback = bodies[0]["callback_url"].as_str().unwrap().to_string();
    assert!(callback.starts_with(&format!("{}/v1/m/r/", app.base)));
    let res = reqwest::Client::new()
        .post(&callback)
        .json(&json!({"status": "delivered"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = reqwest::Client::new()
        .post(format!("{callback}x"))
        .json(&json!({"status": "delivered"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(report(&app, first).await["totals"]["delivered"], 1);
    let held = app.get(&format!("/campaigns/{first}/sends?state=held")).await;
    assert_eq!(held["items"][0]["due"], "2026-11-23T23:00:00.000Z", "08:00 in Seoul");

    // 07:59: still held. 08:00: sent.
    set_clock(&app, "2026-11-24T07:59:00+09:00").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(provider.bodies().len(), 1);
    set_clock(&app, "2026-11-24T08:00:01+09:00").await;
    wait_report(&app, first, "the held one sent", |r| r["totals"]["sent"] == 2).await;
    assert_eq!(provider.bodies()[1]["to"], "01011112222");

    // The cap (2 per 7 days): a second campaign reaches both, a third nobody.
    let second = create_campaign(&app, sms("두 번째")).await;
    launch(&app, second).await;
    wait_report(&app, second, "two sent", |r| r["totals"]["sent"] == 2).await;
    let third = create_campaign(&app, sms("세 번째")).await;
    launch(&app, third).await;
    let r = wait_report(&app, third, "two capped", |r| r["totals"]["skipped"]["capped"] == 2).await;
    assert_eq!(r["totals"]["sent"], 0);
    // An informational message is not an ad: no cap, no label.
    let info = create_campaign(
        &app,
        json!({"name": "배송 안내", "channel": "sms", "purpose": "informational", "when": {"kind": "once"},
               "content": {"text": "{{ customer.name }}님, 주문하신 상품이 출발했어요"}}),
    )
    .await;
    launch(&app, info).await;
    wait_report(&app, info, "three sent", |r| r["totals"]["sent"] == 3).await;
    assert!(
        provider
            .bodies()
            .iter()
            .any(|b| b["text"] == "미동의님, 주문하신 상품이 출발했어요")
    );
    // A week later the cap has room again.
    set_clock(&app, "2026-12-01T10:00:00+09:00").await;
    let fourth = create_campaign(&app, sms("네 번째")).await;
    launch(&app, fourth).await;
    wait_report(&app, fourth, "two sent", |r| r["totals"]["sent"] == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_abandonment_waits_its_delay_is_cancelled_by_an_order_and_attributes_orders_in_its_window() {
    let app = spawn_at("2026-11-23T10:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({})).await;
    catalogue(&app).await;
    let t0 = "2026-11-23T09:00:00+09:00";
    let who = ["buyer", "leaver", "late", "other"];
    let list: Vec<(&str, Value)> = who
        .iter()
        .map(|u| {
            (
                *u,
                json!({"name": u, "email": format!("{u}@example.com"), "email_consent": true}),
            )
        })
        .collect();
    people(&app, t0, &list).await;
    let template = app.get("/campaigns/templates").await;
    let cart = template
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "cart_abandonment")
        .unwrap()["input"]
        .clone();
    assert_eq!(cart["when"]["cancel_on"], json!(["Order Completed"]));
    let id = create_campaign(&app, cart).await;
    launch(&app, id).await;
    // Events before the launch do not trigger it; these do (10:00–10:05).
    let added = |p: &str| json!({"product_id": p, "name": "향초", "price": 10000, "quantity": 1});
    track(&app, "buyer", "Product Added", added("p1"), "2026-11-23T10:00:00+09:00").await;
    track(
        &app,
        "leaver",
        "Product Added",
        added("p2"),
        "2026-11-23T10:01:00+09:00",
    )
    .await;
    track(&app, "late", "Product Added", added("p3"), "2026-11-23T10:02:00+09:00").await;
    // A second cart of the same person does not start a second wait.
    track(
        &app,
        "leaver",
        "Product Added",
        added("p4"),
        "2026-11-23T10:05:00+09:00",
    )
    .await;
    // A cart from three days ago, stored now (an import of history), starts nothing.
    track(&app, "other", "Product Added", added("p6"), "2026-11-20T10:00:00+09:00").await;
    // The buyer orders within the hour: cancelled.
    let order = |id: &str, total: f64| json!({"order_id": id, "total": total, "products": [{"product_id": "p1", "price": total, "quantity": 1}]});
    track(
        &app,
        "buyer",
        "Order Completed",
        order("o-buyer", 10000.0),
        "2026-11-23T10:30:00+09:00",
    )
    .await;
    // Let the scheduler read the events, then move past the hour.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    set_clock(&app, "2026-11-23T10:59:00+09:00").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(smtp.messages().is_empty(), "nothing before the delay is over");
    set_clock(&app, "2026-11-23T11:03:00+09:00").await;
    let r = wait_report(&app, id, "two sent, one cancelled", |r| {
        r["totals"]["sent"] == 2 && r["totals"]["skipped"]["cancelled"] == 1
    })
    .await;
    assert_eq!(r["totals"]["targeted"], 2);
    assert!(smtp.to("buyer@example.com").is_empty());
    let m = smtp.to("leaver@example.com");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["subject"], "(광고) leaver님, 장바구니에 상품이 남아 있어요");
    let text = m[0]["text"].as_str().unwrap();
    // The cart block lists both carted products, newest first.
    let (p4, p2) = (text.find("향초 4호").unwrap(), text.find("향초 2호").unwrap());
    assert!(p4 < p2, "{text}");
    assert_eq!(smtp.to("other@example.com").len(), 0);
    let sent_at = |u: &str| {
        let u = u.to_string();
        let app = &app;
        async move {
            let row = sent_row(app, id, id_of(app, &u).await).await;
            DateTime::parse_from_rfc3339(row["sent_at"].as_str().unwrap()).unwrap()
        }
    };
    // Attribution (email: 5 days): leaver orders 5 days less a minute after the mail: counted;
    // late orders 5 days and a minute after: not.
    let leaver_sent = sent_at("leaver").await;
    let late_sent = sent_at("late").await;
    let fmt = |t: DateTime<chrono::FixedOffset>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let inside = leaver_sent + chrono::Duration::days(5) - chrono::Duration::minutes(1);
    let outside = late_sent + chrono::Duration::days(5) + chrono::Duration::minutes(1);
    track(
        &app,
        "leaver",
        "Order Completed",
        order("o-leaver", 42000.0),
        &fmt(inside),
    )
    .await;
    track(&app, "late", "Order Completed", order("o-late", 30000.0), &fmt(outside)).await;
    let r = report(&app, id).await;
    assert_eq!(r["conversions"], 1, "{r}");
    assert_eq!(r["revenue"], 42000.0);
    assert_eq!(r["converted"], 1);
    assert_eq!(r["conversion_rate"], 0.5);
    assert_eq!(r["window_hours"], 120);
    // The console lists the recipients and what each did, picked by what they did, and the
    // file has every message.
    use crate::common::{console_cookie, element, page};
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let path = format!("/campaigns/{id}");
    let (_, html) = page(&app, &owner, &path).await;
    let list = element(&html, "recipient-list");
    // (The buyer's wait was cancelled before a message was made: no row.)
    assert_eq!(list.matches("class=\"recipient\"").count(), 2, "{list}");
    for u in ["leaver", "late"] {
        assert!(list.contains(&format!(">{u}</a>")), "{u} in {list}");
    }
    let (_, html) = page(&app, &owner, &format!("{path}?did=converted")).await;
    let list = element(&html, "recipient-list");
    assert_eq!(list.matches("class=\"recipient\"").count(), 1, "{list}");
    assert!(list.contains(">leaver</a>") && list.contains("₩42,000"), "{list}");
    for did in ["clicked", "not_sent"] {
        let (_, html) = page(&app, &owner, &format!("{path}?did={did}")).await;
        assert!(
            element(&html, "recipients-none").contains("No messages here yet."),
            "{did}"
        );
    }
    let csv = crate::common::console_get(&app, &owner, &format!("{path}/recipients.csv"))
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("customer_id,name,email,channel,address,state,skip"),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",leaver,leaver@example.com,email,") && l.ends_with(",1,42000")),
        "{csv}"
    );
    let days = r["days"].as_array().unwrap();
    assert!(
        days.iter().any(|d| d["conversions"] == 1 && d["day"] == "2026-11-28"),
        "{r}"
    );
    // A later cart of someone who got it already: never twice.
    track(
        &app,
        "leaver",
        "Product Added",
        added("p5"),
        "2026-11-23T12:00:00+09:00",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    set_clock(&app, "2026-11-23T14:00:00+09:00").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.to("leaver@example.com").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_campaign_sends_each_day_in_its_period_once_a_day_or_never_twice() {
    let app = spawn_at("2026-11-23T09:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({})).await;
    people(
        &app,
        "2026-11-23T08:00:00+09:00",
        &[("a", json!({"email": "a@example.com", "email_consent": true}))],
    )
    .await;
    let daily = |name: &str, repeat: &str| {
        json!({"name": name, "channel": "email", "repeat": repeat,
               "when": {"kind": "daily", "time": "10:00", "start": "2026-11-23", "end": "2026-11-25"},
               "content": {"subject": name, "text": "오늘의 추천"}})
    };
    let every_day = create_campaign(&app, daily("매일", "daily")).await;
    let once = create_campaign(&app, daily("한 번만", "never")).await;
    let v = launch(&app, every_day).await;
    assert_eq!(v["next_due"], "2026-11-23T01:00:00.000Z");
    launch(&app, once).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(smtp.messages().is_empty(), "not before 10:00");
    let subjects = |smtp: &SmtpSink| -> Vec<String> {
        smtp.messages()
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_string())
            .collect()
    };
    for (day, n) in [("23", 2), ("24", 3), ("25", 4)] {
        set_clock(&app, &format!("2026-11-{day}T10:00:01+09:00")).await;
        wait_report(&app, every_day, "sent that day", |r| {
            r["totals"]["sent"].as_u64() == Some(n - 1)
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(smtp.messages().len() as u64, n, "{:?}", subjects(&smtp));
    }
    // Past its end: done, nothing more.
    set_clock(&app, "2026-11-26T10:00:01+09:00").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(smtp.messages().len(), 4);
    let c = app.get(&format!("/campaigns/{every_day}")).await;
    assert_eq!(c["status"], "done");
    assert_eq!(c["occurrences"].as_array().unwrap().len(), 3);
    assert_eq!(report(&app, once).await["totals"]["sent"], 1);
    assert_eq!(report(&app, once).await["totals"]["targeted"], 1);
}

fn start_process(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dangol"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("DANGOL_MASTER_KEY", crate::common::MASTER_KEY)
        .env("DANGOL_WRITE_KEY", crate::common::WRITE_KEY)
        .env("DANGOL_ADMIN_PASSWORD", "pw")
        .env("DANGOL_NOW", "2026-11-23T10:00:00+09:00")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

async fn healthy(base: &str) {
    for _ in 0..500 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{base} did not come up");
}

/// How many messages each recipient got, by address.
fn per_recipient(smtp: &SmtpSink) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for m in smtp.messages() {
        out.entry(m["rcpt_tos"][0].as_str().unwrap().to_string())
            .or_default()
            .push(m["message_id"].as_str().unwrap().to_string());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_run_survives_sigterm_and_sigkill_skipping_no_one_and_repeating_only_messages_in_hand() {
    const PEOPLE: usize = 300;
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start_process(tmp.path(), port);
    healthy(&base).await;
    let client = reqwest::Client::new();
    let admin = |m: Method, p: &str| {
        client
            .request(m, format!("{base}/api/v1{p}"))
            .bearer_auth(crate::common::MASTER_KEY)
    };
    let smtp = SmtpSink::start();
    let settings = json!({
        "sender_name": "단골상점", "sender_contact": "02-123-4567", "public_url": base, "cap": null,
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "plain", "from_email": "shop@example.com"},
        "rates": {"email": 40}, "workers": 4
    });
    assert_eq!(
        admin(Method::PUT, "/settings/messaging")
            .json(&settings)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let all: Value = admin(Method::GET, "/campaigns")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for c in all["items"].as_array().unwrap() {
        if c["template"].as_str().is_some_and(|t| t.starts_with("consent_")) {
            let res = admin(Method::POST, &format!("/campaigns/{}/pause", c["id"]))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    }
    let batch: Vec<Value> = (0..PEOPLE)
        .map(|i| {
            json!({"type": "identify", "userId": format!("u{i}"), "timestamp": "2026-11-23T09:00:00+09:00",
                         "traits": {"email": format!("u{i}@example.com"), "email_consent": true}})
        })
        .collect();
    let res = client
        .post(format!("{base}/v1/batch"))
        .basic_auth(crate::common::WRITE_KEY, Some(""))
        .json(&json!({ "batch": batch }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let campaign: Value = admin(Method::POST, "/campaigns")
        .json(
            &json!({"name": "대량 발송", "channel": "email", "when": {"kind": "once"},
                      "content": {"subject": "안녕하세요", "text": "{{ customer.email }}"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = campaign["id"].as_u64().unwrap();
    assert_eq!(
        admin(Method::POST, &format!("/campaigns/{id}/launch"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let wait_for = |n: usize| {
        let smtp = &smtp;
        async move {
            for _ in 0..600 {
                if smtp.messages().len() >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("the sink never reached {n} messages");
        }
    };
    // SIGTERM in the middle: the messages in hand finish, nothing is repeated after the restart.
    wait_for(60).await;
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success(), "a clean stop");
    let after_term = smtp.messages().len();
    assert!(after_term < PEOPLE, "the run was stopped in the middle ({after_term})");
    child = start_process(tmp.path(), port);
    healthy(&base).await;
    // SIGKILL in the middle: at most the messages in hand at that moment go out again.
    wait_for(after_term + 60).await;
    let before_kill = per_recipient(&smtp);
    assert!(
        before_kill.values().all(|ids| ids.len() == 1),
        "a clean restart repeats nothing"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = smtp.messages().len();
    assert!(
        after_kill < PEOPLE + 4,
        "the run was killed in the middle ({after_kill})"
    );
    child = start_process(tmp.path(), port);
    healthy(&base).await;
    for _ in 0..800 {
        if per_recipient(&smtp).len() >= PEOPLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Let anything still due show itself.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = per_recipient(&smtp);
    assert_eq!(got.len(), PEOPLE, "no one due was skipped");
    let twice: Vec<(&String, &Vec<String>)> = got.iter().filter(|(_, ids)| ids.len() > 1).collect();
    // Those sent twice were in hand when the process died: at most the four workers' messages,
    // each repeated with its Message-ID, so a receiver can tell it is the same message.
    assert!(twice.len() <= 4, "{twice:?}");
    for (_, ids) in &twice {
        assert!(ids.iter().all(|i| i == &ids[0]), "{ids:?}");
        assert_eq!(ids.len(), 2);
    }
    let sends: Value = admin(Method::GET, &format!("/campaigns/{id}/sends?limit=10000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = sends["items"].as_array().unwrap();
    assert_eq!(rows.len(), PEOPLE);
    assert!(rows.iter().all(|r| r["state"] == "sent"), "every row is sent");
    let resent: Vec<&str> = rows
        .iter()
        .filter(|r| r["resent"] == true)
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    for (address, _) in &twice {
        assert!(
            resent.contains(&address.as_str()),
            "{address} was sent twice without being marked"
        );
    }
    let report: Value = admin(Method::GET, &format!("/campaigns/{id}/report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["totals"]["sent"], PEOPLE as u64);
    assert_eq!(report["totals"]["targeted"], PEOPLE as u64);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_law_s_notices_report_each_consent_change_and_reconfirm_after_two_years() {
    let app = spawn_at("2026-11-23T10:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({})).await;
    let notices = app.get("/campaigns").await;
    let id_of_notice = |key: &str| {
        notices["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["template"] == key)
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    };
    let (result, reconfirm) = (id_of_notice("consent_result"), id_of_notice("consent_reconfirm"));
    // The notices are on for a shop; configure() paused them: on again.
    launch(&app, result).await;
    launch(&app, reconfirm).await;
    people(
        &app,
        "2026-11-23T10:00:00+09:00",
        &[(
            "jin",
            json!({"name": "박진", "email": "jin@example.com", "email_consent": true, "sms_consent": true}),
        )],
    )
    .await;
    wait_report(&app, result, "the first notice", |r| r["totals"]["sent"] == 1).await;
    let m = &smtp.to("jin@example.com")[0];
    assert_eq!(m["subject"], "[단골상점] 광고성 정보 수신 설정 처리 결과 안내");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("- 이메일: 수신 동의 (2026-11-23, 처리 완료)"), "{text}");
    assert!(text.contains("- 문자(SMS): 수신 동의 (2026-11-23"), "{text}");
    assert!(!text.contains("(광고)"), "informational: {text}");
    // A withdrawal through the API: a second notice, of the refusal.
    let jin = id_of(&app, "jin").await;
    call(
        &app,
        Method::POST,
        &format!("/customers/{jin}/consents"),
        json!({"channel": "sms", "granted": false, "source": "form"}),
    )
    .await;
    wait_report(&app, result, "the second notice", |r| r["totals"]["sent"] == 2).await;
    let text = smtp.to("jin@example.com")[1]["text"].as_str().unwrap().to_string();
    assert!(text.contains("- 문자(SMS): 수신 거부"), "{text}");
    assert!(!text.contains("이메일"), "only what changed: {text}");
    // An import changes consent without a notice (the shop's old system answered for it).
    let res = app
        .admin(Method::POST, "/imports/customers")
        .body("user_id,email,email_consent\nimp,imp@example.com,true\n")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(smtp.to("imp@example.com").is_empty());

    // Two years on, at 10:00: the reconfirmation, to whoever still consents.
    set_clock(&app, "2028-11-23T10:00:05+09:00").await;
    wait_report(&app, reconfirm, "the reconfirmation", |r| r["totals"]["sent"] == 2).await;
    let m = smtp.to("jin@example.com").last().unwrap().clone();
    assert_eq!(m["subject"], "[단골상점] 광고성 정보 수신동의 여부 확인 안내");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("- 이메일: 2026-11-23 동의"), "{text}");
    assert!(!text.contains("문자"), "SMS was refused: {text}");
    // Its link refuses every ad channel at once.
    let url = text
        .split_whitespace()
        .find(|w| w.contains("/v1/m/u/"))
        .unwrap()
        .to_string();
    let res = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let after = app.customer("user_id", "jin").await;
    assert_eq!(after["email_consent"]["granted"], false);
    // The next day: nobody is due again.
    set_clock(&app, "2028-11-24T10:00:05+09:00").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(report(&app, reconfirm).await["totals"]["sent"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_campaign_keeps_its_queue_and_lets_others_pass() {
    let app = spawn_at("2026-11-23T10:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({"rates": {"email": 2}, "workers": 1})).await;
    let list: Vec<(String, Value)> = (0..8)
        .map(|i| {
            (
                format!("p{i}"),
                json!({"email": format!("p{i}@example.com"), "email_consent": true}),
            )
        })
        .collect();
    let refs: Vec<(&str, Value)> = list.iter().map(|(u, t)| (u.as_str(), t.clone())).collect();
    people(&app, "2026-11-23T09:00:00+09:00", &refs).await;
    people(
        &app,
        "2026-11-23T09:00:00+09:00",
        &[("solo", json!({"email": "solo@example.com", "email_consent": true}))],
    )
    .await;
    let slow = create_campaign(
        &app,
        json!({"name": "느린", "channel": "email", "when": {"kind": "once"},
               "content": {"subject": "느린", "text": "a"}}),
    )
    .await;
    launch(&app, slow).await;
    wait_report(&app, slow, "queued", |r| r["totals"]["targeted"] == 9).await;
    call(&app, Method::POST, &format!("/campaigns/{slow}/pause"), json!({})).await;
    let sent_when_paused = report(&app, slow).await["totals"]["sent"].as_u64().unwrap();
    assert!(sent_when_paused < 9, "paused in the middle ({sent_when_paused})");
    let quick = create_campaign(
        &app,
        json!({"name": "빠른", "channel": "email", "when": {"kind": "once"},
               "content": {"subject": "빠른", "text": "b"}}),
    )
    .await;
    launch(&app, quick).await;
    wait_report(&app, quick, "all nine sent past the paused queue", |r| {
        r["totals"]["sent"] == 9
    })
    .await;
    let after = report(&app, slow).await["totals"]["sent"].as_u64().unwrap();
    assert!(
        after <= sent_when_paused + 1,
        "the paused one waited ({sent_when_paused} → {after})"
    );
    launch(&app, slow).await;
    wait_report(&app, slow, "resumed and done", |r| r["totals"]["sent"] == 9).await;
    let per = per_recipient(&smtp);
    assert_eq!(per.len(), 9);
    assert!(per.values().all(|ids| ids.len() == 2), "each got one of each");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_off_waits_for_its_time_and_after_downtime_late_sends_go_once_or_are_skipped() {
    let app = spawn_at("2026-11-23T09:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({})).await;
    people(
        &app,
        "2026-11-23T08:00:00+09:00",
        &[("a", json!({"email": "a@example.com", "email_consent": true}))],
    )
    .await;
    let at_three = create_campaign(
        &app,
        json!({"name": "세 시", "channel": "email", "when": {"kind": "once", "at": "2026-11-23T15:00:00+09:00"},
               "content": {"subject": "세 시", "text": "a"}}),
    )
    .await;
    let daily = |name: &str, late: &str| {
        json!({"name": name, "channel": "email", "repeat": "daily", "late": late,
               "when": {"kind": "daily", "time": "10:00"}, "content": {"subject": name, "text": "b"}})
    };
    let catch_up = create_campaign(&app, daily("늦어도 보냄", "send")).await;
    let skip = create_campaign(&app, daily("늦으면 건너뜀", "skip")).await;
    for id in [at_three, catch_up, skip] {
        launch(&app, id).await;
    }
    set_clock(&app, "2026-11-23T10:00:01+09:00").await;
    wait_report(&app, skip, "the first day", |r| r["totals"]["sent"] == 1).await;
    wait_report(&app, catch_up, "the first day", |r| r["totals"]["sent"] == 1).await;
    set_clock(&app, "2026-11-23T14:59:00+09:00").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        report(&app, at_three).await["totals"]["targeted"],
        0,
        "not before 15:00"
    );
    set_clock(&app, "2026-11-23T15:00:01+09:00").await;
    wait_report(&app, at_three, "sent at its time", |r| r["totals"]["sent"] == 1).await;

    // Down from before 10:00 on the 24th until the 26th at 18:00: three 10:00s missed.
    let dir = app.dir.clone();
    let mut app = app;
    let tmp = app.stop().await;
    let mut config = Config::for_tests(&dir);
    config.now = Some(at("2026-11-26T18:00:00+09:00"));
    let app = TestApp::spawn_with(config).await;
    wait_report(&app, catch_up, "one catch-up send", |r| r["totals"]["sent"] == 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        report(&app, catch_up).await["totals"]["sent"],
        2,
        "one late send for the three days"
    );
    assert_eq!(report(&app, skip).await["totals"]["sent"], 1, "skipped, not sent late");
    let c = app.get(&format!("/campaigns/{skip}")).await;
    let last = c["occurrences"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["skipped_late"], true);
    assert_eq!(c["next_due"], "2026-11-27T01:00:00.000Z", "on again tomorrow at 10:00");
    assert_eq!(
        app.get(&format!("/campaigns/{catch_up}")).await["next_due"],
        "2026-11-27T01:00:00.000Z"
    );
    drop(tmp);
}
