//! The Segment-compatible tracking API: formats, auth, limits, errors and durability.

use std::io::Write;

use serde_json::{Value, json};

use crate::common::{TestApp, WRITE_KEY};

#[tokio::test]
async fn identify_track_page_batch_show_in_admin_api() {
    let app = TestApp::spawn().await;
    let res = app.send("/v1/identify", json!({"userId": "m1", "traits": {"email": "Mina@Example.com", "name": "박민아", "phone": "010-1234-5678", "created_at": "2026-01-02T03:04:05Z", "address": {"city": "서울", "country": "KR"}, "tags": ["vip"], "sms_consent": true, "favourite": "tea"}})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    for (path, body) in [
        (
            "/v1/page",
            json!({"userId": "m1", "name": "Home", "properties": {"path": "/"}}),
        ),
        ("/v1/screen", json!({"userId": "m1", "name": "Cart"})),
        (
            "/v1/track",
            json!({"userId": "m1", "event": "Product Viewed", "properties": {"product_id": "P9", "name": "다크초콜릿 선물세트", "category": "초콜릿", "price": 25000}}),
        ),
        (
            "/v1/group",
            json!({"userId": "m1", "groupId": "g1", "traits": {"name": "Acme"}}),
        ),
    ] {
        assert_eq!(app.send(path, body).await.status(), 200, "{path}");
    }
    let res = app
        .send("/v1/batch", json!({"batch": [
            {"type": "track", "userId": "m1", "event": "Product Added", "properties": {"product_id": "P9", "price": 25000, "quantity": 2}},
            {"type": "track", "userId": "m1", "event": "Order Completed", "properties": {"order_id": "A-1", "total": 50000, "currency": "KRW", "products": [{"product_id": "P9", "price": 25000, "quantity": 2}]}}
        ]}))
        .await;
    assert_eq!(res.status(), 200);

    let c = app.customer("user_id", "m1").await;
    assert_eq!(c["email"], "mina@example.com");
    assert_eq!(c["name"], "박민아");
    assert_eq!(c["city"], "서울");
    assert_eq!(c["tags"], json!(["vip"]));
    assert_eq!(c["sms_consent"]["granted"], true);
    assert_eq!(c["email_consent"], Value::Null, "absent consent means none");
    assert_eq!(c["traits"]["favourite"], "tea");
    assert_eq!(c["signed_up_at"], "2026-01-02T03:04:05.000Z");
    assert_eq!(c["stats"]["events"], 7);
    assert_eq!(c["stats"]["orders_count"], 1);
    assert_eq!(c["stats"]["total_spent"], 50000.0);
    let id = c["id"].as_u64().unwrap();
    let events = app.events_of(id).await;
    assert_eq!(events.len(), 7);
    assert_eq!(events[0]["event"], "Order Completed", "newest first");
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for k in ["identify", "page", "screen", "track", "group"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let order = app.get("/orders/A-1").await;
    assert_eq!(order["customer_id"], id);
    assert_eq!(order["lines"][0]["quantity"], 2.0);
    let product = app.get("/products/P9").await;
    assert_eq!(product["name"], "다크초콜릿 선물세트");
    assert_eq!(product["source"], "event");
    let interests = app.get(&format!("/customers/{id}/interests")).await;
    let carted = interests["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "carted" && i["product_id"] == "P9")
        .unwrap();
    assert_eq!(carted["count"], 1);
    let by_cat = interests["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "viewed" && i["category"] == "초콜릿");
    assert!(by_cat);
}

#[tokio::test]
async fn a_resent_message_id_is_stored_once() {
    let app = TestApp::spawn().await;
    let msg = json!({"userId": "d1", "event": "Order Completed", "messageId": "same-id", "properties": {"order_id": "D1", "total": 1000}});
    for _ in 0..3 {
        assert_eq!(app.send("/v1/track", msg.clone()).await.status(), 200);
    }
    let batch = json!({"batch": [{"type": "track", "userId": "d1", "event": "Order Completed", "messageId": "same-id", "properties": {"order_id": "D1", "total": 1000}}]});
    assert_eq!(app.send("/v1/batch", batch).await.status(), 200);
    let c = app.customer("user_id", "d1").await;
    assert_eq!(c["stats"]["events"], 1);
    assert_eq!(c["stats"]["orders_count"], 1);
    assert_eq!(app.get("/stats").await["events"], 1);
}

async fn error_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = TestApp::spawn().await;
    let (s, body) = error_of(
        app.track("/v1/track")
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(body["error"]["code"], "invalid_json");

    let cases = [
        (json!({"event": "x"}), "userId", "missing_field"),
        (
            json!({"userId": "u", "event": "x", "timestamp": "last tuesday"}),
            "timestamp",
            "invalid_field",
        ),
        (
            json!({"userId": "u", "event": "x", "properties": "nope"}),
            "properties",
            "invalid_field",
        ),
        (json!({"userId": ["u"], "event": "x"}), "userId", "invalid_field"),
        (json!({"userId": "u"}), "event", "missing_field"),
        (
            json!({"userId": "u", "event": "Order Completed", "properties": {"total": 5}}),
            "properties.order_id",
            "missing_field",
        ),
        (
            json!({"userId": "u", "event": "Order Completed", "properties": {"order_id": "1", "total": "lots"}}),
            "properties.total",
            "invalid_field",
        ),
    ];
    for (body, field, code) in cases {
        let (s, err) = error_of(app.send("/v1/track", body.clone()).await).await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
        assert_eq!(err["error"]["code"], code, "{body} → {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains(field), "{err}");
        assert!(!err["error"]["request_id"].as_str().unwrap().is_empty());
    }
    let (s, err) = error_of(
        app.send(
            "/v1/identify",
            json!({"userId": "u", "traits": {"email": "not-an-email"}}),
        )
        .await,
    )
    .await;
    assert_eq!((s, err["error"]["field"].as_str().unwrap()), (400, "traits.email"));
    assert_eq!(app.get("/stats").await["events"], 0, "nothing invalid was stored");
}

#[tokio::test]
async fn a_batch_stores_its_valid_items_and_names_the_rejected_ones() {
    let app = TestApp::spawn().await;
    let res = app
        .send(
            "/v1/batch",
            json!({"batch": [
                {"type": "track", "userId": "b1", "event": "One"},
                {"type": "track", "event": "No id"},
                {"type": "identify", "userId": "b1", "traits": {"name": "Kim"}},
                {"type": "track", "userId": "b1", "event": "Bad time", "timestamp": "2024-13-45"},
                {"type": "teleport", "userId": "b1"},
                "not an object",
                {"type": "page", "userId": "b1", "name": "Home"}
            ]}),
        )
        .await;
    let (s, body) = error_of(res).await;
    assert_eq!(s, 400);
    assert_eq!(body["accepted"], 3);
    let rejected: Vec<(u64, &str)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (1, "batch[1].userId"),
            (3, "batch[3].timestamp"),
            (4, "batch[4].type"),
            (5, "batch[5]")
        ]
    );
    assert_eq!(body["error"]["field"], "batch[1].userId");
    let c = app.customer("user_id", "b1").await;
    assert_eq!(c["stats"]["events"], 3);
    assert_eq!(c["name"], "Kim");
}

#[tokio::test]
async fn keys_are_checked() {
    let app = TestApp::spawn().await;
    let msg = json!({"userId": "k", "event": "x"});
    let res = app.client.post(app.url("/v1/track")).json(&msg).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth("wrong", Some(""))
        .json(&msg)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "unauthorized");
    let mut with_key = msg.clone();
    with_key["writeKey"] = json!(WRITE_KEY);
    let res = app
        .client
        .post(app.url("/v1/track"))
        .json(&with_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "writeKey in the body works");
    let res = app.client.get(app.url("/api/v1/customers")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .get(app.url("/api/v1/customers"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .get(app.url("/api/v1/customers"))
        .bearer_auth(WRITE_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a write key is not an admin key");
}

#[tokio::test]
async fn over_size_is_413() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(33 * 1024);
    let res = app
        .send(
            "/v1/track",
            json!({"userId": "s", "event": "Big", "properties": {"blob": big}}),
        )
        .await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "message_too_large");
    let items: Vec<Value> = (0..40).map(|i| json!({"type": "track", "userId": "s", "event": "Mid", "properties": {"blob": "y".repeat(15 * 1024), "i": i}})).collect();
    let res = app.send("/v1/batch", json!({"batch": items})).await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");
    // One over-size item in an acceptable batch: that item is refused, the others stored.
    let res = app
        .send("/v1/batch", json!({"batch": [{"type": "track", "userId": "s", "event": "Ok"}, {"type": "track", "userId": "s", "event": "Big", "properties": {"blob": "z".repeat(33 * 1024)}}]}))
        .await;
    let (s, body) = error_of(res).await;
    assert_eq!(s, 413);
    assert_eq!(body["rejected"][0]["field"], "batch[1]");
    assert_eq!(app.get("/stats").await["events"], 1);
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let app = TestApp::spawn().await;
    let body = serde_json::to_vec(&json!({"batch": [{"type": "track", "userId": "g", "event": "Zipped"}]})).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&body).unwrap();
    let res = app
        .track("/v1/batch")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(enc.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.customer("user_id", "g").await["stats"]["events"], 1);
}

#[tokio::test]
async fn analytics_js_short_routes_settings_and_cors() {
    let app = TestApp::spawn().await;
    let settings: Value = app
        .client
        .get(app.url(&format!("/v1/projects/{WRITE_KEY}/settings")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let host = app.base.trim_start_matches("http://");
    assert_eq!(settings["integrations"]["Segment.io"]["apiHost"], format!("{host}/v1"));
    assert_eq!(settings["integrations"]["Segment.io"]["apiKey"], WRITE_KEY);
    let res = app
        .client
        .get(app.url("/v1/projects/wrong/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // analytics.js posts text/plain with the write key in the body.
    let body = json!({"anonymousId": "browser-1", "event": "Product Viewed", "properties": {"product_id": "P1"}, "writeKey": WRITE_KEY, "type": "track"});
    let res = app
        .client
        .post(app.url("/v1/t"))
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let batch = json!({"batch": [{"type": "page", "anonymousId": "browser-1", "name": "Home"}], "writeKey": WRITE_KEY});
    let res = app
        .client
        .post(app.url("/v1/b"))
        .header("content-type", "text/plain")
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.customer("anonymous_id", "browser-1").await["stats"]["events"], 2);

    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/t"))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "https://shop.example");
}

#[tokio::test]
async fn a_restart_keeps_everything() {
    let mut app = TestApp::spawn().await;
    app.send(
        "/v1/identify",
        json!({"userId": "r1", "anonymousId": "ra", "traits": {"email": "r1@example.com"}}),
    )
    .await;
    app.send(
        "/v1/track",
        json!({"userId": "r1", "event": "Order Completed", "properties": {"order_id": "R-1", "total": 7000}}),
    )
    .await;
    let before = app.customer("user_id", "r1").await;
    let tmp = app.stop().await.unwrap();
    let app = TestApp::spawn_on(tmp.path()).await;
    let after = app.customer("user_id", "r1").await;
    assert_eq!(before, after);
    assert_eq!(app.customer("email", "r1@example.com").await["id"], before["id"]);
    assert_eq!(app.get("/orders/R-1").await["total"], 7000.0);
    // The write path still works after the restart, continuing the sequence.
    app.send("/v1/track", json!({"userId": "r1", "event": "Again"})).await;
    assert_eq!(app.get("/stats").await["last_seq"], 3);
    drop(tmp);
}

#[tokio::test]
async fn a_gzip_body_over_the_limit_once_inflated_is_413() {
    let app = TestApp::spawn().await;
    // 600 KB of JSON that gzip squeezes to a few KB: the limit applies to what it inflates to.
    let items: Vec<Value> = (0..60).map(|i| json!({"type": "track", "userId": "z", "event": "Big", "properties": {"pad": "a".repeat(10_000), "i": i}})).collect();
    let body = serde_json::to_vec(&json!({"batch": items})).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&body).unwrap();
    let zipped = enc.finish().unwrap();
    assert!(zipped.len() < 50_000);
    let res = app
        .track("/v1/batch")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(zipped)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(app.get("/stats").await["events"], 0);
}
