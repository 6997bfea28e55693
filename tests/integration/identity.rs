//! Identity stitching: anonymous visitors becoming members, guest orders, aliases and merges.
//! Joining a browser or an email to somebody who exists, and merging, take a trusted message
//! (CONTRACT §5): here the shop verifies identities (`signed`: the message carries the member's
//! `userHash`) and sends guest orders from its backend (the server write key). What the public
//! key alone may not do is in `security.rs`.

use serde_json::json;

use crate::common::{TestApp, signed};

#[tokio::test]
async fn an_anonymous_visitor_who_browses_signs_up_and_orders_has_one_profile() {
    let app = TestApp::spawn().await;
    let anon = "anon-7f3a";
    for (i, p) in ["P1", "P2", "P1"].iter().enumerate() {
        let ts = format!("2026-11-01T10:0{i}:00Z");
        app.send("/v1/track", json!({"anonymousId": anon, "event": "Product Viewed", "timestamp": ts, "properties": {"product_id": p, "category": "향수"}})).await;
    }
    app.send(
        "/v1/page",
        json!({"anonymousId": anon, "name": "Sign up", "timestamp": "2026-11-01T10:05:00Z"}),
    )
    .await;
    let before = app.customer("anonymous_id", anon).await;
    assert_eq!(before["user_id"], serde_json::Value::Null);
    // Sign-up: identify carries both ids.
    app.send("/v1/identify", json!({"userId": "member-1", "anonymousId": anon, "timestamp": "2026-11-01T10:06:00Z", "traits": {"email": "m1@example.com", "name": "최지우"}})).await;
    app.send(
        "/v1/track",
        json!({"userId": "member-1", "event": "Signed Up", "timestamp": "2026-11-01T10:06:01Z"}),
    )
    .await;
    app.send("/v1/track", json!({"userId": "member-1", "event": "Order Completed", "timestamp": "2026-11-01T10:20:00Z", "properties": {"order_id": "S-1", "total": 30000, "products": [{"product_id": "P1", "price": 30000, "quantity": 1, "category": "향수"}]}})).await;

    let c = app.customer("user_id", "member-1").await;
    assert_eq!(c["id"], before["id"], "the anonymous profile became the member's");
    assert_eq!(app.customer("anonymous_id", anon).await["id"], c["id"]);
    assert_eq!(c["stats"]["events"], 7, "no event lost or counted twice");
    assert_eq!(c["stats"]["visits"], 1, "one visit: no 30-minute gap");
    assert_eq!(c["stats"]["orders_count"], 1);
    assert_eq!(c["signed_up_at"], "2026-11-01T10:06:01.000Z");
    assert_eq!(c["identities"]["anonymous_ids"], json!([anon]));
    let events = app.events_of(c["id"].as_u64().unwrap()).await;
    assert_eq!(events.len(), 7);
    let interests = app.get(&format!("/customers/{}/interests", c["id"])).await;
    let p1_views = interests["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "viewed" && i["product_id"] == "P1")
        .unwrap();
    assert_eq!(p1_views["count"], 2);
}

#[tokio::test]
async fn a_member_with_earlier_anonymous_history_on_a_second_device_is_merged() {
    let app = TestApp::spawn().await;
    app.send(
        "/v1/identify",
        json!({"userId": "m2", "anonymousId": "laptop", "traits": {"email": "m2@example.com"}}),
    )
    .await;
    app.send(
        "/v1/track",
        json!({"userId": "m2", "event": "Product Viewed", "properties": {"product_id": "P1"}}),
    )
    .await;
    // Browsing on a phone, not signed in yet.
    for _ in 0..3 {
        app.send(
            "/v1/track",
            json!({"anonymousId": "phone", "event": "Product Viewed", "properties": {"product_id": "P2"}}),
        )
        .await;
    }
    let phone = app.customer("anonymous_id", "phone").await;
    app.send("/v1/identify", signed(json!({"userId": "m2", "anonymousId": "phone"})))
        .await;
    let c = app.customer("user_id", "m2").await;
    assert_eq!(c["stats"]["events"], 6);
    assert_eq!(c["user_id"], "m2");
    assert_eq!(c["email"], "m2@example.com");
    let mut anons: Vec<String> = serde_json::from_value(c["identities"]["anonymous_ids"].clone()).unwrap();
    anons.sort();
    assert_eq!(anons, vec!["laptop", "phone"]);
    // The smaller history was rewritten onto the larger id; the other id redirects.
    let old = app.get(&format!("/customers/{}", phone["id"])).await;
    assert_eq!(old["id"], c["id"]);
    assert_eq!(app.events_of(c["id"].as_u64().unwrap()).await.len(), 6);
}

#[tokio::test]
async fn a_shared_device_does_not_merge_two_members() {
    let app = TestApp::spawn().await;
    app.send(
        "/v1/identify",
        json!({"userId": "alice", "anonymousId": "family-pc", "traits": {"email": "alice@example.com"}}),
    )
    .await;
    app.send(
        "/v1/identify",
        signed(json!({"userId": "bob", "anonymousId": "family-pc", "traits": {"email": "bob@example.com"}})),
    )
    .await;
    let alice = app.customer("user_id", "alice").await;
    let bob = app.customer("user_id", "bob").await;
    assert_ne!(alice["id"], bob["id"]);
    assert_eq!(alice["email"], "alice@example.com");
    // The device now belongs to whoever used it last.
    assert_eq!(app.customer("anonymous_id", "family-pc").await["id"], bob["id"]);
}

#[tokio::test]
async fn a_guest_order_from_the_shop_s_server_lands_on_the_customer_with_that_email() {
    let app = TestApp::spawn().await;
    app.send(
        "/v1/identify",
        json!({"userId": "m3", "traits": {"email": "known@example.com"}}),
    )
    .await;
    // A guest checkout in another browser, with the member's email.
    app.send(
        "/v1/track",
        json!({"anonymousId": "guest-browser", "event": "Product Viewed", "properties": {"product_id": "P5"}}),
    )
    .await;
    app.send_from_server("/v1/track", json!({"anonymousId": "guest-browser", "event": "Order Completed", "properties": {"order_id": "G-1", "total": 12000, "email": "KNOWN@example.com"}})).await;
    let m3 = app.customer("user_id", "m3").await;
    assert_eq!(m3["stats"]["orders_count"], 1);
    assert_eq!(m3["stats"]["events"], 3, "the browser's earlier view came along");
    assert_eq!(app.get("/orders/G-1").await["customer_id"], m3["id"]);

    // An unknown email makes a new customer, found by that email; signing up later joins it.
    app.send_from_server("/v1/track", json!({"anonymousId": "other-browser", "event": "Order Completed", "context": {"traits": {"email": "new@example.com"}}, "properties": {"order_id": "G-2", "total": 8000}})).await;
    let guest = app.customer("email", "new@example.com").await;
    assert_eq!(guest["stats"]["orders_count"], 1);
    assert_eq!(guest["user_id"], serde_json::Value::Null);
    app.send(
        "/v1/identify",
        signed(json!({"userId": "m4", "traits": {"email": "new@example.com"}})),
    )
    .await;
    let m4 = app.customer("user_id", "m4").await;
    assert_eq!(m4["stats"]["orders_count"], 1, "the guest order became the member's");
    assert_eq!(app.customer("email", "new@example.com").await["id"], m4["id"]);
}

#[tokio::test]
async fn an_alias_merges_two_known_customers() {
    let app = TestApp::spawn().await;
    app.send(
        "/v1/identify",
        json!({"userId": "old-id", "traits": {"email": "a@example.com", "name": "Old"}}),
    )
    .await;
    app.send(
        "/v1/track",
        json!({"userId": "old-id", "event": "Order Completed", "properties": {"order_id": "AL-1", "total": 1000}}),
    )
    .await;
    app.send(
        "/v1/identify",
        json!({"userId": "new-id", "traits": {"phone": "010-9999-0000"}}),
    )
    .await;
    let old = app.customer("user_id", "old-id").await;
    let res = app
        .send("/v1/alias", signed(json!({"previousId": "old-id", "userId": "new-id"})))
        .await;
    assert_eq!(res.status(), 200);
    let merged = app.customer("user_id", "new-id").await;
    assert_eq!(app.customer("user_id", "old-id").await["id"], merged["id"]);
    assert_eq!(merged["user_id"], "new-id");
    assert_eq!(merged["email"], "a@example.com");
    assert_eq!(merged["phone"], "010-9999-0000");
    assert_eq!(merged["stats"]["orders_count"], 1);
    assert_eq!(merged["stats"]["events"], 4);
    assert_eq!(app.get("/orders/AL-1").await["customer_id"], merged["id"]);
    assert_eq!(app.get(&format!("/customers/{}", old["id"])).await["id"], merged["id"]);

    // An alias from an anonymous id links it.
    app.send("/v1/track", json!({"anonymousId": "anon-x", "event": "Viewed"}))
        .await;
    app.send("/v1/alias", json!({"previousId": "anon-x", "userId": "fresh"}))
        .await;
    let fresh = app.customer("user_id", "fresh").await;
    assert_eq!(app.customer("anonymous_id", "anon-x").await["id"], fresh["id"]);
    assert_eq!(fresh["stats"]["events"], 2);
}

#[tokio::test]
async fn a_person_is_exported_and_erased_on_request() {
    let app = TestApp::spawn().await;
    app.send("/v1/identify", json!({"userId": "gone", "anonymousId": "gone-anon", "traits": {"email": "gone@example.com", "name": "삭제 요청", "phone": "010-1111-2222"}})).await;
    app.send(
        "/v1/track",
        json!({"userId": "gone", "event": "Product Viewed", "properties": {"product_id": "P1"}}),
    )
    .await;
    app.send(
        "/v1/track",
        json!({"userId": "gone", "event": "Order Completed", "properties": {"order_id": "E-1", "total": 3000}}),
    )
    .await;
    app.send(
        "/v1/track",
        json!({"userId": "stays", "event": "Product Viewed", "properties": {"product_id": "P1"}}),
    )
    .await;
    let c = app.customer("user_id", "gone").await;
    let id = c["id"].as_u64().unwrap();

    let export = app.get(&format!("/customers/{id}/export")).await;
    assert_eq!(export["customer"]["email"], "gone@example.com");
    assert_eq!(export["events"].as_array().unwrap().len(), 3);
    assert_eq!(export["events"][0]["type"], "identify", "oldest first");
    assert_eq!(export["orders"][0]["order_id"], "E-1");
    assert!(!export["interests"].as_array().unwrap().is_empty());

    let res = app
        .admin(reqwest::Method::DELETE, &format!("/customers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let report: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (
            report["events"].as_u64(),
            report["identities"].as_u64(),
            report["orders_detached"].as_u64()
        ),
        (Some(3), Some(3), Some(1))
    );

    for path in [
        format!("/customers/{id}"),
        format!("/customers/{id}/export"),
        "/customers/lookup?email=gone@example.com".to_string(),
    ] {
        let res = app.admin(reqwest::Method::GET, &path).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let list = app.get("/customers?q=gone").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let order = app.get("/orders/E-1").await;
    assert_eq!(order["customer_id"], 0, "the order stays for the accounts, detached");
    assert_eq!(
        app.get("/stats").await["events"],
        1,
        "only the other person's event is left"
    );
    // New data under the same id later starts a new, separate profile.
    app.send("/v1/track", json!({"userId": "gone", "event": "Came back"}))
        .await;
    let again = app.customer("user_id", "gone").await;
    assert_ne!(again["id"].as_u64().unwrap(), id);
    assert_eq!(again["email"], serde_json::Value::Null);
}
