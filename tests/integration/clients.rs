//! Compatibility with the real Segment clients: analytics-python and @segment/analytics-node,
//! pointed at dangol with only `host` changed. Both are libraries for a shop's backend, so they
//! send with a server write key (CONTRACT §5): their messages join browsers and ids to members
//! who exist (analytics-node sends its batches concurrently, so an order may land before the
//! identify that names the browser). analytics.js, in the shop's pages, sends with the public
//! write key (the browser test below).

use std::process::Command;

use serde_json::Value;

use crate::common::{TestApp, WRITE_KEY, node_modules, python};

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_segment_python_client_works_unchanged() {
    let app = TestApp::spawn().await;
    let py = python();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/segment_python.py");
    let (base, key) = (app.base.clone(), app.server_key().await);
    tokio::task::spawn_blocking(move || run(Command::new(py).args([script, &base, &key, "py"])))
        .await
        .unwrap();

    let c = app.customer("user_id", "py-user").await;
    assert_eq!(c["email"], "py@example.com");
    assert_eq!(c["name"], "파이썬 고객");
    assert_eq!(c["email_consent"]["granted"], true);
    assert_eq!(c["stats"]["orders_count"], 1);
    assert_eq!(c["stats"]["total_spent"], 39000.0);
    // page + view (anonymous, then stitched) + identify + order + group + alias.
    assert_eq!(c["stats"]["events"], 6);
    assert_eq!(app.customer("anonymous_id", "py-anon").await["id"], c["id"]);
    assert_eq!(
        app.customer("anonymous_id", "py-anon-old").await["id"],
        c["id"],
        "alias linked the previous id"
    );
    let events = app.events_of(c["id"].as_u64().unwrap()).await;
    let lib = &events.iter().find(|e| e["type"] == "identify").unwrap()["context"]["library"];
    assert_eq!(lib["name"], "analytics-python");
    assert_eq!(app.get("/orders/py-order").await["customer_id"], c["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_segment_node_client_works_unchanged() {
    let app = TestApp::spawn().await;
    // ES modules resolve packages from the script's own folder, so the script runs from there.
    let dir = node_modules().parent().unwrap().to_path_buf();
    let script = dir.join("segment_node.mjs");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/segment_node.mjs"),
        &script,
    )
    .unwrap();
    let (base, key) = (app.base.clone(), app.server_key().await);
    tokio::task::spawn_blocking(move || run(Command::new("node").arg(script).args([&base, &key, "js"])))
        .await
        .unwrap();

    let c = app.customer("user_id", "js-user").await;
    assert_eq!(c["email"], "js@example.com");
    assert_eq!(c["sms_consent"]["granted"], false);
    assert_eq!(c["stats"]["events"], 5);
    assert_eq!(c["stats"]["orders_count"], 1);
    let events = app.events_of(c["id"].as_u64().unwrap()).await;
    let lib: &Value = &events[0]["context"]["library"];
    assert_eq!(lib["name"], "@segment/analytics-node");
    let interests = app.get(&format!("/customers/{}/interests", c["id"])).await;
    assert!(
        interests["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "carted" && i["product_id"] == "JS-1")
    );
}

/// The page a storefront would have: analytics.js (@segment/analytics-next) loaded with
/// `cdnURL` pointing at dangol, which answers its settings with the Segment.io destination
/// pointed back at itself.
const STOREFRONT: &str = r#"<!doctype html>
<html><head><title>loading</title>
<script src="/ajs/index.js"></script>
<script>
(async () => {
  try {
    const [analytics] = await AnalyticsNext.AnalyticsBrowser.load({ writeKey: "WRITE_KEY", cdnURL: "DANGOL" });
    await analytics.page("Home");
    await analytics.track("Product Viewed", { product_id: "WEB-1", name: "브라우저 향수", category: "향수", price: 1000 });
    await analytics.identify("web-user", { email: "web@example.com", kakao_consent: true });
    await analytics.track("Order Completed", { order_id: "web-order", total: 1000, products: [{ product_id: "WEB-1", price: 1000, quantity: 1 }] });
    document.title = "done";
  } catch (e) {
    document.title = "error: " + e;
  }
})();
</script></head><body>storefront</body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_js_in_a_real_browser_works_unchanged() {
    use axum::extract::Path as UrlPath;
    use axum::http::header;
    use axum::response::IntoResponse;

    let app = TestApp::spawn().await;
    let ajs = node_modules().join("@segment/analytics-next/dist/umd");
    assert!(
        ajs.join("index.js").exists(),
        "analytics-next is not installed in {}",
        ajs.display()
    );
    let page = STOREFRONT.replace("WRITE_KEY", WRITE_KEY).replace("DANGOL", &app.base);
    // The storefront: another origin than dangol, as in a real shop.
    let shop = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page) }),
        )
        .route(
            "/ajs/{file}",
            axum::routing::get(move |UrlPath(file): UrlPath<String>| {
                let ajs = ajs.clone();
                async move {
                    match std::fs::read(ajs.join(file.replace("..", ""))) {
                        Ok(body) => ([(header::CONTENT_TYPE, "text/javascript")], body).into_response(),
                        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, shop).await });

    let dom = tokio::task::spawn_blocking(move || crate::common::headless_dom(&shop_url))
        .await
        .unwrap();
    assert!(dom.contains("<title>done</title>"), "the page did not finish: {dom}");

    let c = app.customer("user_id", "web-user").await;
    assert_eq!(c["email"], "web@example.com");
    assert_eq!(c["kakao_consent"]["granted"], true);
    assert_eq!(
        c["stats"]["events"], 4,
        "page, view, identify and order, the anonymous ones stitched"
    );
    assert_eq!(c["stats"]["orders_count"], 1);
    let events = app.events_of(c["id"].as_u64().unwrap()).await;
    assert_eq!(events.last().unwrap()["type"], "page");
    assert_eq!(events.last().unwrap()["context"]["library"]["name"], "analytics.js");
}
