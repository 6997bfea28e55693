//! The storefront script (`/dangol.js`, CONTRACT §7) on a small shop of the test's own, served
//! from another origin, in Debian's Chromium: a visitor arrives from an ad, browses, carts,
//! signs in and orders, and dangol holds one customer with the whole visit.

use std::time::{Duration, Instant};

use axum::http::header;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{browser, driver, find, run, wait_path};
use crate::common::{IDENTITY_SECRET, TestApp, WRITE_KEY};

/// The shop's pages. `{TAG}` is the script tag, `{HEAD}` what a page puts before it.
const LAYOUT: &str = r#"<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{TITLE}</title>{HEAD}{TAG}</head>
<body><h1>{TITLE}</h1>{BODY}</body></html>"#;

/// A small storefront on its own loopback port: the home page, two product pages (one with a
/// schema.org Product in JSON-LD, one with `data-dangol-product`), a sign-in page whose server
/// makes the member's `userHash`, an order-complete page, and a page that asks for consent first.
async fn shop(dangol: &str) -> String {
    let tag = |extra: &str| {
        format!(r#"<script async src="{dangol}/dangol.js" data-write-key="{WRITE_KEY}"{extra}></script>"#)
    };
    let page = move |title: &str, head: &str, body: &str, extra: &str| {
        LAYOUT
            .replace("{TITLE}", title)
            .replace("{HEAD}", head)
            .replace("{TAG}", &tag(extra))
            .replace("{BODY}", body)
    };
    let home = page(
        "단골 향수",
        "",
        r#"<a id="next" href="/products/P1">플라워 오드퍼퓸</a>"#,
        "",
    );
    let p1 = page(
        "플라워 오드퍼퓸 50ml",
        r#"<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
            {"@type":"BreadcrumbList","itemListElement":[]},
            {"@type":"Product","sku":"P1","name":"플라워 오드퍼퓸 50ml","category":"향수/여성향수",
             "image":["https://shop.example/p1.jpg"],"brand":{"@type":"Brand","name":"단골"},
             "offers":{"@type":"Offer","price":"39000","priceCurrency":"KRW"}}]}</script>"#,
        r#"<a id="next" href="/products/P2">캔들</a>"#,
        "",
    );
    let p2 = page(
        "소이 캔들",
        "",
        r#"<div data-dangol-product data-id="P2" data-name="소이 캔들" data-price="20000" data-category="리빙/캔들"></div>
           <button id="cart" onclick="analytics.track('Product Added', {product_id: 'P2', name: '소이 캔들', price: 20000, quantity: 1}); this.textContent = 'added'">담기</button>"#,
        "",
    );
    // The shop's server knows who signed in and makes the hash; the call is queued before the
    // script has loaded.
    let hash = dangol::auth::user_hash(IDENTITY_SECRET, "member-1");
    let login = page(
        "로그인 완료",
        &format!(
            r#"<script>window.dangol = window.dangol || []; dangol.push(["identify", "member-1", {{"email": "m1@example.com", "name": "김단골"}}, {{"userHash": "{hash}"}}]);</script>"#
        ),
        "",
        "",
    );
    let order = page(
        "주문 완료",
        r#"<script>window.dangol = window.dangol || []; dangol.push(["track", "Order Completed", {"order_id": "W-1", "total": 59000, "currency": "KRW",
            "products": [{"product_id": "P1", "price": 39000, "quantity": 1}, {"product_id": "P2", "price": 20000, "quantity": 1}]}]);</script>"#,
        "",
        "",
    );
    let consent = page(
        "동의가 필요한 상점",
        "",
        r#"<button id="agree" onclick="window.agreedAt = Date.now(); dangol.consent(true)">동의</button>"#,
        r#" data-consent="required""#,
    );
    let html = |body: String| move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body) };
    let router = axum::Router::new()
        .route("/", axum::routing::get(html(home)))
        .route("/products/P1", axum::routing::get(html(p1)))
        .route("/products/P2", axum::routing::get(html(p2)))
        .route("/login", axum::routing::get(html(login)))
        .route("/order-complete", axum::routing::get(html(order)))
        .route("/consent", axum::routing::get(html(consent)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Waits until `check` holds for what dangol has of the customer `key=value` (the script sends
/// 50 ms after a call, or as the page is left).
async fn until(app: &TestApp, key: &str, what: &str, check: impl Fn(&Value, &[Value]) -> bool) -> (Value, Vec<Value>) {
    let started = Instant::now();
    loop {
        let res = app
            .admin(reqwest::Method::GET, &format!("/customers/lookup?{key}"))
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            let c: Value = res.json().await.unwrap();
            let events = app.events_of(c["id"].as_u64().unwrap()).await;
            if check(&c, &events) {
                return (c, events);
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn eval(c: &Client, js: &str) -> anyhow::Result<Value> {
    Ok(c.execute(js, vec![]).await?)
}

/// Waits until the script has loaded on the current page.
async fn loaded(c: &Client) -> anyhow::Result<()> {
    for _ in 0..400 {
        if eval(c, "return !!(window.dangol && window.dangol.loaded)").await? == json!(true) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("dangol.js never loaded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_in_a_real_browser_tracks_a_visit_from_the_ad_to_the_order() {
    let app = TestApp::spawn().await;
    let shop = shop(&app.base).await;
    let driver = driver().await;
    let c = browser(&driver).await;
    let steps = async {
        // From an ad: the landing page has UTM parameters; each later page has the one before
        // as its referrer.
        c.goto(&format!(
            "{shop}/?utm_source=naver&utm_medium=cpc&utm_campaign=winter_sale"
        ))
        .await?;
        loaded(&c).await?;
        find(&c, "#next").await?.click().await?;
        wait_path(&c, "/products/P1").await?;
        loaded(&c).await?;
        find(&c, "#next").await?.click().await?;
        wait_path(&c, "/products/P2").await?;
        loaded(&c).await?;
        find(&c, "#cart").await?.click().await?;
        c.wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::XPath("//button[text()='added']"))
            .await?;
        let anon = eval(&c, "return dangol.user().anonymousId").await?;
        anyhow::ensure!(
            eval(&c, "return document.cookie")
                .await?
                .as_str()
                .unwrap_or_default()
                .contains(&format!("dangol_aid={}", anon.as_str().unwrap_or("?"))),
            "the anonymous id is in a first-party cookie"
        );
        c.goto(&format!("{shop}/login")).await?;
        loaded(&c).await?;
        c.goto(&format!("{shop}/order-complete")).await?;
        loaded(&c).await?;
        Ok::<_, anyhow::Error>(anon)
    };
    let mut anon = Value::Null;
    run("storefront_visit", &c, async {
        anon = steps.await?;
        Ok(())
    })
    .await;

    let (member, events) = until(&app, "user_id=member-1", "the whole visit", |c, e| {
        c["stats"]["orders_count"] == 1 && e.len() >= 10
    })
    .await;
    assert_eq!(events.len(), 10, "each call once");
    assert_eq!(member["email"], "m1@example.com");
    assert_eq!(member["name"], "김단골");
    assert_eq!(
        member["identities"]["anonymous_ids"],
        json!([anon]),
        "the anonymous visit is the member's"
    );
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["event"]
                    .as_str()
                    .or(e["context"]["page"]["path"].as_str())
                    .unwrap_or("")
            )
        })
        .collect();
    for want in [
        "page /",
        "page /products/P1",
        "track Product Viewed",
        "page /products/P2",
        "track Product Added",
        "page /login",
        "identify /login",
        "page /order-complete",
        "track Order Completed",
    ] {
        assert!(kinds.contains(&want.to_string()), "{want} in {kinds:?}");
    }
    assert!(events.iter().all(|e| e["context"]["library"]["name"] == "dangol.js"));
    let page = |path: &str| {
        events
            .iter()
            .find(|e| e["type"] == "page" && e["context"]["page"]["path"] == path)
            .unwrap()
    };
    let landing = page("/");
    assert_eq!(
        landing["context"]["campaign"],
        json!({"source": "naver", "medium": "cpc", "name": "winter_sale"})
    );
    assert_eq!(
        landing["properties"]["search"],
        "?utm_source=naver&utm_medium=cpc&utm_campaign=winter_sale"
    );
    assert!(landing["context"]["userAgent"].as_str().unwrap().contains("Chrome"));
    assert_eq!(
        page("/products/P1")["properties"]["referrer"],
        format!("{shop}/?utm_source=naver&utm_medium=cpc&utm_campaign=winter_sale")
    );
    assert_eq!(page("/products/P1")["properties"]["title"], "플라워 오드퍼퓸 50ml");
    let viewed: Vec<&Value> = events.iter().filter(|e| e["event"] == "Product Viewed").collect();
    assert_eq!(viewed.len(), 2);
    let p1 = viewed.iter().find(|e| e["properties"]["product_id"] == "P1").unwrap();
    assert_eq!(p1["properties"]["name"], "플라워 오드퍼퓸 50ml");
    assert_eq!(p1["properties"]["price"], 39000);
    assert_eq!(p1["properties"]["currency"], "KRW");
    assert_eq!(p1["properties"]["category"], "향수/여성향수");
    assert_eq!(p1["properties"]["brand"], "단골");
    assert_eq!(p1["properties"]["image_url"], "https://shop.example/p1.jpg");
    let p2 = viewed.iter().find(|e| e["properties"]["product_id"] == "P2").unwrap();
    assert_eq!(p2["properties"]["price"], 20000);
    assert_eq!(p2["properties"]["category"], "리빙/캔들");
    // The order and the interests it leaves, as from any Segment client.
    assert_eq!(app.get("/orders/W-1").await["customer_id"], member["id"]);
    assert_eq!(member["stats"]["total_spent"], 59000.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_consent_required_the_browser_stores_and_sends_nothing_before_consent() {
    let app = TestApp::spawn().await;
    let shop = shop(&app.base).await;
    let driver = driver().await;
    let c = browser(&driver).await;
    let mut agreed_at = 0;
    let mut anon = String::new();
    run("storefront_consent", &c, async {
        c.goto(&format!("{shop}/consent")).await?;
        loaded(&c).await?;
        // The page's own call is made (the script calls page() as it loads), and held.
        let before = eval(
            &c,
            "return {cookie: document.cookie, stored: Object.keys(localStorage).filter(k => k.startsWith('dangol')),
                     sent: performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/')).length}",
        )
        .await?;
        anyhow::ensure!(
            before == json!({"cookie": "", "stored": [], "sent": 0}),
            "before consent: {before}"
        );
        find(&c, "#agree").await?.click().await?;
        agreed_at = eval(&c, "return window.agreedAt").await?.as_i64().unwrap_or(0);
        anon = eval(&c, "return dangol.user().anonymousId")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let after = eval(&c, "return document.cookie").await?;
        anyhow::ensure!(after == json!(format!("dangol_aid={anon}")), "after consent: {after}");
        Ok(())
    })
    .await;
    let (_, events) = until(
        &app,
        &format!("anonymous_id={anon}"),
        "the page after consent",
        |_, e| !e.is_empty(),
    )
    .await;
    assert_eq!(events.len(), 1);
    let page = &events[0];
    assert_eq!(page["type"], "page");
    let received = chrono::DateTime::parse_from_rfc3339(page["received_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    let made = chrono::DateTime::parse_from_rfc3339(page["timestamp"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert!(made <= agreed_at, "the page event was made as the page loaded");
    assert!(received >= agreed_at, "and sent only once consent was given");
}

/// The script itself: gzipped at most 8 KB, revalidated by its `ETag` for nothing.
#[tokio::test]
async fn the_script_is_small_and_cached() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/dangol.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(h["cache-control"], "public, max-age=300");
    let etag = h["etag"].to_str().unwrap().to_string();
    let body = res.bytes().await.unwrap();
    assert!(body.len() <= 8 * 1024, "{} bytes gzipped", body.len());
    let res = app
        .client
        .get(app.url("/dangol.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.unwrap().is_empty());
}
