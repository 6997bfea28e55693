//! Experiments (CONTRACT §9) through the real SMTP server: a one-off ad email with two variants
//! and a 10 % hold-out to 1,000 customers; each person gets at most one message, of their own
//! arm; the hold-out gets none; orders of chosen people count in their arm; the report's figures
//! are the hand-computed ones; a restart and a relaunch change no one's arm.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use dangol::config::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::campaigns::{
    SmtpSink, at, call, configure, create_campaign, launch, report, set_clock, spawn_at, wait_report,
};
use crate::common::{TestApp, body, console_cookie, csrf_of, element, element_html, page, post_form};

const PEOPLE: usize = 1_000;

fn close(a: &Value, b: f64, what: &str) {
    let a = a.as_f64().unwrap_or_else(|| panic!("{what}: {a}"));
    assert!((a - b).abs() < 1e-9, "{what}: {a} against {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_variants_and_a_hold_out_are_measured_on_everyone_assigned() {
    let app = spawn_at("2026-12-01T10:00:00+09:00").await;
    let smtp = SmtpSink::start();
    configure(&app, Some(&smtp), None, json!({})).await;
    for chunk in (0..PEOPLE).collect::<Vec<_>>().chunks(250) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({"type": "identify", "userId": format!("u{i}"), "timestamp": "2026-12-01T09:00:00+09:00",
                       "traits": {"email": format!("u{i}@example.com"), "email_consent": true}})
            })
            .collect();
        assert_eq!(app.send("/v1/batch", json!({ "batch": batch })).await.status(), 200);
    }
    let campaign = json!({
        "name": "겨울 세일 A/B",
        "channel": "email",
        "when": {"kind": "once"},
        "content": {"subject": "겨울 세일", "text": "겨울 세일입니다."},
        "variants": [
            {"key": "A", "weight": 50, "content": {"subject": "[A] 겨울 세일"}},
            {"key": "B", "weight": 50, "content": {"subject": "[B] 20% 할인", "text": "20% 할인 중입니다."}}
        ],
        "holdout_percent": 10,
        "goal": {"event": "Order Completed", "window_hours": 72}
    });

    // Bad input is named.
    for (change, field) in [
        (
            json!({"variants": [{"key": "A", "weight": 50}, {"key": "B", "weight": 40}]}),
            "variants",
        ),
        (
            json!({"variants": [{"key": "A", "weight": 50}, {"key": "A", "weight": 50}]}),
            "variants[1].key",
        ),
        (json!({"holdout_percent": 60}), "holdout_percent"),
        (
            json!({"variants": [{"key": "A", "weight": 100, "content": {"subject": " "}}]}),
            "variants[0].content.subject",
        ),
    ] {
        let mut bad = campaign.clone();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let res = app.admin(Method::POST, "/campaigns").json(&bad).send().await.unwrap();
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert!(status.is_client_error(), "{change}: {status} {v}");
        assert_eq!(
            (v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (Some("invalid_field"), Some(field)),
            "{v}"
        );
    }

    let id = create_campaign(&app, campaign.clone()).await;
    assert_eq!(id, 3, "the split pinned below is campaign 3's");
    // Before launch the page says what this split of the 1,000 reachable can show: with 100 held
    // out and 450 in the smaller variant, (1.959964 + 0.841621)·√(p(1−p)(1/100 + 1/450)) ÷ p.
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (_, html) = page(&app, &owner, &format!("/campaigns/{id}")).await;
    let plan = element(&html, "experiment-plan");
    assert!(
        plan.contains("1,000")
            && plan.contains("+216.8% or more when 2% convert")
            && plan.contains("+135.0% or more when 5%"),
        "{plan}"
    );
    launch(&app, id).await;
    let r = wait_report(&app, id, "every arm's message sent", |r| {
        let Some(arms) = r["experiment"]["arms"].as_array() else {
            return false;
        };
        let n = |i: usize| arms[i]["assigned"].as_u64().unwrap_or(0);
        arms.len() == 3 && n(0) + n(1) + n(2) == PEOPLE as u64 && r["totals"]["sent"].as_u64() == Some(n(0) + n(1))
    })
    .await;
    let e = &r["experiment"];
    let keys: Vec<&str> = e["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["A", "B", "holdout"]);
    assert_eq!(e["control"], "holdout");
    let assigned: Vec<u64> = e["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["assigned"].as_u64().unwrap())
        .collect();
    assert_eq!(assigned.iter().sum::<u64>(), PEOPLE as u64, "everyone is assigned: {e}");
    // The split is what the hash of (campaign, customer) gives: pinned, and near 45/45/10.
    assert_eq!(assigned, [ASSIGNED[0], ASSIGNED[1], ASSIGNED[2]], "{e}");

    // Each person got at most one message, of their own arm; the hold-out none.
    let sends = app.get(&format!("/campaigns/{id}/sends?state=sent&limit=10000")).await;
    let arm_of: HashMap<String, String> = sends["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["address"].as_str().unwrap().to_string(),
                s["variant"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let messages = smtp.messages();
    let mut to: HashSet<String> = HashSet::new();
    for m in &messages {
        let address = m["to"]
            .as_str()
            .unwrap()
            .trim_matches(|c| c == '<' || c == '>')
            .to_string();
        assert!(to.insert(address.clone()), "{address} got two messages");
        let subject = m["subject"].as_str().unwrap();
        let want = if arm_of[&address] == "A" {
            "(광고) [A] 겨울 세일"
        } else {
            "(광고) [B] 20% 할인"
        };
        assert_eq!(subject, want, "{address}");
    }
    assert_eq!(to.len() as u64, assigned[0] + assigned[1]);
    assert_eq!(e["arms"][2]["exposed"], 0);
    assert_eq!(e["arms"][0]["exposed"], assigned[0]);

    // Orders: three of A, one of B, two held out (found as the people no message went to), one
    // of A after the 72-hour window (not counted); one of A orders twice.
    let by_arm = |arm: &str| -> Vec<String> {
        let mut v: Vec<String> = arm_of
            .iter()
            .filter(|(_, a)| *a == arm)
            .map(|(m, _)| m.clone())
            .collect();
        v.sort();
        v
    };
    let held: Vec<String> = (0..PEOPLE)
        .map(|i| format!("u{i}@example.com"))
        .filter(|m| !to.contains(m))
        .collect();
    let (a, b) = (by_arm("A"), by_arm("B"));
    let user = |mail: &str| mail.trim_end_matches("@example.com").to_string();
    let mut n = 0;
    let mut order = |mail: &str, amount: u32, when: &str| {
        n += 1;
        json!({"type": "track", "userId": user(mail), "event": "Order Completed", "timestamp": when,
               "properties": {"order_id": format!("o{n}"), "total": amount, "currency": "KRW"}})
    };
    let batch = vec![
        order(&a[0], 30_000, "2026-12-01T12:00:00+09:00"),
        order(&a[1], 50_000, "2026-12-02T12:00:00+09:00"),
        order(&a[1], 20_000, "2026-12-03T12:00:00+09:00"),
        order(&a[2], 10_000, "2026-12-03T20:00:00+09:00"),
        order(&b[0], 40_000, "2026-12-02T09:00:00+09:00"),
        order(&held[0], 25_000, "2026-12-01T15:00:00+09:00"),
        order(&held[1], 35_000, "2026-12-02T15:00:00+09:00"),
        // Past the window (72 hours after the launch at 10:00 on the 1st).
        order(&a[3], 99_000, "2026-12-04T11:00:00+09:00"),
    ];
    set_clock(&app, "2026-12-05T10:00:00+09:00").await;
    assert_eq!(app.send("/v1/batch", json!({ "batch": batch })).await.status(), 200);

    // The preview shows each person their arm's message; a held-out person none.
    for (mail, variant, verdict, subject) in [
        (&held[0], "holdout", "skip", "(광고) 겨울 세일"),
        (&a[0], "A", "send", "(광고) [A] 겨울 세일"),
        (&b[0], "B", "send", "(광고) [B] 20% 할인"),
    ] {
        let who = app.customer("user_id", &user(mail)).await["id"].as_u64().unwrap();
        let p = call(
            &app,
            Method::POST,
            &format!("/campaigns/{id}/preview"),
            json!({"customer_id": who}),
        )
        .await;
        assert_eq!(
            (p["variant"].as_str(), p["verdict"].as_str(), p["subject"].as_str()),
            (Some(variant), Some(verdict), Some(subject)),
            "{p}"
        );
        if variant == "holdout" {
            assert_eq!(p["detail"], "held_out");
        }
    }

    let r = report(&app, id).await;
    let e = &r["experiment"];
    let arms = e["arms"].as_array().unwrap();
    let want: [(u64, f64); 3] = [(3, 110_000.0), (1, 40_000.0), (2, 60_000.0)];
    for (arm, (converted, revenue)) in arms.iter().zip(want) {
        assert_eq!(arm["converted"], converted, "{arm}");
        close(&arm["revenue"], revenue, "revenue");
        let n = arm["assigned"].as_f64().unwrap();
        close(&arm["conversion_rate"], converted as f64 / n, "rate");
        close(&arm["revenue_per_assigned"], revenue / n, "revenue per assigned");
    }
    // Against the hold-out, by hand: the lift and its relative size.
    let rate = |i: usize| want[i].0 as f64 / assigned[i] as f64;
    close(&arms[0]["lift"]["abs"], rate(0) - rate(2), "A's lift");
    close(
        &arms[0]["lift"]["rel"],
        (rate(0) - rate(2)) / rate(2),
        "A's relative lift",
    );
    assert_eq!(arms[2]["p_value"], Value::Null);
    // The statistics for these counts, pinned from statsmodels and scipy (see below).
    for (i, p, chance) in [(0usize, P_VALUE[0], CHANCE[0]), (1, P_VALUE[1], CHANCE[1])] {
        assert!((arms[i]["p_value"].as_f64().unwrap() - p).abs() < 1e-6, "{}", arms[i]);
        assert!(
            (arms[i]["chance_to_beat_control"].as_f64().unwrap() - chance).abs() < 1e-4,
            "{}",
            arms[i]
        );
    }
    assert!((e["srm_p_value"].as_f64().unwrap() - SRM_P).abs() < 1e-6, "{e}");
    assert_eq!(e["verdict"], "too_small", "six conversions decide nothing: {e}");
    assert!(e["mde_rel"].as_f64().unwrap() > 1.0, "{e}");
    // The chart: cumulative per day, the last day's counts the totals.
    let days = e["days"].as_array().unwrap();
    assert_eq!(days.first().unwrap()["day"], "2026-12-01");
    let last = &days.last().unwrap()["arms"];
    for i in 0..3 {
        assert_eq!(last[i]["assigned"], assigned[i]);
        assert_eq!(last[i]["converted"], want[i].0);
    }

    // The campaign's page shows the experiment: the verdict in words and a row per arm (signed in
    // again: the clock moved four days).
    let owner = console_cookie(&app, "admin", "test-admin-password").await;
    let (status, html) = page(&app, &owner, &format!("/campaigns/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        element(&html, "experiment-verdict").contains("The sample is too small"),
        "{}",
        element(&html, "experiment-verdict")
    );
    let arms = element(&html, "experiment-arms");
    for want in ["A", "B", "Hold-out", &format!("{}", assigned[2]), "control"] {
        assert!(arms.contains(want), "{want} in {arms}");
    }
    assert!(element_html(&html, "experiment-srm").is_none());

    // The console's form keeps the variants and the hold-out of a campaign it changes, and a
    // new campaign made there gets them from its rows (a wrong weight named).
    let (_, edit) = page(&app, &owner, &format!("/campaigns/{id}/edit")).await;
    assert!(
        edit.contains("value=\"[B] 20% 할인\""),
        "the variants' rows are filled in"
    );
    let (_, new) = page(&app, &owner, "/campaigns/new").await;
    let token = csrf_of(&new);
    let fields = |weight_b: &str| {
        body(&[
            ("csrf", token.clone()),
            ("name", "콘솔 A/B".into()),
            ("channel", "email".into()),
            ("purpose", "ad".into()),
            ("when_kind", "once".into()),
            ("subject", "겨울 세일".into()),
            ("text", "겨울 세일입니다.".into()),
            ("goal_event", "Order Completed".into()),
            ("repeat", "never".into()),
            ("late", "send".into()),
            ("variant.0.key", "A".into()),
            ("variant.0.weight", "50".into()),
            ("variant.1.key", "B".into()),
            ("variant.1.weight", weight_b.into()),
            ("variant.1.subject", "[B] 할인".into()),
            ("variant.2.key", "".into()),
            ("holdout_percent", "20".into()),
        ])
    };
    let res = post_form(&app, &owner, "/campaigns", fields("40")).await;
    let html = res.text().await.unwrap();
    assert!(
        element(&html, "error-variants").contains("variants"),
        "{}",
        element(&html, "error-variants")
    );
    let res = post_form(&app, &owner, "/campaigns", fields("50")).await;
    assert_eq!(res.status(), 303);
    let made = app.get("/campaigns").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "콘솔 A/B")
        .unwrap()
        .clone();
    assert_eq!(made["holdout_percent"], 20, "{made}");
    assert_eq!(made["variants"][1]["content"]["subject"], "[B] 할인", "{made}");
    assert_eq!(made["variants"].as_array().unwrap().len(), 2, "{made}");

    // Changing the arms of a launched campaign is refused, naming the field.
    let mut changed = campaign.clone();
    changed["variants"][0]["weight"] = json!(60);
    changed["variants"][1]["weight"] = json!(40);
    let res = app
        .admin(Method::PUT, &format!("/campaigns/{id}"))
        .json(&changed)
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["field"], "variants", "{v}");

    // A restart and a relaunch change no one's arm and send nothing again.
    let before: BTreeMap<u64, String> = variants(&app, id).await;
    let dir = app.dir.clone();
    let mut app = app;
    let tmp = app.stop().await;
    let mut config = Config::for_tests(&dir);
    config.now = Some(at("2026-12-05T11:00:00+09:00"));
    let app = TestApp::spawn_with(config).await;
    call(&app, Method::POST, &format!("/campaigns/{id}/pause"), json!({})).await;
    launch(&app, id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(variants(&app, id).await, before);
    assert_eq!(report(&app, id).await["experiment"], r["experiment"]);
    assert_eq!(smtp.messages().len(), messages.len());

    // Erasing a person forgets their place in the experiment, not their arm's counts.
    let who = app.customer("user_id", &user(&a[0])).await["id"].as_u64().unwrap();
    let res = app
        .admin(Method::DELETE, &format!("/customers/{who}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(report(&app, id).await["experiment"], r["experiment"]);
    drop(tmp);
}

/// Each sent row's variant, by customer.
async fn variants(app: &TestApp, id: u64) -> BTreeMap<u64, String> {
    let sends = app.get(&format!("/campaigns/{id}/sends?limit=10000")).await;
    sends["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["customer_id"].as_u64().unwrap(),
                s["variant"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

// The arms' sizes the hash gives campaign 3 (the first after the two notices) over customers
// 1 – 1,000, and the statistics for them with the orders above, computed with
//   statsmodels.stats.proportion.proportions_ztest([3, 2], [nA, nH])  (A against the hold-out)
//   the chance by scipy.integrate.quad of beta.pdf(x, 1+3, 1+nA-3) * beta.cdf(x, 1+2, 1+nH-2)
//   scipy.stats.chisquare([nA, nB, nH], [450, 450, 100])
const ASSIGNED: [u64; 3] = [429, 488, 83];
const P_VALUE: [f64; 2] = [0.14693973985421677, 0.010212892305740717];
const CHANCE: [f64; 2] = [0.05811451472445118, 0.010916933005151142];
const SRM_P: f64 = 0.02902945007543726;
