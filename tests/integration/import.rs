//! CSV import through the API and the CLI: our columns and Shopify exports, per-row errors,
//! strict mode, and re-imports that change nothing.

use std::process::Command;

use reqwest::Method;
use serde_json::Value;

use crate::common::TestApp;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/import/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn upload(app: &TestApp, kind: &str, body: Vec<u8>, strict: bool) -> (u16, Value) {
    let res = app
        .admin(Method::POST, &format!("/imports/{kind}?strict={strict}"))
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn shopify_exports_and_our_products_import_once() {
    let app = TestApp::spawn().await;
    let (s, r) = upload(&app, "products", sample("products.csv"), false).await;
    assert_eq!(
        (s, r["imported"].as_u64(), r["errors"].as_array().unwrap().len()),
        (200, Some(5), 0),
        "{r}"
    );
    let p = app.get("/products/P001").await;
    assert_eq!(
        (
            p["name"].as_str().unwrap(),
            p["price"].as_f64().unwrap(),
            p["sale_price"].as_f64().unwrap()
        ),
        ("린넨 오버핏 셔츠", 39000.0, 29000.0)
    );
    assert_eq!(p["source"], "import");

    let (s, r) = upload(&app, "customers", sample("customers_shopify.csv"), false).await;
    assert_eq!((s, r["imported"].as_u64()), (200, Some(3)), "{r}");
    let minjun = app.customer("email", "minjun.kim@example.com").await;
    assert_eq!(minjun["name"], "김민준");
    assert_eq!(minjun["city"], "서울");
    assert_eq!(minjun["email_consent"]["granted"], true);
    assert!(minjun["tags"].as_array().unwrap().iter().any(|t| t == "vip"));

    let (s, r) = upload(&app, "orders", sample("orders_shopify.csv"), false).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["imported"].as_u64(), r["skipped"].as_u64()),
        (Some(3), Some(1)),
        "three orders (two with refunds, each counted once with its order), the pending one left out: {r}"
    );
    let minjun = app.customer("email", "minjun.kim@example.com").await;
    assert!(minjun["stats"]["orders_count"].as_u64().unwrap() >= 1);
    let order = app.get(&format!("/orders/{}", crate::common::urlencode("#1001"))).await;
    assert_eq!(order["customer_id"], minjun["id"]);
    // Shopify's lines name only the SKU: they land on the catalogue's products.
    let ids: Vec<&str> = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["product_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["P001", "P004", "P003"]);
    assert_eq!(order["total"], 89400.0);
    assert_eq!(order["placed_at"], "2024-03-01T03:34:56.000Z");

    let products = app.get("/stats").await["products"].as_u64().unwrap();
    assert_eq!(
        products, 5,
        "every line matched a catalogue product by SKU: nothing new was added"
    );

    // The same files again change nothing.
    let before = app.get("/stats").await;
    let (_, r) = upload(&app, "orders", sample("orders_shopify.csv"), false).await;
    assert_eq!(r["imported"], 0, "{r}");
    let (_, r) = upload(&app, "customers", sample("customers_shopify.csv"), false).await;
    assert_eq!(r["imported"], 0, "{r}");
    let after = app.get("/stats").await;
    assert_eq!(before["events"], after["events"]);
    assert_eq!(
        app.customer("email", "minjun.kim@example.com").await["stats"]["orders_count"],
        minjun["stats"]["orders_count"]
    );
}

#[tokio::test]
async fn bad_rows_are_reported_and_strict_imports_nothing() {
    let app = TestApp::spawn().await;
    let csv = "id,name,price\nA1,좋은 상품,1000\nA2,나쁜 가격,abc\n,이름만,500\nA4,괜찮은 상품,2000\n";
    let (s, r) = upload(&app, "products", csv.as_bytes().to_vec(), true).await;
    assert_eq!(s, 200);
    assert_eq!(r["rejected"], true);
    assert_eq!(r["imported"], 0);
    let rows: Vec<u64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![3, 4], "{r}");
    assert_eq!(r["errors"][0]["column"], "price");
    assert_eq!(app.get("/stats").await["products"], 0, "strict: nothing half-imported");

    let (_, r) = upload(&app, "products", csv.as_bytes().to_vec(), false).await;
    assert_eq!(
        (r["imported"].as_u64(), r["errors"].as_array().unwrap().len()),
        (Some(2), 2)
    );
    assert_eq!(app.get("/stats").await["products"], 2);

    let (s, r) = upload(&app, "orders", b"nothing,useful\n1,2\n".to_vec(), false).await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(r["error"]["code"], "invalid_csv");
    let (s, _) = upload(&app, "widgets", b"a\n".to_vec(), false).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn the_cli_imports_into_a_stopped_server_store() {
    let mut app = TestApp::spawn().await;
    let tmp = app.stop().await.unwrap();
    let file = format!("{}/tests/data/import/customers_shopify.csv", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_dangol"))
        .args(["import", "customers", &file, "--data-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 imported"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // --strict with a bad row: exit status 1 and nothing written.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "id,name,price\nX,ok,1\nY,bad,zz\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dangol"))
        .args(["import", "products", "--strict", "--data-dir"])
        .arg(tmp.path())
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("row 3 (price)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = TestApp::spawn_on(tmp.path()).await;
    assert_eq!(app.customer("email", "jane.doe@example.com").await["name"], "Jane Doe");
    assert_eq!(app.get("/stats").await["products"], 0);
}
