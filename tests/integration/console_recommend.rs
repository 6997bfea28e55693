//! Recommendations in the console over plain HTTP: a small camping shop made through the APIs
//! (one product out of stock), the Recommendations card of a customer's page with its strategy
//! switcher and source badges, the Bought together card of a product's page with the orders
//! behind each pair, both for a viewer and in Korean, and a shop without orders or products.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, console_cookie, element, page};

/// The listed products of a card, in order: (product id, source), from the rows' data.
fn rows(card: &str) -> Vec<(String, String)> {
    card.split("<tr data-product=\"")
        .skip(1)
        .map(|row| {
            let id = row.split('"').next().unwrap().to_string();
            let source = row
                .split("data-source=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap()
                .to_string();
            (id, source)
        })
        .collect()
}

/// The scores of a card's rows, as shown.
fn scores(card: &str) -> Vec<String> {
    card.split("<td class=\"num\">")
        .skip(1)
        .map(|cell| cell.split("</td>").next().unwrap().to_string())
        .collect()
}

/// The cookie of `signed_in` with the labels in Korean.
fn korean(signed_in: &str) -> String {
    signed_in.replace("dangol_lang=en", "dangol_lang=ko")
}

fn ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339()
}

/// The shop: the tent was bought with the pegs and the lamp three times, and with the stove
/// (out of stock) three times; water sells alone; the chair was never ordered. The customer
/// `u1` bought the lamp three days ago, viewed the chair two days ago and carted water
/// yesterday.
async fn shop(app: &TestApp) {
    let products = json!([
        {"id": "tent", "name": "돔 텐트", "category": "캠핑/텐트", "price": 189000, "image_url": "https://shop.example/tent.jpg"},
        {"id": "pegs", "name": "단조 팩", "category": "캠핑/소품", "price": 12000, "sale_price": 9900},
        {"id": "lamp", "name": "LED 랜턴", "category": "캠핑/소품", "price": 39000},
        {"id": "stove", "name": "버너", "category": "캠핑/소품", "price": 59000, "in_stock": false},
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
    let order = |user: &str, id: String, items: &[&str], at: String| {
        json!({"type": "track", "userId": user, "event": "Order Completed", "timestamp": at,
            "properties": {"order_id": id, "products": items.iter().map(|p| json!({"product_id": p, "price": 1000, "quantity": 1})).collect::<Vec<_>>()}})
    };
    let mut batch = Vec::new();
    for i in 0..3 {
        batch.push(order(
            &format!("b{i}"),
            format!("o-a{i}"),
            &["tent", "pegs", "lamp"],
            ago(5),
        ));
        batch.push(order(&format!("c{i}"), format!("o-b{i}"), &["tent", "stove"], ago(5)));
    }
    for i in 0..4 {
        batch.push(order(&format!("w{i}"), format!("o-w{i}"), &["water"], ago(3)));
    }
    batch.push(order("u1", "o-u1".into(), &["lamp"], ago(72)));
    batch.push(json!({"type": "track", "userId": "u1", "event": "Product Viewed", "timestamp": ago(48), "properties": {"product_id": "chair"}}));
    batch.push(json!({"type": "track", "userId": "u1", "event": "Product Added", "timestamp": ago(24), "properties": {"product_id": "water"}}));
    let res = app.send("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(res.status(), 200);
    // The engine counts new orders from the writer's notices, moments after the commit.
    for _ in 0..200 {
        let related = app.get("/products/tent/related").await;
        if related["items"][0]["support"] == 3.0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the orders were never counted");
}

#[tokio::test]
async fn customer_and_product_pages_show_recommendations_with_scores_and_sources() {
    let app = TestApp::spawn().await;
    shop(&app).await;
    let u1 = app.customer("user_id", "u1").await["id"].as_u64().unwrap();
    let owner = console_cookie(&app, "admin", "test-admin-password").await;

    // The customer's card: "for you" by default, every strategy in words, products with their
    // price, score and source; never the stove (out of stock) nor the lamp (bought three days
    // ago).
    let (status, html) = page(&app, &owner, &format!("/customers/{u1}")).await;
    assert_eq!(status, 200);
    let card = element(&html, "customer-recommendations");
    assert!(card.contains("<h2>Recommendations</h2>"), "{card}");
    for (key, label) in [
        ("for_you", "For you"),
        ("recently_viewed", "Recently viewed"),
        ("recently_carted", "Left in cart"),
        ("recently_purchased", "Recently bought"),
        ("cross_sell", "Goes with purchases"),
        ("bought_together", "Bought together"),
        ("bestsellers", "Bestsellers"),
        ("most_viewed", "Most viewed"),
    ] {
        assert!(
            card.contains(&format!(
                "href=\"/customers/{u1}?rec={key}#customer-recommendations\" data-strategy=\"{key}\""
            )) && card.contains(&format!(">{label}</a>")),
            "{key} in {card}"
        );
    }
    assert!(
        card.contains("data-strategy=\"for_you\" aria-current=\"true\""),
        "{card}"
    );
    let listed = rows(&card);
    assert!(!listed.is_empty() && listed.len() <= 10, "{card}");
    let ids: Vec<&str> = listed.iter().map(|r| r.0.as_str()).collect();
    assert!(!ids.contains(&"stove") && !ids.contains(&"lamp"), "{ids:?}");
    assert!(
        listed.contains(&("water".into(), "recently_carted".into())),
        "what was left in the cart: {card}"
    );
    assert!(
        card.contains("<span class=\"badge src own\">Left in cart</span>"),
        "{card}"
    );
    assert!(ids.contains(&"chair"), "viewed in an earlier visit: {ids:?}");
    assert!(card.contains("<a href=\"/products/water\" translate=\"no\">생수</a>"));
    assert!(card.contains("<s class=\"muted\">₩12,000</s> ₩9,900") || !ids.contains(&"pegs"));
    assert!(card.contains("fallback chain: personal → bought together"), "{card}");
    let scores = scores(&card);
    assert_eq!(scores.len(), listed.len());
    assert!(
        scores
            .iter()
            .all(|s| s.split_once('.').is_some_and(|(_, d)| d.len() == 3) && s.parse::<f64>().is_ok()),
        "scores to three decimals: {scores:?}"
    );

    // Recently purchased: what the customer bought, then the fallback in grey.
    let (_, html) = page(&app, &owner, &format!("/customers/{u1}?rec=recently_purchased")).await;
    let card = element(&html, "customer-recommendations");
    assert!(card.contains("data-strategy=\"recently_purchased\" aria-current=\"true\""));
    let listed = rows(&card);
    assert_eq!(listed[0], ("lamp".into(), "recently_purchased".into()), "{card}");
    assert!(card.contains("<span class=\"badge src own\">Recently bought</span>"));
    assert!(listed[1..].iter().all(|r| r.1 != "recently_purchased"), "{card}");
    assert!(
        card.contains("<span class=\"badge src\">"),
        "the fallback's badges are not the strategy's own: {card}"
    );
    // Every strategy fills its list and leaves out the stove; a strategy the page does not
    // know is "for you".
    for strategy in [
        "for_you",
        "recently_viewed",
        "recently_carted",
        "cross_sell",
        "bought_together",
        "bestsellers",
        "most_viewed",
        "magic",
    ] {
        let (status, html) = page(&app, &owner, &format!("/customers/{u1}?rec={strategy}")).await;
        assert_eq!(status, 200);
        let card = element(&html, "customer-recommendations");
        let listed = rows(&card);
        assert!(!listed.is_empty(), "{strategy}: {card}");
        assert!(!listed.iter().any(|r| r.0 == "stove"), "{strategy}: {card}");
        let current = if strategy == "magic" { "for_you" } else { strategy };
        assert!(card.contains(&format!("data-strategy=\"{current}\" aria-current=\"true\"")));
    }
    let (_, html) = page(&app, &owner, &format!("/customers/{u1}?rec=cross_sell")).await;
    let listed = rows(&element(&html, "customer-recommendations"));
    assert_eq!(listed[0].1, "cross_sell", "the lamp's complements: {listed:?}");

    // The tent's page: the pegs and the lamp, each bought with it in 3 orders; never the tent
    // itself nor the stove (bought with it as often, but out of stock); the rest from the
    // fallback, without a count.
    let (status, html) = page(&app, &owner, "/products/tent").await;
    assert_eq!(status, 200);
    let card = element(&html, "product-related");
    assert!(card.contains("<h2>Bought together</h2>"), "{card}");
    let listed = rows(&card);
    let mut top: Vec<&str> = listed[..2].iter().map(|r| r.0.as_str()).collect();
    top.sort();
    assert_eq!(top, ["lamp", "pegs"], "{card}");
    assert!(listed[..2].iter().all(|r| r.1 == "bought_together"));
    assert_eq!(card.matches("bought together in 3 orders").count(), 2, "{card}");
    assert!(!listed.iter().any(|r| r.0 == "tent" || r.0 == "stove"), "{card}");
    assert!(listed.len() > 2 && listed[2..].iter().all(|r| r.1 != "bought_together"));
    assert!(
        card.contains("<s class=\"muted\">₩12,000</s> ₩9,900"),
        "the pegs' sale: {card}"
    );
    assert!(card.contains("Items not bought together with this product came from the fallback"));
    // In Korean.
    let (_, html) = page(&app, &korean(&owner), "/products/tent").await;
    let card = element(&html, "product-related");
    assert!(
        card.contains("<h2>함께 구매한 상품</h2>") && card.matches("3건의 주문에서 함께 구매").count() == 2,
        "{card}"
    );
    assert!(card.contains("<span class=\"badge src own\">함께 구매</span>") && card.contains("12,000원"));
    let (_, html) = page(
        &app,
        &korean(&owner),
        &format!("/customers/{u1}?rec=recently_purchased"),
    )
    .await;
    let card = element(&html, "customer-recommendations");
    assert!(
        card.contains("<h2>추천 상품</h2>") && card.contains("최근 구매</span>"),
        "{card}"
    );
    assert!(
        card.contains(">맞춤 추천</a>") && card.contains(">함께 구매</a>"),
        "{card}"
    );

    // A product nobody ordered still gets a list: the fallback's bestsellers.
    let (_, html) = page(&app, &owner, "/products/chair").await;
    let card = element(&html, "product-related");
    let listed = rows(&card);
    assert!(!listed.is_empty(), "{card}");
    assert!(!listed.iter().any(|r| r.0 == "chair" || r.0 == "stove"), "{card}");
    assert!(listed.iter().all(|r| r.1 != "bought_together"), "{card}");
    assert!(!card.contains("bought together in"), "{card}");

    // A viewer reads both cards.
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": "viewer", "password": "viewer-password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let viewer = console_cookie(&app, "viewer", "viewer-password").await;
    let (status, html) = page(&app, &viewer, &format!("/customers/{u1}?rec=bestsellers")).await;
    assert_eq!(status, 200);
    assert!(!rows(&element(&html, "customer-recommendations")).is_empty());
    let (status, html) = page(&app, &viewer, "/products/tent").await;
    assert_eq!(status, 200);
    assert!(element(&html, "product-related").contains("bought together in 3 orders"));
    // Signed out, neither page shows.
    let (status, _) = page(&app, "", "/products/tent").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn a_shop_without_products_says_so_and_one_without_orders_shows_its_newest() {
    let app = TestApp::spawn().await;
    assert_eq!(app.send("/v1/identify", json!({"userId": "first"})).await.status(), 200);
    let id = app.customer("user_id", "first").await["id"].as_u64().unwrap();
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (status, html) = page(&app, &owner, &format!("/customers/{id}")).await;
    assert_eq!(status, 200);
    let card = element(&html, "customer-recommendations");
    assert!(card.contains("No products to recommend yet."), "{card}");
    assert!(rows(&card).is_empty());
    let (_, html) = page(&app, &korean(&owner), &format!("/customers/{id}")).await;
    assert!(element(&html, "customer-recommendations").contains("아직 추천할 상품이 없습니다."));

    // Products, still no orders: the newest, on the customer's page and on a product's.
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([
            {"id": "mug", "name": "머그", "price": 8000},
            {"id": "cup", "name": "컵", "price": 5000},
            {"id": "gone", "name": "품절 상품", "price": 1000, "in_stock": false}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, html) = page(&app, &owner, &format!("/customers/{id}")).await;
    let card = element(&html, "customer-recommendations");
    let listed = rows(&card);
    let mut ids: Vec<&str> = listed.iter().map(|r| r.0.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["cup", "mug"], "{card}");
    assert!(listed.iter().all(|r| r.1 == "newest"), "{card}");
    assert!(card.contains("<span class=\"badge src\">Newest</span>"), "{card}");
    let (_, html) = page(&app, &owner, "/products/mug").await;
    let card = element(&html, "product-related");
    assert_eq!(rows(&card), [("cup".to_string(), "newest".to_string())], "{card}");
    assert!(card.contains("<td class=\"num\">0.000</td>"), "{card}");
    let v: Value = app.get("/products/mug/related").await;
    assert_eq!(v["items"][0]["id"], "cup", "the page shows what the API answers");
}
