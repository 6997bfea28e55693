//! The nightly analysis and its job runner: the models against the published CDNOW estimates,
//! plausible groups on the demo shop, the API, midnight and catch-up runs on a driven clock, and a
//! run that dies half way being redone.

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::time::Duration;

use dangol::analysis::model::{BgNbd, GammaGamma, Rfm};
use dangol::config::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, python, run_job, test_env};

/// Runs the analysis now through the API, waiting out a run the scheduler started.
pub async fn analyse(app: &TestApp) -> Value {
    let run = run_job(app, "analysis").await;
    assert_eq!(run["outcome"], "ok", "{run}");
    run
}

async fn job(app: &TestApp) -> Value {
    app.get("/jobs").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "analysis")
        .cloned()
        .expect("the analysis job is listed")
}

/// Waits until the analysis job has run `runs` times and is idle.
async fn wait_runs(app: &TestApp, runs: u64) -> Value {
    for _ in 0..400 {
        let j = job(app).await;
        if j["runs"].as_u64().unwrap() >= runs && j["running_since"].is_null() {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the analysis did not run {runs} times: {}", job(app).await);
}

#[tokio::test]
async fn demo_shop_lands_lapsed_and_loyal_members_where_they_belong() {
    let app = TestApp::spawn_demo(600).await;
    wait_runs(&app, 1).await;
    analyse(&app).await;
    let report = app.get("/reports/rfm").await;
    assert_eq!(report["customers"].as_u64(), Some(600));
    assert!(report["bgnbd"]["params"].as_array().unwrap().len() == 4, "{report}");
    assert!(report["fallback"].as_array().unwrap().is_empty(), "{report}");
    let grid = report["grid"].as_array().unwrap();
    assert_eq!(grid.len(), 25);
    let in_grid: u64 = grid.iter().map(|c| c["customers"].as_u64().unwrap()).sum();
    assert_eq!(in_grid, report["buyers"].as_u64().unwrap());
    let groups: u64 = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(groups, 600, "every customer is in one group");
    assert_eq!(report["group_rules"].as_array().unwrap().len(), 11);

    // Every member's persona is in the demo's `demo_persona` trait.
    let mut by_persona: HashMap<String, Vec<Value>> = HashMap::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("/customers?limit=200{cursor}")).await;
        for c in page["items"].as_array().unwrap() {
            if let Some(p) = c["traits"]["demo_persona"].as_str() {
                let a = app.get(&format!("/customers/{}/analysis", c["id"])).await;
                by_persona.entry(p.to_string()).or_default().push(a);
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let share = |persona: &str, ok: &dyn Fn(&Value) -> bool| {
        let list = &by_persona[persona];
        list.iter().filter(|a| ok(a)).count() as f64 / list.len() as f64
    };
    let segment = |a: &Value| a["rfm_segment"]["value"].as_str().unwrap().to_string();
    let lapsed_groups =
        |a: &Value| ["at_risk", "almost_lost", "dormant", "previously_loyal"].contains(&segment(a).as_str());
    let lapsed_risk = |a: &Value| a["churn_risk"]["value"] == "high";
    let loyal_groups = |a: &Value| ["champions", "loyal"].contains(&segment(a).as_str());
    let (lg, lr, ll) = (
        share("lapsed", &lapsed_groups),
        share("lapsed", &lapsed_risk),
        share("loyal", &loyal_groups),
    );
    assert!(
        lg >= 0.9,
        "lapsed members in At risk / Almost lost / Dormant / Previously loyal: {lg}"
    );
    assert!(lr >= 0.8, "lapsed members with high churn risk: {lr}");
    assert!(ll >= 0.8, "loyal members in Champions / Loyal: {ll}");
    // Browsers never ordered: Prospects, without predictions.
    assert!(
        by_persona["browser"]
            .iter()
            .all(|a| segment(a) == "prospects" && a["predictions"].is_null())
    );

    // A loyal member's analysis explains itself.
    let a = by_persona["loyal"].iter().find(|a| loyal_groups(a)).unwrap();
    let p = &a["predictions"];
    assert_eq!(p["basis"], "model");
    assert!(p["probability_alive"].as_f64().unwrap() > 0.5, "{a}");
    assert!(p["expected_orders_365"].as_f64().unwrap() > 0.0);
    let clv = p["predicted_clv_365"].as_f64().unwrap();
    let by_parts = p["expected_orders_365"].as_f64().unwrap() * p["expected_order_value"].as_f64().unwrap();
    assert!((clv - by_parts).abs() <= 1.0 + clv * 1e-4, "{clv} vs {by_parts}");
    assert!(a["scores"]["explanation"].as_str().unwrap().contains("R"), "{a}");
    assert!(a["spend_tier"]["explanation"].as_str().unwrap().contains("365"), "{a}");
    assert!(p["explanation"].as_str().unwrap().contains("orders expected"), "{a}");
    assert!(a["historic_clv"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn analysis_api_answers_404_before_the_first_run_and_for_unknown_jobs() {
    let app = TestApp::spawn().await;
    wait_runs(&app, 1).await;
    // The first start analysed an empty shop: a report with nobody in it and no model.
    let report = app.get("/reports/rfm").await;
    assert_eq!(report["customers"], 0);
    assert!(report["bgnbd"].is_null());
    let res = app.admin(Method::POST, "/jobs/nope/run").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .post(app.url("/api/v1/jobs/analysis/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the runner is behind the admin key");
    // A customer who arrived after the run has no analysis until the next one.
    app.send("/v1/identify", json!({"userId": "late", "traits": {"name": "Late"}}))
        .await;
    let id = app.customer("user_id", "late").await["id"].as_u64().unwrap();
    let res = app
        .admin(Method::GET, &format!("/customers/{id}/analysis"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    analyse(&app).await;
    let a = app.get(&format!("/customers/{id}/analysis")).await;
    assert_eq!(a["rfm_segment"]["value"], "prospects");
}

/// Orders for `n` customers: each buys every `gap` days `times` times, ending `ago` days before `at`.
async fn shop_with_orders(app: &TestApp, at: chrono::DateTime<chrono::FixedOffset>) {
    let mut batch = Vec::new();
    for c in 0..60u32 {
        let (times, gap, ago) = match c % 3 {
            0 => (4, 20, 3),   // frequent, recent
            1 => (3, 15, 200), // lapsed
            _ => (1, 0, 40),   // once
        };
        for k in 0..times {
            let when = at - chrono::Duration::days(i64::from(ago + gap * (times - 1 - k)));
            batch.push(json!({
                "type": "track", "userId": format!("c{c}"), "event": "Order Completed",
                "timestamp": when.to_rfc3339(),
                "properties": {"order_id": format!("o{c}-{k}"), "total": 30000 + 1000 * c, "currency": "KRW"}
            }));
        }
    }
    let res = app.send("/v1/batch", json!({ "batch": batch })).await;
    assert_eq!(res.status(), 200);
}

fn at(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap()
}

#[tokio::test]
async fn runs_at_midnight_shop_time_and_once_after_missing_days() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(tmp.path());
    // Two seconds before midnight in Seoul.
    config.now = Some(at("2026-11-03T23:59:58+09:00"));
    let mut app = TestApp::spawn_with(config.clone()).await;
    shop_with_orders(&app, at("2026-11-03T12:00:00+09:00")).await;
    // The first start analyses at once; then midnight comes.
    let j = wait_runs(&app, 2).await;
    assert_eq!(j["last"]["trigger"], "schedule");
    assert_eq!(j["next_due"], "2026-11-05T00:00:00+09:00");
    let report = app.get("/reports/rfm").await;
    assert_eq!(report["date"], "2026-11-04");
    assert_eq!(report["buyers"], 60);
    app.stop().await;

    // Down over three midnights: one catch-up run on start, not three.
    config.now = Some(at("2026-11-07T10:00:00+09:00"));
    let mut app = TestApp::spawn_with(config.clone()).await;
    let j = wait_runs(&app, 3).await;
    assert_eq!(j["last"]["trigger"], "catch_up");
    assert_eq!(j["next_due"], "2026-11-08T00:00:00+09:00");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(job(&app).await["runs"], 3, "one run for the missed days");
    let report = app.get("/reports/rfm").await;
    assert_eq!(report["date"], "2026-11-07");
    // The day before that was 2026-11-04: the moves compare with it.
    assert_eq!(report["moved_since_previous"]["since"], "2026-11-04");
    assert_eq!(report["moved_since_previous"]["compared"], 60);
    app.stop().await;
    drop(tmp);
}

#[tokio::test]
async fn a_run_that_dies_half_way_is_redone_and_never_half_visible() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(tmp.path());
    config.now = Some(at("2026-11-03T10:00:00+09:00"));
    let mut app = TestApp::spawn_with(config.clone()).await;
    shop_with_orders(&app, at("2026-11-03T09:00:00+09:00")).await;
    analyse(&app).await;
    let first = app.get("/reports/rfm").await;
    assert_eq!(first["date"], "2026-11-03");
    app.stop().await;

    // `dangol analyze` on the next day, stopped by a failpoint after writing the day's rows.
    let out = Command::new(env!("CARGO_BIN_EXE_dangol"))
        .args(["analyze", "--data-dir"])
        .arg(tmp.path())
        .args(["--now", "2026-11-04T10:00:00+09:00"])
        .env("DANGOL_FAILPOINT", "analysis-after-rows")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the failpoint stops the process");
    {
        // The half-done day is in the file but not visible: readers see the day before.
        let store = dangol::store::Store::open(tmp.path()).unwrap();
        let read = store.read().unwrap();
        let days = read.analysis_days().unwrap();
        let next_day = dangol::analysis::local_day(
            at("2026-11-04T10:00:00+09:00").timestamp_millis(),
            chrono_tz::Asia::Seoul,
        );
        assert!(days.contains(&next_day), "the rows were written: {days:?}");
        let (latest, _) = dangol::analysis::view::latest(&read).unwrap().unwrap();
        assert_eq!(dangol::analysis::day_date(latest).to_string(), "2026-11-03");
    }

    // The server starts on that day; the interrupted run is redone at once.
    config.now = Some(at("2026-11-04T10:00:05+09:00"));
    let mut app = TestApp::spawn_with(config).await;
    // Two runs on the first day (on start, then asked for); the third is the redo.
    let j = wait_runs(&app, 3).await;
    assert_eq!(j["interrupted"], 1, "{j}");
    assert_eq!(j["last"]["trigger"], "redo", "{j}");
    assert_eq!(j["last"]["outcome"], "ok", "{j}");
    let report = app.get("/reports/rfm").await;
    assert_eq!(report["date"], "2026-11-04");
    assert_eq!(report["customers"], 60);
    let in_groups: u64 = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(in_groups, 60, "every customer exactly once");
    app.stop().await;
}

#[tokio::test]
async fn group_changes_are_kept_as_dated_history_and_erasure_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(tmp.path());
    config.now = Some(at("2026-06-01T10:00:00+09:00"));
    let mut app = TestApp::spawn_with(config.clone()).await;
    shop_with_orders(&app, at("2026-06-01T09:00:00+09:00")).await;
    analyse(&app).await;
    let id = app.customer("user_id", "c0").await["id"].as_u64().unwrap();
    let before = app.get(&format!("/customers/{id}/analysis")).await;
    app.stop().await;
    // Half a year without an order later, the frequent buyer has slipped.
    config.now = Some(at("2026-12-01T10:00:00+09:00"));
    let mut app = TestApp::spawn_with(config).await;
    wait_runs(&app, 3).await;
    // Everyone else ordered again last week: the frequent buyer of June is now among the least recent.
    let batch: Vec<Value> = (1..60)
        .filter(|c| c % 3 != 0)
        .map(|c| {
            json!({"type": "track", "userId": format!("c{c}"), "event": "Order Completed",
                   "timestamp": "2026-11-25T12:00:00+09:00",
                   "properties": {"order_id": format!("late-{c}"), "total": 20000}})
        })
        .collect();
    assert_eq!(app.send("/v1/batch", json!({ "batch": batch })).await.status(), 200);
    analyse(&app).await;
    let after = app.get(&format!("/customers/{id}/analysis")).await;
    assert_ne!(
        before["rfm_segment"]["value"], after["rfm_segment"]["value"],
        "{before} {after}"
    );
    let history = after["history"].as_array().unwrap();
    assert_eq!(history[0]["date"], "2026-12-01");
    assert_eq!(history[0]["since"], "2026-06-01");
    assert_eq!(history[0]["group"][0], before["rfm_segment"]["value"]);
    assert_eq!(history[0]["group"][1], after["rfm_segment"]["value"]);
    assert!(history[0]["text"].as_str().unwrap().contains(" → "));
    let churn_before = before["churn_risk"]["value"].as_str().unwrap();
    let churn_after = after["churn_risk"]["value"].as_str().unwrap();
    let order = |l: &str| ["low", "medium", "high"].iter().position(|x| *x == l).unwrap();
    assert!(
        order(churn_after) >= order(churn_before),
        "{churn_before} → {churn_after}"
    );

    let res = app
        .admin(Method::DELETE, &format!("/customers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let store_dir = app.dir.clone();
    app.stop().await;
    let store = dangol::store::Store::open(&store_dir).unwrap();
    let read = store.read().unwrap();
    for day in read.analysis_days().unwrap() {
        assert!(dangol::analysis::view::row_of(&read, id, day).unwrap().is_none());
    }
    let changes: Vec<(i32, dangol::analysis::AnalysisChange)> = read.analysis_changes_of(id).unwrap();
    assert!(changes.is_empty());
    drop(tmp);
}

/// `CDNOW_sample.txt` from the `lifetimes` wheel on PyPI, fetched once into the test env.
fn cdnow_sample() -> std::path::PathBuf {
    let dir = test_env().join("lifetimes");
    let file = dir.join("CDNOW_sample.txt");
    if !file.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new(python())
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .args(["lifetimes==0.11.3", "-d"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "pip download lifetimes");
        let script = "import glob,sys,zipfile\nw=glob.glob(sys.argv[1]+'/*.whl')[0]\nopen(sys.argv[2],'wb').write(zipfile.ZipFile(w).read('lifetimes/datasets/CDNOW_sample.txt'))";
        let status = Command::new(python())
            .args(["-c", script])
            .arg(&dir)
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success(), "unzip CDNOW_sample.txt");
    }
    file
}

fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        ((got - want) / want).abs() <= rel,
        "{what}: got {got}, want {want} within {}%",
        rel * 100.0
    );
}

/// The CDNOW sample (2,357 customers of the 1997 Q1 cohort) against the published estimates:
/// BG/NBD in Fader, Hardie & Lee (2005) (r = 0.243, α = 4.414, a = 0.793, b = 2.426) within 1%,
/// Gamma-Gamma in Fader & Hardie's note (p = 6.25, q = 3.74, γ = 15.44) within 2%; calibration
/// 1997-01-01 to 1997-09-30 in weeks; holdout weeks 40–78 compared in docs/analysis.md.
#[test]
fn cdnow_matches_the_published_estimates() {
    let text = std::fs::read_to_string(cdnow_sample()).unwrap();
    let day = |s: &str| {
        chrono::NaiveDate::parse_from_str(s, "%Y%m%d")
            .unwrap()
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days()
    };
    let calibration_end = day("19970930");
    let holdout_end = day("19980630");
    // Customer → day → amount; several transactions on one day count as one purchase.
    let mut days: HashMap<u64, BTreeMap<i64, f64>> = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 5, "line {line:?}");
        *days
            .entry(f[0].parse().unwrap())
            .or_default()
            .entry(day(f[2]))
            .or_default() += f[4].parse::<f64>().unwrap();
    }
    let (mut rfm, mut spend, mut holdout) = (Vec::new(), Vec::new(), Vec::new());
    for purchases in days.values() {
        let calibration: Vec<(i64, f64)> = purchases
            .iter()
            .filter(|&(&d, _)| d <= calibration_end)
            .map(|(&d, &v)| (d, v))
            .collect();
        let (first, last) = (calibration[0].0, calibration.last().unwrap().0);
        let x = (calibration.len() - 1) as f64;
        rfm.push(Rfm::new(
            x,
            (last - first) as f64 / 7.0,
            (calibration_end - first) as f64 / 7.0,
        ));
        if x > 0.0 {
            spend.push((x, calibration[1..].iter().map(|&(_, v)| v).sum::<f64>() / x, 1.0));
        }
        holdout.push(
            purchases
                .keys()
                .filter(|&&d| d > calibration_end && d <= holdout_end)
                .count() as f64,
        );
    }
    assert_eq!(rfm.len(), 2357);
    assert_eq!(spend.len(), 946);

    let fit = BgNbd::fit(&rfm).unwrap();
    let m = fit.model;
    println!("CDNOW BG/NBD: {fit:?}");
    for (got, want, name) in [
        (m.r, 0.243, "r"),
        (m.alpha, 4.414, "alpha"),
        (m.a, 0.793, "a"),
        (m.b, 2.426, "b"),
    ] {
        assert_close(got, want, 0.01, name);
    }
    assert!((fit.log_likelihood - -9582.4).abs() < 0.5, "LL {}", fit.log_likelihood);
    let gg = GammaGamma::fit(&spend).unwrap();
    println!("CDNOW Gamma-Gamma: {gg:?}");
    for (got, want, name) in [
        (gg.model.p, 6.25, "p"),
        (gg.model.q, 3.74, "q"),
        (gg.model.v, 15.44, "gamma"),
    ] {
        assert_close(got, want, 0.02, name);
    }
    let expected: Vec<f64> = rfm
        .iter()
        .map(|r| m.expected_purchases(39.0, r.x, r.t_x, r.t))
        .collect();
    // Fader, Hardie & Lee's Figure 4: the holdout by calibration frequency (docs/analysis.md quotes it).
    println!("x in weeks 1-39 | customers | actual weeks 40-78 | predicted (per customer)");
    for x in 0..=7 {
        let idx: Vec<usize> = (0..rfm.len())
            .filter(|&i| if x < 7 { rfm[i].x == x as f64 } else { rfm[i].x >= 7.0 })
            .collect();
        let n = idx.len() as f64;
        let actual = idx.iter().map(|&i| holdout[i]).sum::<f64>() / n;
        let predicted = idx.iter().map(|&i| expected[i]).sum::<f64>() / n;
        println!("{x:>15} | {n:>9} | {actual:>18.3} | {predicted:>9.3}");
    }
    let predicted: f64 = expected.iter().sum();
    let actual: f64 = holdout.iter().sum();
    println!("CDNOW holdout weeks 40-78: predicted {predicted:.1} repeat purchases, actual {actual}");
    assert_close(predicted, actual, 0.15, "holdout total");
}
