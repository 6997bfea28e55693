//! Interest search over a small handmade shop: Korean and English text, ranking with evidence,
//! windows, the indexes following events and catalogue changes within a second, and the
//! indexes made again when missing or corrupt and by `dangol reindex`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use dangol::config::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, signed, urlencode};

const NOW: &str = "2026-11-03T12:00:00+09:00";

fn event(user: &str, name: &str, at: &str, properties: Value) -> Value {
    json!({"type": "track", "userId": user, "event": name, "timestamp": at, "properties": properties})
}

pub async fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::for_tests(dir);
    config.now = Some(chrono::DateTime::parse_from_rfc3339(NOW).unwrap());
    config
}

/// Products and the handmade customers' behaviour:
/// - a viewed the flower perfume once, 40 days ago;
/// - b viewed it three times three hours ago and bought the woody perfume two days ago;
/// - c viewed the scented candle (향초, not 향수) today;
/// - d viewed the trail running shoes today;
/// - e carted the dark chocolate gift set yesterday.
pub async fn load(app: &TestApp) {
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([
            {"id": "P1", "name": "플라워향수 오 드 퍼퓸 50ml", "category": "뷰티/향수", "brand": "메종드봄", "price": 89000},
            {"id": "P2", "name": "우디 향수", "category": "뷰티/향수", "brand": "메종드봄", "price": 99000},
            {"id": "P3", "name": "다크초콜릿 선물세트", "category": "식품/초콜릿", "price": 30000},
            {"id": "P4", "name": "Trail Running Shoes", "category": "Shoes", "brand": "Noir", "price": 120000},
            {"id": "P5", "name": "라벤더 향초", "category": "리빙/향초", "price": 15000}
        ]))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let view = |who: &str, id: &str, at: &str| event(who, "Product Viewed", at, json!({"product_id": id}));
    let batch = vec![
        view("a", "P1", "2026-09-24T12:00:00+09:00"),
        view("b", "P1", "2026-11-03T09:00:00+09:00"),
        view("b", "P1", "2026-11-03T09:01:00+09:00"),
        view("b", "P1", "2026-11-03T09:02:00+09:00"),
        event(
            "b",
            "Order Completed",
            "2026-11-01T12:00:00+09:00",
            json!({"order_id": "b1", "total": 99000, "products": [{"product_id": "P2", "price": 99000, "quantity": 1}]}),
        ),
        view("c", "P5", "2026-11-03T10:00:00+09:00"),
        view("d", "P4", "2026-11-03T10:00:00+09:00"),
        event(
            "e",
            "Product Added",
            "2026-11-02T20:00:00+09:00",
            json!({"product_id": "P3", "quantity": 1}),
        ),
    ];
    let res = app.send("/v1/batch", json!({"batch": batch})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Waits until both indexes have caught up since the start.
pub async fn ready(app: &TestApp) {
    for _ in 0..600 {
        let stats = app.get("/stats").await;
        if stats["interest_index_ready"] == true && stats["products_index_ready"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the search indexes did not catch up");
}

async fn search(app: &TestApp, q: &str, days: Option<u32>) -> Value {
    let days = days.map(|d| format!("&days={d}")).unwrap_or_default();
    app.get(&format!("/search/interest?q={}{days}", urlencode(q))).await
}

/// The user ids of a search's customers, in rank order.
async fn found(app: &TestApp, q: &str, days: Option<u32>) -> Vec<String> {
    search(app, q, days).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["customer"]["user_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Searches until `q` finds exactly `want` (in any order) or `limit` passes; returns how long it took.
async fn until_found(app: &TestApp, q: &str, want: &[&str], limit: Duration) -> Duration {
    let started = Instant::now();
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    loop {
        let got: BTreeSet<String> = found(app, q, None).await.into_iter().collect();
        if got == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{q}: still {got:?}, want {want:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn interest_search_ranks_korean_and_english_with_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(config(tmp.path()).await).await;
    load(&app).await;
    ready(&app).await;
    until_found(&app, "향수", &["a", "b"], Duration::from_secs(5)).await;

    // b viewed it thrice lately and bought another perfume: b ranks first, with the evidence.
    let body = search(&app, "향수", None).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(found(&app, "향수", None).await, ["b", "a"], "{body}");
    assert!(items[0]["score"].as_f64().unwrap() > items[1]["score"].as_f64().unwrap());
    let evidence = items[0]["evidence"].as_array().unwrap();
    let of = |key: &str| {
        evidence
            .iter()
            .find(|e| e["key"] == key)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(of("p:P1")["viewed"], 3, "{body}");
    assert_eq!(of("p:P1")["title"], "플라워향수 오 드 퍼퓸 50ml");
    assert_eq!(of("p:P2")["purchased"], 1, "{body}");
    assert_eq!(
        of("c:뷰티/향수")["viewed"],
        3,
        "the category counts the views too: {body}"
    );
    let matched: Vec<&str> = body["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert!(
        matched.contains(&"p:P1") && matched.contains(&"p:P2") && !matched.contains(&"p:P5"),
        "{matched:?}"
    );

    // Korean: a particle, a compound, a brand; the candle (향초) is not perfume (향수).
    assert_eq!(found(&app, "향수를", None).await, ["b", "a"]);
    assert_eq!(found(&app, "초콜릿", None).await, ["e"]);
    assert_eq!(found(&app, "선물 세트", None).await, ["e"]);
    assert_eq!(found(&app, "메종드봄", None).await, ["b", "a"]);
    assert_eq!(found(&app, "향초", None).await, ["c"]);
    // English, stemmed.
    assert_eq!(found(&app, "running shoe", None).await, ["d"]);
    assert_eq!(found(&app, "SHOES", None).await, ["d"]);
    // A window: a's view is 40 days old.
    assert_eq!(found(&app, "향수", Some(7)).await, ["b"]);
    let week = search(&app, "향수", Some(7)).await;
    let p1 = &week["items"][0]["evidence"];
    assert!(
        p1.as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == "p:P1" && e["viewed"] == 3),
        "{week}"
    );
    // Nothing matches: an empty list, not an error.
    assert_eq!(found(&app, "자전거", None).await, Vec::<String>::new());

    // The same analysis serves the `interest` segment condition.
    let res = app
        .admin(Method::POST, "/segments/preview")
        .json(&json!({"rule": {"attr": "interest", "op": "matches", "value": "향수를"}, "sample": 10}))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["count"], 2, "{body}");
    let res = app
        .admin(Method::POST, "/segments/preview")
        .json(&json!({"rule": {"attr": "interest", "op": "matches", "value": "running shoes", "days": 7}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["count"], 1);

    // Products and categories by text, for pickers.
    let hits = app.get(&format!("/search/products?q={}", urlencode("향수"))).await;
    let keys: BTreeSet<&str> = hits["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, BTreeSet::from(["p:P1", "p:P2", "c:뷰티/향수"]), "{hits}");

    // Trending over the last 24 hours: b's three views put the flower perfume first.
    let trending = app.get("/search/trending?hours=24").await;
    assert_eq!(trending["products"][0]["key"], "p:P1", "{trending}");
    assert_eq!(trending["products"][0]["score"], 3);
    assert_eq!(trending["products"][0]["customers"], 1);
    assert_eq!(trending["categories"][0]["key"], "c:뷰티", "{trending}");
    assert!(
        trending["words"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["key"] == "플라워향수"),
        "{trending}"
    );

    // Bad input names the field.
    for (path, field) in [
        ("/search/interest", "q"),
        ("/search/interest?q=x&limit=0", "limit"),
        ("/search/interest?q=x&days=0", "days"),
        ("/search/trending?hours=1000", "hours"),
    ] {
        let res = app.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{path}: {body}");
    }
    let res = app
        .client
        .get(app.url("/api/v1/search/interest?q=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn the_indexes_follow_events_catalogue_changes_and_erasure() {
    let tmp = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(config(tmp.path()).await).await;
    load(&app).await;
    ready(&app).await;
    until_found(&app, "향수", &["a", "b"], Duration::from_secs(5)).await;

    // A new view is searchable within a second of its acknowledgement.
    let res = app
        .send(
            "/v1/track",
            event(
                "f",
                "Product Viewed",
                "2026-11-03T11:59:00+09:00",
                json!({"product_id": "P2"}),
            ),
        )
        .await;
    assert_eq!(res.status(), 200);
    let took = until_found(&app, "향수", &["a", "b", "f"], Duration::from_secs(5)).await;
    println!("a tracked view became searchable in {} ms", took.as_millis());
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // Renaming the candle a perfume makes its viewer c interested in perfume.
    let res = app
        .admin(Method::PUT, "/products/P5")
        .json(&json!({"id": "P5", "name": "라벤더 향수 미니", "category": "뷰티/향수", "price": 15000}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    until_found(&app, "향수", &["a", "b", "c", "f"], Duration::from_secs(5)).await;
    // The category c viewed it in (리빙/향초) stays part of c's history.
    assert_eq!(found(&app, "향초", None).await, ["c"]);

    // An erased customer leaves the index.
    let b = app.customer("user_id", "b").await["id"].as_u64().unwrap();
    let res = app
        .admin(Method::DELETE, &format!("/customers/{b}"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    until_found(&app, "향수", &["a", "c", "f"], Duration::from_secs(5)).await;

    // Merging: f's anonymous browsing of the shoes joins a when a identifies with f's device
    // (verified: joining a browser to a member takes the member's `userHash`).
    let res = app
        .send(
            "/v1/batch",
            json!({"batch": [
                {"type": "track", "anonymousId": "dev-g", "event": "Product Viewed", "timestamp": "2026-11-03T11:00:00+09:00", "properties": {"product_id": "P4"}},
                signed(json!({"type": "identify", "userId": "a", "anonymousId": "dev-g", "timestamp": "2026-11-03T11:30:00+09:00"}))
            ]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let started = Instant::now();
    loop {
        let shoes = found(&app, "shoes", None).await;
        if shoes.len() == 2 && shoes.contains(&"a".to_string()) && shoes.contains(&"d".to_string()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "shoes: {shoes:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn indexes_are_made_again_when_missing_corrupt_or_by_reindex() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = TestApp::spawn_with(config(tmp.path()).await).await;
    load(&app).await;
    ready(&app).await;
    until_found(&app, "향수", &["a", "b"], Duration::from_secs(5)).await;
    let before = found(&app, "향수", None).await;
    app.stop().await;

    // The interest index's files are gone and the product index's meta is garbage.
    let index = tmp.path().join("index");
    std::fs::remove_dir_all(index.join("interests-1")).unwrap();
    std::fs::write(index.join("products-1").join("meta.json"), b"{ not json").unwrap();
    let mut app = TestApp::spawn_with(config(tmp.path()).await).await;
    ready(&app).await;
    assert_eq!(found(&app, "향수", None).await, before);
    assert_eq!(found(&app, "running shoes", None).await, ["d"]);
    app.stop().await;

    // A view acknowledged just before a stop (its index commit may not have happened) is caught
    // up from the index's mark on the next start.
    let mut app = TestApp::spawn_with(config(tmp.path()).await).await;
    let res = app
        .send(
            "/v1/track",
            event(
                "h",
                "Product Viewed",
                "2026-11-03T11:00:00+09:00",
                json!({"product_id": "P4"}),
            ),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.stop().await;
    let mut app = TestApp::spawn_with(config(tmp.path()).await).await;
    ready(&app).await;
    let shoes: BTreeSet<String> = found(&app, "shoes", None).await.into_iter().collect();
    assert_eq!(shoes, BTreeSet::from(["d".to_string(), "h".to_string()]));
    app.stop().await;

    // `dangol reindex` on the stopped server's data dir.
    let store = dangol::store::Store::open(tmp.path()).unwrap();
    dangol::search::reindex(&store).unwrap();
    drop(store);
    let app = TestApp::spawn_with(config(tmp.path()).await).await;
    ready(&app).await;
    assert_eq!(found(&app, "향수", None).await, before);
    let shoes: BTreeSet<String> = found(&app, "shoes", None).await.into_iter().collect();
    assert_eq!(shoes.len(), 2);
}
