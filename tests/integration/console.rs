//! Console pages over plain HTTP: settings (users and API keys) and their permissions.

use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, console_cookie, csrf_of, post_form};

#[tokio::test]
async fn owners_manage_users_and_keys_others_only_look() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let page = client
        .get(app.url("/settings"))
        .header("cookie", &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("admin") && page.contains("id=\"add-user\""));
    let csrf = csrf_of(&page);
    let form = |body: String| post_form(&app, &owner, "/settings/users", body);
    // Too short a password: the page says why, nothing is made.
    let res = form(format!("csrf={csrf}&name=kim&password=short&role=marketer")).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("at least 10 characters"));
    let res = form(format!("csrf={csrf}&name=kim&password=long-enough-pw&role=marketer")).await;
    assert_eq!(res.status(), 303);
    let users = app.get("/users").await;
    assert!(
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "kim" && u["role"] == "marketer")
    );

    // A key made on the page is shown once, works at once, and stops when revoked.
    let res = post_form(
        &app,
        &owner,
        "/settings/keys",
        format!("csrf={csrf}&name=storefront&kind=write"),
    )
    .await;
    let html = res.text().await.unwrap();
    let key = html
        .split("<code id=\"new-key\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(key.starts_with("dgl_write_"));
    let ok = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth(&key, Some(""))
        .json(&json!({"userId": "k", "event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let again = client
        .get(app.url("/settings"))
        .header("cookie", &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&key), "the key is shown only once");
    let id = app.get("/keys").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "storefront")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = post_form(
        &app,
        &owner,
        &format!("/settings/keys/{id}/revoke"),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(res.status(), 303);
    let gone = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth(&key, Some(""))
        .json(&json!({"userId": "k", "event": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);

    // A marketer sees the page but cannot change users or keys.
    let marketer = console_cookie(&app, "kim", "long-enough-pw").await;
    let page = client
        .get(app.url("/settings"))
        .header("cookie", &marketer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"add-user\""));
    let token = csrf_of(&page);
    let res = post_form(
        &app,
        &marketer,
        "/settings/users",
        format!("csrf={token}&name=evil&password=long-enough-pw&role=owner"),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(
        app.get("/users").await["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["name"] != "evil")
    );

    // Removing a user signs them out at once; the last owner cannot be removed.
    let res = post_form(&app, &owner, "/settings/users/kim/remove", format!("csrf={csrf}")).await;
    assert_eq!(res.status(), 303);
    let res = client
        .get(app.url("/settings"))
        .header("cookie", &marketer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "a removed user's session ends");
    let res = app.admin(Method::DELETE, "/users/admin").send().await.unwrap();
    assert_eq!(res.status(), 409);
}

/// Posts the Import page's form (multipart) as a signed-in user, without following the redirect.
async fn upload(app: &TestApp, cookie: &str, fields: &[(&str, &str)], file: &[u8]) -> reqwest::Response {
    let boundary = "dangolboundary7f3a";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/import"))
        .header("cookie", cookie)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Follows an import's progress page until it shows the result.
async fn import_result(app: &TestApp, cookie: &str, res: reqwest::Response) -> String {
    assert_eq!(res.status(), 303, "the upload sends the browser to the import's page");
    let page = res.headers()["location"].to_str().unwrap().to_string();
    assert!(page.starts_with("/import/"), "{page}");
    for _ in 0..500 {
        let html = reqwest::Client::new()
            .get(app.url(&page))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if !html.contains("http-equiv=\"refresh\"") {
            return html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the import never finished");
}

#[tokio::test]
async fn the_import_page_imports_and_lists_rejected_rows() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let page = client
        .get(app.url("/import"))
        .header("cookie", &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let products = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/import/products.csv")).unwrap();
    let res = upload(&app, &owner, &[("csrf", &csrf), ("kind", "products")], &products).await;
    let html = import_result(&app, &owner, res).await;
    assert!(html.contains("<dd id=\"imported\">5</dd>"), "{html}");
    assert_eq!(app.get("/stats").await["products"], 5);

    let bad = b"id,name,price\nA1,ok,1000\nA2,bad,abc\n";
    let res = upload(
        &app,
        &owner,
        &[("csrf", &csrf), ("kind", "products"), ("strict", "1")],
        bad,
    )
    .await;
    let html = import_result(&app, &owner, res).await;
    assert!(
        html.contains("<dd id=\"imported\">0</dd>") && html.contains("price"),
        "{html}"
    );
    assert_eq!(app.get("/stats").await["products"], 5, "strict: nothing imported");

    // Without the form token, or as a viewer: refused.
    let res = upload(&app, &owner, &[("kind", "products")], &products).await;
    assert_eq!(res.status(), 403);
    app.admin(Method::POST, "/users")
        .json(&json!({"name": "look", "password": "only-looking", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    let viewer = console_cookie(&app, "look", "only-looking").await;
    let page = client
        .get(app.url("/import"))
        .header("cookie", &viewer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"import\""));
    let token = csrf_of(&page);
    let res = upload(&app, &viewer, &[("csrf", &token), ("kind", "products")], &products).await;
    assert_eq!(res.status(), 403);
}

/// The names on a customer list page, in order.
fn names(html: &str) -> Vec<String> {
    html.split("<td><a href=\"/customers/")
        .skip(1)
        .map(|part| part.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_customer_list_sorts_and_filters_from_the_columns_and_follows_new_data() {
    let app = TestApp::spawn().await;
    for (i, (name, spent, tag, sms)) in [
        ("가나", 5000, "vip", true),
        ("다라", 90000, "vip", false),
        ("마바", 30000, "", true),
        ("사아", 0, "lapsed", false),
    ]
    .into_iter()
    .enumerate()
    {
        let tags: Vec<&str> = if tag.is_empty() { vec![] } else { vec![tag] };
        app.send(
            "/v1/identify",
            json!({"userId": format!("c{i}"), "traits": {"name": name, "tags": tags, "sms_consent": sms}}),
        )
        .await;
        if spent > 0 {
            app.send("/v1/track", json!({"userId": format!("c{i}"), "event": "Order Completed", "properties": {"order_id": format!("O{i}"), "total": spent}})).await;
        }
    }
    let client = reqwest::Client::new();
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let list = |query: &'static str| {
        let (client, owner, url) = (client.clone(), owner.clone(), app.url(&format!("/customers?{query}")));
        async move {
            client
                .get(url)
                .header("cookie", owner)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    // The columns follow the writer; wait until they hold all four.
    let mut html = String::new();
    for _ in 0..200 {
        html = list("sort=spent").await;
        if names(&html).len() == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(names(&html), vec!["다라", "마바", "가나", "사아"]);
    assert!(html.contains("id=\"total\">4 "), "{html}");
    assert_eq!(names(&list("sort=spent&tag=vip").await), vec!["다라", "가나"]);
    assert_eq!(names(&list("sort=spent&consent=sms").await), vec!["마바", "가나"]);
    assert_eq!(names(&list("sort=spent&tag=vip&consent=sms").await), vec!["가나"]);
    assert!(names(&list("sort=spent&tag=nobody").await).is_empty());
    // A new order moves a customer to the top once it is committed.
    app.send(
        "/v1/track",
        json!({"userId": "c3", "event": "Order Completed", "properties": {"order_id": "O9", "total": 500000}}),
    )
    .await;
    let mut first = String::new();
    for _ in 0..200 {
        first = names(&list("sort=spent").await).into_iter().next().unwrap_or_default();
        if first == "사아" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(first, "사아");
    // A text search still reads the store.
    assert_eq!(names(&list("q=%EB%A7%88%EB%B0%94").await), vec!["마바"]);
}

#[tokio::test]
async fn a_product_page_counts_views_carts_and_purchases_and_the_people_behind_them() {
    let app = TestApp::spawn().await;
    let view = |u: &str| json!({"userId": u, "event": "Product Viewed", "properties": {"product_id": "P1", "name": "다크초콜릿", "price": 1000}});
    for m in [view("a"), view("a"), view("b")] {
        app.send("/v1/track", m).await;
    }
    app.send(
        "/v1/track",
        json!({"userId": "b", "event": "Product Added", "properties": {"product_id": "P1", "price": 1000}}),
    )
    .await;
    app.send("/v1/track", json!({"userId": "b", "event": "Order Completed", "properties": {"order_id": "X1", "total": 1000, "products": [{"product_id": "P1", "price": 1000, "quantity": 1}]}})).await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let html = reqwest::Client::new()
        .get(app.url("/products/P1"))
        .header("cookie", &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let section = html
        .split("id=\"touches\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    let rows: Vec<Vec<String>> = section
        .split("<tr><td>")
        .skip(1)
        .map(|r| {
            r.split("</td>")
                .take(3)
                .map(|c| c.rsplit('>').next().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["Viewed".to_string(), "3".into(), "2".into()],
            vec!["Added to cart".to_string(), "1".into(), "1".into()],
            vec!["Checked out".to_string(), "0".into(), "0".into()],
            vec!["Bought".to_string(), "1".into(), "1".into()],
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_runs_in_chunks_and_ends_with_every_row() {
    let app = TestApp::spawn().await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let page = reqwest::Client::new()
        .get(app.url("/import"))
        .header("cookie", &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let mut csv = String::from("user_id,email,name,tags\n");
    for i in 0..12_345 {
        csv.push_str(&format!("big{i},big{i}@example.com,고객{i},bulk\n"));
    }
    let res = upload(&app, &owner, &[("csrf", &csrf), ("kind", "customers")], csv.as_bytes()).await;
    let html = import_result(&app, &owner, res).await;
    assert!(html.contains("<dd id=\"imported\">12,345</dd>"), "{html}");
    let stats = app.get("/stats").await;
    assert_eq!(stats["customers"], 12_345, "{stats}");
    assert_eq!(app.customer("email", "big12344@example.com").await["name"], "고객12344");
}

/// The segment pages over plain HTTP: the builder's JSON endpoints want the session's token, a
/// wrong rule comes back to the form naming the part, the pickers read the catalogue, and a
/// viewer can look but not change.
#[tokio::test]
async fn segment_pages_check_tokens_rules_and_roles() {
    let app = TestApp::spawn().await;
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([
            {"id": "P1", "name": "플라워 향수", "category": "향수/여성향수"},
            {"id": "P2", "name": "다크초콜릿 선물세트", "category": "식품/초콜릿"}
        ]))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    app.send(
        "/v1/identify",
        json!({"userId": "u1", "traits": {"name": "김하늘", "tags": ["vip"]}}),
    )
    .await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let get = |path: &str, cookie: &str| {
        app.client
            .get(app.url(path))
            .header("cookie", cookie.to_string())
            .send()
    };
    let page = get("/segments/new", &owner).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("id=\"segment-config\"") && page.contains("\"vip\""),
        "known tags in the builder"
    );
    let csrf = csrf_of(&page);

    // The live count: the token comes in a header; a wrong rule names its path.
    let preview = |rule: serde_json::Value, token: &str| {
        app.client
            .post(app.url("/segments/preview"))
            .header("cookie", owner.clone())
            .header("x-csrf-token", token.to_string())
            .json(&json!({ "rule": rule }))
            .send()
    };
    let rule = json!({"attr": "tags", "op": "has", "value": "vip"});
    assert_eq!(preview(rule.clone(), "wrong").await.unwrap().status(), 403);
    let body: serde_json::Value = preview(rule.clone(), &csrf).await.unwrap().json().await.unwrap();
    assert_eq!(
        (body["count"].as_u64(), body["sample"][0]["name"].as_str()),
        (Some(1), Some("김하늘"))
    );
    let res = preview(json!({"all": [rule.clone(), {"attr": "tags", "op": "is"}]}), &csrf)
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["path"], "$.all[1].value", "{body}");

    // Pickers.
    let products: serde_json::Value = get("/segments/pick/products?q=%ED%96%A5%EC%88%98", &owner)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        products,
        json!([{"id": "P1", "name": "플라워 향수", "category": "향수/여성향수"}])
    );
    let categories: serde_json::Value = get("/segments/pick/categories?q=%ED%96%A5", &owner)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(categories, json!(["향수", "향수/여성향수"]));

    // Saving: a wrong rule comes back to the form with the part named; a right one is saved.
    let form = |rule: &str| {
        format!(
            "csrf={csrf}&name=VIP&description=&live=on&rule={}",
            crate::common::urlencode(rule)
        )
    };
    let res = post_form(
        &app,
        &owner,
        "/segments/new",
        form(r#"{"attr": "tags", "op": "is", "value": "vip"}"#),
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("rule.op") && html.contains("has, has_any"),
        "the error names the part"
    );
    let res = post_form(&app, &owner, "/segments/new", form("{not json")).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text().await.unwrap().contains("{not json"),
        "what was typed is kept"
    );
    let res = post_form(&app, &owner, "/segments/new", form(&rule.to_string())).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let seg = app.get("/segments").await["items"][0].clone();
    assert_eq!(to, format!("/segments/{}", seg["id"]));
    assert_eq!((seg["name"].as_str(), seg["live"].as_bool()), (Some("VIP"), Some(true)));
    let page = get(&to, &owner).await.unwrap().text().await.unwrap();
    assert!(page.contains("has the tag “vip”") && page.contains("id=\"edit\""));
    let csv = get(&format!("{to}/members.csv?date=now"), &owner)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");

    // A viewer sees the segment but cannot change it.
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": "viewer", "password": "viewer-password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let viewer = console_cookie(&app, "viewer", "viewer-password").await;
    let list = get("/segments", &viewer).await.unwrap().text().await.unwrap();
    assert!(list.contains("VIP") && !list.contains("id=\"new-segment\""));
    let page = get(&to, &viewer).await.unwrap().text().await.unwrap();
    assert!(!page.contains("id=\"edit\""));
    assert_eq!(get("/segments/new", &viewer).await.unwrap().status(), 403);
    let token = csrf_of(&page);
    let res = post_form(&app, &viewer, &format!("{to}/delete"), format!("csrf={token}")).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.get("/segments").await["items"].as_array().unwrap().len(), 1);
}

/// What the server logged at error level, for tests that look for a line (every test's server
/// logs into it; each looks for its own request id).
fn error_log() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOG: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log: &'static std::sync::Mutex<Vec<u8>> = Box::leak(Box::default());
        let writer = move || LogWriter(log);
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::ERROR)
                .with_writer(writer)
                .finish(),
        );
        log
    })
}

struct LogWriter(&'static std::sync::Mutex<Vec<u8>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_internal_error_shows_only_its_request_id_which_the_log_names() {
    let log = error_log();
    let mut app = TestApp::spawn().await;
    // Stored settings this build cannot read: the messaging page fails inside.
    let tmp = app.stop().await.unwrap();
    let store = dangol::store::Store::open(tmp.path()).unwrap();
    store
        .write(|tx| tx.put_meta("messaging", &"not the settings"))
        .await
        .unwrap();
    drop(store);
    let mut app = TestApp::spawn_on(tmp.path()).await;
    app.keep(tmp);
    let cookie = console_cookie(&app, "admin", "test-admin-password").await;
    let res = app
        .client
        .get(app.url("/settings/messaging"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("<code>{id}</code>")),
        "the page shows the request id: {html}"
    );
    assert!(html.contains("Internal error"), "{html}");
    assert!(
        !html.contains("decoded") && !html.contains("messaging"),
        "nothing internal is shown: {html}"
    );
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    let line = logged
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("no log line names {id}:\n{logged}"));
    assert!(
        line.contains("internal error") && line.contains("cannot be decoded"),
        "{line}"
    );
}
