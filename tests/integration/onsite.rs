//! On-site messages through the API (CONTRACT §7): made and checked by the admin API, answered by
//! `GET /v1/messages` for a visitor on a page, and counted from the events the script sends.
//! The script itself showing them in a browser is in `storefront.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, WRITE_KEY, signed_query, urlencode};
use dangol::config::Config;

fn at(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap()
}

/// A shop on a test clock (Monday 2026-12-07, 10:00 in Seoul) with four products.
pub(crate) async fn shop() -> TestApp {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(tmp.path());
    config.now = Some(at("2026-12-07T10:00:00+09:00"));
    let mut app = TestApp::spawn_with(config).await;
    app.keep(tmp);
    let res = app
        .admin(Method::POST, "/products")
        .json(&json!([
            {"id": "P1", "name": "플라워 오드퍼퓸", "price": 59000, "sale_price": 49000, "url": "https://shop.example/p/1", "image_url": "https://shop.example/1.jpg", "category": "향수"},
            {"id": "P2", "name": "소이 캔들", "price": 20000, "url": "https://shop.example/p/2", "category": "리빙"},
            {"id": "P3", "name": "핸드크림", "price": 12000, "url": "https://shop.example/p/3", "category": "바디"},
            {"id": "P4", "name": "디퓨저", "price": 32000, "url": "https://shop.example/p/4", "category": "리빙"}
        ]))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    app
}

pub(crate) async fn set_clock(app: &TestApp, now: &str) {
    let res = app
        .admin(Method::POST, "/clock")
        .json(&json!({ "now": now }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Makes a message and activates it; its id.
async fn message(app: &TestApp, body: Value) -> u64 {
    let res = app.admin(Method::POST, "/messages").json(&body).send().await.unwrap();
    let status = res.status();
    let created: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "draft");
    let id = created["id"].as_u64().unwrap();
    let res = app
        .admin(Method::POST, &format!("/messages/{id}/activate"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    id
}

/// What `GET /v1/messages` answers for `query` (the write key added).
async fn due(app: &TestApp, query: &str) -> Vec<Value> {
    let res = app
        .client
        .get(app.url(&format!("/v1/messages?{query}")))
        .basic_auth(WRITE_KEY, Some(""))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().unwrap().clone()
}

pub(crate) async fn track(app: &TestApp, who: Value, event: &str, props: Value) {
    let mut body = who;
    body["event"] = event.into();
    body["properties"] = props;
    let res = app.send("/v1/track", body).await;
    assert_eq!(res.status(), 200);
}

fn page(path: &str) -> String {
    format!("url={}", urlencode(&format!("https://shop.example{path}")))
}

#[tokio::test]
async fn bad_messages_are_refused_by_the_field_at_fault() {
    let app = shop().await;
    let base = json!({"name": "x", "kind": "modal", "content": {"title": "안녕하세요"}});
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (body, field) in [
        (
            with(json!({"target": {"urls": [{"match": "regex", "value": "/products/(["}]}})),
            "target.urls[0].value",
        ),
        (
            with(json!({"kind": "recommendation", "recommend": {"strategy": "most_loved"}})),
            "recommend.strategy",
        ),
        (
            with(json!({"display": {"frequency": {"every": "days", "days": -1}}})),
            "display.frequency",
        ),
        (
            with(json!({"display": {"frequency": {"every": "days", "days": 0}}})),
            "display.frequency.days",
        ),
        (
            with(json!({"content": {"html": "<p>hi</p><img src=x onerror=\"alert(1)\">"}})),
            "content.html",
        ),
        (
            with(json!({"content": {"html": "<script>steal()</script>"}})),
            "content.html",
        ),
        (
            with(json!({"content": {"title": "{{ customer.name "}})),
            "content.title",
        ),
        (
            with(json!({"display": {"dont_show_days": 0}})),
            "display.dont_show_days",
        ),
        (with(json!({"kind": "coupon", "coupon_id": 99})), "coupon_id"),
        (with(json!({"kind": "popup"})), "kind"),
        (
            with(json!({"content": {"button_url": "javascript:alert(1)", "button_text": "x"}})),
            "content.button_url",
        ),
        (
            with(json!({"triggers": [{"on": "scroll", "percent": 0}]})),
            "triggers[0].percent",
        ),
    ] {
        let res = app.admin(Method::POST, "/messages").json(&body).send().await.unwrap();
        let status = res.status();
        let err: Value = res.json().await.unwrap();
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error"]["code"], "invalid_field", "{err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    let res = app.admin(Method::GET, "/messages").send().await.unwrap();
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["items"], json!([]), "nothing half-made was kept");
    // Safe HTML is kept, cleaned by a real parser.
    let id = message(&app, with(json!({"content": {"title": "t", "html": "<p>오늘만 <b>20%</b> <a href=\"https://shop.example/sale\">보기</a></p>"}}))).await;
    let got = app.get(&format!("/messages/{id}")).await;
    assert!(
        got["content"]["html"]
            .as_str()
            .unwrap()
            .contains("rel=\"noopener noreferrer\"")
    );
    // A deleted message's id is never given again (what visitors saw of it stays under it).
    let res = app
        .admin(Method::DELETE, &format!("/messages/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let next = message(&app, with(json!({}))).await;
    assert!(next > id, "{next} after {id}");

    // A wrong write key shows nothing.
    let res = app
        .client
        .get(app.url("/v1/messages?anonymousId=a"))
        .basic_auth("not-the-key", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.json::<Value>().await.unwrap().get("messages").is_none());
}

#[tokio::test]
async fn a_recently_viewed_popup_shows_the_last_visit_s_products_once_a_visit_until_put_away() {
    let app = shop().await;
    let id = message(
        &app,
        json!({"name": "다시 보기", "kind": "recommendation", "recommend": {"strategy": "recently_viewed", "limit": 4},
               "content": {"title": "{{ customer.name }}님, 다시 보시겠어요?"}}),
    )
    .await;
    let me = json!({"anonymousId": "visitor-1"});
    // The first visit: two products, in the morning.
    set_clock(&app, "2026-12-07T07:00:00+09:00").await;
    for p in ["P1", "P2"] {
        track(&app, me.clone(), "Product Viewed", json!({"product_id": p})).await;
    }
    // Back three hours later: a product on this visit.
    set_clock(&app, "2026-12-07T10:00:00+09:00").await;
    track(&app, me.clone(), "Product Viewed", json!({"product_id": "P3"})).await;
    let q = format!("anonymousId=visitor-1&{}", page("/"));
    let got = due(&app, &q).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m["id"], id);
    assert_eq!(m["kind"], "recommendation");
    assert_eq!(m["variant"], "a");
    assert_eq!(m["trigger"], json!([{"on": "arrival"}]));
    assert_eq!(m["dont_show_days"], 7);
    let products: Vec<&str> = m["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        &products[..2],
        ["P2", "P1"],
        "the last visit's products first: {products:?}"
    );
    assert!(
        !products.contains(&"P3"),
        "nothing viewed in this visit, fallback included"
    );
    let html = m["html"].as_str().unwrap();
    assert!(
        html.contains("고객님, 다시 보시겠어요?"),
        "an anonymous visitor gets the fallback name"
    );
    assert!(
        html.contains("<s>59,000원</s> 49,000원"),
        "sale price with the regular one struck out"
    );
    assert!(html.contains("7일간 보지 않기"));

    // Seen once this visit: not again in it; on the next visit, again.
    track(
        &app,
        me.clone(),
        "Message Viewed",
        json!({"message_id": id, "variant": "a"}),
    )
    .await;
    assert!(due(&app, &q).await.is_empty(), "once a visit");
    set_clock(&app, "2026-12-07T12:00:00+09:00").await;
    track(&app, me.clone(), "Product Viewed", json!({"product_id": "P4"})).await;
    assert_eq!(due(&app, &q).await.len(), 1, "a new visit");
    // "7일간 보지 않기": put away for seven days, back on the eighth.
    track(
        &app,
        me.clone(),
        "Message Closed",
        json!({"message_id": id, "dont_show_days": 7}),
    )
    .await;
    set_clock(&app, "2026-12-13T12:00:00+09:00").await;
    track(&app, me.clone(), "Page Viewed", json!({})).await;
    assert!(due(&app, &q).await.is_empty(), "six days later");
    set_clock(&app, "2026-12-14T13:00:00+09:00").await;
    track(&app, me.clone(), "Page Viewed", json!({})).await;
    assert_eq!(due(&app, &q).await.len(), 1, "seven days later");

    // The report counts what the browser said.
    let report = app.get(&format!("/messages/{id}/report?days=30")).await;
    assert_eq!(report["totals"]["impressions"], 1);
    assert_eq!(report["totals"]["unique_viewers"], 1);
    assert_eq!(report["totals"]["closes"], 1);
    assert_eq!(report["days"].as_array().unwrap().len(), 30);
    let today = report["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == "2026-12-07")
        .unwrap();
    assert_eq!(today["impressions"], 1);
}

#[tokio::test]
async fn a_member_s_purchases_show_only_on_their_verified_page() {
    let app = shop().await;
    message(
        &app,
        json!({"name": "리뷰 부탁", "kind": "recommendation",
               "recommend": {"strategy": "recently_purchased", "review_url": "https://shop.example/review?product={id}"},
               "content": {"title": "{{ customer.first_name }}님, 잘 받으셨나요?"}}),
    )
    .await;
    app.send_from_server(
        "/v1/identify",
        json!({"userId": "member-9", "anonymousId": "browser-9", "traits": {"name": "김단골"}}),
    )
    .await;
    app.send_from_server(
        "/v1/track",
        json!({"userId": "member-9", "event": "Order Completed",
               "properties": {"order_id": "o9", "total": 20000, "products": [{"product_id": "P2", "price": 20000, "quantity": 1}]}}),
    )
    .await;
    let verified = due(&app, &format!("{}&{}", signed_query("userId=member-9"), page("/"))).await;
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0]["products"], json!(["P2"]));
    let html = verified[0]["html"].as_str().unwrap();
    assert!(html.contains("단골님, 잘 받으셨나요?"), "{html}");
    assert!(html.contains("https://shop.example/review?product=P2"));
    // A bare user id, or the member's browser without the hash, knows nothing of the member.
    for q in ["userId=member-9", "anonymousId=browser-9"] {
        assert!(due(&app, &format!("{q}&{}", page("/"))).await.is_empty(), "{q}");
    }
}

#[tokio::test]
async fn targeting_pages_devices_segments_and_schedules() {
    let app = shop().await;
    // A segment of VIP members.
    let res = app
        .admin(Method::POST, "/segments")
        .json(&json!({"name": "VIP", "live": true, "rule": {"attr": "tags", "op": "has", "value": "vip"}}))
        .send()
        .await
        .unwrap();
    let seg: Value = res.json().await.unwrap();
    let seg_id = seg["id"].as_u64().unwrap_or_else(|| panic!("{seg}"));
    let vip_only = message(
        &app,
        json!({"name": "VIP", "kind": "bar", "content": {"title": "VIP 전용 혜택"}, "target": {"segment_id": seg_id}}),
    )
    .await;
    let product_pages = message(
        &app,
        json!({"name": "상품 페이지, 모바일", "kind": "slide_in", "content": {"title": "모바일 전용"},
               "target": {"urls": [{"match": "starts_with", "value": "/products/"}, {"match": "regex", "value": "/products/P9\\d", "exclude": true}],
                          "devices": ["mobile"]},
               "triggers": [{"on": "scroll", "percent": 50}, {"on": "exit_intent"}],
               "display": {"priority": 5}}),
    )
    .await;
    let weekend = message(
        &app,
        json!({"name": "주말", "kind": "modal", "content": {"title": "주말 특가"}, "display": {"weekdays": [6, 7]}}),
    )
    .await;
    for (user, tags) in [("vip-1", json!(["vip"])), ("plain-1", json!([]))] {
        app.send_from_server("/v1/identify", json!({"userId": user, "traits": {"tags": tags}}))
            .await;
    }
    let ids = |got: Vec<Value>| got.iter().map(|m| m["id"].as_u64().unwrap()).collect::<Vec<_>>();
    let vip = ids(due(&app, &format!("{}&{}", signed_query("userId=vip-1"), page("/"))).await);
    assert_eq!(vip, [vip_only]);
    let plain = ids(due(&app, &format!("{}&{}", signed_query("userId=plain-1"), page("/"))).await);
    assert!(plain.is_empty(), "{plain:?}");
    // Pages and devices: the higher priority first.
    let mobile = ids(due(
        &app,
        &format!(
            "{}&device=mobile&{}",
            signed_query("userId=vip-1"),
            page("/products/P1")
        ),
    )
    .await);
    assert_eq!(mobile, [product_pages, vip_only]);
    let excluded = ids(due(
        &app,
        &format!(
            "{}&device=mobile&{}",
            signed_query("userId=vip-1"),
            page("/products/P91")
        ),
    )
    .await);
    assert_eq!(excluded, [vip_only]);
    let desktop = ids(due(
        &app,
        &format!(
            "{}&device=desktop&{}",
            signed_query("userId=vip-1"),
            page("/products/P1")
        ),
    )
    .await);
    assert_eq!(desktop, [vip_only]);
    // The user agent says the device when the script does not.
    let res = app
        .client
        .get(app.url(&format!("/v1/messages?anonymousId=phone-1&{}", page("/products/P1"))))
        .basic_auth(WRITE_KEY, Some(""))
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
        )
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(ids(body["messages"].as_array().unwrap().clone()), [product_pages]);
    // Saturday: the weekend message too.
    set_clock(&app, "2026-12-12T10:00:00+09:00").await;
    let saturday = ids(due(&app, &format!("anonymousId=someone&{}", page("/"))).await);
    assert_eq!(saturday, [weekend]);
}

#[tokio::test]
async fn a_coupon_message_reveals_a_code_the_checkout_accepts_and_an_order_converts() {
    let app = shop().await;
    let res = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "첫 구매 3천원", "discount": {"type": "fixed", "amount": 3000}}))
        .send()
        .await
        .unwrap();
    let coupon: Value = res.json().await.unwrap();
    let coupon_id = coupon["id"].as_u64().unwrap_or_else(|| panic!("{coupon}"));
    let id = message(
        &app,
        json!({"name": "첫 구매 쿠폰", "kind": "coupon", "coupon_id": coupon_id,
               "content": {"title": "지금 {{ coupon.discount }} 쿠폰을 드려요"}, "triggers": [{"on": "exit_intent"}]}),
    )
    .await;
    let me = json!({"anonymousId": "visitor-c"});
    track(&app, me.clone(), "Product Viewed", json!({"product_id": "P1"})).await;
    let q = format!("anonymousId=visitor-c&{}", page("/products/P1"));
    let got = due(&app, &q).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["coupon"]["discount"], "3,000원 할인");
    assert!(
        got[0]["coupon"].get("code").is_none_or(Value::is_null),
        "no code before the click"
    );
    assert!(
        got[0]["html"]
            .as_str()
            .unwrap()
            .contains("지금 3,000원 할인 쿠폰을 드려요")
    );
    track(&app, me.clone(), "Message Viewed", json!({"message_id": id})).await;
    track(&app, me.clone(), "Message Clicked", json!({"message_id": id})).await;
    let reveal = || async {
        let res = app
            .client
            .post(app.url(&format!("/v1/messages/{id}/code")))
            .header("content-type", "text/plain")
            .body(json!({"anonymousId": "visitor-c", "writeKey": WRITE_KEY}).to_string())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body["code"].as_str().unwrap().to_string()
    };
    let code = reveal().await;
    assert_eq!(reveal().await, code, "the same visitor gets the same code");
    let res = app
        .send(
            "/v1/coupons/validate",
            json!({"code": code, "anonymousId": "visitor-c", "lines": [{"product_id": "P1", "price": 49000, "quantity": 1}]}),
        )
        .await;
    let check: Value = res.json().await.unwrap();
    assert_eq!(check["valid"], true, "{check}");
    assert_eq!(check["discount"], 3000.0);
    // A stranger cannot take a code for a browser that is not theirs to speak for.
    let res = app
        .client
        .post(app.url(&format!("/v1/messages/{id}/code")))
        .basic_auth(WRITE_KEY, Some(""))
        .json(&json!({"userId": "member-x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // A coupon message for members only gives no code to a guest, whatever they send.
    let members_only = message(
        &app,
        json!({"name": "회원 쿠폰", "kind": "coupon", "coupon_id": coupon_id, "target": {"member": "member"}}),
    )
    .await;
    let res = app
        .client
        .post(app.url(&format!("/v1/messages/{members_only}/code")))
        .basic_auth(WRITE_KEY, Some(""))
        .json(&json!({"anonymousId": "visitor-c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // An order within a day of the click is the message's conversion.
    track(
        &app,
        me.clone(),
        "Order Completed",
        json!({"order_id": "c1", "total": 46000, "coupon": code}),
    )
    .await;
    let report = app.get(&format!("/messages/{id}/report")).await;
    let t = &report["totals"];
    assert_eq!(
        (
            t["impressions"].as_u64(),
            t["clicks"].as_u64(),
            t["conversions"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(t["revenue"], 46000.0);
    assert_eq!(t["click_rate"], 1.0);
    let listed = app.get("/messages").await;
    assert_eq!(listed["items"][0]["totals"]["conversions"], 1);
}

#[tokio::test]
async fn social_proof_shows_real_counts_and_hides_below_its_minimum() {
    let app = shop().await;
    let bought = message(
        &app,
        json!({"name": "오늘 구매", "kind": "social_proof", "social_proof": {"measure": "purchased_today", "minimum": 2},
               "target": {"urls": [{"match": "starts_with", "value": "/products/"}]}}),
    )
    .await;
    let q = |p: &str| format!("anonymousId=looker&product_id={p}&{}", page(&format!("/products/{p}")));
    assert!(due(&app, &q("P1")).await.is_empty(), "nobody bought it yet");
    for (who, order) in [("buyer-1", "s1"), ("buyer-2", "s2")] {
        track(
            &app,
            json!({"anonymousId": who}),
            "Order Completed",
            json!({"order_id": order, "total": 49000, "products": [{"product_id": "P1", "price": 49000, "quantity": 1}]}),
        )
        .await;
    }
    // Counts are reused for half a minute: a minute later, the two orders show.
    set_clock(&app, "2026-12-07T10:01:00+09:00").await;
    let got = due(&app, &q("P1")).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"], bought);
    assert!(
        got[0]["html"]
            .as_str()
            .unwrap()
            .contains("오늘 2명이 이 상품을 구매했어요")
    );
    assert!(due(&app, &q("P2")).await.is_empty(), "another product: nobody");
    // The next day, "today" starts again.
    set_clock(&app, "2026-12-08T00:05:00+09:00").await;
    assert!(due(&app, &q("P1")).await.is_empty());
}

#[tokio::test]
async fn the_shop_caps_how_many_messages_a_visitor_sees_in_a_visit() {
    let app = shop().await;
    assert_eq!(
        app.get("/messages/settings").await,
        json!({"per_visit": 3}),
        "three by default"
    );
    let res = app
        .admin(Method::PUT, "/messages/settings")
        .json(&json!({"per_visit": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["field"], "per_visit", "{err}");
    let mut ids = Vec::new();
    for name in ["첫째", "둘째", "셋째"] {
        ids.push(message(&app, json!({"name": name, "kind": "modal", "content": {"title": name}})).await);
    }
    let me = json!({"anonymousId": "visitor-cap"});
    track(&app, me.clone(), "Product Viewed", json!({"product_id": "P1"})).await;
    let q = format!("anonymousId=visitor-cap&{}", page("/"));
    assert_eq!(due(&app, &q).await.len(), 3);
    // Two seen in this visit, with a cap of two: nothing more in it.
    let res = app
        .admin(Method::PUT, "/messages/settings")
        .json(&json!({"per_visit": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for id in &ids[..2] {
        track(
            &app,
            me.clone(),
            "Message Viewed",
            json!({"message_id": id, "variant": "a"}),
        )
        .await;
    }
    assert!(due(&app, &q).await.is_empty(), "the cap of two is reached");
    // With three allowed, the third (the two seen are once a visit).
    let res = app
        .admin(Method::PUT, "/messages/settings")
        .json(&json!({"per_visit": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got: Vec<Value> = due(&app, &q).await.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(got, vec![json!(ids[2])]);
    // The next visit, an hour later: the cap starts again.
    set_clock(&app, "2026-12-07T11:00:00+09:00").await;
    track(&app, me.clone(), "Product Viewed", json!({"product_id": "P2"})).await;
    assert_eq!(due(&app, &q).await.len(), 3);
}
