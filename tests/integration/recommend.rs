//! Recommendations end to end: a catalogue with unavailable products, other customers' orders,
//! one visitor's history across visits; the admin and storefront routes, the rules, the
//! current-visit exclusion, the fallback for a brand-new visitor, and the nightly model kept in
//! redb across a restart.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

fn ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339()
}

async fn shop(app: &TestApp) {
    let products = json!([
        {"id": "tent", "name": "돔 텐트", "category": "캠핑/텐트", "price": 189000, "image_url": "https://shop.example/tent.jpg", "url": "https://shop.example/p/tent"},
        {"id": "pegs", "name": "단조 팩", "category": "캠핑/소품", "price": 12000, "sale_price": 9900},
        {"id": "lamp", "name": "LED 랜턴", "category": "캠핑/소품", "price": 39000},
        {"id": "stove", "name": "버너", "category": "캠핑/소품", "price": 59000, "in_stock": false},
        {"id": "secret", "name": "미공개", "category": "캠핑/소품", "price": 1000, "hidden": true},
        {"id": "water", "name": "생수", "category": "식품", "price": 900},
        {"id": "chair", "name": "캠핑 의자", "category": "캠핑/가구", "price": 45000}
    ]);
    let res = app
        .admin(Method::POST, "/products")
        .json(&products)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut batch = Vec::new();
    let order = |user: &str, id: String, items: &[&str], at: String| {
        json!({"type": "track", "userId": user, "event": "Order Completed", "timestamp": at,
            "properties": {"order_id": id, "products": items.iter().map(|p| json!({"product_id": p, "price": 1000, "quantity": 1})).collect::<Vec<_>>()}})
    };
    for i in 0..3 {
        batch.push(order(
            &format!("b{i}"),
            format!("o-a{i}"),
            &["tent", "pegs", "lamp"],
            ago(5),
        ));
        batch.push(order(
            &format!("c{i}"),
            format!("o-b{i}"),
            &["tent", "stove", "secret"],
            ago(5),
        ));
    }
    for i in 0..5 {
        batch.push(order(&format!("w{i}"), format!("o-w{i}"), &["water"], ago(3)));
    }
    batch.push(order("d0", "o-d0".into(), &["chair", "lamp"], ago(4)));
    // The visitor: viewed the lamp and the chair two days ago, bought pegs three days ago, carted
    // water yesterday, and is looking at the tent now.
    let view = |p: &str, at: String| json!({"type": "track", "userId": "u1", "event": "Product Viewed", "timestamp": at, "properties": {"product_id": p}});
    batch.push(view("lamp", ago(47)));
    batch.push(view("chair", ago(48)));
    batch.push(view("pegs", ago(80)));
    batch.push(order("u1", "o-u1".into(), &["pegs"], ago(72)));
    batch.push(json!({"type": "track", "userId": "u1", "event": "Product Added", "timestamp": ago(24), "properties": {"product_id": "water"}}));
    batch.push(view("tent", ago(0)));
    let res = app.send("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(res.status(), 200);
}

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

fn sources(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source"].as_str().unwrap().to_string())
        .collect()
}

/// Every list: no unavailable product, no repeats, never empty.
fn obeys_the_rules(v: &Value) {
    let got = ids(v);
    assert!(!got.is_empty(), "never empty: {v}");
    assert!(
        !got.iter().any(|p| p == "stove" || p == "secret"),
        "out of stock or hidden: {v}"
    );
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "no repeats: {v}");
}

async fn storefront(app: &TestApp, query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/v1/recommendations?{}", crate::common::signed_query(query))))
        .basic_auth("test-write-key", Some(""))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn strategies_obey_the_rules_fall_back_and_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    shop(&app).await;

    // A product page: what was bought with the tent, with scores and support, counted from the
    // orders as they arrived (no nightly build yet).
    let related = app.get("/products/tent/related?limit=4").await;
    obeys_the_rules(&related);
    let got = ids(&related);
    let mut top = got[..2].to_vec();
    top.sort();
    assert_eq!(top, ["lamp", "pegs"], "{related}");
    assert!(!got.contains(&"tent".to_string()), "the current product is left out");
    assert_eq!(related["items"][0]["source"], "bought_together");
    assert_eq!(related["items"][0]["support"], 3.0);
    assert_eq!(
        related["items"].as_array().unwrap().len(),
        4,
        "the fallback fills the list: {related}"
    );
    assert_ne!(related["items"][3]["source"], "bought_together");

    let u1 = app.customer("user_id", "u1").await["id"].as_u64().unwrap();
    let for_u1 = |strategy: &str| format!("/customers/{u1}/recommendations?strategy={strategy}&limit=5");
    // Recently viewed: earlier visits only (not the tent, viewed now), not what was bought.
    let viewed = app.get(&for_u1("recently_viewed")).await;
    obeys_the_rules(&viewed);
    assert_eq!(ids(&viewed)[..2], ["lamp", "chair"], "{viewed}");
    assert_eq!(sources(&viewed)[..2], ["recently_viewed", "recently_viewed"]);
    assert!(!ids(&viewed).contains(&"tent".to_string()) && !ids(&viewed).contains(&"pegs".to_string()));
    // Recently purchased names the purchase (a review request); the others leave it out.
    let bought = app.get(&for_u1("recently_purchased")).await;
    assert_eq!(
        (ids(&bought)[0].as_str(), sources(&bought)[0].as_str()),
        ("pegs", "recently_purchased")
    );
    let carted = app.get(&for_u1("recently_carted")).await;
    assert_eq!(
        (ids(&carted)[0].as_str(), sources(&carted)[0].as_str()),
        ("water", "recently_carted")
    );
    for strategy in [
        "for_you",
        "cross_sell",
        "bought_together",
        "bestsellers",
        "most_viewed",
        "recently_viewed",
        "recently_carted",
    ] {
        let v = app.get(&for_u1(strategy)).await;
        obeys_the_rules(&v);
        assert_eq!(v["strategy"], strategy);
        assert!(
            !ids(&v).contains(&"pegs".to_string()),
            "{strategy} leaves out what was bought recently: {v}"
        );
    }
    // Cross-sell: the complements of the pegs.
    let cross = app.get(&for_u1("cross_sell")).await;
    assert_eq!(sources(&cross)[0], "cross_sell", "{cross}");
    assert!(ids(&cross)[..2].contains(&"tent".to_string()), "{cross}");

    // The storefront: product cards from the catalogue as it is now.
    let res = storefront(&app, "strategy=bought_together&product_id=tent&userId=u1&limit=3").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "private, max-age=60");
    let v: Value = res.json().await.unwrap();
    obeys_the_rules(&v);
    let pegs = v["items"].as_array().unwrap().iter().find(|i| i["id"] == "pegs");
    assert!(pegs.is_none(), "u1 bought the pegs three days ago: {v}");
    let lamp = &v["items"][0];
    assert_eq!(
        (
            lamp["id"].clone(),
            lamp["name"].clone(),
            lamp["price"].clone(),
            lamp["category"].clone()
        ),
        (json!("lamp"), json!("LED 랜턴"), json!(39000.0), json!("캠핑/소품"))
    );
    // A brand-new anonymous visitor: bestsellers, never an empty list.
    let v: Value = storefront(&app, "strategy=for_you&anonymousId=never-seen&limit=3")
        .await
        .json()
        .await
        .unwrap();
    obeys_the_rules(&v);
    assert_eq!(ids(&v)[..2], ["tent", "water"], "{v}");
    assert_eq!(sources(&v)[0], "bestsellers");
    let res = storefront(&app, "strategy=bestsellers&days=7&category=캠핑").await;
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let v: Value = res.json().await.unwrap();
    assert_eq!(ids(&v)[0], "tent", "the camping bestseller: {v}");
    // Bad input names the field; no write key is refused.
    for (query, field) in [("strategy=magic", "strategy"), ("days=3", "days"), ("limit=0", "limit")] {
        let res = storefront(&app, query).await;
        assert_eq!(res.status(), 400, "{query}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    let res = app.client.get(app.url("/v1/recommendations")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app.admin(Method::GET, "/products/nope/related").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .admin(Method::GET, "/customers/999/recommendations")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .get(app.url(&format!("/api/v1/customers/{u1}/recommendations")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The nightly build: stored, and loaded after a restart.
    // (A new store's first start runs every job once: wait out that run if it is still going.)
    let run = crate::common::run_job(&app, "recommend").await;
    assert_eq!(run["outcome"], "ok", "{run}");
    assert!(run["message"].as_str().unwrap().starts_with("13 orders"), "{run}");
    let dir = app.stop().await;
    let app = TestApp::spawn_on(&app.dir).await;
    let again = app.get("/products/tent/related?limit=4").await;
    let mut top = ids(&again)[..2].to_vec();
    top.sort();
    assert_eq!(top, ["lamp", "pegs"], "{again}");
    assert_eq!(
        again["items"][0]["support"], 3.0,
        "the stored model, not counted twice: {again}"
    );
    drop(dir);
}
