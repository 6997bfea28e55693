//! The console's coupon pages over plain HTTP: the form (a wrong field comes back named, a right
//! one creates the coupon as the API would), the list in words, the bulk issue to a live segment
//! with its preview count, the export of codes, the Coupons card of a customer's page, and what a
//! viewer may not do.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, body, console_cookie, csrf_of, element, page, post_form};

#[tokio::test]
async fn coupons_are_made_listed_issued_to_a_segment_exported_and_shown_on_customers() {
    let app = TestApp::spawn().await;
    let batch: Vec<Value> = ["v1", "v2", "plain"]
        .iter()
        .map(|u| json!({"type": "identify", "userId": u, "traits": {"email": format!("{u}@example.com")}}))
        .collect();
    assert_eq!(app.send("/v1/batch", json!({ "batch": batch })).await.status(), 200);
    let mut vips = Vec::new();
    for u in ["v1", "v2"] {
        let id = app.customer("user_id", u).await["id"].as_u64().unwrap();
        let res = app
            .admin(Method::POST, &format!("/customers/{id}/tags"))
            .json(&json!({"add": ["vip"]}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        vips.push(id);
    }
    let seg = app
        .admin(Method::POST, "/segments")
        .json(&json!({"name": "VIP", "live": true, "rule": {"attr": "tags", "op": "has", "value": "vip"}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let seg_s = seg.to_string();

    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (status, list) = page(&app, &owner, "/coupons").await;
    assert_eq!(status, 200);
    assert!(list.contains("id=\"no-coupons\"") && list.contains("id=\"new-coupon\""));
    assert!(
        list.contains("<a href=\"/coupons\" aria-current=\"page\">"),
        "Coupons is on in the navigation"
    );
    let (status, form) = page(&app, &owner, "/coupons/new").await;
    assert_eq!(status, 200);
    assert!(
        form.contains(&format!("name=\"segments\" value=\"{seg}\"")),
        "segments to tick"
    );
    let csrf = csrf_of(&form);

    // A wrong field comes back to the form, named, with what was typed kept.
    let vip = |percent: &'static str| {
        vec![
            ("csrf", csrf.as_str()),
            ("name", "VIP 10"),
            ("discount_type", "percent"),
            ("percent", percent),
            ("cap", "5,000"),
            ("min_order", "30000"),
            ("starts_at", "2026-01-01T00:00"),
            ("valid_days", "30"),
            ("per_customer_limit", "1"),
            ("segments", seg_s.as_str()),
            ("tags", "vip"),
            ("code_kind", "unique"),
            ("code", ""),
        ]
    };
    let res = post_form(&app, &owner, "/coupons/new", body(&vip("120"))).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        element(&html, "error-percent").contains("at most 100"),
        "the message is next to the field"
    );
    assert!(html.contains("value=\"VIP 10\"") && html.contains("value=\"120\""));
    assert!(
        html.contains(&format!("name=\"segments\" value=\"{seg}\" checked")),
        "the ticked segment stays ticked"
    );
    let mut late = vip("10");
    late.push(("ends_at", "2025-12-01T00:00"));
    let html = post_form(&app, &owner, "/coupons/new", body(&late))
        .await
        .text()
        .await
        .unwrap();
    assert!(element(&html, "error-ends_at").contains("after the start"));
    let mut nonsense = vip("10");
    nonsense[6] = ("starts_at", "soon");
    let html = post_form(&app, &owner, "/coupons/new", body(&nonsense))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"error-starts_at\""));
    assert!(app.get("/coupons").await["items"].as_array().unwrap().is_empty());

    // A right one is created as the API would create it.
    let res = post_form(&app, &owner, "/coupons/new", body(&vip("10"))).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let c = app.get("/coupons").await["items"][0].clone();
    let id = c["id"].as_u64().unwrap();
    assert_eq!(to, format!("/coupons/{id}"));
    assert_eq!(
        c["discount"],
        json!({"type": "percent", "percent": 10.0, "cap": 5000.0})
    );
    assert_eq!(
        (
            c["min_order"].clone(),
            c["valid_days"].clone(),
            c["segments"].clone(),
            c["tags"].clone(),
            c["code"].clone()
        ),
        (json!(30000.0), json!(30), json!([seg]), json!(["vip"]), Value::Null)
    );
    assert_eq!(
        c["starts_at"], "2025-12-31T15:00:00.000Z",
        "the form's time is the shop's (Seoul)"
    );
    // A shared code, and the same code again refused on the code field.
    let shared = |code: &'static str| {
        body(&[
            ("csrf", csrf.as_str()),
            ("name", "Welcome"),
            ("discount_type", "fixed"),
            ("amount", "3000"),
            ("per_customer_limit", "1"),
            ("code_kind", "shared"),
            ("code", code),
        ])
    };
    assert_eq!(
        post_form(&app, &owner, "/coupons/new", shared("welcome5"))
            .await
            .status(),
        303
    );
    let res = post_form(&app, &owner, "/coupons/new", shared("WELCOME5")).await;
    assert_eq!(res.status(), 422);
    assert!(element(&res.text().await.unwrap(), "error-code").contains("WELCOME5"));
    let res = post_form(&app, &owner, "/coupons/new", shared("")).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"error-code\""));

    // The list, in words.
    let (_, list) = page(&app, &owner, "/coupons").await;
    let table = element(&list, "coupons");
    for want in [
        "VIP 10",
        "unique codes",
        "10% off, at most ₩5,000",
        "orders of ₩30,000 or more",
        "30 days from issue",
        "for segment VIP",
        "for tag vip",
        "WELCOME5",
        "₩3,000 off",
        "no conditions",
    ] {
        assert!(table.contains(want), "{want} in {table}");
    }
    assert!(table.contains(&format!("href=\"/coupons/{id}\"")));

    // The bulk issue: the preview counts the live segment's members (the columns follow the tag
    // changes within moments), then Issue gives each a unique code.
    let preview_path = format!("/coupons/{id}?segment={seg}");
    let mut html = String::new();
    for _ in 0..100 {
        html = page(&app, &owner, &preview_path).await.1;
        if html.contains("2 people will get it") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let count = element(&html, "issue-count");
    assert!(
        count.contains("2 people will get it") && count.contains("0 hold it already"),
        "{count}"
    );
    assert!(html.contains("id=\"issue-form\""));
    let issue_path = format!("/coupons/{id}/issue");
    let issue = |prefix: &'static str| {
        post_form(
            &app,
            &owner,
            &issue_path,
            body(&[("csrf", csrf.as_str()), ("segment", seg_s.as_str()), ("prefix", prefix)]),
        )
    };
    let res = issue("vip 1").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"issue-error\""));
    let res = issue("vip-").await;
    assert_eq!(res.status(), 303);
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(back, format!("/coupons/{id}?segment={seg}&issued=2#issue"));
    let (_, html) = page(&app, &owner, back.trim_end_matches("#issue")).await;
    assert!(element(&html, "issued-now").contains("Issued to 2 people."));
    let count = element(&html, "issue-count");
    assert!(
        count.contains("0 people will get it") && count.contains("2 hold it already"),
        "{count}"
    );
    assert_eq!(
        element(&html, "count-issued"),
        "<div class=\"stat-value\" id=\"count-issued\">2"
    );
    assert!(element(&html, "conditions").contains(&format!("<a href=\"/segments/{seg}\">VIP</a>")));
    // Issuing again skips those who hold it.
    let res = issue("vip-").await;
    assert!(res.headers()["location"].to_str().unwrap().contains("issued=0"));
    assert_eq!(app.get(&format!("/coupons/{id}")).await["issued"], 2);

    // The codes as CSV.
    let csv_of = || async {
        let (status, csv) = page(&app, &owner, &format!("/coupons/{id}/codes.csv")).await;
        assert_eq!(status, 200);
        csv.lines()
            .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let rows = csv_of().await;
    assert_eq!(
        rows[0],
        [
            "customer_id",
            "user_id",
            "email",
            "code",
            "issued_at",
            "expires_at",
            "used"
        ]
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    let mut codes = Vec::new();
    for (row, (customer, user)) in rows[1..].iter().zip(vips.iter().zip(["v1", "v2"])) {
        assert_eq!(row[0], customer.to_string());
        assert_eq!(
            (row[1].as_str(), row[2].as_str()),
            (user, format!("{user}@example.com").as_str())
        );
        assert!(row[3].starts_with("VIP-") && row[3].len() == 14, "{row:?}");
        assert!(row[4].ends_with("+09:00") && row[5].ends_with("+09:00"), "{row:?}");
        assert_eq!(row[6], "false");
        codes.push(row[3].clone());
    }

    // v1 uses theirs; the customer pages show the coupon, its code and where it stands.
    let r = app
        .track("/v1/coupons/redeem")
        .json(&crate::common::signed(
            json!({"code": codes[0], "userId": "v1", "order_id": "o1",
                      "lines": [{"product_id": "P1", "price": 40000, "quantity": 1}]}),
        ))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(r["discount"], 4000.0, "{r}");
    assert_eq!(csv_of().await[1][6], "true");
    let card = |customer: u64| {
        let owner = owner.clone();
        let app = &app;
        async move {
            element(
                &page(app, &owner, &format!("/customers/{customer}")).await.1,
                "customer-coupons",
            )
        }
    };
    let v1 = card(vips[0]).await;
    assert!(
        v1.contains("VIP 10") && v1.contains(&codes[0]) && v1.contains("hold-used"),
        "{v1}"
    );
    let v2 = card(vips[1]).await;
    assert!(
        v2.contains(&codes[1]) && v2.contains("hold-held") && v2.contains(">held<"),
        "{v2}"
    );
    let plain = app.customer("user_id", "plain").await["id"].as_u64().unwrap();
    assert!(card(plain).await.contains("No coupons issued to this customer."));
    let (_, html) = page(&app, &owner, &format!("/coupons/{id}")).await;
    assert_eq!(
        element(&html, "count-used"),
        "<div class=\"stat-value\" id=\"count-used\">1"
    );

    // A viewer sees coupons but can neither create nor issue.
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": "viewer", "password": "viewer-password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let viewer = console_cookie(&app, "viewer", "viewer-password").await;
    let (status, list) = page(&app, &viewer, "/coupons").await;
    assert_eq!(status, 200);
    assert!(list.contains("VIP 10") && !list.contains("id=\"new-coupon\""));
    assert_eq!(page(&app, &viewer, "/coupons/new").await.0, 403);
    let (_, html) = page(&app, &viewer, &preview_path).await;
    assert!(html.contains("id=\"issue-count\"") && !html.contains("id=\"issue-form\""));
    let token = csrf_of(&html);
    let res = post_form(&app, &viewer, "/coupons/new", shared("VIEWER")).await;
    assert_eq!(res.status(), 403, "the owner's token is not the viewer's");
    let res = post_form(
        &app,
        &viewer,
        "/coupons/new",
        body(&[
            ("csrf", token.as_str()),
            ("name", "Mine"),
            ("discount_type", "fixed"),
            ("amount", "1000"),
        ]),
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = post_form(
        &app,
        &viewer,
        &format!("/coupons/{id}/issue"),
        body(&[("csrf", token.as_str()), ("segment", seg_s.as_str()), ("prefix", "")]),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.get("/coupons").await["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_coupon_is_edited_in_its_form_and_keeps_its_counts() {
    let app = TestApp::spawn().await;
    assert_eq!(app.send("/v1/identify", json!({"userId": "e1"})).await.status(), 200);
    let c = app
        .admin(Method::POST, "/coupons")
        .json(
            &json!({"name": "Spring", "discount": {"type": "percent", "percent": 10, "cap": 5000},
                      "min_order": 20000, "starts_at": "2026-03-01T00:00:00+09:00", "valid_days": 7,
                      "categories": ["식품/초콜릿"], "tags": ["vip"], "stackable": true}),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id = c["id"].as_u64().unwrap();
    let e1 = app.customer("user_id", "e1").await["id"].as_u64().unwrap();
    let issued = app
        .admin(Method::POST, &format!("/coupons/{id}/issue"))
        .json(&json!({"customers": [e1]}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let code = issued["codes"][0]["code"].as_str().unwrap().to_string();

    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (_, show) = page(&app, &owner, &format!("/coupons/{id}")).await;
    assert!(show.contains(&format!("href=\"/coupons/{id}/edit\"")), "an Edit button");
    let (status, form) = page(&app, &owner, &format!("/coupons/{id}/edit")).await;
    assert_eq!(status, 200);
    for want in [
        "value=\"Spring\"",
        "value=\"10\"",
        "value=\"5000\"",
        "value=\"20000\"",
        "value=\"2026-03-01T00:00\"",
        "value=\"7\"",
        "value=\"식품/초콜릿\"",
        "value=\"vip\"",
        "id=\"stackable\" checked",
        &format!("action=\"/coupons/{id}/edit\""),
    ] {
        assert!(form.contains(want), "{want} in the filled form");
    }
    let csrf = csrf_of(&form);
    let edit_path = format!("/coupons/{id}/edit");
    let terms = |percent: &'static str| {
        body(&[
            ("csrf", csrf.as_str()),
            ("name", "Spring 15"),
            ("discount_type", "percent"),
            ("percent", percent),
            ("min_order", "20000"),
            ("starts_at", "2026-03-01T00:00"),
            ("valid_days", "7"),
            ("per_customer_limit", "2"),
            ("code_kind", "unique"),
        ])
    };
    let res = post_form(&app, &owner, &edit_path, terms("0")).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"error-percent\"") && html.contains(&format!("action=\"{edit_path}\"")));
    let res = post_form(&app, &owner, &edit_path, terms("15")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("/coupons/{id}").as_str());
    let c = app.get(&format!("/coupons/{id}")).await;
    assert_eq!(
        (
            c["name"].clone(),
            c["discount"].clone(),
            c["per_customer_limit"].clone(),
            c["stackable"].clone(),
            c["tags"].clone(),
            c["issued"].clone()
        ),
        (
            json!("Spring 15"),
            json!({"type": "percent", "percent": 15.0, "cap": null}),
            json!(2),
            json!(false),
            json!([]),
            json!(1)
        ),
        "{c}"
    );
    // The code issued before still works, on the new terms.
    let v = app
        .track("/v1/coupons/validate")
        .json(&crate::common::signed(
            json!({"code": code, "userId": "e1", "lines": [{"product_id": "P1", "price": 40000, "quantity": 1}]}),
        ))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(v["discount"], 6000.0, "{v}");

    assert_eq!(page(&app, &owner, "/coupons/999/edit").await.0, 404);
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": "viewer", "password": "viewer-password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let viewer = console_cookie(&app, "viewer", "viewer-password").await;
    assert_eq!(page(&app, &viewer, &edit_path).await.0, 403);
    let (_, show) = page(&app, &viewer, &format!("/coupons/{id}")).await;
    assert!(!show.contains(&edit_path), "no Edit button for a viewer");
    let res = post_form(&app, &viewer, &edit_path, terms("50")).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.get(&format!("/coupons/{id}")).await["discount"]["percent"], 15.0);
}

/// Found by trying the console as a new owner: a segment saved a minute before showed "0명이
/// 받습니다" on a coupon, because saved segments were only counted at midnight. Now a save counts
/// it, and the issue says when the count is from.
#[tokio::test]
async fn a_segment_saved_a_minute_ago_is_counted_when_a_coupon_is_issued_to_it() {
    let app = TestApp::spawn().await;
    let batch: Vec<Value> = ["n1", "n2", "old"]
        .iter()
        .map(|u| json!({"type": "identify", "userId": u, "traits": {"email": format!("{u}@example.com")}}))
        .collect();
    assert_eq!(app.send("/v1/batch", json!({ "batch": batch })).await.status(), 200);
    for u in ["n1", "n2"] {
        let id = app.customer("user_id", u).await["id"].as_u64().unwrap();
        let res = app
            .admin(Method::POST, &format!("/customers/{id}/tags"))
            .json(&json!({"add": ["new"]}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (_, form) = page(&app, &owner, "/segments/new").await;
    let csrf = csrf_of(&form);
    // A nightly (not live) segment, saved through the console's form.
    let rule = json!({"attr": "tags", "op": "has", "value": "new"}).to_string();
    let res = post_form(
        &app,
        &owner,
        "/segments/new",
        body(&[("csrf", csrf.as_str()), ("name", "새 회원"), ("rule", rule.as_str())]),
    )
    .await;
    assert_eq!(res.status(), 303);
    let seg = app.get("/segments").await["items"][0].clone();
    assert_eq!(seg["latest"]["count"], 2, "counted when saved: {seg}");
    let res = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "첫 구매 5,000원", "discount": {"type": "fixed", "amount": 5000}, "valid_days": 14}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let coupon = res.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let (_, html) = page(&app, &owner, &format!("/coupons/{coupon}?segment={}", seg["id"])).await;
    let count = element(&html, "issue-count");
    assert!(count.contains("2 people will get it"), "{count}");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        element(&html, "issue-counted").contains(&format!("counted on {today}")),
        "{count}"
    );

    // The jobs connect: the segment's page leads to a campaign for it and to a coupon's issue.
    let seg_id = seg["id"].as_u64().unwrap();
    let (_, seg_page) = page(&app, &owner, &format!("/segments/{seg_id}")).await;
    assert!(element(&seg_page, "new-campaign").contains(&format!("href=\"/campaigns/new?segment={seg_id}\"")));
    assert!(element(&seg_page, "issue-coupon").contains("첫 구매 5,000원"));
    let (status, to, _) = crate::common::page_and_location(
        &app,
        &owner,
        &format!("/coupons/issue?coupon={coupon}&segment={seg_id}"),
    )
    .await;
    assert_eq!((status, to), (303, format!("/coupons/{coupon}?segment={seg_id}#issue")));
    let (_, form) = page(&app, &owner, &format!("/campaigns/new?segment={seg_id}")).await;
    assert!(
        form.contains(&format!("<option value=\"{seg_id}\" selected>새 회원</option>")),
        "the campaign's audience is the segment"
    );
    // A coupon for that segment previews its issue to it without asking.
    let res = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "새 회원 쿠폰", "discount": {"type": "percent", "percent": 10}, "segments": [seg_id]}))
        .send()
        .await
        .unwrap();
    let own = res.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let (_, html) = page(&app, &owner, &format!("/coupons/{own}")).await;
    assert!(element(&html, "issue-count").contains("2 people will get it"));

    // A customer's page issues a coupon to that customer, then shows it held.
    let old_id = app.customer("user_id", "old").await["id"].as_u64().unwrap();
    let (_, profile) = page(&app, &owner, &format!("/customers/{old_id}")).await;
    assert!(element(&profile, "issue-one").contains("첫 구매 5,000원"));
    let res = post_form(
        &app,
        &owner,
        &format!("/customers/{old_id}/coupons"),
        body(&[("csrf", csrf.as_str()), ("coupon", coupon.to_string().as_str())]),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/customers/{old_id}#customer-coupons")
    );
    let (_, profile) = page(&app, &owner, &format!("/customers/{old_id}")).await;
    assert!(element(&profile, "held-coupons").contains("첫 구매 5,000원"));
    // The coupon's page lists who holds it, how it came to them and where it stands.
    let (_, html) = page(&app, &owner, &format!("/coupons/{coupon}")).await;
    let holders = element(&html, "holders");
    assert_eq!(holders.matches("class=\"holder\"").count(), 1, "{holders}");
    assert!(holders.contains(&format!("href=\"/customers/{old_id}\"")), "{holders}");
    assert!(holders.contains("issued on their page"), "{holders}");
    assert!(holders.contains(">held</span>"), "{holders}");
    let (_, html) = page(&app, &owner, &format!("/coupons/{own}")).await;
    assert!(element(&html, "holders").contains("No one holds this coupon yet."));
    assert!(
        !element(&profile, "issue-one").contains("첫 구매 5,000원"),
        "a coupon held is not offered again"
    );
    let res = post_form(
        &app,
        &owner,
        &format!("/customers/{old_id}/coupons"),
        body(&[("coupon", "1")]),
    )
    .await;
    assert_eq!(res.status(), 403, "not without the form's token");
}
