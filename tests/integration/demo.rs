//! `serve --demo`: the demo shop loads into an empty store through the live code paths.

use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shop_loads_and_is_stitched() {
    let app = TestApp::spawn_demo(300).await;
    let stats = app.get("/stats").await;
    assert_eq!(stats["products"], 300);
    assert!(stats["customers"].as_u64().unwrap() >= 300, "{stats}");
    assert!(stats["orders"].as_u64().unwrap() > 150, "{stats}");
    assert!(stats["events"].as_u64().unwrap() > 3000, "{stats}");

    // Every member is there with a Korean or English name, consents recorded as records.
    let first = app.customer("user_id", "u0000000").await;
    assert!(first["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(first["traits"]["demo_persona"].is_string());

    let mut loyal_orders = Vec::new();
    let mut lapsed_recent = 0;
    let mut anonymous_history = 0;
    let now = chrono::Utc::now();
    for i in 0..300 {
        let c = app.customer("user_id", &format!("u{i:07}")).await;
        let persona = c["traits"]["demo_persona"].as_str().unwrap().to_string();
        let orders = c["stats"]["orders_count"].as_u64().unwrap();
        match persona.as_str() {
            "loyal" => loyal_orders.push(orders),
            "browser" => assert_eq!(orders, 0, "browsers never order"),
            "lapsed" => {
                if let Some(last) = c["stats"]["last_order_at"].as_str() {
                    let last: chrono::DateTime<chrono::Utc> = last.parse().unwrap();
                    if (now - last).num_days() < 150 {
                        lapsed_recent += 1;
                    }
                }
            }
            _ => {}
        }
        let ids = &c["identities"]["anonymous_ids"];
        if ids.as_array().unwrap().len() > 1 {
            anonymous_history += 1;
        }
    }
    assert!(
        !loyal_orders.is_empty() && loyal_orders.iter().all(|&n| n >= 3),
        "{loyal_orders:?}"
    );
    assert_eq!(lapsed_recent, 0, "lapsed members have no recent order");
    assert!(
        anonymous_history > 0,
        "some members browsed on another device or before sign-up"
    );
}

/// `serve --demo` keeps its shop alive: visitors arrive through the tracking API's ingest from
/// the first seconds on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shop_s_visitors_keep_coming_while_it_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = dangol::config::Config::for_tests(tmp.path());
    config.demo = true;
    config.demo_customers = 100;
    config.demo_live = true;
    let mut app = TestApp::spawn_with(config).await;
    app.keep(tmp);
    let before = app.get("/stats").await["events"].as_u64().unwrap();
    // The first visit starts at once; its later page views follow within seconds.
    let mut after = before;
    for _ in 0..300 {
        after = app.get("/stats").await["events"].as_u64().unwrap();
        if after >= before + 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(after >= before + 2, "no live visitor in 30 s: {before} → {after}");
    // Not while it is off (the other tests' demo shops stand still).
    assert!(!dangol::config::Config::for_tests(std::path::Path::new("/tmp")).demo_live);
}
