//! Coupons: shared and unique codes, validation with its reasons, idempotent redemption, the last
//! uses under concurrency, and restriction to a segment.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, signed};

async fn identify(app: &TestApp, users: &[&str]) {
    let batch: Vec<Value> = users
        .iter()
        .map(|u| json!({"type": "identify", "userId": u, "traits": {"email": format!("{u}@example.com")}}))
        .collect();
    let res = app.send("/v1/batch", json!({"batch": batch})).await;
    assert_eq!(res.status(), 200);
}

async fn create(app: &TestApp, body: Value) -> Value {
    let res = app.admin(Method::POST, "/coupons").json(&body).send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn storefront(app: &TestApp, path: &str, body: Value) -> Value {
    let res = app.track(path).json(&signed(body)).send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn cart(price: f64) -> Value {
    json!([{"product_id": "P1", "price": price, "quantity": 1}])
}

#[tokio::test]
async fn a_shared_code_validates_redeems_once_per_order_and_per_customer() {
    let app = TestApp::spawn().await;
    identify(&app, &["u1"]).await;
    let c = create(
        &app,
        json!({"name": "Welcome", "code": "welcome10", "discount": {"type": "percent", "percent": 10, "cap": 5000},
               "min_order": 30000}),
    )
    .await;
    assert_eq!(c["code"], "WELCOME10");
    let id = c["id"].as_u64().unwrap();

    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "Welcome10", "userId": "u1", "lines": cart(40000.0)}),
    )
    .await;
    assert_eq!(v, json!({"valid": true, "discount": 4000.0, "stackable": false}));
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "WELCOME10", "userId": "u1", "lines": cart(90000.0)}),
    )
    .await;
    assert_eq!(v["discount"], 5000.0, "capped");
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "WELCOME10", "userId": "u1", "lines": cart(20000.0)}),
    )
    .await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["reason"]["code"], "minimum_not_reached");
    assert!(v["reason"]["message"].as_str().unwrap().contains("30000"), "{v}");
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "NOPE", "anonymousId": "new-visitor", "lines": cart(1.0)}),
    )
    .await;
    assert_eq!(v["reason"]["code"], "unknown_code");
    // A new anonymous visitor may check an open code.
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "WELCOME10", "anonymousId": "new-visitor", "lines": cart(40000.0)}),
    )
    .await;
    assert_eq!(v["valid"], true);

    // Redeem: once per order; the same order again answers the same and counts nothing.
    let body = json!({"code": "WELCOME10", "userId": "u1", "order_id": "o1", "lines": cart(40000.0)});
    let r = storefront(&app, "/v1/coupons/redeem", body.clone()).await;
    assert_eq!(
        (r["valid"].clone(), r["discount"].clone()),
        (json!(true), json!(4000.0))
    );
    let again = storefront(&app, "/v1/coupons/redeem", body).await;
    assert_eq!(
        (again["valid"].clone(), again["repeated"].clone()),
        (json!(true), json!(true))
    );
    let c = app.get(&format!("/coupons/{id}")).await;
    assert_eq!((c["used"].clone(), c["revenue"].clone()), (json!(1), json!(36000.0)));
    // One use per customer (the default).
    let r = storefront(
        &app,
        "/v1/coupons/redeem",
        json!({"code": "WELCOME10", "userId": "u1", "order_id": "o2", "lines": cart(40000.0)}),
    )
    .await;
    assert_eq!(r["reason"]["code"], "customer_limit_reached");

    // Changing the terms keeps the counts; a new shared code replaces the old one.
    let res = app
        .admin(Method::PUT, &format!("/coupons/{id}"))
        .json(&json!({"name": "Welcome 15", "code": "WELCOME15", "discount": {"type": "percent", "percent": 15}, "min_order": 30000}))
        .send()
        .await
        .unwrap();
    let c: Value = res.json().await.unwrap();
    assert_eq!(
        (c["name"].clone(), c["code"].clone(), c["used"].clone()),
        (json!("Welcome 15"), json!("WELCOME15"), json!(1)),
        "{c}"
    );
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "WELCOME10", "anonymousId": "x", "lines": cart(40000.0)}),
    )
    .await;
    assert_eq!(v["reason"]["code"], "unknown_code");
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "WELCOME15", "anonymousId": "x", "lines": cart(40000.0)}),
    )
    .await;
    assert_eq!(v["discount"], 6000.0);
    let res = app
        .admin(Method::PUT, "/coupons/999")
        .json(&json!({"name": "x", "discount": {"type": "fixed", "amount": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Bad input names the field; no write key is refused.
    for (body, field) in [
        (json!({"code": "", "userId": "u1"}), "code"),
        (json!({"code": "X"}), "userId"),
        (
            json!({"code": "X", "userId": "u1", "lines": [{"product_id": "P1", "price": -1, "quantity": 1}]}),
            "lines[0]",
        ),
    ] {
        let res = app.track("/v1/coupons/validate").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    let res = app
        .track("/v1/coupons/redeem")
        .json(&signed(json!({"code": "WELCOME10", "userId": "u1"})))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "order_id");
    let res = app
        .client
        .post(app.url("/v1/coupons/validate"))
        .json(&json!({"code": "WELCOME10", "userId": "u1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Every answer says how long the server took (W3C Server-Timing).
    let res = app
        .track("/v1/coupons/validate")
        .json(&signed(
            json!({"code": "WELCOME15", "userId": "u1", "lines": cart(40000.0)}),
        ))
        .send()
        .await
        .unwrap();
    let timing = res.headers()["server-timing"].to_str().unwrap().to_string();
    let ms: f64 = timing.strip_prefix("app;dur=").unwrap().parse().unwrap();
    assert!(ms > 0.0, "{timing}");
    // A taken code and a wrong discount are refused on create, naming the field.
    let res = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "again", "code": "WELCOME15", "discount": {"type": "fixed", "amount": 1000}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "bad", "discount": {"type": "percent", "percent": 120}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "discount.percent");
}

#[tokio::test]
async fn of_many_concurrent_redemptions_exactly_the_limit_succeed() {
    let app = TestApp::spawn().await;
    let users: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    identify(&app, &users.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let c = create(
        &app,
        json!({"name": "First five", "code": "FIRST5", "discount": {"type": "fixed", "amount": 3000}, "total_limit": 5}),
    )
    .await;
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let req = app.track("/v1/coupons/redeem").json(&signed(
                json!({"code": "FIRST5", "userId": u, "order_id": format!("order-{i}"), "lines": cart(10000.0)}),
            ));
            tokio::spawn(async move { req.send().await.unwrap().json::<Value>().await.unwrap() })
        })
        .collect();
    let mut won = 0;
    let mut refused = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r["valid"] == true {
            won += 1;
        } else {
            assert_eq!(r["reason"]["code"], "limit_reached", "{r}");
            refused += 1;
        }
    }
    assert_eq!((won, refused), (5, 35));
    let c = app.get(&format!("/coupons/{}", c["id"])).await;
    assert_eq!(c["used"], 5);
}

#[tokio::test]
async fn unique_codes_go_to_a_segment_and_a_restricted_coupon_checks_membership() {
    let app = TestApp::spawn().await;
    identify(&app, &["v1", "v2", "plain"]).await;
    for u in ["v1", "v2"] {
        let id = app.customer("user_id", u).await["id"].as_u64().unwrap();
        let res = app
            .admin(Method::POST, &format!("/customers/{id}/tags"))
            .json(&json!({"add": ["vip"]}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
    let seg = app
        .admin(Method::POST, "/segments")
        .json(&json!({"name": "VIP", "live": true, "rule": {"attr": "tags", "op": "has", "value": "vip"}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let seg = seg["id"].as_u64().unwrap();
    let c = create(
        &app,
        json!({"name": "VIP 20", "discount": {"type": "percent", "percent": 20}, "segments": [seg], "valid_days": 30}),
    )
    .await;
    let id = c["id"].as_u64().unwrap();
    // Each member of the segment gets a code of its own.
    let issued = app
        .admin(Method::POST, &format!("/coupons/{id}/issue"))
        .json(&json!({"segment": seg, "prefix": "vip-"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(issued["issued"], 2, "{issued}");
    let codes: Vec<(u64, String)> = issued["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["customer"].as_u64().unwrap(), c["code"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        codes.iter().all(|(_, c)| c.starts_with("VIP-") && c.len() == 14),
        "{codes:?}"
    );
    assert_ne!(codes[0].1, codes[1].1);
    // Issuing again gives nobody a second one.
    let again = app
        .admin(Method::POST, &format!("/coupons/{id}/issue"))
        .json(&json!({"segment": seg, "prefix": "vip-"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(again["issued"], 0);

    let v1 = app.customer("user_id", "v1").await["id"].as_u64().unwrap();
    let mine = codes.iter().find(|(c, _)| *c == v1).unwrap().1.clone();
    let theirs = codes.iter().find(|(c, _)| *c != v1).unwrap().1.clone();
    let check = |code: String, user: &'static str| {
        let app = &app;
        async move {
            storefront(
                app,
                "/v1/coupons/validate",
                json!({"code": code, "userId": user, "lines": cart(50000.0)}),
            )
            .await
        }
    };
    assert_eq!(check(mine.clone(), "v1").await["discount"], 10000.0);
    assert_eq!(check(theirs.clone(), "v1").await["reason"]["code"], "not_yours");
    // Someone outside the segment is refused with the reason.
    let plain = check(mine.clone(), "plain").await;
    assert_eq!(plain["reason"]["code"], "not_yours");
    // A unique code is used once.
    let r = storefront(
        &app,
        "/v1/coupons/redeem",
        json!({"code": mine, "userId": "v1", "order_id": "v1-a", "lines": cart(50000.0)}),
    )
    .await;
    assert_eq!(r["valid"], true);
    let r = check(mine, "v1").await;
    assert_eq!(r["reason"]["code"], "already_used");

    // A shared code restricted to the live segment: members yes, others no, at once when tagged.
    let shared = create(
        &app,
        json!({"name": "VIP shared", "code": "VIPONLY", "discount": {"type": "fixed", "amount": 2000}, "segments": [seg]}),
    )
    .await;
    assert_eq!(shared["segments"], json!([seg]));
    assert_eq!(check("VIPONLY".into(), "v2").await["valid"], true);
    let no = check("VIPONLY".into(), "plain").await;
    assert_eq!(no["reason"]["code"], "not_eligible");
    assert!(no["reason"]["message"].as_str().unwrap().contains("selected customers"));
    let plain_id = app.customer("user_id", "plain").await["id"].as_u64().unwrap();
    app.admin(Method::POST, &format!("/customers/{plain_id}/tags"))
        .json(&json!({"add": ["vip"]}))
        .send()
        .await
        .unwrap();
    // The live segment is evaluated on the columns, which follow the commit within moments.
    for _ in 0..100 {
        if check("VIPONLY".into(), "plain").await["valid"] == true {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("a newly tagged VIP is still refused");
}

async fn preview(app: &TestApp, rule: Value) -> u64 {
    let res = app
        .admin(Method::POST, "/segments/preview")
        .json(&json!({"rule": rule}))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    body["count"].as_u64().unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test]
async fn orders_record_uses_refunds_give_them_back_and_segments_see_holdings() {
    let app = TestApp::spawn().await;
    identify(&app, &["h1", "h2", "h3", "none"]).await;
    let c = create(
        &app,
        json!({"name": "Win-back", "discount": {"type": "fixed", "amount": 5000}, "valid_days": 14}),
    )
    .await;
    let id = c["id"].as_u64().unwrap();
    let ids: Vec<u64> = {
        let mut v = Vec::new();
        for u in ["h1", "h2", "h3"] {
            v.push(app.customer("user_id", u).await["id"].as_u64().unwrap());
        }
        v
    };
    let issued = app
        .admin(Method::POST, &format!("/coupons/{id}/issue"))
        .json(&json!({"customers": ids, "prefix": "WB"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(issued["issued"], 3);
    let code_of = |customer: u64| {
        issued["codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customer"] == customer)
            .unwrap()["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // h1 orders with the code (the Segment e-commerce way: `coupon` on Order Completed).
    let res = app
        .send(
            "/v1/track",
            json!({"type": "track", "userId": "h1", "event": "Order Completed",
                   "properties": {"order_id": "h1-1", "total": 45000, "discount": 5000, "coupon": code_of(ids[0]),
                                  "products": [{"product_id": "P1", "price": 50000, "quantity": 1}]}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let c = app.get(&format!("/coupons/{id}")).await;
    assert_eq!(
        (c["issued"].clone(), c["used"].clone(), c["revenue"].clone()),
        (json!(3), json!(1), json!(45000.0))
    );
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": code_of(ids[0]), "userId": "h1", "lines": cart(50000.0)}),
    )
    .await;
    assert_eq!(v["reason"]["code"], "already_used");

    // ifdo's example: holds an available coupon AND NOT ordered in the last 7 days → h2, h3.
    let ifdo = json!({"all": [
        {"attr": "available_coupons", "op": ">=", "value": 1},
        {"not": {"attr": "orders_count", "op": ">=", "value": 1, "days": 7}}
    ]});
    assert_eq!(preview(&app, ifdo.clone()).await, 2);
    assert_eq!(
        preview(&app, json!({"attr": "available_coupons", "op": "=", "value": 0})).await,
        2,
        "h1 and none"
    );
    assert_eq!(
        preview(
            &app,
            json!({"attr": "coupon_codes", "op": "contains", "value": code_of(ids[1])})
        )
        .await,
        1
    );
    assert_eq!(
        preview(&app, json!({"attr": "coupon_codes", "op": "contains", "value": "wb"})).await,
        3
    );

    // A full refund gives the use back: the code is good again and h1 holds an available coupon.
    let res = app
        .send(
            "/v1/track",
            json!({"type": "track", "userId": "h1", "event": "Order Refunded", "properties": {"order_id": "h1-1"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let c = app.get(&format!("/coupons/{id}")).await;
    assert_eq!((c["used"].clone(), c["revenue"].clone()), (json!(0), json!(0.0)));
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": code_of(ids[0]), "userId": "h1", "lines": cart(50000.0)}),
    )
    .await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(
        preview(&app, json!({"attr": "available_coupons", "op": ">=", "value": 1})).await,
        3
    );
}

#[tokio::test]
async fn a_sign_up_coupon_is_issued_at_the_first_sign_up() {
    let app = TestApp::spawn().await;
    let c = create(
        &app,
        json!({"name": "Welcome", "discount": {"type": "fixed", "amount": 3000}, "issue_on_sign_up": true,
               "prefix": "hi-", "valid_days": 7}),
    )
    .await;
    let id = c["id"].as_u64().unwrap();
    for _ in 0..2 {
        let res = app
            .send(
                "/v1/track",
                json!({"type": "track", "userId": "new", "event": "Signed Up"}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let c = app.get(&format!("/coupons/{id}")).await;
    assert_eq!(c["issued"], 1, "once, at the first sign-up");
    assert_eq!(
        preview(&app, json!({"attr": "coupon_codes", "op": "contains", "value": "HI-"})).await,
        1
    );
    let res = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "x", "discount": {"type": "fixed", "amount": 1}, "prefix": "no spaces"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "prefix");
}

#[tokio::test]
async fn stackable_coupons_combine_on_one_order_and_the_others_refuse() {
    let app = TestApp::spawn().await;
    identify(&app, &["s1"]).await;
    let mut ids = Vec::new();
    for (name, code, stackable) in [
        ("Free shipping", "SHIP", true),
        ("Member 5%", "MEMBER5", true),
        ("Summer sale", "SUMMER", false),
    ] {
        let c = create(
            &app,
            json!({"name": name, "code": code, "stackable": stackable,
                   "discount": {"type": "fixed", "amount": 3000}}),
        )
        .await;
        ids.push(c["id"].as_u64().unwrap());
    }
    // Validate against the codes already on the cart.
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "MEMBER5", "userId": "s1", "lines": cart(40000.0), "applied": ["ship"]}),
    )
    .await;
    assert_eq!(v["valid"], true, "{v}");
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "SUMMER", "userId": "s1", "lines": cart(40000.0), "applied": ["SHIP"]}),
    )
    .await;
    assert_eq!(v["reason"]["code"], "not_stackable", "{v}");
    assert!(v["reason"]["message"].as_str().unwrap().contains("SUMMER"), "{v}");
    let v = storefront(
        &app,
        "/v1/coupons/validate",
        json!({"code": "SHIP", "userId": "s1", "lines": cart(40000.0), "applied": ["SUMMER", "SHIP"]}),
    )
    .await;
    assert_eq!(v["reason"]["code"], "not_stackable", "{v}");
    assert!(
        v["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("SUMMER is already applied"),
        "{v}"
    );

    // Redeem two stackable codes on one order; the third, not stackable, is refused; repeats answer
    // as before.
    let redeem =
        |code: &str| json!({"code": code, "userId": "s1", "order_id": "s1-1", "lines": cart(40000.0), "total": 34000});
    assert_eq!(
        storefront(&app, "/v1/coupons/redeem", redeem("SHIP")).await["valid"],
        true
    );
    let r = storefront(&app, "/v1/coupons/redeem", redeem("MEMBER5")).await;
    assert_eq!(
        (r["valid"].clone(), r["repeated"].clone()),
        (json!(true), Value::Null),
        "{r}"
    );
    let r = storefront(&app, "/v1/coupons/redeem", redeem("SUMMER")).await;
    assert_eq!(r["reason"]["code"], "not_stackable", "{r}");
    let r = storefront(&app, "/v1/coupons/redeem", redeem("SHIP")).await;
    assert_eq!(r["repeated"], true, "{r}");
    let used = |c: &Value| (c["used"].as_u64().unwrap(), c["revenue"].as_f64().unwrap());
    assert_eq!(used(&app.get(&format!("/coupons/{}", ids[0])).await), (1, 34000.0));
    assert_eq!(used(&app.get(&format!("/coupons/{}", ids[1])).await), (1, 34000.0));
    assert_eq!(used(&app.get(&format!("/coupons/{}", ids[2])).await), (0, 0.0));

    // An order that names two codes counts both; its refund gives both back.
    let res = app
        .send(
            "/v1/track",
            json!({"type": "track", "userId": "s1", "event": "Order Completed",
                   "properties": {"order_id": "s1-2", "total": 20000, "discount": 6000, "coupon": "summer, ship",
                                  "products": [{"product_id": "P1", "price": 26000, "quantity": 1}]}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(used(&app.get(&format!("/coupons/{}", ids[0])).await), (2, 54000.0));
    assert_eq!(used(&app.get(&format!("/coupons/{}", ids[2])).await), (1, 20000.0));
    let res = app
        .send(
            "/v1/track",
            json!({"type": "track", "userId": "s1", "event": "Order Refunded", "properties": {"order_id": "s1-2"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(used(&app.get(&format!("/coupons/{}", ids[0])).await), (1, 34000.0));
    assert_eq!(used(&app.get(&format!("/coupons/{}", ids[2])).await), (0, 0.0));
}
