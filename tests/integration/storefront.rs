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

/// A shop of four products for the on-site messages: `/products/{id}` (with
/// `data-dangol-product`), `/cart` and `/order/{id}` (an order of P1 with that id).
async fn message_shop(app: &TestApp) -> String {
    let router = axum::Router::new().route(
        "/{*path}",
        axum::routing::get({
            let dangol = app.base.clone();
            move |axum::extract::Path(path): axum::extract::Path<String>| {
                let dangol = dangol.clone();
                async move {
                    use axum::response::IntoResponse;
                    // A product's picture: a tile in its own colour.
                    if let Some(id) = path.strip_prefix("img/").and_then(|f| f.strip_suffix(".svg")) {
                        let hue = id.bytes().map(u32::from).sum::<u32>() * 47 % 360;
                        let svg = format!(
                            r##"<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240"><rect width="240" height="240" fill="hsl({hue},45%,78%)"/><circle cx="120" cy="110" r="52" fill="hsl({hue},40%,60%)"/><text x="120" y="210" font-size="28" text-anchor="middle" fill="#333">{id}</text></svg>"##
                        );
                        return ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response();
                    }
                    let tag = format!(r#"<script async src="{dangol}/dangol.js" data-write-key="{WRITE_KEY}"></script>"#);
                    let (title, head, body) = match path.split_once('/') {
                        Some(("products", id)) => (
                            format!("상품 {id}"),
                            String::new(),
                            format!(r#"<div data-dangol-product data-id="{id}" data-name="상품 {id}"></div><p style="height:2000px">상세 설명</p>"#),
                        ),
                        Some(("order", id)) => (
                            "주문 완료".to_string(),
                            format!(
                                r#"<script>window.dangol = window.dangol || []; dangol.push(["track", "Order Completed", {{"order_id": "{id}", "total": 49000, "products": [{{"product_id": "P1", "price": 49000, "quantity": 1}}]}}]);</script>"#
                            ),
                            String::new(),
                        ),
                        _ => ("장바구니".to_string(), String::new(), "<p>장바구니</p>".to_string()),
                    };
                    let html = LAYOUT
                        .replace("{TITLE}", &title)
                        .replace("{HEAD}", &head)
                        .replace("{TAG}", &tag)
                        .replace("{BODY}", &body);
                    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let products: Vec<Value> = [
        ("P1", "플라워 오드퍼퓸", 59000, 49000),
        ("P2", "소이 캔들", 20000, 20000),
        ("P3", "핸드크림", 12000, 12000),
        ("P4", "디퓨저", 32000, 29000),
    ]
    .iter()
    .map(|(id, name, price, sale)| {
        json!({"id": id, "name": name, "price": price, "sale_price": sale, "url": format!("{url}/products/{id}"),
                   "image_url": format!("{url}/img/{id}.svg"), "category": "향수"})
    })
    .collect();
    let res = app
        .admin(reqwest::Method::POST, "/products")
        .json(&products)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    url
}

async fn set_clock(app: &TestApp, now: &str) {
    let res = app
        .admin(reqwest::Method::POST, "/clock")
        .json(&json!({ "now": now }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Opens `url` and waits until the script has its answer for the page: the messages due.
async fn visit(c: &Client, url: &str) -> anyhow::Result<Vec<Value>> {
    c.goto(url).await?;
    loaded(c).await?;
    for _ in 0..400 {
        if let Value::Array(due) = eval(c, "return window.dangol.due || null").await? {
            return Ok(due);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("no answer for the messages of {url}")
}

/// The cards of the message on screen, by product id.
async fn cards_on_screen(c: &Client) -> anyhow::Result<Vec<String>> {
    for _ in 0..400 {
        let got = eval(
            c,
            "const h = document.querySelector('[data-dangol-message]');
             return h ? [...h.shadowRoot.querySelectorAll('.card')].map(a => a.dataset.product) : null",
        )
        .await?;
        if let Value::Array(ids) = got {
            return Ok(ids.iter().filter_map(|v| v.as_str().map(str::to_string)).collect());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("no message on screen")
}

async fn click_in_message(c: &Client, css: &str) -> anyhow::Result<()> {
    let clicked = eval(
        c,
        &format!(
            "const el = document.querySelector('[data-dangol-message]').shadowRoot.querySelector('{css}'); if (el) el.click(); return !!el"
        ),
    )
    .await?;
    anyhow::ensure!(clicked == json!(true), "nothing to click at {css}");
    Ok(())
}

/// The events of the browser's visitor with `event` as their name.
async fn events_named(app: &TestApp, anon: &str, event: &str, want: usize) -> Vec<Value> {
    let (_, events) = until(app, &format!("anonymous_id={anon}"), event, |_, e| {
        e.iter().filter(|x| x["event"] == event).count() >= want
    })
    .await;
    events.into_iter().filter(|x| x["event"] == event).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_a_popup_shows_the_last_visit_s_products_and_counts_its_click_and_order() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = dangol::config::Config::for_tests(tmp.path());
    config.now = Some(chrono::DateTime::parse_from_rfc3339("2026-12-07T09:00:00+09:00").unwrap());
    let mut app = TestApp::spawn_with(config).await;
    app.keep(tmp);
    let shop = message_shop(&app).await;
    let res = app
        .admin(reqwest::Method::POST, "/messages")
        .json(&json!({"name": "다시 보기", "kind": "recommendation", "recommend": {"strategy": "recently_viewed", "limit": 4},
                      "content": {"title": "다시 보시겠어요?", "subtitle": "지난번에 보신 상품이에요"}}))
        .send()
        .await
        .unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    app.admin(reqwest::Method::POST, &format!("/messages/{id}/activate"))
        .send()
        .await
        .unwrap();
    let driver = driver().await;
    let c = browser(&driver).await;
    let mut anon = String::new();
    run("storefront_popup_first_visit", &c, async {
        // The first visit: two products; nothing of an earlier visit to show yet.
        anyhow::ensure!(visit(&c, &format!("{shop}/products/P1")).await?.is_empty());
        anyhow::ensure!(visit(&c, &format!("{shop}/products/P2")).await?.is_empty());
        anon = eval(&c, "return dangol.user().anonymousId")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(())
    })
    .await;
    events_named(&app, &anon, "Product Viewed", 2).await;

    // Two hours later, the second visit.
    set_clock(&app, "2026-12-07T11:00:00+09:00").await;
    run("storefront_popup_second_visit", &c, async {
        let due = visit(&c, &format!("{shop}/products/P3")).await?;
        anyhow::ensure!(due.len() == 1, "due: {due:?}");
        let cards = cards_on_screen(&c).await?;
        anyhow::ensure!(
            cards[..2] == ["P2", "P1"],
            "the first visit's products first: {cards:?}"
        );
        anyhow::ensure!(!cards.contains(&"P3".to_string()), "nothing of this visit: {cards:?}");
        if std::env::var_os("DANGOL_SCREENSHOTS").is_some() {
            crate::browser::save_screenshot(&c, "onsite-recommendation.png").await?;
        }
        Ok(())
    })
    .await;
    events_named(&app, &anon, "Message Viewed", 1).await;
    run("storefront_popup_once_a_visit", &c, async {
        // Seen in this visit: not again on the next page; a click on a card is counted.
        let again = visit(&c, &format!("{shop}/products/P4")).await?;
        anyhow::ensure!(again.is_empty(), "once a visit: {again:?}");
        Ok(())
    })
    .await;
    set_clock(&app, "2026-12-07T13:00:00+09:00").await;
    run("storefront_popup_click", &c, async {
        anyhow::ensure!(visit(&c, &format!("{shop}/cart")).await?.len() == 1, "a new visit");
        cards_on_screen(&c).await?;
        click_in_message(&c, ".card[data-product=P1]").await?;
        wait_path(&c, "/products/P1").await?;
        loaded(&c).await?;
        Ok(())
    })
    .await;
    let clicked = events_named(&app, &anon, "Message Clicked", 1).await;
    assert_eq!(clicked[0]["properties"]["message_id"], id);
    assert_eq!(clicked[0]["properties"]["product_id"], "P1");
    run("storefront_popup_order", &c, async {
        visit(&c, &format!("{shop}/order/W-77")).await?;
        Ok(())
    })
    .await;
    let started = Instant::now();
    let report = loop {
        let r = app.get(&format!("/messages/{id}/report")).await;
        if r["totals"]["conversions"] == 1 {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no conversion: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(report["totals"]["impressions"], 2);
    assert_eq!(report["totals"]["unique_viewers"], 1);
    assert_eq!(report["totals"]["clicks"], 1);
    assert_eq!(report["totals"]["revenue"], 49000.0);

    // "7일간 보지 않기" on the next visit puts it away: the next day, nothing.
    set_clock(&app, "2026-12-07T15:00:00+09:00").await;
    run("storefront_popup_snooze", &c, async {
        anyhow::ensure!(visit(&c, &format!("{shop}/cart")).await?.len() == 1);
        cards_on_screen(&c).await?;
        click_in_message(&c, "[data-dangol-snooze]").await?;
        let gone = eval(&c, "return !document.querySelector('[data-dangol-message]')").await?;
        anyhow::ensure!(gone == json!(true), "the message is gone from the page");
        Ok(())
    })
    .await;
    let closed = events_named(&app, &anon, "Message Closed", 1).await;
    assert_eq!(closed[0]["properties"]["dont_show_days"], 7);
    set_clock(&app, "2026-12-08T15:00:00+09:00").await;
    run("storefront_popup_snoozed", &c, async {
        let due = visit(&c, &format!("{shop}/cart")).await?;
        anyhow::ensure!(due.is_empty(), "put away for 7 days: {due:?}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_every_kind_of_message_shows_and_a_coupon_code_is_revealed() {
    let app = TestApp::spawn().await;
    let shop = message_shop(&app).await;
    let res = app
        .admin(reqwest::Method::POST, "/coupons")
        .json(&json!({"name": "첫 구매 3천원", "discount": {"type": "fixed", "amount": 3000}}))
        .send()
        .await
        .unwrap();
    let coupon = res.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    for (who, order) in [("buyer-1", "s1"), ("buyer-2", "s2"), ("buyer-3", "s3")] {
        app.send_from_server(
            "/v1/track",
            json!({"anonymousId": who, "event": "Order Completed",
                   "properties": {"order_id": order, "total": 49000, "products": [{"product_id": "P1", "price": 49000, "quantity": 1}]}}),
        )
        .await;
    }
    let on = |k: &str| json!({"urls": [{"match": "contains", "value": format!("k={k}")}]});
    let kinds = [
        (
            "modal",
            json!({"kind": "modal", "content": {"title": "회원가입하고 10% 할인받으세요", "subtitle": "가입 즉시 쿠폰을 드려요",
            "html": "<p>지금 가입하면 <b>첫 구매 10%</b> 할인</p>", "button_text": "가입하기", "button_url": "/join"}}),
        ),
        (
            "slide_in",
            json!({"kind": "slide_in", "content": {"title": "3만원 이상 무료배송", "subtitle": "장바구니를 채워 보세요"}}),
        ),
        (
            "bar",
            json!({"kind": "bar", "content": {"title": "오늘 밤 12시까지 전 상품 무료배송", "position": "top", "background": "#212529", "color": "#ffffff"}}),
        ),
        (
            "recommendation",
            json!({"kind": "recommendation", "recommend": {"strategy": "bestsellers", "limit": 4},
            "content": {"title": "이번 주 가장 많이 팔린 상품", "subtitle": "다른 고객님들이 고른 상품이에요"}}),
        ),
        (
            "coupon",
            json!({"kind": "coupon", "coupon_id": coupon, "content": {"title": "첫 구매 {{ coupon.discount }} 쿠폰", "subtitle": "지금 받아서 바로 쓰세요"}}),
        ),
        (
            "social_proof",
            json!({"kind": "social_proof", "social_proof": {"measure": "purchased_today", "minimum": 2}}),
        ),
    ];
    let mut ids = Vec::new();
    for (k, body) in &kinds {
        let mut body = body.clone();
        body["name"] = json!(k);
        body["target"] = on(k);
        let res = app
            .admin(reqwest::Method::POST, "/messages")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let created: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_u64().unwrap();
        app.admin(reqwest::Method::POST, &format!("/messages/{id}/activate"))
            .send()
            .await
            .unwrap();
        ids.push(id);
    }
    let driver = driver().await;
    let c = browser(&driver).await;
    let mut code = String::new();
    let mut anon = String::new();
    run("storefront_every_kind", &c, async {
        for (k, _) in &kinds {
            // A fresh visitor for each, so that "once a visit" does not hide the next one.
            c.goto(&format!("{shop}/cart")).await?;
            eval(&c, "localStorage.clear(); document.cookie = 'dangol_aid=; path=/; max-age=0'; return 1").await?;
            let page = if *k == "social_proof" { "products/P1" } else { "cart" };
            let due = visit(&c, &format!("{shop}/{page}?k={k}")).await?;
            anyhow::ensure!(due.len() == 1 && due[0]["kind"] == json!(k), "{k}: {due:?}");
            let on_screen = eval(
                &c,
                "const h = document.querySelector('[data-dangol-message]'); return h && h.shadowRoot.querySelector('.box') ? h.shadowRoot.querySelector('.box').innerText : null",
            )
            .await?;
            anyhow::ensure!(on_screen.is_string(), "{k}: nothing on screen");
            if *k == "social_proof" {
                anyhow::ensure!(on_screen.as_str().unwrap_or_default().contains("오늘 3명이 이 상품을 구매했어요"), "{on_screen}");
            }
            // The recommendation popup's picture is the recently viewed one of the test above.
            let shot = if *k == "recommendation" { "bestsellers".to_string() } else { k.replace('_', "-") };
            crate::browser::save_screenshot(&c, &format!("onsite-{shot}.png")).await?;
            if *k == "coupon" {
                anon = eval(&c, "return dangol.user().anonymousId").await?.as_str().unwrap_or_default().to_string();
                click_in_message(&c, "[data-dangol-reveal]").await?;
                for _ in 0..400 {
                    let shown = eval(
                        &c,
                        "const el = document.querySelector('[data-dangol-message]').shadowRoot.querySelector('.code'); return el && !el.hidden ? el.textContent : null",
                    )
                    .await?;
                    if let Some(s) = shown.as_str() {
                        code = s.to_string();
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                anyhow::ensure!(!code.is_empty(), "no code revealed");
                crate::browser::save_screenshot(&c, "onsite-coupon-revealed.png").await?;
            }
        }
        Ok(())
    })
    .await;
    let res = app
        .send(
            "/v1/coupons/validate",
            json!({"code": code, "anonymousId": anon, "lines": [{"product_id": "P2", "price": 20000, "quantity": 1}]}),
        )
        .await;
    let check: Value = res.json().await.unwrap();
    assert_eq!(check["valid"], true, "{check}");
    assert_eq!(check["discount"], 3000.0);
}
