//! Segment rules over a small handmade shop whose right answers are known by hand. The clock
//! stands at 00:30 in Seoul, so "today" began half an hour ago and windows cross midnight.

use std::collections::{BTreeSet, HashMap};

use dangol::config::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

const NOW: &str = "2026-11-03T00:30:00+09:00";

struct Shop {
    app: TestApp,
    /// Letter → customer id.
    ids: HashMap<&'static str, u64>,
}

fn event(who: (&str, &str), name: &str, at: &str, properties: Value) -> Value {
    let mut e = json!({"type": "track", "event": name, "timestamp": at, "properties": properties});
    e[who.0] = json!(who.1);
    e
}

async fn shop() -> Shop {
    let tmp = tempfile::tempdir().unwrap().keep();
    let mut config = Config::for_tests(&tmp);
    config.now = Some(chrono::DateTime::parse_from_rfc3339(NOW).unwrap());
    let app = TestApp::spawn_with(config).await;
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([
            {"id": "P1", "name": "플라워 향수", "category": "향수/여성향수", "price": 50000},
            {"id": "P2", "name": "다크초콜릿 선물세트", "category": "식품/초콜릿", "price": 30000}
        ]))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let u = |id: &'static str| ("userId", id);
    let batch = vec![
        // a: signed up yesterday evening, 40 minutes before now; nothing else.
        event(u("a"), "Signed Up", "2026-11-02T23:50:00+09:00", json!({})),
        // b: signed up today and ordered today.
        event(u("b"), "Signed Up", "2026-11-03T00:10:00+09:00", json!({})),
        event(
            u("b"),
            "Order Completed",
            "2026-11-03T00:20:00+09:00",
            json!({"order_id": "b1", "total": 30000}),
        ),
        // c: signed up in October; ordered 4 and 33 days ago.
        event(u("c"), "Signed Up", "2026-10-20T12:00:00+09:00", json!({})),
        event(
            u("c"),
            "Order Completed",
            "2026-10-30T12:00:00+09:00",
            json!({"order_id": "c1", "total": 50000}),
        ),
        event(
            u("c"),
            "Order Completed",
            "2026-10-01T12:00:00+09:00",
            json!({"order_id": "c2", "total": 20000}),
        ),
        // d: an anonymous visitor who viewed the perfume twice on 1 Nov and once in October.
        event(
            ("anonymousId", "anon-d"),
            "Product Viewed",
            "2026-11-01T10:00:00+09:00",
            json!({"product_id": "P1", "category": "향수/여성향수"}),
        ),
        event(
            ("anonymousId", "anon-d"),
            "Product Viewed",
            "2026-11-01T10:05:00+09:00",
            json!({"product_id": "P1", "category": "향수/여성향수"}),
        ),
        event(
            ("anonymousId", "anon-d"),
            "Product Viewed",
            "2026-10-10T10:00:00+09:00",
            json!({"product_id": "P1", "category": "향수/여성향수"}),
        ),
        // e: signed up on 31 Oct; viewed perfume once and carted the chocolate yesterday.
        event(u("e"), "Signed Up", "2026-10-31T09:00:00+09:00", json!({})),
        event(
            u("e"),
            "Product Viewed",
            "2026-11-02T20:00:00+09:00",
            json!({"product_id": "P1"}),
        ),
        event(
            u("e"),
            "Product Added",
            "2026-11-02T20:05:00+09:00",
            json!({"product_id": "P2", "quantity": 1}),
        ),
        // f: signed up in September; used coupons twice this week and once in September.
        event(u("f"), "Signed Up", "2026-09-01T09:00:00+09:00", json!({})),
        event(u("f"), "Coupon Used", "2026-11-01T09:00:00+09:00", json!({})),
        event(u("f"), "Coupon Used", "2026-11-02T09:00:00+09:00", json!({})),
        event(u("f"), "Coupon Used", "2026-09-02T09:00:00+09:00", json!({})),
        json!({"type": "identify", "userId": "e", "traits": {"address": {"city": "Seoul", "country": "KR"}, "plan": "gold", "age": 31, "sms_consent": true}}),
        json!({"type": "identify", "userId": "f", "traits": {"address": {"city": "부산"}}}),
    ];
    // The shop's backend sends the history: identifies of members who exist by then change
    // their consents and address (CONTRACT §5).
    let res = app.send_from_server("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let mut ids = HashMap::new();
    for who in ["a", "b", "c", "e", "f"] {
        ids.insert(who, app.customer("user_id", who).await["id"].as_u64().unwrap());
    }
    ids.insert(
        "d",
        app.customer("anonymous_id", "anon-d").await["id"].as_u64().unwrap(),
    );
    let res = app
        .admin(Method::POST, &format!("/customers/{}/tags", ids["d"]))
        .json(&json!({"add": ["vip"]}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    Shop { app, ids }
}

impl Shop {
    async fn members(&self, rule: Value) -> BTreeSet<&'static str> {
        let res = self
            .app
            .admin(Method::POST, "/segments/preview")
            .json(&json!({"rule": rule, "sample": 100}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{rule}: {body}");
        let by_id: HashMap<u64, &'static str> = self.ids.iter().map(|(k, v)| (*v, *k)).collect();
        let found: BTreeSet<&'static str> = body["sample"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| by_id[&c["id"].as_u64().unwrap()])
            .collect();
        assert_eq!(body["count"].as_u64().unwrap() as usize, found.len(), "{rule}: {body}");
        found
    }

    async fn check(&self, rule: Value, want: &[&'static str]) {
        let got = self.members(rule.clone()).await;
        let want: BTreeSet<&'static str> = want.iter().copied().collect();
        assert_eq!(got, want, "rule {rule}");
    }

    /// Everyone but these.
    fn all_but(&self, not: &[&str]) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.ids.keys().copied().filter(|k| !not.contains(k)).collect();
        v.sort();
        v
    }
}

#[tokio::test]
async fn profile_and_order_conditions_across_midnight_in_seoul() {
    let s = shop().await;
    // "Today" began at 00:00 Seoul time: a signed up 40 minutes ago but yesterday.
    s.check(json!({"attr": "signed_up_at", "op": "within_days", "value": 1}), &["b"])
        .await;
    s.check(
        json!({"attr": "signed_up_at", "op": "within_days", "value": 2}),
        &["a", "b"],
    )
    .await;
    s.check(
        json!({"attr": "signed_up_at", "op": "not_within_days", "value": 7}),
        &["c", "f"],
    )
    .await;
    // Sixshop's example: signed up in the last 7 days and no order in the last 7 days.
    s.check(
        json!({"all": [
            {"attr": "signed_up_at", "op": "within_days", "value": 7},
            {"not": {"attr": "orders_count", "op": ">=", "value": 1, "days": 7}}
        ]}),
        &["a", "e"],
    )
    .await;
    s.check(
        json!({"attr": "orders_count", "op": ">=", "value": 1, "days": 7}),
        &["b", "c"],
    )
    .await;
    s.check(
        json!({"attr": "orders_count", "op": "=", "value": 0}),
        &["a", "d", "e", "f"],
    )
    .await;
    // The 30-day window starts on 4 Oct: c's order of 1 Oct is outside.
    s.check(
        json!({"attr": "total_spent", "op": "between", "value": [40000, 60000], "days": 30}),
        &["c"],
    )
    .await;
    s.check(json!({"attr": "total_spent", "op": ">=", "value": 60000}), &["c"])
        .await;
    s.check(
        json!({"attr": "last_order_at", "op": "within_days", "value": 1}),
        &["b"],
    )
    .await;
    s.check(
        json!({"attr": "last_order_at", "op": "not_within_days", "value": 1}),
        &["c"],
    )
    .await;
    s.check(json!({"attr": "last_seen_at", "op": "within_days", "value": 1}), &["b"])
        .await;
    s.check(json!({"attr": "tags", "op": "has", "value": "vip"}), &["d"])
        .await;
    s.check(
        json!({"attr": "tags", "op": "has_any", "value": ["nope", "vip"]}),
        &["d"],
    )
    .await;
    s.check(json!({"attr": "city", "op": "=", "value": "seoul"}), &["e"])
        .await;
    s.check(
        json!({"attr": "city", "op": "in", "value": ["부산", "SEOUL"]}),
        &["e", "f"],
    )
    .await;
    s.check(json!({"attr": "country", "op": "=", "value": "kr"}), &["e"])
        .await;
    s.check(json!({"attr": "sms_consent", "op": "=", "value": true}), &["e"])
        .await;
    s.check(
        json!({"attr": "sms_consent", "op": "=", "value": false}),
        &s.all_but(&["e"]),
    )
    .await;
    s.check(json!({"attr": "trait.plan", "op": "=", "value": "Gold"}), &["e"])
        .await;
    s.check(json!({"attr": "trait.age", "op": ">=", "value": 30}), &["e"])
        .await;
    s.check(json!({"attr": "trait.plan", "op": "exists"}), &["e"]).await;
    s.check(
        json!({"attr": "trait.plan", "op": "!=", "value": "gold"}),
        &s.all_but(&["e"]),
    )
    .await;
    // No coupon exists yet: everybody holds none.
    s.check(json!({"attr": "available_coupons", "op": ">=", "value": 1}), &[])
        .await;
    // NOT and ANY nested: VIPs, or those neither in Seoul nor signed up in the last 30 days.
    s.check(
        json!({"any": [
            {"attr": "tags", "op": "has", "value": "vip"},
            {"not": {"any": [
                {"attr": "city", "op": "=", "value": "seoul"},
                {"attr": "signed_up_at", "op": "within_days", "value": 30}
            ]}}
        ]}),
        &["d", "f"],
    )
    .await;
}

/// Waits until the last 90 days of touches are in memory (windows of views are counted there).
async fn recent_ready(app: &TestApp) {
    for _ in 0..600 {
        if app.get("/stats").await["recent_ready"] == true {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the recent touches were not built");
}

#[tokio::test]
async fn behaviour_interest_and_event_conditions() {
    let s = shop().await;
    recent_ready(&s.app).await;
    s.check(
        json!({"attr": "viewed", "op": "category", "value": "향수", "min_count": 2, "days": 14}),
        &["d"],
    )
    .await;
    s.check(
        json!({"attr": "viewed", "op": "category", "value": "향수"}),
        &["d", "e"],
    )
    .await;
    s.check(
        json!({"attr": "viewed", "op": "category", "value": "향수/여성향수", "min_count": 3}),
        &["d"],
    )
    .await;
    // One day is today only; two days reach back to yesterday, when e looked.
    s.check(
        json!({"attr": "viewed", "op": "product", "value": "P1", "days": 1}),
        &[],
    )
    .await;
    s.check(
        json!({"attr": "viewed", "op": "product", "value": "P1", "days": 2}),
        &["e"],
    )
    .await;
    s.check(
        json!({"attr": "carted", "op": "product", "value": "다크초콜릿 선물세트"}),
        &["e"],
    )
    .await;
    s.check(
        json!({"attr": "interest", "op": "matches", "value": "향수"}),
        &["d", "e"],
    )
    .await;
    s.check(
        json!({"attr": "interest", "op": "matches", "value": "초콜릿", "days": 7}),
        &["e"],
    )
    .await;
    s.check(
        json!({"attr": "event", "name": "Coupon Used", "op": ">=", "value": 2, "days": 7}),
        &["f"],
    )
    .await;
    s.check(
        json!({"attr": "event", "name": "Coupon Used", "op": "=", "value": 3}),
        &["f"],
    )
    .await;
    s.check(
        json!({"attr": "event", "name": "Coupon Used", "op": "=", "value": 0, "days": 7}),
        &s.all_but(&["f"]),
    )
    .await;

    // After a restart the columns (and who touched what) are built from the store: same answers.
    let Shop { mut app, ids } = s;
    let dir = app.dir.clone();
    app.stop().await;
    let mut config = Config::for_tests(&dir);
    config.now = Some(chrono::DateTime::parse_from_rfc3339(NOW).unwrap());
    let s = Shop {
        app: TestApp::spawn_with(config).await,
        ids,
    };
    recent_ready(&s.app).await;
    s.check(
        json!({"attr": "viewed", "op": "category", "value": "향수", "min_count": 2, "days": 14}),
        &["d"],
    )
    .await;
    s.check(
        json!({"attr": "carted", "op": "product", "value": "다크초콜릿 선물세트"}),
        &["e"],
    )
    .await;
    s.check(
        json!({"attr": "interest", "op": "matches", "value": "향수", "days": 2}),
        &["e"],
    )
    .await;
}

#[tokio::test]
async fn analysis_fields_and_a_wrong_rule() {
    let s = shop().await;
    crate::analysis::analyse(&s.app).await;
    s.check(
        json!({"attr": "rfm_segment", "op": "=", "value": "prospects"}),
        &["a", "d", "e", "f"],
    )
    .await;
    s.check(
        json!({"attr": "churn_risk", "op": "in", "value": ["low", "medium", "high"]}),
        &["b", "c"],
    )
    .await;
    s.check(json!({"attr": "predicted_clv", "op": ">=", "value": 0}), &["b", "c"])
        .await;
    // No snapshot that old: nobody was anything 30 days ago.
    s.check(
        json!({"attr": "rfm_segment", "op": "=", "value": "prospects", "days_ago": 30}),
        &[],
    )
    .await;

    let res = s
        .app
        .admin(Method::POST, "/segments/preview")
        .json(&json!({"rule": {"all": [{"attr": "tags", "op": "has", "value": "vip"}, {"attr": "orders_count", "op": ">", "value": 1}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_rule");
    assert_eq!(body["error"]["field"], "rule.all[1].op");
    assert!(body["error"]["message"].as_str().unwrap().contains(">="), "{body}");
}

#[tokio::test]
async fn saved_segments_are_recomputed_nightly_and_kept_per_date() {
    let s = shop().await;
    let app = &s.app;
    let sixshop = json!({"all": [
        {"attr": "signed_up_at", "op": "within_days", "value": 7},
        {"not": {"attr": "orders_count", "op": ">=", "value": 1, "days": 7}}
    ]});
    let res = app
        .admin(Method::POST, "/segments")
        .json(&json!({"name": "새 회원, 주문 없음", "rule": sixshop}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let seg: Value = res.json().await.unwrap();
    let id = seg["id"].as_u64().unwrap();
    // Counted when saved: no page shows it empty until midnight.
    assert_eq!(
        (seg["latest"]["date"].as_str(), seg["latest"]["count"].as_u64()),
        (Some("2026-11-03"), Some(2)),
        "{seg}"
    );
    // A wrong rule is refused on save too, naming the part.
    let res = app
        .admin(Method::POST, "/segments")
        .json(&json!({"name": "x", "rule": {"attr": "tags", "op": "is", "value": "vip"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "rule.op");

    let run = crate::common::run_job(app, "segments").await;
    assert_eq!(run["outcome"], "ok", "{run}");
    let m = app.get(&format!("/segments/{id}/members?date=2026-11-03")).await;
    assert_eq!(m["date"], "2026-11-03");
    assert_eq!(m["count"], 2);
    assert_eq!(m["entered"], 2);
    let got: BTreeSet<u64> = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, BTreeSet::from([s.ids["a"], s.ids["e"]]));
    // Paged by cursor.
    let p1 = app.get(&format!("/segments/{id}/members?limit=1")).await;
    let p2 = app
        .get(&format!(
            "/segments/{id}/members?limit=1&cursor={}",
            p1["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        p1["items"].as_array().unwrap().len() + p2["items"].as_array().unwrap().len(),
        2
    );
    assert!(p2["next_cursor"].is_null());
    // Before the first recompute there is nothing to show.
    let res = app
        .admin(Method::GET, &format!("/segments/{id}/members?date=2026-11-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // CSV export.
    let csv = app
        .admin(Method::GET, &format!("/segments/{id}/members.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("id,user_id,email,name,phone\n"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // Membership questions: the nightly answer, then the live one.
    let a = app.get(&format!("/segments/{id}/members/{}", s.ids["a"])).await;
    assert_eq!(
        (a["member"].as_bool(), a["as_of"].as_str()),
        (Some(true), Some("2026-11-03"))
    );
    let res = app
        .admin(Method::PUT, &format!("/segments/{id}"))
        .json(&json!({"name": "VIP", "rule": {"attr": "tags", "op": "has", "value": "vip"}, "live": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d = app.get(&format!("/segments/{id}/members/{}", s.ids["d"])).await;
    assert_eq!((d["member"].as_bool(), d["as_of"].as_str()), (Some(true), Some("now")));
    let described = app.get(&format!("/segments/{id}")).await;
    assert_eq!(described["name"], "VIP");
    assert_eq!(
        described["latest"]["count"], 1,
        "the rule changed: today's count is the new rule's (d)"
    );
    assert_eq!(described["history"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/segments").await["items"].as_array().unwrap().len(), 1);
    // Deleted: gone with its history.
    let res = app
        .admin(Method::DELETE, &format!("/segments/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app.admin(Method::GET, &format!("/segments/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

/// Whether the customer carries the tag.
async fn tagged(app: &TestApp, id: u64, tag: &str) -> bool {
    let c = app.get(&format!("/customers/{id}")).await;
    c["tags"].as_array().unwrap().iter().any(|t| t == tag)
}

#[tokio::test]
async fn membership_moves_are_counted_from_one_night_to_the_next() {
    let s = shop().await;
    let Shop { mut app, ids } = s;
    let res = app
        .admin(Method::POST, "/segments")
        .json(&json!({"name": "recent sign-ups", "rule": {"attr": "signed_up_at", "op": "within_days", "value": 2}, "auto_tag": " 신규 "}))
        .send()
        .await
        .unwrap();
    let seg = res.json::<Value>().await.unwrap();
    assert_eq!(seg["auto_tag"], "신규");
    let id = seg["id"].as_u64().unwrap();
    // c, never a member, carries the tag by hand.
    let res = app
        .admin(Method::POST, &format!("/customers/{}/tags", ids["c"]))
        .json(&json!({"add": ["신규"]}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    // 3 Nov: a (2 Nov) and b (3 Nov) signed up within 2 days; the save counted them and tagged them.
    for (who, tag) in [("a", true), ("b", true), ("d", false)] {
        assert_eq!(tagged(&app, ids[who], "신규").await, tag, "{who}");
    }
    let run = crate::common::run_job(&app, "segments").await;
    assert_eq!(run["outcome"], "ok");
    let m = app.get(&format!("/segments/{id}/members")).await;
    assert_eq!(m["count"], 2);
    assert!(
        run["message"]
            .as_str()
            .unwrap()
            .contains("automatic tags: 0 added, 0 removed"),
        "the same day's run finds nothing to change: {run}"
    );
    for (who, tag) in [("a", true), ("b", true), ("c", true), ("d", false)] {
        assert_eq!(tagged(&app, ids[who], "신규").await, tag, "{who}");
    }
    let dir = app.dir.clone();
    app.stop().await;
    // The next day the nightly run (a catch-up on start) finds a has aged out and nobody new.
    let mut config = Config::for_tests(&dir);
    config.now = Some(chrono::DateTime::parse_from_rfc3339("2026-11-04T09:00:00+09:00").unwrap());
    let app = TestApp::spawn_with(config).await;
    for _ in 0..400 {
        let j = app.get("/jobs").await;
        let seg = j["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == "segments")
            .unwrap()
            .clone();
        if seg["last"]["trigger"] == "catch_up" && seg["running_since"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let m = app.get(&format!("/segments/{id}/members?date=2026-11-04")).await;
    assert_eq!(m["date"], "2026-11-04");
    assert_eq!(
        (m["count"].as_u64(), m["entered"].as_u64(), m["left"].as_u64()),
        (Some(1), Some(0), Some(1)),
        "{m}"
    );
    let got: BTreeSet<u64> = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(got, BTreeSet::from([ids["b"]]));
    // The day before is still there.
    assert_eq!(
        app.get(&format!("/segments/{id}/members?date=2026-11-03")).await["count"],
        2
    );
    // a left and lost the automatic tag; b keeps it; c's hand-added one stays.
    for (who, tag) in [("a", false), ("b", true), ("c", true), ("d", false)] {
        assert_eq!(tagged(&app, ids[who], "신규").await, tag, "{who}");
    }
}
