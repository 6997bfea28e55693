//! The console's on-site message pages over plain HTTP: sign-in and roles (a viewer reads the list
//! and the reports but gets 403 on the form and every post), the form as the browser sends it (a
//! ready-made message comes back as it was, a wrong field is named on the form), the preview (the
//! message rendered for a chosen customer, its targeting explained part by part, what keeps it
//! from showing, framed only by the console), Activate and Pause, the report, Delete. The preview
//! drawn by the real script in a browser is in `storefront.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, body, console_cookie, csrf_of, page, page_and_location, post_form};
use crate::console_campaigns::{add_user, form_fields, set};
use crate::onsite::{set_clock, shop};

/// The text of the element with `id` (nested elements of its own kind included), its tags taken
/// out and its spaces collapsed.
fn text(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let tag: String = html[start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let (mut depth, mut i) = (0, start);
    let end = loop {
        let next_open = html[i + 1..].find(&open).map(|n| n + i + 1);
        let next_close = html[i + 1..].find(&close).map(|n| n + i + 1).expect("closed");
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                i = o;
            }
            _ if depth == 0 => break next_close,
            _ => {
                depth -= 1;
                i = next_close;
            }
        }
    };
    let mut out = String::new();
    let mut inside = false;
    for c in html[start..end].chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            c if !inside => out.push(c),
            _ => {}
        }
    }
    crate::common::unescape(&out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A member's event, sent with the server key (the public key may not write to a member).
async fn member_track(app: &TestApp, user: &str, event: &str, props: Value) {
    let res = app
        .send_from_server(
            "/v1/track",
            json!({"userId": user, "event": event, "properties": props}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// The id a saved form was sent on to (`/messages/{id}`).
fn saved_id(status: u16, location: &str) -> u64 {
    assert_eq!(status, 303, "saving redirects to the message's page");
    location
        .strip_prefix("/messages/")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{location}"))
}

async fn save(app: &TestApp, cookie: &str, path: &str, fields: &[(String, String)]) -> (u16, String, String) {
    let res = post_form(app, cookie, path, body(fields)).await;
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

#[tokio::test]
async fn message_pages_need_sign_in_and_a_viewer_only_reads() {
    let app = TestApp::spawn().await;
    let id = app
        .admin(Method::POST, "/messages")
        .json(&json!({"name": "공지", "kind": "bar", "content": {"title": "오늘 배송 마감 3시"}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let show = format!("/messages/{id}");
    for path in [
        "/messages",
        "/messages/new?template=recently_viewed",
        &show,
        &format!("{show}/edit"),
    ] {
        let (status, to, _) = page_and_location(&app, "", path).await;
        assert_eq!(status, 303, "{path}");
        assert!(to.starts_with("/login?next="), "{path} → {to}");
    }
    let posts = [
        "/messages".to_string(),
        "/messages/preview".to_string(),
        "/messages/settings".to_string(),
        show.clone(),
        format!("{show}/activate"),
        format!("{show}/pause"),
        format!("{show}/delete"),
    ];
    for path in &posts {
        let res = post_form(&app, "", path, "csrf=x".into()).await;
        assert_eq!(res.status(), 303, "{path}");
    }
    let viewer = add_user(&app, "viewer", "viewer").await;
    let (status, list) = page(&app, &viewer, "/messages").await;
    assert_eq!(status, 200);
    assert!(list.contains("오늘 배송 마감") || list.contains("공지"), "{list}");
    assert!(
        !list.contains("id=\"new-message\""),
        "a viewer is not offered a new message"
    );
    assert!(!list.contains(&format!("id=\"activate-{id}\"")), "nor Activate");
    assert_eq!(page(&app, &viewer, &show).await.0, 200);
    for path in ["/messages/new", &format!("{show}/edit")] {
        assert_eq!(page(&app, &viewer, path).await.0, 403, "{path}");
    }
    let (_, html) = page(&app, &viewer, &show).await;
    let csrf = csrf_of(&html);
    for path in &posts {
        let res = post_form(&app, &viewer, path, format!("csrf={csrf}&name=x&kind=bar")).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    assert_eq!(app.get(&show).await["status"], "draft");
}

#[tokio::test]
async fn a_message_from_a_template_is_saved_previewed_activated_reported_and_deleted() {
    let app = shop().await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    // A member who looked at two products yesterday and one now.
    let res = app
        .send_from_server("/v1/identify", json!({"userId": "kim", "traits": {"name": "김민지"}}))
        .await;
    assert_eq!(res.status(), 200);
    set_clock(&app, "2026-12-06T20:00:00+09:00").await;
    for p in ["P1", "P2"] {
        member_track(&app, "kim", "Product Viewed", json!({"product_id": p})).await;
    }
    set_clock(&app, "2026-12-07T10:00:00+09:00").await;
    member_track(&app, "kim", "Product Viewed", json!({"product_id": "P3"})).await;

    // The cap of messages a visit, for every message: a wrong number is named, a right one kept.
    let (_, list) = page(&app, &owner, "/messages").await;
    let csrf = csrf_of(&list);
    let res = post_form(&app, &owner, "/messages/settings", format!("csrf={csrf}&per_visit=40")).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        text(&html, "error-per_visit").starts_with("per_visit: must be 1 to 20"),
        "{html}"
    );
    assert!(html.contains("value=\"40\""), "what was typed stays");
    let res = post_form(&app, &owner, "/messages/settings", format!("csrf={csrf}&per_visit=2")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.get("/messages/settings").await["per_visit"], 2);

    // The list offers the ready-made messages; one fills the form.
    let (status, list) = page(&app, &owner, "/messages").await;
    assert_eq!(status, 200);
    for key in [
        "recently_viewed",
        "recently_carted",
        "recently_purchased",
        "coupon_reminder",
        "first_purchase",
        "cart_reminder",
        "bought_today",
        "viewing_now",
        "exit_intent_coupon",
    ] {
        assert!(list.contains(&format!("data-template=\"{key}\"")), "{key} is offered");
    }
    assert!(list.contains("id=\"no-messages\""));
    let (status, form) = page(&app, &owner, "/messages/new?template=recently_viewed").await;
    assert_eq!(status, 200);
    assert_eq!(text(&form, "from-template"), "Started from: Recently viewed products");
    let mut fields = form_fields(&form, "message-form");

    // The preview: for kim on the home page, the popup with yesterday's products only.
    set(&mut fields, "preview_customer", "kim");
    let res = post_form(&app, &owner, "/messages/preview", body(&fields)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-frame-options"],
        "SAMEORIGIN",
        "only the console frames it"
    );
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
    let preview = res.text().await.unwrap();
    assert!(text(&preview, "preview-who").contains("김민지"), "{preview}");
    assert!(preview.contains("id=\"preview-due\" class=\"ok\""), "{preview}");
    let json_at = preview.find("id=\"dangol-preview\">").unwrap() + "id=\"dangol-preview\">".len();
    let answer: Value =
        serde_json::from_str(&preview[json_at..json_at + preview[json_at..].find("</script>").unwrap()]).unwrap();
    let shown = &answer["messages"][0];
    let products = shown["products"].as_array().unwrap();
    assert_eq!(
        products[..2],
        [json!("P2"), json!("P1")],
        "yesterday's products first: {shown}"
    );
    assert!(!products.contains(&json!("P3")), "nothing of this visit: {shown}");
    assert!(
        shown["html"]
            .as_str()
            .unwrap()
            .contains("김민지님이 최근 본 상품이에요")
    );
    assert!(preview.contains("<script src=\"/dangol.js\" data-preview async></script>"));

    // For a first-time guest: nothing of theirs to show, said in words.
    set(&mut fields, "preview_customer", "");
    let (_, _, preview) = save(&app, &owner, "/messages/preview", &fields).await;
    assert!(text(&preview, "preview-missing").contains("earlier visit"), "{preview}");
    assert!(preview.contains("\"messages\":[]"));
    // Someone who is not there.
    set(&mut fields, "preview_customer", "nobody@example.com");
    let (_, _, preview) = save(&app, &owner, "/messages/preview", &fields).await;
    assert!(text(&preview, "preview-unknown").contains("nobody@example.com"));

    // A wrong field is named, on the form and in the preview, and nothing is saved.
    let mut wrong = fields.clone();
    set(&mut wrong, "url_value", "[unclosed");
    set(&mut wrong, "url_match", "regex");
    let (status, _, html) = save(&app, &owner, "/messages", &wrong).await;
    assert_eq!(status, 422);
    assert!(
        text(&html, "error-urls").starts_with("target.urls[0].value: is not a valid regular expression"),
        "{html}"
    );
    assert!(html.contains("value=\"[unclosed\""), "what was typed stays");
    let (_, _, preview) = save(&app, &owner, "/messages/preview", &wrong).await;
    assert!(text(&preview, "preview-error").contains("target.urls[0].value"));
    assert_eq!(app.get("/messages").await["items"], json!([]), "nothing was saved");

    // Saved: the API holds exactly the ready-made message, as a draft.
    let (status, location, _) = save(&app, &owner, "/messages", &fields).await;
    let id = saved_id(status, &location);
    let saved = app.get(&format!("/messages/{id}")).await;
    let tpl = app.get("/messages/templates").await;
    let tpl = tpl
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "recently_viewed")
        .unwrap()
        .clone();
    for k in [
        "name",
        "kind",
        "template",
        "content",
        "recommend",
        "target",
        "triggers",
        "display",
        "attribution_days",
        "fallbacks",
    ] {
        assert_eq!(saved[k], tpl["input"][k], "{k}");
    }
    assert_eq!(saved["status"], "draft");

    // Its page, in words; Activate, and the storefront answers it.
    let (status, show) = page(&app, &owner, &location).await;
    assert_eq!(status, 200);
    assert_eq!(text(&show, "kind"), "Recommendation popup");
    assert!(text(&show, "settings").contains("after 3 seconds"), "{show}");
    let csrf = csrf_of(&show);
    let res = post_form(&app, &owner, &format!("{location}/activate"), format!("csrf={csrf}")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.get(&format!("/messages/{id}")).await["status"], "active");
    // Seen and clicked on the shop: the report counts them.
    member_track(&app, "kim", "Message Viewed", json!({"message_id": id, "variant": "a"})).await;
    member_track(
        &app,
        "kim",
        "Message Clicked",
        json!({"message_id": id, "variant": "a", "product_id": "P1"}),
    )
    .await;
    let (_, show) = page(&app, &owner, &location).await;
    assert_eq!(text(&show, "status"), "Active");
    assert_eq!(text(&show, "impressions"), "Impressions 1");
    assert_eq!(text(&show, "click_rate"), "Click rate 100.0%");
    assert!(show.contains("id=\"chart\""), "the chart is drawn");
    assert!(
        text(&show, "days").contains("2026-12-07 1 1 1"),
        "{}",
        text(&show, "days")
    );
    let (_, list) = page(&app, &owner, "/messages").await;
    assert!(list.contains(&format!("id=\"pause-{id}\"")), "{list}");

    // Edited: the form comes back as saved; a change is kept.
    let (status, edit) = page(&app, &owner, &format!("{location}/edit")).await;
    assert_eq!(status, 200);
    let mut again = form_fields(&edit, "message-form");
    set(&mut again, "title", "다시 보기");
    let (status, to, _) = save(&app, &owner, &location, &again).await;
    assert_eq!((status, to.as_str()), (303, location.as_str()));
    let after = app.get(&format!("/messages/{id}")).await;
    assert_eq!(after["content"]["title"], "다시 보기");
    assert_eq!(after["target"], saved["target"]);
    assert_eq!(after["display"], saved["display"]);

    // Pause, then delete.
    let res = post_form(&app, &owner, &format!("{location}/pause"), format!("csrf={csrf}")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.get(&format!("/messages/{id}")).await["status"], "paused");
    let res = post_form(&app, &owner, &format!("{location}/delete"), format!("csrf={csrf}")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(page(&app, &owner, &location).await.0, 404);
}

#[tokio::test]
async fn a_coupon_template_saves_once_its_coupon_is_chosen_and_a_live_rule_targets_it() {
    let app = shop().await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let coupon = app
        .admin(Method::POST, "/coupons")
        .json(&json!({"name": "재방문 3천원", "discount": {"type": "fixed", "amount": 3000}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let coupon_id = coupon["id"].as_u64().unwrap_or_else(|| panic!("{coupon}"));
    let (_, form) = page(&app, &owner, "/messages/new?template=coupon_reminder").await;
    let mut fields = form_fields(&form, "message-form");
    assert!(
        fields
            .iter()
            .any(|(k, v)| k == "rule" && v.contains("available_coupons")),
        "the live rule is in the form"
    );
    let (status, _, html) = save(&app, &owner, "/messages", &fields).await;
    assert_eq!(status, 422);
    assert!(
        text(&html, "error-coupon_id").starts_with("coupon_id: is required"),
        "{html}"
    );
    set(&mut fields, "coupon_id", &coupon_id.to_string());
    // A guest in the preview: the rule and "members only" do not hold, part by part.
    let (_, _, preview) = save(&app, &owner, "/messages/preview", &fields).await;
    assert!(
        preview.contains("data-part=\"member\" data-holds=\"false\""),
        "{preview}"
    );
    assert!(preview.contains("data-part=\"rule\" data-holds=\"false\""), "{preview}");
    assert!(
        preview.contains("data-part=\"schedule\" data-holds=\"true\""),
        "{preview}"
    );
    let (status, location, _) = save(&app, &owner, "/messages", &fields).await;
    let id = saved_id(status, &location);
    let saved = app.get(&format!("/messages/{id}")).await;
    assert_eq!(saved["coupon_id"], coupon_id);
    assert_eq!(saved["target"]["rule"]["all"][0]["attr"], "available_coupons");
    // A bad rule through the API is named down to its part.
    let res = app
        .admin(Method::PUT, &format!("/messages/{id}"))
        .json(&json!({"name": "x", "kind": "coupon", "coupon_id": coupon_id, "target": {"rule": {"all": [{"attr": "nope"}]}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["error"]["field"].as_str().unwrap().starts_with("target.rule"),
        "{err}"
    );
}
