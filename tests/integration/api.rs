//! The admin API: products, customers lists and search, keys, OpenAPI, error codes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{MASTER_KEY, TestApp};

#[tokio::test]
async fn products_bulk_upsert_get_list_and_errors() {
    let app = TestApp::spawn().await;
    let products: Vec<Value> = (1..=5)
        .map(|i| json!({"id": format!("P{i}"), "name": format!("다크초콜릿 {i}"), "category": "초콜릿", "price": 1000 * i, "name_en": format!("Dark chocolate {i}")}))
        .collect();
    let res = app
        .admin(Method::POST, "/products")
        .json(&products)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"upserted": 5, "created": 5}));
    // An update keeps what it leaves out.
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([{"id": "P2", "sale_price": 1500, "in_stock": false}]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["created"], 0);
    let p2 = app.get("/products/P2").await;
    assert_eq!(
        (
            p2["name"].as_str().unwrap(),
            p2["price"].as_f64().unwrap(),
            p2["sale_price"].as_f64().unwrap(),
            p2["in_stock"].as_bool().unwrap()
        ),
        ("다크초콜릿 2", 2000.0, 1500.0, false)
    );
    assert_eq!(p2["name_en"], "Dark chocolate 2");

    let page1 = app.get("/products?limit=2").await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let mut seen: Vec<String> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let mut cursor = page1["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let page = app.get(&format!("/products?limit=2&cursor={c}")).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, vec!["P1", "P2", "P3", "P4", "P5"]);

    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([{"id": "P6", "name": "ok"}, {"id": "P7", "price": -1}]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["field"], "[1].price");
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([{"id": "P8", "price": "cheap"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "[0].price");
    assert_eq!(
        app.get("/stats").await["products"],
        5,
        "a rejected bulk upsert stores nothing"
    );

    let res = app
        .admin(Method::PUT, "/products/P9")
        .json(&json!({"name": "캔들"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app.admin(Method::DELETE, "/products/P9").send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = app.admin(Method::GET, "/products/P9").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "product_not_found");
}

#[tokio::test]
async fn customers_list_paginates_and_searches() {
    let app = TestApp::spawn().await;
    let batch: Vec<Value> = (0..25)
        .map(|i| json!({"type": "identify", "userId": format!("c{i:02}"), "traits": {"name": if i == 7 { "김서연".to_string() } else { format!("Customer {i}") }, "email": format!("c{i}@example.com"), "phone": format!("010-0000-{i:04}")}}))
        .collect();
    assert_eq!(app.send("/v1/batch", json!({"batch": batch})).await.status(), 200);
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/customers?limit=10&cursor={c}"),
            None => "/customers?limit=10".to_string(),
        };
        let page = app.get(&path).await;
        all.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["user_id"].as_str().unwrap().to_string()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(all.len(), 25);
    let by_name = app
        .get(&format!("/customers?q={}", crate::common::urlencode("서연")))
        .await;
    assert_eq!(by_name["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_name["items"][0]["user_id"], "c07");
    let by_email = app.get("/customers?q=c12@example.com").await;
    assert_eq!(by_email["items"][0]["user_id"], "c12");
    let by_phone = app.get("/customers?q=0000-0019").await;
    assert_eq!(by_phone["items"][0]["user_id"], "c19");
    let res = app.admin(Method::GET, "/customers/999999").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "customer_not_found"
    );
    let res = app.admin(Method::GET, "/customers?limit=0").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "limit");
}

#[tokio::test]
async fn api_keys_are_made_used_and_revoked() {
    let app = TestApp::spawn().await;
    let res = app
        .admin(Method::POST, "/keys")
        .json(&json!({"name": "storefront", "kind": "write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    let key = made["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("dgl_write_"));
    let msg = json!({"userId": "kk", "event": "x"});
    let res = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth(&key, Some(""))
        .json(&msg)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list = app.get("/keys").await;
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == made["id"])
        .unwrap();
    assert!(listed.get("key").is_none(), "a key is shown once");
    let admin_key: Value = app
        .admin(Method::POST, "/keys")
        .json(&json!({"name": "script", "kind": "admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = app
        .client
        .get(app.url("/api/v1/stats"))
        .bearer_auth(admin_key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .admin(Method::DELETE, &format!("/keys/{}", made["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .post(app.url("/v1/track"))
        .basic_auth(&key, Some(""))
        .json(&msg)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a revoked key stops working at once");
    let res = app
        .admin(Method::POST, "/keys")
        .json(&json!({"name": "x", "kind": "root"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "kind");
}

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/customers",
        "/api/v1/customers/{id}/events",
        "/api/v1/products",
        "/api/v1/orders",
        "/api/v1/keys",
        "/api/v1/imports/{kind}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// Every route of the API is in the OpenAPI document with every method it answers, and the
/// document names no route that does not exist. The routes come from the router's own list
/// (`dangol::api::paths`); the methods from the running server, which answers a method a path
/// does not serve with 405 and the ones it does in `Allow`.
#[tokio::test]
async fn every_route_is_in_the_openapi_document() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented = doc["paths"].as_object().expect("paths");
    let routes = dangol::api::paths();
    let mut missing = Vec::new();
    for path in &routes {
        // Parameters filled in with something a route matches.
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x1" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let res = app
            .client
            .request(reqwest::Method::TRACE, app.url(&concrete))
            .bearer_auth(MASTER_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "TRACE {concrete}: the route {path} is not served");
        let allow = res
            .headers()
            .get("allow")
            .expect("405 names the methods")
            .to_str()
            .unwrap()
            .to_lowercase();
        for method in allow
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != "head")
        {
            if documented.get(path).and_then(|p| p.get(method)).is_none() {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes the OpenAPI document leaves out:\n{}",
        missing.join("\n")
    );
    let phantom: Vec<&String> = documented.keys().filter(|p| !routes.contains(p)).collect();
    assert!(
        phantom.is_empty(),
        "the document names routes that do not exist: {phantom:?}"
    );
}

#[test]
fn error_codes_keep_their_strings_and_statuses() {
    use dangol::error::ErrorCode;
    let table: Vec<(&str, u16)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str(), c.status().as_u16()))
        .collect();
    assert_eq!(
        table,
        vec![
            ("invalid_json", 400),
            ("invalid_field", 400),
            ("missing_field", 400),
            ("message_too_large", 413),
            ("payload_too_large", 413),
            ("unauthorized", 401),
            ("forbidden", 403),
            ("not_found", 404),
            ("customer_not_found", 404),
            ("product_not_found", 404),
            ("order_not_found", 404),
            ("conflict", 409),
            ("invalid_csv", 422),
            ("invalid_rule", 422),
            ("internal", 500),
            ("not_ready", 503),
        ]
    );
}
