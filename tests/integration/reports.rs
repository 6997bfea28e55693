//! Web-analytics reports (CONTRACT §8) through the admin API. Built so far: live.

use serde_json::{Value, json};

use crate::common::TestApp;

const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

async fn page(app: &TestApp, anon: &str, path: &str, ua: &str, timestamp: Option<&str>) {
    let mut body = json!({"anonymousId": anon, "properties": {"path": path, "url": format!("https://shop.example{path}")},
                          "context": {"userAgent": ua}});
    if let Some(t) = timestamp {
        body["timestamp"] = t.into();
    }
    let res = app.send("/v1/page", body).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn live_shows_who_is_on_which_page_now_without_bots() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let ago = |min: i64| (now - chrono::Duration::minutes(min)).to_rfc3339();
    // Two visitors now: one moved on to a product page; a third was here ten minutes ago.
    page(&app, "a", "/", PHONE, Some(&ago(3))).await;
    page(&app, "a", "/products/P1", PHONE, Some(&ago(1))).await;
    page(&app, "b", "/", PHONE, None).await;
    page(&app, "old", "/cart", PHONE, Some(&ago(10))).await;
    // A bot now: counted apart.
    page(
        &app,
        "bot",
        "/",
        "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
        None,
    )
    .await;
    let res = app
        .send(
            "/v1/track",
            json!({"anonymousId": "b", "event": "Product Viewed", "properties": {"product_id": "P2"},
                                            "context": {"userAgent": PHONE}}),
        )
        .await;
    assert_eq!(res.status(), 200);

    let live: Value = app.get("/reports/live").await;
    assert_eq!(live["visitors_now"], 2, "{live}");
    assert_eq!(
        live["pages"],
        json!([{"path": "/", "visitors": 1}, {"path": "/products/P1", "visitors": 1}])
    );
    assert_eq!(live["bots_left_out"], 1);
    let events = live["events"].as_array().unwrap();
    assert_eq!(events.len(), 5, "every event but the bot's: {live}");
    assert_eq!(events[0]["type"], "track", "newest first");
    assert_eq!(events[0]["event"], "Product Viewed");
    assert_eq!(events[0]["product_id"], "P2");
    assert_eq!(
        events[1]["path"], "/cart",
        "the latest by arrival, whatever their own time"
    );
    assert!(events.iter().all(|e| e["customer_id"].as_u64().unwrap() > 0));
}
