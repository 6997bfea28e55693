//! The console's interest search page over plain HTTP, on the handmade shop of `search.rs`:
//! customers in rank order with their evidence, the window, the matched products and categories,
//! the trending panel, the link into the segment builder with its rule, and who may see it.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, console_cookie, element_html, page, unescape, urlencode};
use crate::search::{config, load, ready};

/// HTML as the reader sees it: tags dropped, askama's escapes undone, white space collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = unescape(&out);
    let words: Vec<&str> = out.split_whitespace().collect();
    // The evidence reads "title — counts, last …": no space before the comma.
    words.join(" ").replace(" ,", ",")
}

/// The result rows: (customer id, the row's text), in page order.
fn rows(html: &str) -> Vec<(u64, String)> {
    html.split("<tr class=\"hit\" data-customer=\"")
        .skip(1)
        .map(|chunk| {
            let id = chunk[..chunk.find('"').unwrap()].parse().unwrap();
            let row = &chunk[chunk.find('>').unwrap() + 1..chunk.find("</tr>").unwrap()];
            (id, text(row))
        })
        .collect()
}

/// The targets of the links inside `html` that start with `prefix`, unescaped.
fn hrefs(html: &str, prefix: &str) -> Vec<String> {
    let pattern = format!("href=\"{prefix}");
    html.match_indices(&pattern)
        .map(|(at, _)| {
            let rest = &html[at + "href=\"".len()..];
            unescape(&rest[..rest.find('"').unwrap()])
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Whether `text` holds `start` followed by a digit and "×" (5.25 may round either way).
fn rises(text: &str, start: &str) -> bool {
    text.match_indices(start).any(|(at, _)| {
        let rest = &text[at + start.len()..];
        rest.chars().next().is_some_and(|c| c.is_ascii_digit()) && rest[1..].starts_with('×')
    })
}

/// The rule the "Make a segment of these" link carries.
fn segment_rule(html: &str) -> Value {
    let link = hrefs(html, "/segments/new?rule=");
    assert_eq!(link.len(), 1, "one segment link");
    serde_json::from_str(&percent_decode(link[0].strip_prefix("/segments/new?rule=").unwrap())).unwrap()
}

#[tokio::test]
async fn interest_search_page_lists_customers_with_evidence_trends_and_a_segment_link() {
    let tmp = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(config(tmp.path()).await).await;
    load(&app).await;
    ready(&app).await;
    let id = |user: &'static str| {
        let app = &app;
        async move { app.customer("user_id", user).await["id"].as_u64().unwrap() }
    };
    let (a, b) = (id("a").await, id("b").await);
    let admin = console_cookie(&app, "admin", "test-admin-password").await;

    // Signed out: sent to sign in, and back here after.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/search?q=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/search%3Fq%3Dx");

    // Before searching: the form, the navigation, and the trending panel of the last 24 hours.
    let (status, html) = page(&app, &admin, "/search").await;
    assert_eq!(status, 200);
    assert!(html.contains("<a href=\"/search\" aria-current=\"page\">Interest search</a>"));
    assert!(html.contains("id=\"search-form\"") && !html.contains("id=\"results\""));
    let words = text(&element_html(&html, "trend-words").expect("trending words"));
    // b's three views today: the flower perfume's word is new, its brand rose against b's
    // purchase of the woody perfume (same brand) two days ago: 3 / (4 × 24 / 168) = 5.25.
    assert!(words.contains("플라워향수 3 new"), "{words}");
    assert!(rises(&words, "메종드봄 3 ↑ 5."), "{words}");
    assert!(
        hrefs(&html, "/search?q=").contains(&format!("/search?q={}", urlencode("플라워향수"))),
        "a word runs the search"
    );
    let categories = element_html(&html, "trend-categories").unwrap();
    assert!(rises(&text(&categories), "뷰티 3 ↑ 5."), "{}", text(&categories));
    assert!(
        hrefs(&categories, "/search?q=").contains(&format!("/search?q={}", urlencode("뷰티 향수"))),
        "a category runs the search for its levels: {categories}"
    );
    let products = element_html(&html, "trend-products").unwrap();
    assert!(
        text(&products).starts_with("Products 플라워향수 오 드 퍼퓸 50ml 3 new"),
        "{}",
        text(&products)
    );
    assert_eq!(hrefs(&products, "/products/")[0], "/products/P1");
    // Another window.
    let (_, week) = page(&app, &admin, "/search?hours=168").await;
    assert!(week.contains("<a href=\"/search?hours=168\" aria-current=\"true\">168 h</a>"));
    assert!(text(&element_html(&week, "trend-products").unwrap()).contains("우디 향수 4"));

    // A search: b (three views lately, and a purchase) before a (one view 40 days ago). The
    // index follows the writer within a second of the load.
    let path = format!("/search?q={}", urlencode("향수"));
    let started = Instant::now();
    let html = loop {
        let (status, html) = page(&app, &admin, &path).await;
        assert_eq!(status, 200);
        if rows(&html).len() == 2 || started.elapsed() > Duration::from_secs(5) {
            break html;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        text(&element_html(&html, "total").unwrap()),
        "2 customers showed interest"
    );
    assert!(!html.contains("id=\"bound-note\""));
    let found = rows(&html);
    assert_eq!(found.iter().map(|r| r.0).collect::<Vec<_>>(), [b, a], "{found:?}");
    let (_, row_b) = &found[0];
    assert!(row_b.starts_with("1 b "), "{row_b}");
    for line in [
        "플라워향수 오 드 퍼퓸 50ml — viewed 3, last 2026-11-03",
        "우디 향수 — bought 1, last 2026-11-01",
        "category 뷰티/향수 — viewed 3, bought 1, last 2026-11-03",
        "2026-11-03 09:02",
    ] {
        assert!(row_b.contains(line), "{line:?} not in {row_b:?}");
    }
    assert!(
        found[1]
            .1
            .contains("플라워향수 오 드 퍼퓸 50ml — viewed 1, last 2026-09-24"),
        "{:?}",
        found[1].1
    );
    assert!(html.contains(&format!("<a href=\"/customers/{b}\" translate=\"no\">b</a>")));
    // The matched products and categories, as chips; the candle (향초) is not perfume.
    let matched = element_html(&html, "matched").unwrap();
    let products = hrefs(&matched, "/products/");
    assert!(products.contains(&"/products/P1".to_string()) && products.contains(&"/products/P2".to_string()));
    assert!(!products.contains(&"/products/P5".to_string()), "{products:?}");
    assert!(text(&matched).contains("category 뷰티/향수"), "{}", text(&matched));
    // The segment builder opens on the same rule.
    let rule = segment_rule(&html);
    assert_eq!(rule, json!({"attr": "interest", "op": "matches", "value": "향수"}));

    // A window of 7 days: a's view is 40 days old; the total is explained as an upper bound.
    let (_, html) = page(&app, &admin, &format!("{path}&days=7")).await;
    assert_eq!(rows(&html).iter().map(|r| r.0).collect::<Vec<_>>(), [b]);
    assert!(
        text(&element_html(&html, "bound-note").unwrap()).contains("upper bound"),
        "the total of a window is explained"
    );
    assert!(html.contains("<option value=\"7\" selected>Last 7 days</option>"));
    let rule = segment_rule(&html);
    assert_eq!(
        rule,
        json!({"attr": "interest", "op": "matches", "value": "향수", "days": 7})
    );

    // The link opens the builder with that rule in its form.
    let link = hrefs(&html, "/segments/new?rule=").remove(0);
    let (status, builder) = page(&app, &admin, &link).await;
    assert_eq!(status, 200);
    let field = element_html(&builder, "rule").unwrap();
    let field: Value = serde_json::from_str(&unescape(&field[field.find('>').unwrap() + 1..])).unwrap();
    assert_eq!(field, rule);
    // The API counts the same customers for that rule.
    let res = app
        .admin(Method::POST, "/segments/preview")
        .json(&json!({ "rule": rule }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["count"], 1);
    // A rule that is not one is ignored: the builder starts empty.
    for bad in [
        "not json".to_string(),
        json!({"attr": "interest", "op": "=", "value": "x"}).to_string(),
    ] {
        let (status, builder) = page(&app, &admin, &format!("/segments/new?rule={}", urlencode(&bad))).await;
        assert_eq!(status, 200);
        let field = element_html(&builder, "rule").unwrap();
        let field: Value = serde_json::from_str(&unescape(&field[field.find('>').unwrap() + 1..])).unwrap();
        assert_eq!(field, json!({"all": []}), "{bad}");
    }

    // English text, and a trending word's link.
    let (_, html) = page(&app, &admin, "/search?q=running+shoes").await;
    assert_eq!(rows(&html).len(), 1);
    assert!(
        rows(&html)[0]
            .1
            .contains("Trail Running Shoes — viewed 1, last 2026-11-03")
    );
    let (_, html) = page(&app, &admin, &format!("/search?q={}", urlencode("메종드봄"))).await;
    assert_eq!(rows(&html).iter().map(|r| r.0).collect::<Vec<_>>(), [b, a]);
    // Nothing matches: said so, not an error.
    let (status, html) = page(&app, &admin, &format!("/search?q={}", urlencode("자전거"))).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"no-customers\"") && html.contains("0 customers showed interest"));
    // Too long a text is refused on the page.
    let (status, html) = page(&app, &admin, &format!("/search?q={}", "x".repeat(201))).await;
    assert_eq!(status, 200);
    assert!(text(&element_html(&html, "notice").unwrap()).contains("at most 200"));

    // In Korean.
    let ko = admin.replace("dangol_lang=en", "dangol_lang=ko");
    let (_, html) = page(&app, &ko, &path).await;
    assert_eq!(text(&element_html(&html, "total").unwrap()), "2명이 관심을 보였습니다");
    assert!(
        rows(&html)[0]
            .1
            .contains("플라워향수 오 드 퍼퓸 50ml — 조회 3, 최근 2026-11-03")
    );

    // A viewer may search but is not offered a segment (they cannot save one).
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": "viewer", "password": "viewer-password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let viewer = console_cookie(&app, "viewer", "viewer-password").await;
    let (status, html) = page(&app, &viewer, &path).await;
    assert_eq!(status, 200);
    assert_eq!(rows(&html).len(), 2);
    assert!(!html.contains("id=\"make-segment\""));
}
