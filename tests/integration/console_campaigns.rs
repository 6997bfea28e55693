//! The console's campaign pages and Settings ▸ Messaging over plain HTTP: sign-in and roles (a
//! viewer reads, but gets 403 on every form and post; only owners change the messaging
//! settings), the form as the browser sends it (a ready-made campaign comes back as it was, a
//! wrong field is named), a campaign's page (settings in words, the estimate, the preview for one
//! customer, a test send to a real SMTP server, Launch refused and then done, Pause), and the
//! messaging settings with their write-only secrets.

use reqwest::Method;
use serde_json::{Value, json};

use crate::campaigns::{SmtpSink, configure, id_of, people, spawn_at, track};
use crate::common::{TestApp, body, console_cookie, csrf_of, element, page, page_and_location, post_form, unescape};

/// An attribute of the tag that starts at `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    Some(unescape(&tag[at..at + tag[at..].find('"')?]))
}

/// Where the tag that `s` starts with ends (a `>` outside quoted attribute values).
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    s.len() - 1
}

/// What a browser would send for the form with `id`: its inputs (checked ones of radios and
/// checkboxes), textareas and the selected option of each select.
pub(crate) fn form_fields(html: &str, id: &str) -> Vec<(String, String)> {
    let start = html.find(&format!("id=\"{id}\"")).unwrap();
    let form = &html[start..start + html[start..].find("</form>").unwrap()];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let tag_end = tag_end(rest);
        let tag = &rest[..tag_end + 1];
        if tag.starts_with("<input ") {
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            if let Some(name) = attr(tag, "name")
                && (!matches!(kind.as_str(), "radio" | "checkbox") || tag.contains(" checked"))
            {
                out.push((name, attr(tag, "value").unwrap_or_default()));
            }
        } else if tag.starts_with("<textarea ") {
            let close = rest.find("</textarea>").unwrap();
            // As an HTML parser does, the line break right after the tag is dropped.
            let text = &rest[tag_end + 1..close];
            out.push((
                attr(tag, "name").unwrap(),
                unescape(text.strip_prefix('\n').unwrap_or(text)),
            ));
        } else if tag.starts_with("<select ") {
            let close = rest.find("</select>").unwrap();
            let options = &rest[tag_end + 1..close];
            let mut value = None;
            let mut first = None;
            for o in options.split("<option ").skip(1) {
                let v = attr(&format!(" {o}"), "value").unwrap_or_default();
                first.get_or_insert(v.clone());
                if o[..o.find('>').unwrap()].contains(" selected") {
                    value = Some(v);
                }
            }
            out.push((attr(tag, "name").unwrap(), value.or(first).unwrap_or_default()));
        }
        rest = &rest[1..];
    }
    out
}

pub(crate) fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(f) => f.1 = value.to_string(),
        None => fields.push((name.to_string(), value.to_string())),
    }
}

pub(crate) async fn add_user(app: &TestApp, name: &str, role: &str) -> String {
    let password = format!("{name}-password");
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": name, "password": password, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    console_cookie(app, name, &password).await
}

#[tokio::test]
async fn campaign_pages_need_sign_in_and_a_viewer_only_reads() {
    let app = TestApp::spawn().await;
    let id = app
        .admin(Method::POST, "/campaigns")
        .json(&json!({"name": "공지", "channel": "email", "when": {"kind": "once"},
                      "content": {"subject": "s", "text": "t"}}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let show = format!("/campaigns/{id}");
    let gets = [
        "/campaigns".to_string(),
        "/campaigns/new".to_string(),
        "/campaigns/new?template=cart_abandonment".to_string(),
        show.clone(),
        format!("{show}/edit"),
        format!("{show}?preview_customer=1"),
        "/settings/messaging".to_string(),
    ];
    // Signed out: every page sends to the sign-in, and so does every post.
    for path in &gets {
        let (status, to, _) = page_and_location(&app, "", path).await;
        assert_eq!(status, 303, "{path}");
        assert!(to.starts_with("/login?next="), "{path} → {to}");
    }
    for path in [
        "/campaigns".to_string(),
        show.clone(),
        format!("{show}/launch"),
        format!("{show}/pause"),
        format!("{show}/test"),
        "/settings/messaging".to_string(),
        "/settings/messaging/test".to_string(),
    ] {
        let res = post_form(&app, "", &path, "csrf=x".into()).await;
        assert_eq!(res.status(), 303, "{path}");
    }

    // Signed in: every page answers.
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    for path in &gets {
        let (status, _, html) = page_and_location(&app, &owner, path).await;
        assert_eq!(status, 200, "{path}: {html}");
    }
    let (_, _, list) = page_and_location(&app, &owner, "/campaigns").await;
    assert!(
        list.contains("<a href=\"/campaigns\" aria-current=\"page\">Campaigns</a>"),
        "Campaigns is on in the navigation, next to Coupons"
    );
    assert!(list.find("href=\"/coupons\"").unwrap() < list.find("href=\"/campaigns\"").unwrap());
    assert!(list.contains("id=\"new-campaign\""));
    // The eight campaigns, the interest-based one in its two forms.
    assert_eq!(list.matches("class=\"card template-card\"").count(), 9);
    assert!(list.contains("href=\"/campaigns/new?template=cart_abandonment\""));
    let row = element(&list, "campaigns");
    assert!(
        row.contains("공지") && row.contains("draft") && row.contains("Once, at launch"),
        "{row}"
    );
    assert_eq!(page(&app, &owner, "/campaigns/999").await.0, 404);
    assert_eq!(page(&app, &owner, "/campaigns/999/edit").await.0, 404);
    assert_eq!(page(&app, &owner, "/campaigns/new?template=nope").await.0, 404);
    let (_, _, settings) = page_and_location(&app, &owner, "/settings").await;
    assert!(
        settings.contains("href=\"/settings/messaging\""),
        "Settings links to Messaging"
    );

    // A viewer reads the list, the campaign and the messaging settings, and changes nothing.
    let viewer = add_user(&app, "viewer", "viewer").await;
    let (status, _, list) = page_and_location(&app, &viewer, "/campaigns").await;
    assert_eq!(status, 200);
    assert!(list.contains("공지") && !list.contains("id=\"new-campaign\""));
    assert!(
        !list.contains("/campaigns/new?template="),
        "no template buttons for a viewer"
    );
    assert_eq!(page(&app, &viewer, "/campaigns/new").await.0, 403);
    assert_eq!(page(&app, &viewer, "/campaigns/new?template=win_back").await.0, 403);
    assert_eq!(page(&app, &viewer, &format!("{show}/edit")).await.0, 403);
    let (status, _, html) = page_and_location(&app, &viewer, &show).await;
    assert_eq!(status, 200);
    for absent in ["id=\"launch-form\"", "id=\"edit\"", "id=\"test-form\""] {
        assert!(!html.contains(absent), "{absent} shown to a viewer");
    }
    let (status, _, html) = page_and_location(&app, &viewer, "/settings/messaging").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"owners-only\"") && html.contains("<fieldset class=\"plain\" disabled>"));
    let token = csrf_of(&html);
    let form = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("csrf".to_string(), token.clone())];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        body(&pairs)
    };
    let campaign = [
        ("name", "viewer's"),
        ("channel", "email"),
        ("when_kind", "once"),
        ("subject", "s"),
        ("text", "t"),
    ];
    for (path, fields) in [
        ("/campaigns".to_string(), form(&campaign)),
        (show.clone(), form(&campaign)),
        (format!("{show}/launch"), form(&[])),
        (format!("{show}/pause"), form(&[])),
        (
            format!("{show}/test"),
            form(&[("to", "v@example.com"), ("customer", "1")]),
        ),
        ("/settings/messaging".to_string(), form(&[("sender_name", "viewer")])),
        (
            "/settings/messaging/test".to_string(),
            form(&[("channel", "email"), ("to", "v@example.com")]),
        ),
    ] {
        let res = post_form(&app, &viewer, &path, fields).await;
        assert_eq!(res.status(), 403, "a viewer's post to {path}");
    }
    // The owner's token is not the viewer's either.
    let (_, _, owners) = page_and_location(&app, &owner, "/campaigns/new").await;
    let res = post_form(
        &app,
        &viewer,
        "/campaigns",
        body(&[("csrf", csrf_of(&owners)), ("name", "x".to_string())]),
    )
    .await;
    assert_eq!(res.status(), 403);
    // Nothing changed: the law's two notices and the one draft.
    let all = app.get("/campaigns").await["items"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3);
    assert_eq!(
        (all[2]["name"].clone(), all[2]["status"].clone()),
        (json!("공지"), json!("draft"))
    );
    assert_eq!(app.get("/settings/messaging").await["sender_name"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_from_a_template_is_saved_previewed_test_sent_launched_and_paused() {
    let app = spawn_at("2026-11-23T10:00:00+09:00").await;
    let smtp = SmtpSink::start();
    let t = "2026-11-23T09:00:00+09:00";
    people(
        &app,
        t,
        &[
            (
                "kim",
                json!({"name": "김민지", "email": "kim@example.com", "email_consent": true}),
            ),
            ("lee", json!({"name": "이서준", "email": "lee@example.com"})),
        ],
    )
    .await;
    track(
        &app,
        "kim",
        "Product Added",
        json!({"product_id": "p1", "name": "향초 1호", "price": 10000, "quantity": 1}),
        "2026-11-23T09:30:00+09:00",
    )
    .await;
    let kim = id_of(&app, "kim").await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;

    // The template opens as a form filled with it; posted as is, it is created as it was.
    let (status, _, form) = page_and_location(&app, &owner, "/campaigns/new?template=cart_abandonment").await;
    assert_eq!(status, 200);
    assert!(element(&form, "from-template").contains("Cart abandonment"));
    let fields = form_fields(&form, "campaign-form");
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(value("when_kind"), Some("trigger"));
    assert_eq!(value("event"), Some("Product Added"));
    assert_eq!(value("cancel_on"), Some("Order Completed"));
    assert_eq!(value("template"), Some("cart_abandonment"));

    // A wrong field comes back named, next to it, with what was typed kept (400).
    let mut daily = fields.clone();
    set(&mut daily, "when_kind", "daily");
    set(&mut daily, "time", "25:00");
    let res = post_form(&app, &owner, "/campaigns", body(&daily)).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(element(&html, "form-error").contains("when.time"));
    assert!(element(&html, "error-time").contains("when.time: \"25:00\" is not a time (HH:MM)"));
    assert!(html.contains("value=\"25:00\"") && html.contains("value=\"장바구니 이탈\""));
    let mut ruled = fields.clone();
    set(
        &mut ruled,
        "rule",
        r#"{"all": [{"attr": "nope", "op": "=", "value": 1}]}"#,
    );
    let html = post_form(&app, &owner, "/campaigns", body(&ruled))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        element(&html, "error-rule").contains("audience.rule.all[0].attr"),
        "{html}"
    );
    set(&mut ruled, "rule", "{not json");
    let html = post_form(&app, &owner, "/campaigns", body(&ruled))
        .await
        .text()
        .await
        .unwrap();
    assert!(element(&html, "error-rule").contains("audience.rule: This is not JSON"));
    let mut filtered = fields.clone();
    set(
        &mut filtered,
        "where",
        r#"[{"property": "total", "op": "~", "value": 1}]"#,
    );
    let html = post_form(&app, &owner, "/campaigns", body(&filtered))
        .await
        .text()
        .await
        .unwrap();
    assert!(element(&html, "error-where").contains("when.where[0].op"));
    let mut nameless = fields.clone();
    set(&mut nameless, "subject", " ");
    let html = post_form(&app, &owner, "/campaigns", body(&nameless))
        .await
        .text()
        .await
        .unwrap();
    assert!(element(&html, "error-subject").contains("content.subject: email needs a subject"));
    // Nothing was saved: the store holds only the law's two notices.
    assert_eq!(app.get("/campaigns").await["items"].as_array().unwrap().len(), 2);

    let res = post_form(&app, &owner, "/campaigns", body(&fields)).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let made = app.get("/campaigns").await["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let id = made["id"].as_u64().unwrap();
    assert_eq!(to, format!("/campaigns/{id}"));
    let templates = app.get("/campaigns/templates").await;
    let cart = templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "cart_abandonment")
        .unwrap()["input"]
        .clone();
    for (k, v) in cart.as_object().unwrap() {
        assert_eq!(&made[k], v, "{k} as the template has it");
    }
    assert_eq!(made["status"], "draft");

    // Its page: the settings in words, the estimate, Launch (and why it would be refused now).
    let path = format!("/campaigns/{id}");
    // The customer columns follow the store within moments.
    let mut html = String::new();
    for _ in 0..100 {
        let (status, _, h) = page_and_location(&app, &owner, &path).await;
        assert_eq!(status, 200);
        html = h;
        if element(&html, "estimate-audience").ends_with(">2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        element(&html, "status"),
        "<span class=\"badge status-draft\" id=\"status\" data-status=\"draft\">draft"
    );
    let settings = element(&html, "settings");
    for want in [
        "Email",
        "Advertising",
        "1 hour after “Added to cart”, unless “Order completed” comes first",
        "For you, 4 products",
        "“Order completed” within 120 hours of a message",
        "Never twice to the same person",
        "Everyone",
    ] {
        assert!(settings.contains(want), "{want} in {settings}");
    }
    assert!(element(&html, "estimate-audience").ends_with(">2"));
    assert!(
        element(&html, "estimate-reachable").ends_with(">1"),
        "only kim consented"
    );
    assert!(element(&html, "launch-blocker").contains("This channel is not set up yet"));
    assert!(html.contains("id=\"launch-form\"") && !html.contains("id=\"pause-form\""));
    assert!(element(&html, "report").contains("Nothing sent yet."));

    // The preview, linkable, by id or email: the labelled subject, the cart, the HTML sandboxed.
    for q in [kim.to_string(), "kim%40example.com".into()] {
        let (status, _, html) = page_and_location(&app, &owner, &format!("{path}?preview_customer={q}")).await;
        assert_eq!(status, 200);
        assert!(
            element(&html, "preview-subject").ends_with("(광고) 김민지님, 장바구니에 상품이 남아 있어요"),
            "{}",
            element(&html, "preview-subject")
        );
        assert!(element(&html, "preview-text").contains("향초 1호"));
        assert!(element(&html, "preview-to").ends_with("kim@example.com"));
        // Email is not set up yet: the preview never says it would be sent.
        let verdict = element(&html, "preview-verdict");
        assert!(
            verdict.contains("data-verdict=\"skip\"") && verdict.contains("the messaging settings are not complete"),
            "{verdict}"
        );
        let frame = &html[html.find("<iframe").unwrap()..];
        let frame = &frame[..frame.find('>').unwrap()];
        assert!(
            frame.contains(" sandbox=\"\"") && frame.contains(" srcdoc=\""),
            "{frame}"
        );
        assert!(!frame.contains("<p>"), "the HTML is an escaped attribute");
    }
    let lee = id_of(&app, "lee").await;
    let (_, _, html) = page_and_location(&app, &owner, &format!("{path}?preview_customer={lee}")).await;
    assert!(element(&html, "preview-verdict").contains("skipped: no consent"));
    let (_, _, html) = page_and_location(&app, &owner, &format!("{path}?preview_customer=nobody%40example.com")).await;
    assert!(element(&html, "preview-error").contains("No customer nobody@example.com."));

    // Launch is refused until the channel is set up, then until the sender is named.
    let csrf = csrf_of(&html);
    let launch_path = format!("{path}/launch");
    let launch = || post_form(&app, &owner, &launch_path, format!("csrf={csrf}"));
    let res = launch().await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(element(&html, "launch-error").contains("This channel is not set up yet"));
    configure(
        &app,
        Some(&smtp),
        None,
        json!({"sender_name": "", "sender_contact": ""}),
    )
    .await;
    let res = launch().await;
    assert_eq!(res.status(), 400);
    assert!(element(&res.text().await.unwrap(), "launch-error").contains("Ad messages must name their sender"));
    assert_eq!(app.get(&format!("/campaigns/{id}")).await["status"], "draft");

    // A test send reaches the SMTP server, marked as a test; nothing is recorded.
    let res = post_form(
        &app,
        &owner,
        &format!("{path}/test"),
        format!("csrf={csrf}&to=me%40example.com&customer={kim}"),
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(element(&html, "test-result").contains("Test sent to me@example.com"));
    let got = smtp.to("me@example.com");
    assert_eq!(got.len(), 1);
    assert!(
        got[0]["subject"].as_str().unwrap().starts_with("[테스트]"),
        "{}",
        got[0]
    );
    let res = post_form(
        &app,
        &owner,
        &format!("{path}/test"),
        format!("csrf={csrf}&to=not-an-address&customer={kim}"),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        element(&res.text().await.unwrap(), "test-result").contains("to: \"not-an-address\" is not an email address")
    );

    // The messaging settings send a test of their own through the SMTP server; a channel not set
    // up is said so.
    let test = |body: &'static str| post_form(&app, &owner, "/settings/messaging/test", format!("csrf={csrf}&{body}"));
    let res = test("channel=email&to=owner%40example.com").await;
    assert_eq!(res.status(), 200);
    assert!(element(&res.text().await.unwrap(), "test-result").contains("Sent. The answer:"));
    let got = smtp.to("owner@example.com");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["subject"], "[테스트] dangol 메시지 발송 설정");
    let res = test("channel=sms&to=010-1234-5678").await;
    assert_eq!(res.status(), 400);
    assert!(element(&res.text().await.unwrap(), "test-result").contains("This channel is not set up yet"));

    // Named and reachable: Launch first asks, saying to how many it sends; confirmed, it is
    // launched; the page and the list say active; then paused.
    configure(&app, Some(&smtp), None, json!({})).await;
    let (_, _, html) = page_and_location(&app, &owner, &format!("{path}?preview_customer={kim}")).await;
    assert!(
        element(&html, "preview-verdict").contains("would be sent"),
        "set up, it would be"
    );
    let res = launch().await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        element(&html, "confirm-text").contains("Once started it keeps sending to the customers who qualify"),
        "{}",
        element(&html, "confirm-text")
    );
    assert_eq!(app.get(&format!("/campaigns/{id}")).await["status"], "draft", "not yet");
    let res = post_form(&app, &owner, &launch_path, format!("csrf={csrf}&confirmed=yes")).await;
    assert_eq!(res.status(), 303);
    let (_, _, html) = page_and_location(&app, &owner, &path).await;
    assert!(element(&html, "status").contains("data-status=\"active\""));
    assert!(html.contains("id=\"pause-form\"") && !html.contains("id=\"launch-form\""));
    assert!(element(&html, "settings").contains("on each event"));
    assert_eq!(app.get(&format!("/campaigns/{id}")).await["status"], "active");
    let (_, _, list) = page_and_location(&app, &owner, "/campaigns").await;
    let row = element(&list, "campaigns");
    assert!(row.contains("data-status=\"active\"") && row.contains("0 / 0"), "{row}");
    let res = post_form(&app, &owner, &format!("{path}/pause"), format!("csrf={csrf}")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.get(&format!("/campaigns/{id}")).await["status"], "paused");
    let (_, _, html) = page_and_location(&app, &owner, &path).await;
    assert!(element(&html, "launch").contains("Resume"));

    // Editing: the form comes back filled; a change is saved as the API would save it.
    let (status, _, form) = page_and_location(&app, &owner, &format!("{path}/edit")).await;
    assert_eq!(status, 200);
    assert!(form.contains(&format!("action=\"{path}\"")));
    let mut fields = form_fields(&form, "campaign-form");
    set(&mut fields, "name", "장바구니 이탈 (30분)");
    set(&mut fields, "delay_amount", "30");
    set(&mut fields, "delay_unit", "minutes");
    set(&mut fields, "fallback_name", "고객");
    let res = post_form(&app, &owner, &path, body(&fields)).await;
    assert_eq!(res.status(), 303);
    let c = app.get(&format!("/campaigns/{id}")).await;
    assert_eq!(c["name"], "장바구니 이탈 (30분)");
    assert_eq!(c["when"]["delay"], json!({"amount": 30, "unit": "minutes"}));
    assert_eq!(c["fallbacks"], json!({"customer.name": "고객"}));
    assert_eq!(c["content"], cart["content"], "the message is unchanged");
    assert_eq!(c["status"], "paused");

    // A marketer may edit campaigns too.
    let marketer = add_user(&app, "marketer", "marketer").await;
    assert_eq!(page(&app, &marketer, "/campaigns/new").await.0, 200);
    assert_eq!(page(&app, &marketer, &format!("{path}/edit")).await.0, 200);
}

#[tokio::test]
async fn messaging_settings_are_owners_only_keep_secrets_and_name_a_wrong_field() {
    let app = TestApp::spawn().await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (status, _, html) = page_and_location(&app, &owner, "/settings/messaging").await;
    assert_eq!(status, 200);
    assert!(!html.contains("id=\"owners-only\"") && html.contains("id=\"save\""));
    let mut fields = form_fields(&html, "messaging-form");
    // Never saved: the server's address is the one the page was reached at, and it says so.
    assert_eq!(
        fields.iter().find(|(k, _)| k == "public_url").map(|(_, v)| v.as_str()),
        Some(app.base.as_str())
    );
    assert!(element(&html, "public-url-guessed").contains("the one you reached this page at"));
    set(&mut fields, "sender_name", "단골상점");
    set(&mut fields, "sender_contact", "02-123-4567");
    set(&mut fields, "unsubscribe_phone", "080-123-4567");
    set(&mut fields, "smtp_on", "on");
    set(&mut fields, "smtp_host", "");
    set(&mut fields, "smtp_port", "2525");
    set(&mut fields, "smtp_security", "plain");
    set(&mut fields, "smtp_password", "top-secret");
    set(&mut fields, "smtp_from_email", "shop@example.com");

    // A wrong field is named next to it; the typed secret is not sent back.
    let res = post_form(&app, &owner, "/settings/messaging", body(&fields)).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(element(&html, "error-smtp_host").contains("smtp.host: is empty"));
    assert!(element(&html, "form-error").contains("smtp.host"));
    assert!(!html.contains("top-secret"));
    assert!(html.contains("value=\"02-123-4567\""), "what was typed is kept");
    set(&mut fields, "smtp_host", "127.0.0.1");
    set(&mut fields, "sms_on", "on");
    set(&mut fields, "sms_url", "https://sms.example/send");
    set(&mut fields, "sms_auth_value", "Bearer sms-key");
    set(&mut fields, "sms_retries", "many");
    let res = post_form(&app, &owner, "/settings/messaging", body(&fields)).await;
    assert_eq!(res.status(), 400);
    assert!(element(&res.text().await.unwrap(), "error-sms_retries").contains("sms.retries"));
    set(&mut fields, "sms_retries", "2");
    set(&mut fields, "cap_days", "400");
    let res = post_form(&app, &owner, "/settings/messaging", body(&fields)).await;
    assert_eq!(res.status(), 400);
    assert!(element(&res.text().await.unwrap(), "error-cap").contains("cap: messages must be at least 1"));
    set(&mut fields, "cap_days", "7");
    set(&mut fields, "cap_messages", "3");

    // Saved as the API would save it; the secrets are write-only.
    let res = post_form(&app, &owner, "/settings/messaging", body(&fields)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/settings/messaging?saved=1");
    let s = app.get("/settings/messaging").await;
    assert_eq!(
        (
            s["sender_name"].clone(),
            s["unsubscribe_phone"].clone(),
            s["smtp"]["host"].clone(),
            s["smtp"]["port"].clone(),
            s["smtp"]["security"].clone(),
            s["smtp"]["password_set"].clone(),
            s["sms"]["url"].clone(),
            s["sms"]["auth_value_set"].clone(),
            s["sms"]["retries"].clone(),
            s["kakao"].clone(),
            s["cap"].clone(),
        ),
        (
            json!("단골상점"),
            json!("080-123-4567"),
            json!("127.0.0.1"),
            json!(2525),
            json!("plain"),
            json!(true),
            json!("https://sms.example/send"),
            json!(true),
            json!(2),
            Value::Null,
            json!({"messages": 3, "days": 7}),
        ),
        "{s}"
    );
    let (_, _, html) = page_and_location(&app, &owner, "/settings/messaging?saved=1").await;
    assert!(html.contains("id=\"saved\""));
    assert!(
        !html.contains("id=\"public-url-guessed\""),
        "saved: the address is the owner's"
    );
    assert!(!html.contains("top-secret") && !html.contains("sms-key"));
    assert!(element(&html, "smtp_password_state").contains("A value is stored"));
    // Saved again as shown (the secrets' fields empty): the secrets stay; no cap: none.
    let mut again = form_fields(&html, "messaging-form");
    again.retain(|(k, _)| k != "cap_on");
    let res = post_form(&app, &owner, "/settings/messaging", body(&again)).await;
    assert_eq!(res.status(), 303);
    let s = app.get("/settings/messaging").await;
    assert_eq!(s["smtp"]["password_set"], true);
    assert_eq!(s["sms"]["auth_value_set"], true);
    assert_eq!(s["cap"], Value::Null);

    // A marketer sees them but may not change them.
    let marketer = add_user(&app, "marketer", "marketer").await;
    let (status, _, html) = page_and_location(&app, &marketer, "/settings/messaging").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"owners-only\"") && !html.contains("id=\"save\""));
    let mut mine = form_fields(&html, "messaging-form");
    set(&mut mine, "sender_name", "marketer");
    let res = post_form(&app, &marketer, "/settings/messaging", body(&mine)).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.get("/settings/messaging").await["sender_name"], "단골상점");
}

/// #21, finding 4: a customer's page sends them a message. It goes the whole campaign way (the
/// law, consent, quiet hours, the report), as a one-off to that person alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_page_sends_that_customer_a_message_as_a_one_off_campaign() {
    let app = spawn_at("2026-11-23T11:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({})).await;
    people(
        &app,
        "2026-11-23T09:00:00+09:00",
        &[
            ("kim", json!({"name": "김민지", "email": "kim@example.com"})),
            ("lee", json!({"name": "이서준", "email": "lee@example.com"})),
        ],
    )
    .await;
    let kim = id_of(&app, "kim").await;
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (_, profile) = page(&app, &owner, &format!("/customers/{kim}")).await;
    assert!(element(&profile, "send-message").contains(&format!("href=\"/campaigns/new?customer={kim}\"")));
    let viewer = crate::console_campaigns::add_user(&app, "viewer", "viewer").await;
    let (_, profile) = page(&app, &viewer, &format!("/customers/{kim}")).await;
    assert!(!profile.contains("id=\"send-message\""), "a viewer sends nothing");

    let (status, form) = page(&app, &owner, &format!("/campaigns/new?customer={kim}")).await;
    assert_eq!(status, 200);
    let mut fields = form_fields(&form, "campaign-form");
    let get = |fields: &[(String, String)], k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get(&fields, "name"), "A message to 김민지");
    assert_eq!(get(&fields, "when_kind"), "once");
    assert_eq!(get(&fields, "purpose"), "informational");
    let rule: Value = serde_json::from_str(&unescape(&get(&fields, "rule"))).unwrap();
    assert_eq!(rule, json!({"attr": "customer_id", "op": "in", "value": [kim]}));
    set(&mut fields, "subject", "주문하신 상품 안내");
    set(
        &mut fields,
        "text",
        "{{ customer.name }}님, 주문하신 향초는 내일 도착합니다.",
    );
    let res = post_form(&app, &owner, "/campaigns", body(&fields)).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let path = res.headers()["location"].to_str().unwrap().to_string();
    let (_, html) = page(&app, &owner, &path).await;
    assert!(element(&html, "estimate-audience").ends_with(">1"));
    assert!(element(&html, "audience-rule").contains(&format!("the customers #{kim}")));
    let id: u64 = path.trim_start_matches("/campaigns/").parse().unwrap();
    crate::campaigns::launch(&app, id).await;
    crate::campaigns::wait_report(&app, id, "one sent", |r| r["totals"]["sent"] == 1).await;
    let got = smtp.to("kim@example.com");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["subject"], "주문하신 상품 안내",
        "informational: no (광고) label"
    );
    assert!(
        got[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("김민지님, 주문하신 향초는")
    );
    assert!(smtp.to("lee@example.com").is_empty(), "no one else");

    // A bad list is named.
    let res = app
        .admin(Method::POST, "/segments/preview")
        .json(&json!({"rule": {"attr": "customer_id", "op": "in", "value": []}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let e = res.json::<Value>().await.unwrap();
    assert!(e.to_string().contains("a list of 1 to 1,000 customer ids"), "{e}");
}

/// A select's options in order: (value, label).
fn options(html: &str, id: &str) -> Vec<(String, String)> {
    let el = element(html, id);
    let mut out = Vec::new();
    for part in el.split("<option ").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        let label = &part[part.find('>').unwrap() + 1..part.find("</option>").unwrap()];
        out.push((attr(&format!(" {tag}"), "value").unwrap(), unescape(label)));
    }
    out
}

#[tokio::test]
async fn the_campaign_form_picks_the_shops_events_by_name_and_previews_as_one_edits() {
    let app = spawn_at("2026-11-23T10:00:00+09:00").await;
    people(
        &app,
        "2026-11-23T09:00:00+09:00",
        &[(
            "kim",
            json!({"name": "김민지", "email": "kim@example.com", "email_consent": true}),
        )],
    )
    .await;
    for (event, at) in [
        ("Wishlist Shared", "2026-11-23T09:10:00+09:00"),
        ("Wishlist Shared", "2026-11-23T09:11:00+09:00"),
        ("Product Added", "2026-11-23T09:12:00+09:00"),
    ] {
        track(
            &app,
            "kim",
            event,
            json!({"product_id": "p1", "name": "향초 1호", "price": 10000}),
            at,
        )
        .await;
    }
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (status, form) = page(&app, &owner, "/campaigns/new?template=cart_abandonment").await;
    assert_eq!(status, 200);

    // The trigger's event and the goal are picked from the shop's events, most sent first, by the
    // names a person reads; the spec's events the shop has not sent yet follow.
    let events = options(&form, "event");
    assert_eq!(
        events[0],
        ("Wishlist Shared".to_string(), "Wishlist Shared".to_string())
    );
    assert_eq!(events[1], ("Product Added".to_string(), "Added to cart".to_string()));
    assert!(
        events
            .iter()
            .any(|(v, l)| v == "Order Completed" && l == "Order completed")
    );
    assert!(element(&form, "event").contains("value=\"Product Added\" selected"));
    assert_eq!(options(&form, "goal_event"), events);
    // The cancelling events are boxes to tick, the template's ticked.
    let cancels = element(&form, "cancel_on");
    assert!(cancels.contains("value=\"Order Completed\" checked"), "{cancels}");
    assert!(cancels.contains("value=\"Wishlist Shared\">"));
    // The audience's builder and the trigger's tests are configured for their scripts: the
    // builder knows the shop's events by name too.
    assert!(
        form.contains(r#"["Product Added","Added to cart"]"#),
        "the builder's events"
    );
    assert!(form.contains(r#"["total","order total"]"#), "the tests' properties");

    // Two ticked boxes cancel on either event.
    let mut fields = form_fields(&form, "campaign-form");
    fields.push(("cancel_on".into(), "Wishlist Shared".into()));
    set(&mut fields, "name", "두 이벤트로 취소");
    let res = post_form(&app, &owner, "/campaigns", body(&fields)).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let id: u64 = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/campaigns/")
        .parse()
        .unwrap();
    let saved: Value = app.get(&format!("/campaigns/{id}")).await;
    assert_eq!(
        saved["when"]["cancel_on"],
        json!(["Order Completed", "Wishlist Shared"]),
        "{saved}"
    );

    // The live preview: the message one customer would get from the form as it stands.
    let mut asked = form_fields(&form, "campaign-form");
    set(&mut asked, "preview_customer", "kim@example.com");
    let res = post_form(&app, &owner, "/campaigns/preview", body(&asked)).await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert!(p["who"].as_str().unwrap().contains("kim@example.com"), "{p}");
    assert!(p["text"].as_str().unwrap().contains("김민지"), "{p}");
    assert!(p["text"].as_str().unwrap().contains("향초 1호"), "the cart: {p}");
    assert_eq!(p["to"], "kim@example.com");
    // As it is edited, before anything is saved.
    set(&mut asked, "text", "{{ customer.name }}님, 다시 오세요");
    let p: Value = post_form(&app, &owner, "/campaigns/preview", body(&asked))
        .await
        .json()
        .await
        .unwrap();
    assert!(p["text"].as_str().unwrap().starts_with("김민지님, 다시 오세요"), "{p}");
    // A wrong field, or no such customer, is named; a post without the form's token is refused.
    let mut wrong = asked.clone();
    set(&mut wrong, "text", "{{ customer.name ");
    let res = post_form(&app, &owner, "/campaigns/preview", body(&wrong)).await;
    assert_eq!(res.status(), 422);
    let e: Value = res.json().await.unwrap();
    assert!(e["error"]["field"].as_str().unwrap().starts_with("content"), "{e}");
    set(&mut wrong, "text", "hi");
    set(&mut wrong, "preview_customer", "nobody@example.com");
    let e: Value = post_form(&app, &owner, "/campaigns/preview", body(&wrong))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["error"]["field"], "preview_customer", "{e}");
    set(&mut wrong, "csrf", "forged");
    let res = post_form(&app, &owner, "/campaigns/preview", body(&wrong)).await;
    assert_eq!(res.status(), 403);
    let viewer = add_user(&app, "viewer", "viewer").await;
    let res = post_form(&app, &viewer, "/campaigns/preview", body(&asked)).await;
    assert_eq!(
        res.status(),
        403,
        "a viewer's token is not the owner's, and a viewer changes nothing"
    );

    // A campaign being changed keeps the fallbacks the form does not show, in its preview too.
    let mut input = saved.clone();
    for k in [
        "id",
        "status",
        "created_at",
        "updated_at",
        "launched_at",
        "next_due",
        "occurrences",
    ] {
        input.as_object_mut().unwrap().remove(k);
    }
    input["content"]["text"] = json!("{{ customer.name }}님, {{ coupon.code }}");
    input["fallbacks"] = json!({"coupon.code": "선물"});
    let res = app
        .admin(Method::PUT, &format!("/campaigns/{id}"))
        .json(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (_, edit) = page(&app, &owner, &format!("/campaigns/{id}/edit")).await;
    let mut asked = form_fields(&edit, "campaign-form");
    set(&mut asked, "preview_customer", "kim@example.com");
    let p: Value = post_form(&app, &owner, "/campaigns/preview", body(&asked))
        .await
        .json()
        .await
        .unwrap();
    assert!(p["text"].as_str().unwrap().starts_with("김민지님, 선물"), "{p}");
}
