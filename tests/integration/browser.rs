//! The admin console in a real browser: Debian's chromium driven through chromedriver
//! (WebDriver, fantoccini). On failure a screenshot is saved under `target/browser-failures/`.
//! With `DANGOL_SCREENSHOTS=DIR` the pages the README shows are saved there too.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, chromium};

struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver() -> Driver {
    chromium();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver)");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return Driver { child, url };
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": chromium(),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--lang=ko-KR", "--window-size=1280,900", format!("--user-data-dir={}", profile.display())],
            "prefs": {"intl.accept_languages": "ko-KR,ko"}
        }
    }))
    .unwrap();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("webdriver session")
}

/// Runs the steps; on failure saves a screenshot under `target/browser-failures/NAME.png`.
async fn run(name: &str, c: &Client, steps: impl std::future::Future<Output = anyhow::Result<()>>) {
    if let Err(e) = steps.await {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-failures");
        std::fs::create_dir_all(&dir).unwrap();
        let shot = dir.join(format!("{name}.png"));
        if let Ok(png) = c.screenshot().await {
            std::fs::write(&shot, png).unwrap();
        }
        let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        panic!("{name} failed at {url}: {e:#} (screenshot: {})", shot.display());
    }
}

async fn save_screenshot(c: &Client, file: &str) -> anyhow::Result<()> {
    if let Ok(dir) = std::env::var("DANGOL_SCREENSHOTS") {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(std::path::Path::new(&dir).join(file), c.screenshot().await?)?;
    }
    Ok(())
}

/// Waits until the browser is on `path` (a click's navigation ends after the click returns).
async fn wait_path(c: &Client, path: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if c.current_url().await?.path() == path {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("never reached {path}")
}

async fn find(c: &Client, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
    Ok(c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await?)
}

async fn sign_in(c: &Client, base: &str, name: &str, password: &str) -> anyhow::Result<()> {
    c.goto(&format!("{base}/customers")).await?;
    anyhow::ensure!(c.current_url().await?.path() == "/login", "not sent to sign in");
    c.find(Locator::Css("input[name=name]")).await?.send_keys(name).await?;
    c.find(Locator::Css("input[name=password]"))
        .await?
        .send_keys(password)
        .await?;
    c.find(Locator::Css("button[type=submit]")).await?.click().await?;
    wait_path(c, "/customers").await
}

async fn post_without_page(c: &Client, path: &str, fields: &str) -> anyhow::Result<u64> {
    let status = c
        .execute_async(
            "const [path, body, done] = arguments; fetch(path, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body}).then(r => done(r.status));",
            vec![json!(path), json!(fields)],
        )
        .await?;
    Ok(status.as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_search_a_korean_name_and_read_a_profile() {
    let app = TestApp::spawn_demo(300).await;
    let member = app.customer("user_id", "u0000001").await;
    let name = member["name"].as_str().unwrap().to_string();
    let id = member["id"].as_u64().unwrap();
    app.send(
        "/v1/identify",
        json!({"userId": "xss", "traits": {"name": "<script>alert(1)</script>", "email": "xss@example.com"}}),
    )
    .await;
    let xss = app.customer("user_id", "xss").await["id"].as_u64().unwrap();
    let res = app
        .admin(Method::POST, "/users")
        .json(&json!({"name": "viewer", "password": "viewer-password", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let driver = driver().await;
    let c = browser(&driver).await;
    let base = app.base.clone();
    run("staff", &c, async {
        sign_in(&c, &base, "admin", "test-admin-password").await?;
        save_screenshot(&c, "customers.png").await?;
        // Search by part of a Korean name.
        let given: String = name.chars().skip(1).collect();
        let search = c.find(Locator::Css("input[name=q]")).await?;
        search.send_keys(&given).await?;
        c.find(Locator::Css("form.search button")).await?.click().await?;
        let link = find(&c, &format!("a[href='/customers/{id}']")).await?;
        anyhow::ensure!(link.text().await? == name, "the result shows {:?}", link.text().await?);
        link.click().await?;
        wait_path(&c, &format!("/customers/{id}")).await?;
        let body = find(&c, "main").await?.text().await?;
        anyhow::ensure!(body.contains("활동 기록"), "no timeline (Korean labels) on the profile");
        anyhow::ensure!(body.contains("주문 내역"), "no orders section");
        let orders = app.get(&format!("/customers/{id}/orders")).await;
        for o in orders["items"].as_array().unwrap() {
            let oid = o["order_id"].as_str().unwrap();
            anyhow::ensure!(body.contains(oid), "order {oid} not on the profile");
        }
        anyhow::ensure!(
            !c.find_all(Locator::Css(".visit")).await?.is_empty(),
            "timeline has no visits"
        );
        save_screenshot(&c, "customer.png").await?;

        // Tags: add one through the form, see it, remove it.
        c.find(Locator::Css("#add-tag input[name=tag]"))
            .await?
            .send_keys("브라우저테스트")
            .await?;
        c.find(Locator::Css("#add-tag button")).await?.click().await?;
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath("//span[@class='tag' and text()='브라우저테스트']"))
            .await?;
        anyhow::ensure!(
            app.get(&format!("/customers/{id}")).await["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "브라우저테스트")
        );

        // A name that is markup is shown as text, and runs nothing.
        c.goto(&format!("{base}/customers/{xss}")).await?;
        let h1 = c.find(Locator::Css("h1")).await?.text().await?;
        anyhow::ensure!(
            h1.contains("<script>alert(1)</script>"),
            "the name is not shown as text: {h1}"
        );
        anyhow::ensure!(c.get_alert_text().await.is_err(), "a script from a customer's name ran");

        // A form post without the session's token is refused.
        let status = post_without_page(&c, &format!("/customers/{id}/tags"), "tag=forged").await?;
        anyhow::ensure!(status == 403, "a CSRF-less post answered {status}");
        let status = post_without_page(&c, &format!("/customers/{id}/tags"), "tag=forged&csrf=wrong").await?;
        anyhow::ensure!(status == 403, "a post with a wrong token answered {status}");

        c.goto(&format!("{base}/")).await?;
        let dash = c.find(Locator::Css("main")).await?.text().await?;
        anyhow::ensure!(
            dash.contains("최근 30일") && dash.contains("방금 들어온 이벤트"),
            "dashboard labels missing"
        );
        save_screenshot(&c, "dashboard.png").await?;

        // Sign out, then in as a viewer: no tag form, and a change with a valid token is refused.
        c.find(Locator::Css("header form button")).await?.click().await?;
        wait_path(&c, "/login").await?;
        sign_in(&c, &base, "viewer", "viewer-password").await?;
        c.goto(&format!("{base}/customers/{id}")).await?;
        anyhow::ensure!(
            c.find_all(Locator::Css("#add-tag")).await?.is_empty(),
            "a viewer sees the tag form"
        );
        let token = c
            .find(Locator::Css("header input[name=csrf]"))
            .await?
            .attr("value")
            .await?
            .unwrap_or_default();
        let status = post_without_page(
            &c,
            &format!("/customers/{id}/tags"),
            &format!("tag=viewer-was-here&csrf={token}"),
        )
        .await?;
        anyhow::ensure!(status == 403, "a viewer's change answered {status}");
        Ok(())
    })
    .await;
    c.close().await.unwrap();
    let tags = app.get(&format!("/customers/{id}")).await["tags"].clone();
    assert!(
        !tags
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "viewer-was-here" || t == "forged"),
        "{tags}"
    );
}

#[tokio::test]
async fn sign_in_is_slowed_then_locked() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |password: &'static str| {
        let client = client.clone();
        let url = app.url("/login");
        async move {
            client
                .post(url)
                .header("cookie", "dangol_login_csrf=t")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("name=admin&password={password}&csrf=t"))
                .send()
                .await
                .unwrap()
        }
    };
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(login("wrong-password").await.status(), 401);
    }
    // 250 ms more for each failure in a row: 0.25 + 0.5 + 0.75 + 1.0 + 1.25 s at least.
    assert!(
        started.elapsed() >= Duration::from_millis(3700),
        "{:?}",
        started.elapsed()
    );
    // Locked now, even with the right password.
    let res = login("test-admin-password").await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("2"), "the lock says until when");
    // Without the double-submit cookie the form is refused outright.
    let res = client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=admin&password=x&csrf=t")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

/// The analysis in the browser: a demo shop analysed a month ago, yesterday and today, so the page
/// has moves to show; the grid, the customer page's card, and Settings ▸ Jobs ▸ Run now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_pages_show_the_grid_a_profile_card_and_run_now() {
    let tmp = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let mut config = dangol::config::Config::for_tests(tmp.path());
    config.demo = true;
    config.demo_customers = 500;
    let mut runs = 0;
    for days_ago in [30, 1] {
        config.now = Some(now - chrono::Duration::days(days_ago));
        let mut app = TestApp::spawn_with(config.clone()).await;
        runs += 1;
        wait_for_runs(&app, runs).await;
        app.stop().await;
        config.demo = false;
    }
    config.now = None;
    let app = TestApp::spawn_with(config).await;
    wait_for_runs(&app, runs + 1).await;
    let report = app.get("/reports/rfm").await;
    assert!(
        report["moved_since_previous"].is_object() && report["moved_since_month"].is_object(),
        "{report}"
    );
    let loyal = app.get("/customers?limit=200").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["traits"]["demo_persona"] == "loyal")
        .and_then(|c| c["id"].as_u64())
        .unwrap();

    let driver = driver().await;
    let c = browser(&driver).await;
    let base = app.base.clone();
    run("analysis", &c, async {
        sign_in(&c, &base, "admin", "test-admin-password").await?;
        c.goto(&format!("{base}/customers/analysis")).await?;
        let cells = c.find_all(Locator::Css("table.rfm-grid td")).await?;
        anyhow::ensure!(cells.len() == 25, "the grid has {} cells", cells.len());
        let main = find(&c, "main").await?.text().await?;
        for label in ["챔피언", "이탈 위험", "잠재 고객", "BG/NBD"] {
            anyhow::ensure!(main.contains(label), "{label:?} missing from the Analysis page");
        }
        save_screenshot(&c, "analysis.png").await?;

        c.goto(&format!("{base}/customers/{loyal}")).await?;
        let card = find(&c, "#analysis").await?.text().await?;
        anyhow::ensure!(card.contains("RFM"), "no RFM on the profile: {card}");
        anyhow::ensure!(card.contains("예상"), "no predictions on the profile: {card}");
        c.execute("document.getElementById('analysis').scrollIntoView()", vec![])
            .await?;
        save_screenshot(&c, "customer-analysis.png").await?;

        c.goto(&format!("{base}/settings")).await?;
        find(&c, "#jobs form button").await?.click().await?;
        // The run answers with a redirect to /settings?ran=…: wait for that page, not this one.
        for _ in 0..400 {
            if c.current_url().await?.query().is_some_and(|q| q.contains("ran=")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let jobs = find(&c, "#jobs").await?.text().await?;
        anyhow::ensure!(jobs.contains("성공"), "the run's outcome is not shown: {jobs}");
        Ok(())
    })
    .await;
    c.close().await.unwrap();
    let job = &app.get("/jobs").await["items"][0];
    assert_eq!(job["last"]["trigger"], "manual", "{job}");
    drop(tmp);
}

async fn wait_for_runs(app: &TestApp, runs: u64) {
    for _ in 0..2400 {
        let job = &app.get("/jobs").await["items"][0];
        if job["runs"].as_u64().unwrap() >= runs && job["running_since"].is_null() {
            eprintln!("analysis run {runs}: {}", job["last"]);
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the analysis did not run {runs} times");
}
