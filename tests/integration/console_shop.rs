//! The console's shop pages over plain HTTP, on the demo shop: the product list (paging, search,
//! prices), a product, the order list (newest first, date and status filters) and an order.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, console_cookie, urlencode};

/// A demo shop and a session of its owner, in Korean.
struct Console {
    app: TestApp,
    client: reqwest::Client,
    cookie: String,
}

impl Console {
    async fn open() -> Console {
        let app = TestApp::spawn_demo(200).await;
        let signed_in = console_cookie(&app, "admin", "test-admin-password").await;
        let session = signed_in
            .split("; ")
            .find(|c| c.starts_with("dangol_session="))
            .expect("a session cookie")
            .to_string();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Console {
            app,
            client,
            cookie: format!("{session}; dangol_lang=ko"),
        }
    }

    async fn res(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }

    /// A page that must answer 200.
    async fn page(&self, path: &str) -> String {
        let res = self.res(path).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Every page from `path` on, following the "next" links.
    async fn walk(&self, path: &str) -> Vec<String> {
        let mut pages = Vec::new();
        let mut at = Some(path.to_string());
        while let Some(path) = at {
            let html = self.page(&path).await;
            at = next_link(&html);
            pages.push(html);
            assert!(pages.len() <= 100, "paging does not end");
        }
        pages
    }

    /// Every item of a JSON API list, following its cursors.
    async fn api_all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(c) => self.app.get(&format!("{path}?limit=500&cursor={c}")).await,
                None => self.app.get(&format!("{path}?limit=500")).await,
            };
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }
}

/// The targets of the links that start with `prefix`, in page order, still percent-encoded.
fn hrefs(html: &str, prefix: &str) -> Vec<String> {
    let pattern = format!("href=\"{prefix}");
    html.match_indices(&pattern)
        .map(|(at, _)| {
            let rest = &html[at + pattern.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

fn next_link(html: &str) -> Option<String> {
    let at = html.find("class=\"button\" href=\"")? + "class=\"button\" href=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"').unwrap()].replace("&#38;", "&"))
}

/// Text as askama escapes it into HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// 59000 → "59,000원".
fn won(amount: f64) -> String {
    let digits = format!("{amount:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}원")
}

fn seoul_day(iso: &str) -> NaiveDate {
    iso.parse::<DateTime<Utc>>()
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .date_naive()
}

fn seoul_minute(iso: &str) -> String {
    iso.parse::<DateTime<Utc>>()
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn ids(items: &[Value], key: &str) -> Vec<String> {
    items.iter().map(|v| v[key].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_page_through_search_and_show_their_fields() {
    let c = Console::open().await;
    let products = c.api_all("/products").await;
    assert_eq!(products.len(), 300);
    let by_id: HashMap<String, &Value> = products
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_string(), p))
        .collect();

    // Signed out, the list sends to the sign-in page and back.
    let res = c.client.get(c.app.url("/products")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/products");

    // The first page: the first 50 products in id order, with names, won prices and thumbnails.
    let first = c.page("/products").await;
    assert!(
        first.contains("aria-current=\"page\">상품</a>"),
        "the nav marks the page"
    );
    let shown = hrefs(&first, "/products/");
    assert_eq!(shown, ids(&products[..50], "id"));
    for p in &products[..50] {
        assert!(first.contains(&esc(p["name"].as_str().unwrap())), "{p}");
        assert!(first.contains(&won(p["price"].as_f64().unwrap())), "{p}");
        if let Some(sale) = p["sale_price"].as_f64() {
            assert!(first.contains(&won(sale)), "{p}");
        }
        let img = format!("<img class=\"thumb\" src=\"{}\"", esc(p["image_url"].as_str().unwrap()));
        assert!(first.contains(&img), "{p}");
    }
    assert!(first.contains("품절") || products[..50].iter().all(|p| p["in_stock"] == true));

    // Paging walks every product exactly once, 50 a page.
    let pages = c.walk("/products").await;
    assert_eq!(pages.len(), 6);
    let walked: Vec<String> = pages.iter().flat_map(|p| hrefs(p, "/products/")).collect();
    assert_eq!(walked, ids(&products, "id"));

    // A Korean word finds the products whose name or category holds it, and only those.
    let word = products[0]["name"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let expected: BTreeSet<String> = products
        .iter()
        .filter(|p| {
            ["name", "category"]
                .iter()
                .any(|k| p[k].as_str().is_some_and(|v| v.contains(&word)))
        })
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < 300,
        "{word}: {}",
        expected.len()
    );
    let found: BTreeSet<String> = c
        .walk(&format!("/products?q={}", urlencode(&word)))
        .await
        .iter()
        .flat_map(|p| hrefs(p, "/products/"))
        .collect();
    assert_eq!(found, expected, "search for {word}");
    // A category by part of its path, and a SKU in lower case.
    let top = products[0]["category"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let html = c.page(&format!("/products?q={}", urlencode(&top))).await;
    assert!(hrefs(&html, "/products/").contains(&"P0001".to_string()), "{top}");
    let sku = products[7]["sku"].as_str().unwrap();
    let html = c.page(&format!("/products?q={}", urlencode(&sku.to_lowercase()))).await;
    assert_eq!(hrefs(&html, "/products/"), vec![products[7]["id"].as_str().unwrap()]);
    let html = c.page("/products?q=%EC%97%86%EB%8A%94%EC%83%81%ED%92%88").await;
    assert!(html.contains("맞는 상품이 없습니다."));

    // A product shows its fields, its extra fields and what the newest orders hold of it.
    let orders = c.api_all("/orders").await;
    let mut sold: HashMap<String, f64> = HashMap::new();
    for o in orders.iter().take(1000) {
        for l in o["lines"].as_array().unwrap() {
            *sold.entry(l["product_id"].as_str().unwrap().to_string()).or_default() += l["quantity"].as_f64().unwrap();
        }
    }
    let (top_id, top_qty) = sold
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(id, q)| (id.clone(), *q))
        .unwrap();
    let p = by_id[&top_id];
    let html = c.page(&format!("/products/{top_id}")).await;
    for field in [
        "name",
        "sku",
        "category",
        "brand",
        "name_en",
        "category_en",
        "description",
    ] {
        let v = p[field].as_str().unwrap_or_else(|| panic!("{field} of {p}"));
        assert!(html.contains(&esc(v)), "{field} {v:?} not on the page");
    }
    assert!(html.contains("<dt><code>name_en</code></dt>"));
    assert!(html.contains(&format!("<dt>정가</dt><dd>{}</dd>", won(p["price"].as_f64().unwrap()))));
    assert!(html.contains("최근 주문 1,000건 중 판매"));
    assert!(
        html.contains(&format!("<dt>판매 수량</dt><dd>{top_qty}</dd>")),
        "{top_id} sold {top_qty}"
    );
    assert_eq!(c.res("/products/P9999").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_fields_are_text_not_markup() {
    let c = Console::open().await;
    let res = c
        .app
        .admin(Method::PUT, "/products/XSS-1")
        .json(
            &json!({"name": "<script>alert(1)</script> 향초", "category": "<b>캔들</b>",
                      "url": "javascript:alert(2)", "image_url": "javascript:alert(3)", "price": 12000,
                      "name_en": "<img src=x onerror=alert(4)>"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for path in ["/products?q=xss", "/products/XSS-1"] {
        let html = c.page(path).await;
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62; 향초"),
            "{path}"
        );
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<b>캔들") && !html.contains("<img src=x"), "{path}");
        assert!(!html.contains("javascript:"), "{path}: a javascript: URL became a link");
        assert!(html.contains("12,000원"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_list_newest_first_filter_by_day_and_status_and_show_refunds() {
    let c = Console::open().await;
    let res = c.client.get(c.app.url("/orders/x")).send().await.unwrap();
    assert_eq!(res.status(), 303, "signed out");
    assert_eq!(res.headers()["location"], "/login?next=/orders/x");

    // Refund one order in full and another in part, through the tracking API.
    let orders = c.api_all("/orders").await;
    assert!(orders.len() > 100, "the demo shop has orders: {}", orders.len());
    let completed: Vec<&Value> = orders.iter().filter(|o| o["status"] == "completed").collect();
    let (full, part) = (
        completed[2]["order_id"].as_str().unwrap(),
        completed[4]["order_id"].as_str().unwrap(),
    );
    for props in [json!({"order_id": full}), json!({"order_id": part, "total": 1000})] {
        // A refund applies to the order by its id, whoever sends it.
        let res = c
            .app
            .send(
                "/v1/track",
                json!({"anonymousId": "back-office", "event": "Order Refunded", "properties": props}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let orders = c.api_all("/orders").await;
    let order = |id: &str| orders.iter().find(|o| o["order_id"] == id).unwrap().clone();
    assert_eq!(order(full)["status"], "refunded");
    assert_eq!(order(part)["status"], "partially_refunded");

    // The list: the API's order (newest first), 50 a page, all of them once.
    let first = c.page("/orders").await;
    let all_ids = ids(&orders, "order_id");
    let shown: Vec<String> = hrefs(&first, "/orders/");
    assert_eq!(shown, all_ids[..50].to_vec());
    let times: Vec<&str> = orders.iter().map(|o| o["placed_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let o = &orders[0];
    assert!(first.contains(&seoul_minute(o["placed_at"].as_str().unwrap())));
    assert!(first.contains(&won(o["total"].as_f64().unwrap())));
    assert!(first.contains(&format!("href=\"/customers/{}\"", o["customer_id"])));
    let walked: Vec<String> = c
        .walk("/orders")
        .await
        .iter()
        .flat_map(|p| hrefs(p, "/orders/"))
        .collect();
    assert_eq!(walked, all_ids);

    // The busiest day: only that local day's orders (Asia/Seoul).
    let mut per_day: HashMap<NaiveDate, usize> = HashMap::new();
    for o in &orders {
        *per_day.entry(seoul_day(o["placed_at"].as_str().unwrap())).or_default() += 1;
    }
    let (&day, &busiest) = per_day.iter().max_by_key(|&(d, n)| (n, d)).unwrap();
    assert!(busiest > 1, "{per_day:?}");
    let expected: Vec<String> = orders
        .iter()
        .filter(|o| seoul_day(o["placed_at"].as_str().unwrap()) == day)
        .map(|o| o["order_id"].as_str().unwrap().to_string())
        .collect();
    let on_day: Vec<String> = c
        .walk(&format!("/orders?from={day}&to={day}"))
        .await
        .iter()
        .flat_map(|p| hrefs(p, "/orders/"))
        .collect();
    assert_eq!(on_day.len(), busiest);
    assert_eq!(on_day, expected, "orders of {day}");
    let since: Vec<String> = c
        .walk(&format!("/orders?from={day}&to="))
        .await
        .iter()
        .flat_map(|p| hrefs(p, "/orders/"))
        .collect();
    let expected_since = orders
        .iter()
        .filter(|o| seoul_day(o["placed_at"].as_str().unwrap()) >= day)
        .count();
    assert_eq!(since.len(), expected_since, "orders since {day}");
    let until = c
        .walk(&format!("/orders?to={day}"))
        .await
        .iter()
        .flat_map(|p| hrefs(p, "/orders/"))
        .count();
    let expected_until = orders
        .iter()
        .filter(|o| seoul_day(o["placed_at"].as_str().unwrap()) <= day)
        .count();
    assert_eq!(until, expected_until, "orders until {day}");
    assert_eq!(c.res("/orders?from=2026-13-01").await.status(), 400);
    assert_eq!(c.res("/orders?status=lost").await.status(), 400);

    // A status: exactly the orders in it.
    for status in ["refunded", "partially_refunded", "completed"] {
        let pages = c.walk(&format!("/orders?status={status}")).await;
        let listed: Vec<String> = pages.iter().flat_map(|p| hrefs(p, "/orders/")).collect();
        let expected: Vec<String> = orders
            .iter()
            .filter(|o| o["status"] == status)
            .map(|o| o["order_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, expected, "status {status}");
        assert!(pages[0].contains(&format!("<option value=\"{status}\" selected>")));
    }

    // An order shows its lines with product links, its amounts, its refunds and its customer.
    let o = order(full);
    let html = c.page(&format!("/orders/{}", urlencode(full))).await;
    for l in o["lines"].as_array().unwrap() {
        assert!(html.contains(&format!("href=\"/products/{}\"", l["product_id"].as_str().unwrap())));
        assert!(html.contains(&esc(l["name"].as_str().unwrap())));
        assert!(html.contains(&won(l["price"].as_f64().unwrap())));
    }
    let total = won(o["total"].as_f64().unwrap());
    assert!(html.contains(&format!("<dt>결제 금액</dt><dd>{total}</dd>")));
    let refund = &o["refunds"][0];
    assert!(html.contains(&format!(
        "<tr><td class=\"nowrap\">{}</td><td class=\"num nowrap\">{total}</td></tr>",
        seoul_minute(refund["at"].as_str().unwrap())
    )));
    assert!(html.contains(">환불</span>"));
    assert!(html.contains(&format!("href=\"/customers/{}\"", o["customer_id"])));
    let html = c.page(&format!("/orders/{}", urlencode(part))).await;
    assert!(html.contains(">부분 환불</span>") && html.contains("<td class=\"num nowrap\">1,000원</td>"));
    assert_eq!(c.res("/orders/no-such-order").await.status(), 404);

    // An erased customer's order stays, without a link to anybody.
    let o = order(part);
    let res = c
        .app
        .admin(Method::DELETE, &format!("/customers/{}", o["customer_id"]))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let html = c.page(&format!("/orders/{}", urlencode(part))).await;
    assert!(html.contains("삭제된 고객"));
    assert!(!html.contains(&format!("href=\"/customers/{}\"", o["customer_id"])));
}
