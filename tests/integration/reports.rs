//! Web-analytics reports (CONTRACT §8) through the admin API.

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

#[tokio::test]
async fn live_keeps_its_window_between_answers() {
    // The live report reads only what came since its last answer and lets go of what is over
    // five minutes old, keeping the latest events listed.
    let app = crate::campaigns::spawn_at("2026-11-23T10:00:00+09:00").await;
    page(&app, "a", "/", PHONE, None).await;
    page(&app, "bot", "/", YETI, None).await;
    let live: Value = app.get("/reports/live").await;
    assert_eq!(
        (live["visitors_now"].as_u64(), live["bots_left_out"].as_u64()),
        (Some(1), Some(1)),
        "{live}"
    );

    page(&app, "b", "/products/P1", PHONE, None).await;
    page(&app, "a", "/cart", PHONE, None).await;
    let live: Value = app.get("/reports/live").await;
    assert_eq!(live["visitors_now"], 2, "{live}");
    assert_eq!(
        live["pages"],
        json!([{"path": "/cart", "visitors": 1}, {"path": "/products/P1", "visitors": 1}])
    );
    let paths: Vec<&str> = live["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/cart", "/products/P1", "/"],
        "newest first, the bot's left out"
    );
    assert_eq!(live["bots_left_out"], 1);

    // Six minutes on: nobody is on the shop, the latest events are still listed.
    crate::campaigns::set_clock(&app, "2026-11-23T10:06:00+09:00").await;
    let live: Value = app.get("/reports/live").await;
    assert_eq!(
        (live["visitors_now"].as_u64(), live["bots_left_out"].as_u64()),
        (Some(0), Some(0)),
        "{live}"
    );
    assert_eq!(live["pages"], json!([]));
    assert_eq!(live["events"].as_array().unwrap().len(), 3);
    page(&app, "c", "/products/P2", PHONE, None).await;
    let live: Value = app.get("/reports/live").await;
    assert_eq!(live["visitors_now"], 1, "{live}");
    assert_eq!(live["pages"], json!([{"path": "/products/P2", "visitors": 1}]));
    assert_eq!(live["events"].as_array().unwrap().len(), 4);
    assert_eq!(live["events"][0]["path"], "/products/P2");

    // An erased customer's events leave the window with them.
    let c = live["events"][0]["customer_id"].as_u64().unwrap();
    let res = app
        .admin(reqwest::Method::DELETE, &format!("/customers/{c}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let live: Value = app.get("/reports/live").await;
    assert_eq!(live["visitors_now"], 0, "{live}");
    let events = live["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{live}");
    assert!(events.iter().all(|e| e["customer_id"] != c), "{live}");
}

const DESKTOP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const KAKAO_IN_APP: &str = "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 KAKAOTALK 10.4.5";
const YETI: &str = "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)";

/// 2026-11-10 (or the day given) at a Seoul time.
fn at(day: &str, time: &str) -> String {
    format!("{day}T{time}+09:00")
}

async fn view(app: &TestApp, anon: &str, path: &str, when: &str, ua: &str, referrer: Option<&str>, extra: Value) {
    let mut props = json!({"path": path, "url": format!("https://shop.example{path}")});
    if let Some(r) = referrer {
        props["referrer"] = r.into();
    }
    let mut body = json!({"anonymousId": anon, "timestamp": when, "properties": props, "context": {"userAgent": ua}});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            body["context"][k] = v;
        }
    }
    let res = app.send("/v1/page", body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn act(app: &TestApp, anon: &str, event: &str, when: &str, ua: &str, props: Value) {
    let body = json!({"anonymousId": anon, "event": event, "timestamp": when, "properties": props,
                      "context": {"userAgent": ua}});
    let res = app.send("/v1/track", body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn server(app: &TestApp, path: &str, body: Value) {
    let res = app.send_from_server(path, body).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Writes the known stream of CONTRACT §8's cases. On 2026-11-10 (Seoul), not bots:
/// - a: Naver search at 10:00, a product at 10:29 (a 29-minute gap: one visit), back at 11:00:30
///   from the shop's own page (a 31-minute gap: a second visit, a bounce from Direct);
/// - b: an Instagram UTM link at 23:50 on a phone, a product, a cart after midnight (the visit is
///   the 10th's), the cart page;
/// - m: KakaoTalk's in-app browser (no referrer), a product, a cart; then identified as member u1
///   (who existed before: the two are merged), who checks out and orders 50,000, refunded 10,000
///   on the 12th;
/// - c: Google, a cart before a product view (a funnel done out of order);
/// - d: a Naver ad click (NaPm) and a message seen: still a bounce;
/// - a bot (Naver's Yeti).
///
/// And e on the 9th, direct, a bounce (the period before); f and g order in October, f again on
/// December 1st (cohorts).
pub(crate) async fn known_stream(app: &TestApp) {
    let d = "2026-11-10";
    view(
        app,
        "a",
        "/",
        &at(d, "10:00:00"),
        DESKTOP,
        Some("https://search.naver.com/search.naver?query=perfume"),
        json!({}),
    )
    .await;
    view(app, "a", "/products/P1", &at(d, "10:29:00"), DESKTOP, None, json!({})).await;
    act(
        app,
        "a",
        "Product Viewed",
        &at(d, "10:29:30"),
        DESKTOP,
        json!({"product_id": "P1"}),
    )
    .await;
    view(
        app,
        "a",
        "/products/P1",
        &at(d, "11:00:30"),
        DESKTOP,
        Some("https://shop.example/products/P1"),
        json!({}),
    )
    .await;

    view(
        app,
        "b",
        "/",
        &at(d, "23:50:00"),
        PHONE,
        None,
        json!({"campaign": {"source": "instagram", "medium": "social", "name": "winter"}}),
    )
    .await;
    act(
        app,
        "b",
        "Product Viewed",
        &at(d, "23:55:00"),
        PHONE,
        json!({"product_id": "P2"}),
    )
    .await;
    act(
        app,
        "b",
        "Product Added",
        &at("2026-11-11", "00:05:00"),
        PHONE,
        json!({"product_id": "P2"}),
    )
    .await;
    view(app, "b", "/cart", &at("2026-11-11", "00:10:00"), PHONE, None, json!({})).await;

    server(
        app,
        "/v1/identify",
        json!({"userId": "u1", "timestamp": at("2026-11-01", "09:00:00"), "traits": {"email": "u1@example.com"}}),
    )
    .await;
    view(
        app,
        "m",
        "/products/P1",
        &at(d, "14:00:00"),
        KAKAO_IN_APP,
        None,
        json!({}),
    )
    .await;
    act(
        app,
        "m",
        "Product Viewed",
        &at(d, "14:01:00"),
        KAKAO_IN_APP,
        json!({"product_id": "P1"}),
    )
    .await;
    act(
        app,
        "m",
        "Product Added",
        &at(d, "14:05:00"),
        KAKAO_IN_APP,
        json!({"product_id": "P1"}),
    )
    .await;
    server(app, "/v1/identify", json!({"userId": "u1", "anonymousId": "m", "timestamp": at(d, "14:06:00"), "traits": {"address": {"city": "Seoul"}}})).await;
    server(app, "/v1/track", json!({"userId": "u1", "event": "Checkout Started", "timestamp": at(d, "14:10:00"), "properties": {"order_id": "O1"}})).await;
    server(app, "/v1/track", json!({"userId": "u1", "event": "Order Completed", "timestamp": at(d, "14:15:00"),
                                     "properties": {"order_id": "O1", "total": 50000, "products": [{"product_id": "P1", "price": 50000, "quantity": 1}]}})).await;
    server(
        app,
        "/v1/track",
        json!({"userId": "u1", "event": "Order Refunded", "timestamp": at("2026-11-12", "10:00:00"),
                                     "properties": {"order_id": "O1", "total": 10000}}),
    )
    .await;

    view(
        app,
        "c",
        "/products/P3",
        &at(d, "15:00:00"),
        DESKTOP,
        Some("https://www.google.com/"),
        json!({}),
    )
    .await;
    act(
        app,
        "c",
        "Product Added",
        &at(d, "15:00:30"),
        DESKTOP,
        json!({"product_id": "P3"}),
    )
    .await;
    act(
        app,
        "c",
        "Product Viewed",
        &at(d, "15:05:00"),
        DESKTOP,
        json!({"product_id": "P3"}),
    )
    .await;

    let res = app.send("/v1/page", json!({"anonymousId": "d", "timestamp": at(d, "16:00:00"),
        "properties": {"path": "/", "url": "https://shop.example/?NaPm=ct%3Dabc%7Cci%3D1"}, "context": {"userAgent": DESKTOP}})).await;
    assert_eq!(res.status(), 200);
    act(
        app,
        "d",
        "Message Viewed",
        &at(d, "16:01:00"),
        DESKTOP,
        json!({"message_id": 1}),
    )
    .await;

    view(app, "bot", "/", &at(d, "12:00:00"), YETI, None, json!({})).await;

    view(app, "e", "/", &at("2026-11-09", "20:00:00"), DESKTOP, None, json!({})).await;

    for (user, id, day) in [
        ("f1", "F1", "2026-10-05"),
        ("g1", "G1", "2026-10-20"),
        ("f1", "F2", "2026-12-01"),
    ] {
        server(
            app,
            "/v1/track",
            json!({"userId": user, "event": "Order Completed", "timestamp": at(day, "12:00:00"),
                                         "properties": {"order_id": id, "total": 10000}}),
        )
        .await;
    }
}

fn by_value(items: &Value) -> std::collections::BTreeMap<String, Value> {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["value"].as_str().unwrap().to_string(), i.clone()))
        .collect()
}

fn figures(i: &Value) -> (u64, u64, u64, f64, u64, f64) {
    (
        i["visitors"].as_u64().unwrap(),
        i["visits"].as_u64().unwrap(),
        i["pageviews"].as_u64().unwrap(),
        i["bounce_rate"].as_f64().unwrap(),
        i["orders"].as_u64().unwrap(),
        i["revenue"].as_f64().unwrap(),
    )
}

#[tokio::test]
async fn every_report_counts_a_known_stream_exactly() {
    let mut app = TestApp::spawn().await;
    known_stream(&app).await;

    // The overview of the 10th, with the 9th before it.
    let web: Value = app.get("/reports/web?from=2026-11-10&to=2026-11-10").await;
    assert_eq!(
        web["totals"],
        json!({"visitors": 5, "visits": 6, "pageviews": 8, "bounce_rate": 0.3333, "visit_duration_s": 705.0,
               "pages_per_visit": 1.3333, "orders": 1, "revenue": 40000.0, "conversion_rate": 0.2}),
        "{web}"
    );
    assert_eq!(
        web["previous"],
        json!({"visitors": 1, "visits": 1, "pageviews": 1, "bounce_rate": 1.0, "visit_duration_s": 0.0,
               "pages_per_visit": 1.0, "orders": 0, "revenue": 0.0, "conversion_rate": 0.0})
    );
    assert_eq!(web["bots_left_out"], 1);
    let two: Value = app.get("/reports/web?from=2026-11-09&to=2026-11-10&interval=day").await;
    let series = two["series"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(
        (series[0]["date"].as_str(), series[0]["visits"].as_u64()),
        (Some("2026-11-09"), Some(1))
    );
    assert_eq!(
        (series[1]["date"].as_str(), series[1]["visits"].as_u64()),
        (Some("2026-11-10"), Some(6))
    );
    assert_eq!(two["totals"]["visitors"], 6);
    let month: Value = app
        .get("/reports/web?from=2026-11-01&to=2026-11-30&interval=month")
        .await;
    assert_eq!(month["series"].as_array().unwrap().len(), 1);
    assert_eq!(month["series"][0]["date"], "2026-11-01");

    let day = "from=2026-11-10&to=2026-11-10";
    let sources = by_value(&app.get(&format!("/reports/web/breakdown?by=source&{day}")).await);
    assert_eq!(
        sources.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Direct", "Google", "KakaoTalk", "Naver", "instagram"]
    );
    assert_eq!(
        figures(&sources["Naver"]),
        (2, 2, 3, 0.5, 0, 0.0),
        "a's first visit and d's ad click"
    );
    assert_eq!(
        figures(&sources["Direct"]),
        (1, 1, 1, 1.0, 0, 0.0),
        "the shop's own page is no source"
    );
    assert_eq!(
        figures(&sources["KakaoTalk"]),
        (1, 1, 1, 0.0, 1, 40000.0),
        "judged by what it sold, net of the refund"
    );
    assert_eq!(figures(&sources["instagram"]), (1, 1, 2, 0.0, 0, 0.0));
    let top = app
        .get(&format!("/reports/web/breakdown?by=source&limit=1&{day}"))
        .await;
    assert_eq!(top["items"][0]["value"], "Naver", "most visitors first");

    let devices = by_value(&app.get(&format!("/reports/web/breakdown?by=device&{day}")).await);
    assert_eq!(figures(&devices["desktop"]).0..=figures(&devices["desktop"]).1, 3..=4);
    assert_eq!(figures(&devices["mobile"]).0..=figures(&devices["mobile"]).1, 2..=2);
    let browsers = by_value(&app.get(&format!("/reports/web/breakdown?by=browser&{day}")).await);
    assert_eq!(browsers["Chrome"]["visits"], 4, "{browsers:?}");

    let pages = by_value(&app.get(&format!("/reports/web/breakdown?by=page&{day}")).await);
    assert_eq!(figures(&pages["/"]).0..=figures(&pages["/"]).2, 3..=3);
    assert_eq!(
        (
            pages["/products/P1"]["visitors"].as_u64(),
            pages["/products/P1"]["visits"].as_u64(),
            pages["/products/P1"]["pageviews"].as_u64()
        ),
        (Some(2), Some(3), Some(3))
    );
    assert_eq!(pages["/cart"]["visits"], 1);
    let exits = by_value(&app.get(&format!("/reports/web/breakdown?by=exit_page&{day}")).await);
    assert_eq!(
        (
            exits["/products/P1"]["visits"].as_u64(),
            exits["/products/P1"]["exit_rate"].as_f64()
        ),
        (Some(3), Some(1.0))
    );
    assert_eq!(
        (exits["/"]["visits"].as_u64(), exits["/"]["exit_rate"].as_f64()),
        (Some(1), Some(0.3333))
    );
    let entries = by_value(&app.get(&format!("/reports/web/breakdown?by=entry_page&{day}")).await);
    assert_eq!(entries["/"]["visits"], 3);
    let campaigns = by_value(&app.get(&format!("/reports/web/breakdown?by=utm_campaign&{day}")).await);
    assert_eq!(campaigns.keys().collect::<Vec<_>>(), ["winter"]);
    let cities = by_value(&app.get(&format!("/reports/web/breakdown?by=city&{day}")).await);
    assert_eq!(
        figures(&cities["Seoul"]),
        (1, 1, 1, 0.0, 1, 40000.0),
        "the member's city, from the profile"
    );

    // Filters: a source (from the cells), a device and a page together (from the visits), a segment.
    let naver: Value = app.get(&format!("/reports/web?source=Naver&{day}")).await;
    assert_eq!(
        (naver["totals"]["visitors"].as_u64(), naver["totals"]["visits"].as_u64()),
        (Some(2), Some(2))
    );
    let both: Value = app
        .get(&format!("/reports/web?device=desktop&page=/products/P1&{day}"))
        .await;
    assert_eq!(
        (
            both["totals"]["visitors"].as_u64(),
            both["totals"]["visits"].as_u64(),
            both["totals"]["pageviews"].as_u64()
        ),
        (Some(1), Some(2), Some(3)),
        "a's two visits: {both}"
    );
    let nobody: Value = app.get(&format!("/reports/web?source=Nowhere&{day}")).await;
    assert_eq!(nobody["totals"]["visits"], 0);
    let seg = app
        .admin(reqwest::Method::POST, "/segments")
        .json(&json!({"name": "Buyers", "rule": {"attr": "orders_count", "op": ">=", "value": 1}, "live": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(seg.status(), 201);
    let seg: Value = seg.json().await.unwrap();
    let buyers: Value = app.get(&format!("/reports/web?segment_id={}&{day}", seg["id"])).await;
    assert_eq!(
        (
            buyers["totals"]["visitors"].as_u64(),
            buyers["totals"]["orders"].as_u64(),
            buyers["totals"]["conversion_rate"].as_f64()
        ),
        (Some(1), Some(1), Some(1.0)),
        "{buyers}"
    );
    let buyer_sources = by_value(
        &app.get(&format!(
            "/reports/web/breakdown?by=source&segment_id={}&{day}",
            seg["id"]
        ))
        .await,
    );
    assert_eq!(buyer_sources.keys().collect::<Vec<_>>(), ["KakaoTalk"]);
    // The segment with a value: every visit of the buyer's came from KakaoTalk, none from Naver.
    let kakao: Value = app
        .get(&format!("/reports/web?segment_id={}&source=KakaoTalk&{day}", seg["id"]))
        .await;
    assert_eq!(kakao["totals"], buyers["totals"]);
    let naver: Value = app
        .get(&format!("/reports/web?segment_id={}&source=Naver&{day}", seg["id"]))
        .await;
    assert_eq!(
        (naver["totals"]["visitors"].as_u64(), naver["totals"]["visits"].as_u64()),
        (Some(0), Some(0))
    );

    // The funnel: view → cart → checkout → order, done in order by m only; c carted before viewing.
    let res = app
        .admin(reqwest::Method::POST, "/reports/funnel")
        .json(&json!({"from": "2026-11-10", "to": "2026-11-10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let funnel: Value = res.json().await.unwrap();
    let steps = funnel["steps"].as_array().unwrap();
    let counts: Vec<(String, u64, f64, f64)> = steps
        .iter()
        .map(|s| {
            (
                s["event"].as_str().unwrap().to_string(),
                s["visitors"].as_u64().unwrap(),
                s["from_previous"].as_f64().unwrap(),
                s["from_first"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("Product Viewed".to_string(), 4, 1.0, 1.0),
            ("Product Added".to_string(), 2, 0.5, 0.5),
            ("Checkout Started".to_string(), 1, 0.5, 0.25),
            ("Order Completed".to_string(), 1, 1.0, 0.25),
        ],
        "{funnel}"
    );
    assert_eq!(
        steps[0]["left_with"],
        json!([{"product_id": "P1", "visitors": 1}, {"product_id": "P3", "visitors": 1}])
    );
    assert_eq!(steps[1]["left_with"], json!([{"product_id": "P2", "visitors": 1}]));

    // Cohorts: f and g first ordered in October, f again in December; u1 in November.
    let cohorts: Value = app.get("/reports/cohorts?from=2026-10&to=2026-11").await;
    assert_eq!(cohorts["cohorts"][0]["cohort"], "2026-10");
    assert_eq!(cohorts["cohorts"][0]["customers"], 2);
    assert_eq!(cohorts["cohorts"][0]["months"][0], 0.0, "nobody again in November");
    assert_eq!(cohorts["cohorts"][0]["months"][1], 0.5, "f again in December");
    assert_eq!(cohorts["cohorts"][1]["customers"], 1);
    assert_eq!(
        cohorts["repeat"][1],
        json!({"month": "2026-11", "customers": 1, "returning": 0, "repeat_rate": 0.0})
    );

    // Products by UTC day: the 10th's Seoul hours all fall on the 10th in UTC (b's cart at 00:05
    // on the 11th is 15:05 UTC on the 10th).
    let products: Value = app.get(&format!("/reports/products?{day}")).await;
    let rows: Vec<(String, u64, u64, u64, u64)> = products["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_u64().unwrap();
            (
                p["product_id"].as_str().unwrap().to_string(),
                n("views"),
                n("carts"),
                n("checkouts"),
                n("purchases"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("P1".to_string(), 2, 1, 0, 1),
            ("P2".to_string(), 1, 1, 0, 0),
            ("P3".to_string(), 1, 1, 0, 0)
        ],
        "most purchases, then views, then by id: {products}"
    );
    assert_eq!(products["items"][0]["purchase_rate"], 0.5);

    // Built again from the log (as `dangol reindex` does), every figure is the same.
    let before = (
        web.clone(),
        app.get(&format!("/reports/web/breakdown?by=page&{day}")).await,
    );
    let dir = app.dir.clone();
    let tmp = app.stop().await;
    let built = tokio::task::spawn_blocking(move || {
        let store = dangol::store::Store::open(&dir).unwrap();
        let agents = std::sync::Arc::new(dangol::traffic::Agents::default());
        dangol::reports::Reports::new(store, chrono_tz::Asia::Seoul, agents)
            .rebuild()
            .unwrap()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        built.visits, 11,
        "the 10th's six, the 9th's, the bot's, and the three back-office orders' own"
    );
    let mut app = TestApp::spawn_on(&app.dir).await;
    app.keep(tmp.unwrap());
    let web2: Value = app.get("/reports/web?from=2026-11-10&to=2026-11-10").await;
    assert_eq!(web2, before.0);
    assert_eq!(
        app.get(&format!("/reports/web/breakdown?by=page&{day}")).await,
        before.1
    );
}

#[tokio::test]
async fn reports_name_the_field_that_is_wrong() {
    let app = TestApp::spawn().await;
    let cases = [
        ("/reports/web?from=2026-11-10&to=2026-11-01", "from"),
        ("/reports/web?from=2020-01-01&to=2026-11-01", "to"),
        ("/reports/web?from=yesterday", "from"),
        ("/reports/web?interval=hour", "interval"),
        ("/reports/web?device=fridge", "device"),
        ("/reports/web?segment_id=999", "segment_id"),
        ("/reports/web/breakdown?by=colour", "by"),
        ("/reports/web/breakdown", "by"),
        ("/reports/web/breakdown?by=page&limit=0", "limit"),
        ("/reports/cohorts?from=2026-13", "from"),
        ("/reports/cohorts?from=2020-01&to=2026-01", "to"),
    ];
    for (path, field) in cases {
        let res = app.admin(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{path}: {body}");
    }
    for (steps, field) in [
        (json!([{"event": "Product Viewed"}]), "steps"),
        (
            json!((0..11).map(|i| json!({"event": format!("E{i}")})).collect::<Vec<_>>()),
            "steps",
        ),
    ] {
        let res = app
            .admin(reqwest::Method::POST, "/reports/funnel")
            .json(&json!({"steps": steps}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn live_sets_today_so_far_against_the_same_time_last_week() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = dangol::config::Config::for_tests(tmp.path());
    config.now = Some(chrono::DateTime::parse_from_rfc3339("2026-11-17T14:30:00+09:00").unwrap());
    let mut app = TestApp::spawn_with(config).await;
    app.keep(tmp);
    known_stream(&app).await;
    view(&app, "t", "/", &at("2026-11-17", "14:20:00"), PHONE, None, json!({})).await;
    view(
        &app,
        "t",
        "/products/P1",
        &at("2026-11-17", "14:22:00"),
        PHONE,
        None,
        json!({}),
    )
    .await;
    let live: Value = app.get("/reports/live").await;
    assert_eq!(
        live["today"],
        json!({"visitors": 1, "visits": 1, "pageviews": 2, "bounce_rate": 0.0, "visit_duration_s": 120.0,
               "pages_per_visit": 2.0, "orders": 0, "revenue": 0.0, "conversion_rate": 0.0}),
        "{live}"
    );
    // The 10th by 14:30: a's two visits and m's, begun at 14:00 and counted whole (its order at
    // 14:15, net of the refund); not c's at 15:00 nor the bot's.
    let week = &live["same_time_last_week"];
    assert_eq!(
        (
            week["visitors"].as_u64(),
            week["visits"].as_u64(),
            week["pageviews"].as_u64(),
            week["orders"].as_u64(),
            week["revenue"].as_f64()
        ),
        (Some(2), Some(3), Some(4), Some(1), Some(40000.0)),
        "{live}"
    );
}
