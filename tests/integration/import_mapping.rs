//! Other shops' files through the mapping step (a Cafe24 and a 스마트스토어 export in Korean), the
//! mapping remembered for the same headers, a mapping that does not fit naming its field, the
//! template files, and the import history of the console, the API and the CLI.

use std::process::Command;

use reqwest::Method;
use serde_json::Value;

use crate::common::{TestApp, console_cookie, csrf_of, element, page, post_form, urlencode};

/// A Cafe24 order export as an owner downloads it: Korean headers, one row per order line, the
/// amount with "원" and thousands separators, Korean dates.
pub(crate) const CAFE24: &str = "주문번호,주문일시,주문자명,주문자 이메일,주문자 휴대전화,상품번호,상품명(한국어 쇼핑몰),수량,판매가,결제금액,주문상태\n\
20261103-0000011,2026-11-03 14:22:10,김민준,minjun@example.com,010-1234-5678,P001,린넨 오버핏 셔츠,1,\"29,000원\",\"32,000원\",배송완료\n\
20261103-0000011,2026-11-03 14:22:10,김민준,minjun@example.com,010-1234-5678,P003,제주 유기농 녹차 50g,1,\"3,000원\",\"32,000원\",배송완료\n\
20261104-0000007,2026.11.04,이서연,seoyeon@example.com,010-2345-6789,P002,와이드 코튼 팬츠,2,\"45,000\",\"90,000\",결제완료\n\
20261104-0000008,2026-11-04 09:10:00,박지호,jiho@example.com,010-3456-7890,P002,와이드 코튼 팬츠,1,\"45,000\",\"45,000\",입금전\n";

/// A 스마트스토어 order sheet (발주/발송 관리): no email, a masked buyer id, a row per product order,
/// the amount per line in "최종 상품별 총 주문금액".
const SMARTSTORE: &str = "상품주문번호,주문번호,구매자명,구매자ID,주문상태,결제일,상품번호,상품명,수량,상품가격,최종 상품별 총 주문금액,구매자연락처\n\
2026110312345601,2026110312345,최하늘,sky****,구매확정,2026.11.03 10:15:00,8801,수제 도자기 머그,2,\"14,000\",\"28,000\",010-9876-5432\n\
2026110312345602,2026110312345,최하늘,sky****,구매확정,2026.11.03 10:15:00,8802,한정판 에코백,1,\"12,000\",\"12,000\",010-9876-5432\n\
2026110455555501,2026110455555,정우성,woo****,배송중,2026-11-04 20:01:33,8801,수제 도자기 머그,1,\"14,000\",\"14,000\",+82 10-1111-2222\n";

/// Posts the Import page's form (multipart) as a signed-in user, without following redirects.
async fn upload(app: &TestApp, cookie: &str, fields: &[(&str, &str)], name: &str, file: &[u8]) -> reqwest::Response {
    let boundary = "dangolboundary9c1d";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    no_redirects()
        .post(app.url("/import"))
        .header("cookie", cookie)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_string()
}

/// Follows an import's progress page until it shows the result.
async fn finished(app: &TestApp, cookie: &str, path: &str) -> String {
    for _ in 0..500 {
        let (_, html) = page(app, cookie, path).await;
        if !html.contains("http-equiv=\"refresh\"") {
            return html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the import never finished");
}

/// The option a mapping select has chosen, as the page shows it.
fn chosen(html: &str, field: &str) -> Option<String> {
    let select = element(html, &format!("map-{field}"));
    select
        .split("<option ")
        .find(|o| o.contains(" selected"))
        .and_then(|o| o.split("value=\"").nth(1))
        .map(|v| crate::common::unescape(v.split('"').next().unwrap()))
}

async fn api_import(app: &TestApp, kind: &str, query: &str, body: &str) -> (u16, Value) {
    let res = app
        .admin(Method::POST, &format!("/imports/{kind}?{query}"))
        .header("content-type", "text/csv")
        .body(body.as_bytes().to_vec())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_cafe24_export_imports_through_the_mapping_step_which_is_remembered() {
    let app = TestApp::spawn().await;
    let owner = format!(
        "{}; dangol_lang=en",
        console_cookie(&app, "admin", "test-admin-password").await
    );
    let (_, html) = page(&app, &owner, "/import").await;
    let csrf = csrf_of(&html);

    // Not our columns: the upload goes to the mapping step, its guesses filled in.
    let res = upload(
        &app,
        &owner,
        &[("csrf", &csrf), ("kind", "orders")],
        "cafe24_orders.csv",
        CAFE24.as_bytes(),
    )
    .await;
    assert_eq!(res.status(), 303);
    let map = location(&res);
    assert!(map.starts_with("/import/map/"), "{map}");
    let (status, html) = page(&app, &owner, &map).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<th>주문자 이메일</th>") && html.contains("<td>20261103-0000011</td>"),
        "the headers and the first rows are shown"
    );
    for (field, header) in [
        ("order_id", "주문번호"),
        ("created_at", "주문일시"),
        ("email", "주문자 이메일"),
        ("phone", "주문자 휴대전화"),
        ("name", "주문자명"),
        ("total", "결제금액"),
        ("product_id", "상품번호"),
        ("product_name", "상품명(한국어 쇼핑몰)"),
        ("quantity", "수량"),
        ("price", "판매가"),
        ("status", "주문상태"),
    ] {
        assert_eq!(chosen(&html, field).as_deref(), Some(header), "{field}");
    }
    assert!(!html.contains("id=\"map-remembered\""));

    // The owner keeps the guesses and imports.
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
    for target in [
        "order_id",
        "created_at",
        "email",
        "phone",
        "name",
        "total",
        "product_id",
        "product_name",
        "quantity",
        "price",
        "status",
    ] {
        form.push((format!("map.{target}"), chosen(&html, target).unwrap()));
    }
    form.push(("map.sku".into(), String::new()));
    let res = post_form(&app, &owner, &map, crate::common::body(&form)).await;
    assert_eq!(res.status(), 303);
    let result = finished(&app, &owner, &location(&res)).await;
    assert!(
        result.contains("<dd id=\"imported\">2</dd>"),
        "two orders; the unpaid one (입금전) is skipped: {result}"
    );
    assert!(result.contains("id=\"import-mapped\""));

    let order = app.get(&format!("/orders/{}", urlencode("20261103-0000011"))).await;
    assert_eq!(order["total"], 32000.0, "{order}");
    assert_eq!(order["placed_at"], "2026-11-03T05:22:10.000Z", "Seoul time");
    assert_eq!(order["lines"].as_array().unwrap().len(), 2);
    let minjun = app.customer("email", "minjun@example.com").await;
    assert_eq!(
        (minjun["name"].as_str(), minjun["phone"].as_str()),
        (Some("김민준"), Some("010-1234-5678")),
        "{minjun}"
    );
    let seoyeon = app.get(&format!("/orders/{}", urlencode("20261104-0000007"))).await;
    assert_eq!(seoyeon["total"], 90000.0);
    assert_eq!(
        seoyeon["placed_at"], "2026-11-03T15:00:00.000Z",
        "2026.11.04 is midnight in Seoul"
    );

    // Next month's export, same columns: the mapping step offers the remembered choice.
    let next = CAFE24.replace("20261103-0000011", "20261201-0000001");
    let res = upload(
        &app,
        &owner,
        &[("csrf", &csrf), ("kind", "orders")],
        "cafe24_december.csv",
        next.as_bytes(),
    )
    .await;
    let (_, html) = page(&app, &owner, &location(&res)).await;
    assert!(html.contains("id=\"map-remembered\""), "{html}");
    assert_eq!(chosen(&html, "total").as_deref(), Some("결제금액"));
    assert_eq!(chosen(&html, "sku"), None, "left out then, left out now");

    // The API reads a file with those headers through the remembered mapping by itself.
    let (status, report) = api_import(&app, "orders", "file_name=cafe24_december.csv", &next).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            report["imported"].as_u64(),
            report["duplicates"].as_u64(),
            report["skipped"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "the new order in, the one imported before already there, the unpaid one skipped: {report}"
    );
    assert_eq!(report["mapping"]["total"], "결제금액");
    assert_eq!(
        app.get(&format!("/orders/{}", urlencode("20261201-0000001"))).await["total"],
        32000.0
    );
}

#[tokio::test]
async fn a_smartstore_export_imports_by_mobile_number_with_its_line_amounts() {
    let app = TestApp::spawn().await;
    let mapping = serde_json::json!({
        "order_id": "주문번호", "created_at": "결제일", "name": "구매자명", "phone": "구매자연락처",
        "status": "주문상태", "product_id": "상품번호", "product_name": "상품명", "quantity": "수량",
        "price": "상품가격", "line_total": "최종 상품별 총 주문금액"
    });
    let (status, report) = api_import(
        &app,
        "orders",
        &format!("mapping={}&file_name=smartstore.csv", urlencode(&mapping.to_string())),
        SMARTSTORE,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["rows"].as_u64(), report["imported"].as_u64()),
        (Some(3), Some(2)),
        "{report}"
    );
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report}");

    // An order is the sum of its lines; the buyer is one person by their mobile number.
    let order = app.get("/orders/2026110312345").await;
    assert_eq!(order["total"], 40000.0, "28,000 + 12,000: {order}");
    let sky = app.customer("anonymous_id", "import-phone:01098765432").await;
    assert_eq!(
        (sky["name"].as_str(), sky["phone"].as_str()),
        (Some("최하늘"), Some("010-9876-5432")),
        "{sky}"
    );
    assert_eq!(order["customer_id"], sky["id"]);
    // "+82 10-…" is the same number written the international way.
    let woo = app.customer("anonymous_id", "import-phone:01011112222").await;
    assert_eq!(woo["name"], "정우성");
    assert_eq!(
        app.get("/orders/2026110455555").await["placed_at"],
        "2026-11-04T11:01:33.000Z"
    );

    // The same file again: nothing new, each order counted as already there.
    let (_, again) = api_import(
        &app,
        "orders",
        &format!("mapping={}", urlencode(&mapping.to_string())),
        SMARTSTORE,
    )
    .await;
    assert_eq!(
        (again["imported"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
}

#[tokio::test]
async fn a_mapping_that_does_not_fit_names_its_field() {
    let app = TestApp::spawn().await;
    // Through the API: a 400 naming the field, and the file is in the history as not read.
    let bad = serde_json::json!({"order_id": "주문번호", "email": "주문자 이메일"});
    let (status, body) = api_import(
        &app,
        "orders",
        &format!("mapping={}", urlencode(&bad.to_string())),
        CAFE24,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_field");
    assert_eq!(body["error"]["field"], "mapping.created_at");
    let wrong = serde_json::json!({"order_id": "주문번호", "email": "주문자 이메일", "created_at": "결제일"});
    let (status, body) = api_import(
        &app,
        "orders",
        &format!("mapping={}", urlencode(&wrong.to_string())),
        CAFE24,
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("mapping.created_at")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"결제일\", which the file does not have"),
        "{body}"
    );
    let (status, body) = api_import(&app, "orders", "mapping=not-json", CAFE24).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("mapping")),
        "{body}"
    );
    // Without a mapping and none remembered, the file's columns are named as missing.
    let (status, body) = api_import(&app, "orders", "", CAFE24).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_csv")),
        "{body}"
    );
    let history = app.get("/imports").await;
    let failed: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["failed"].as_str())
        .collect();
    assert_eq!(failed.len(), 3, "{history}");
    assert!(failed[1].contains("`mapping.created_at`"), "{failed:?}");

    // In the console: the form comes back with the field named in words, the choices kept.
    let owner = format!(
        "{}; dangol_lang=en",
        console_cookie(&app, "admin", "test-admin-password").await
    );
    let (_, html) = page(&app, &owner, "/import").await;
    let csrf = csrf_of(&html);
    let res = upload(
        &app,
        &owner,
        &[("csrf", &csrf), ("kind", "orders"), ("format", "other")],
        "x.csv",
        CAFE24.as_bytes(),
    )
    .await;
    let map = location(&res);
    let form = crate::common::body(&[
        ("csrf", csrf.as_str()),
        ("map.order_id", "주문번호"),
        ("map.email", "주문자 이메일"),
        ("map.total", "주문번호"),
        ("map.created_at", "주문일시"),
    ]);
    let res = post_form(&app, &owner, &map, form).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    let error = element(&html, "map-error");
    assert!(
        error.contains("Order amount (paid)") && error.contains("the column “주문번호” is already chosen for Order id"),
        "{error}"
    );
    assert_eq!(
        chosen(&html, "total").as_deref(),
        Some("주문번호"),
        "what was chosen is shown again"
    );
    assert_eq!(app.get("/stats").await["orders"], 0, "nothing imported");
}

#[tokio::test]
async fn the_templates_download_as_utf8_with_a_bom_and_import_as_they_are() {
    let app = TestApp::spawn().await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (_, html) = page(&app, &owner, "/import").await;
    for kind in ["customers", "orders", "products"] {
        assert!(
            html.contains(&format!("href=\"/import/templates/{kind}\"")),
            "the Import page links the {kind} template"
        );
        let res = reqwest::Client::new()
            .get(app.url(&format!("/import/templates/{kind}")))
            .header("cookie", &owner)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            res.headers()["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"dangol-{kind}-template.csv\"")
        );
        let bytes = res.bytes().await.unwrap();
        assert!(
            bytes.starts_with(b"\xEF\xBB\xBF"),
            "{kind}: a byte-order mark for Excel"
        );
        // The API gives the same file, and it imports with no error.
        let api = app
            .admin(Method::GET, &format!("/imports/{kind}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(api, bytes);
        let (status, report) = api_import(&app, kind, "strict=true", std::str::from_utf8(&bytes).unwrap()).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{kind}: {report}");
        assert!(report["imported"].as_u64().unwrap() >= 1, "{kind}: {report}");
    }
    let order = app.get("/orders/A-1001").await;
    assert_eq!(order["total"], 61000.0);
    assert_eq!(app.customer("email", "seoyeon@example.com").await["name"], "이서연");
    let res = no_redirects()
        .get(app.url("/import/templates/orders"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200, "signed-in staff only");
    assert!(!res.text().await.unwrap().contains("order_id"));
}

#[tokio::test]
async fn the_history_keeps_every_import_newest_first_with_who_counts_and_errors() {
    let mut app = TestApp::spawn().await;
    let owner = format!(
        "{}; dangol_lang=en",
        console_cookie(&app, "admin", "test-admin-password").await
    );
    let (_, html) = page(&app, &owner, "/import").await;
    assert!(html.contains("Nothing imported yet."));
    let csrf = csrf_of(&html);

    let res = upload(
        &app,
        &owner,
        &[("csrf", &csrf), ("kind", "customers")],
        "회원목록.csv",
        "user_id,email,name,birthday\nu1,a@example.com,가,1990-01-01\nu2,not-an-email,나,\nu3,c@example.com,다,1990-02-30\n".as_bytes(),
    )
    .await;
    finished(&app, &owner, &location(&res)).await;
    let (status, _) = api_import(
        &app,
        "products",
        "file_name=catalogue.csv",
        "id,name,price\nP1,셔츠,\"12,000원\"\n",
    )
    .await;
    assert_eq!(status, 200);

    let history = app.get("/imports").await;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{history}");
    let (api, console) = (&items[0], &items[1]);
    assert_eq!(
        (api["file_name"].as_str(), api["via"].as_str(), api["kind"].as_str()),
        (Some("catalogue.csv"), Some("api"), Some("products"))
    );
    assert_eq!((api["rows"].as_u64(), api["imported"].as_u64()), (Some(1), Some(1)));
    assert_eq!(api["who"], "DANGOL_MASTER_KEY", "{api}");
    assert_eq!(
        (
            console["file_name"].as_str(),
            console["via"].as_str(),
            console["who"].as_str()
        ),
        (Some("회원목록.csv"), Some("console"), Some("admin"))
    );
    assert_eq!(
        (
            console["rows"].as_u64(),
            console["imported"].as_u64(),
            console["error_count"].as_u64()
        ),
        (Some(3), Some(1), Some(2)),
        "{console}"
    );
    assert_eq!(console["errors"][0]["row"], 3);
    assert_eq!(console["errors"][0]["column"], "email");
    let one = app.get(&format!("/imports/history/{}", console["id"])).await;
    assert_eq!(one["errors"], console["errors"]);
    let page2 = app.get("/imports?limit=1").await;
    assert_eq!(page2["items"][0]["id"], api["id"]);
    let rest = app
        .get(&format!(
            "/imports?limit=1&cursor={}",
            page2["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rest["items"][0]["id"], console["id"]);

    // The Import page lists them newest first; each opens with its errors.
    let (_, html) = page(&app, &owner, "/import").await;
    let list = element(&html, "import-history");
    let (at_api, at_console) = (list.find("catalogue.csv").unwrap(), list.find("회원목록.csv").unwrap());
    assert!(at_api < at_console, "newest first");
    let (status, html) = page(&app, &owner, &format!("/import/history/{}", console["id"])).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<dd id=\"entry-imported\">1</dd>") && html.contains("<dd id=\"entry-errors\">2</dd>"),
        "{html}"
    );
    assert!(html.contains("`birthday` must be a date like 1990-05-17"), "{html}");

    // The CLI's imports are kept too, under the user who ran it.
    let dir = app.stop().await.unwrap();
    let file = dir.path().join("주문.csv");
    std::fs::write(&file, CAFE24).unwrap();
    let mapping = r#"{"order_id":"주문번호","created_at":"주문일시","email":"주문자 이메일","total":"결제금액"}"#;
    let out = Command::new(env!("CARGO_BIN_EXE_dangol"))
        .args(["import", "orders"])
        .arg(&file)
        .args(["--mapping", mapping, "--data-dir"])
        .arg(dir.path())
        .env("USER", "owner-at-shell")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = TestApp::spawn_on(dir.path()).await;
    let history = app.get("/imports").await;
    let cli = &history["items"][0];
    assert_eq!(
        (cli["via"].as_str(), cli["who"].as_str(), cli["file_name"].as_str()),
        (Some("cli"), Some("owner-at-shell"), Some("주문.csv")),
        "{cli}"
    );
    // Its mapping named no status column, so the unpaid order is an order like the others.
    assert_eq!(
        (cli["imported"].as_u64(), cli["mapped"].as_bool()),
        (Some(3), Some(true)),
        "{cli}"
    );
}
