//! A real server on a random port with a real redb file in a temp dir, per test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use dangol::config::Config;
use reqwest::{RequestBuilder, Response};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const WRITE_KEY: &str = "test-write-key";
pub const MASTER_KEY: &str = "test-master-key";
/// The identity secret test servers are started with (`Config::for_tests`).
pub const IDENTITY_SECRET: &str = "test-identity-secret";

/// A storefront request body as the shop's page sends it for a signed-in member: with the
/// `userHash` the shop's server made for its `userId` (CONTRACT §5).
pub fn signed(mut body: Value) -> Value {
    if let Some(user) = body.get("userId").and_then(Value::as_str).map(str::to_string) {
        body["userHash"] = dangol::auth::user_hash(IDENTITY_SECRET, &user).into();
    }
    body
}

/// The same for a query string: `userId=X` gets its `userHash=`.
pub fn signed_query(query: &str) -> String {
    let user = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("userId="))
        .map(percent_decode);
    match user {
        Some(u) => format!("{query}&userHash={}", dangol::auth::user_hash(IDENTITY_SECRET, &u)),
        None => query.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    server_key: tokio::sync::OnceCell<String>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut app = Self::spawn_on(&dir).await;
        app._tmp = Some(tmp);
        app
    }

    /// A server on an existing data dir (for restarts).
    pub async fn spawn_on(dir: &Path) -> TestApp {
        Self::spawn_with(Config::for_tests(dir)).await
    }

    /// A server started with `--demo`: the demo shop of `customers` members is loaded first.
    pub async fn spawn_demo(customers: usize) -> TestApp {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(tmp.path());
        config.demo = true;
        config.demo_customers = customers;
        let mut app = Self::spawn_with(config).await;
        app._tmp = Some(tmp);
        app
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        let dir = config.store.data_dir.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(dangol::serve(config, listener, async {
            stopped.await.ok();
        }));
        let app = TestApp {
            base,
            client: reqwest::Client::new(),
            dir,
            _tmp: None,
            stop: Some(stop),
            server: Some(server),
            server_key: tokio::sync::OnceCell::new(),
        };
        // The listener is bound already; wait until the store is open (and a demo shop loaded,
        // which takes seconds in a debug build on a busy machine).
        for _ in 0..3000 {
            if app
                .client
                .get(app.url("/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return app;
            }
            if app.server.as_ref().is_some_and(|h| h.is_finished()) {
                let mut app = app;
                let result = app.server.take().expect("present").await;
                panic!("the server stopped while starting: {result:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("server did not become healthy");
    }

    /// Keeps `tmp` (the data dir) alive as long as the app.
    pub fn keep(&mut self, tmp: tempfile::TempDir) {
        self._tmp = Some(tmp);
    }

    /// Stops the server gracefully and waits until the store is closed; keeps the data dir.
    pub async fn stop(&mut self) -> Option<tempfile::TempDir> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap().unwrap();
        }
        self._tmp.take()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn track(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path)).basic_auth(WRITE_KEY, Some(""))
    }

    pub async fn send(&self, path: &str, body: Value) -> Response {
        self.track(path).json(&body).send().await.unwrap()
    }

    /// A server write key (CONTRACT §5), made through the admin API on first use: what the
    /// shop's own backend sends with.
    pub async fn server_key(&self) -> String {
        self.server_key
            .get_or_init(|| async {
                let res = self
                    .admin(reqwest::Method::POST, "/keys")
                    .json(&serde_json::json!({"name": "shop backend", "kind": "server_write"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                let body: Value = res.json().await.unwrap();
                body["key"].as_str().unwrap().to_string()
            })
            .await
            .clone()
    }

    /// [`TestApp::send`] from the shop's backend, with the server write key.
    pub async fn send_from_server(&self, path: &str, body: Value) -> Response {
        let key = self.server_key().await;
        self.client
            .post(self.url(path))
            .basic_auth(key, Some(""))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(MASTER_KEY)
    }

    pub async fn get(&self, path: &str) -> Value {
        let res = self.admin(reqwest::Method::GET, path).send().await.unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    /// The customer a user id, anonymous id or email belongs to.
    pub async fn customer(&self, key: &str, value: &str) -> Value {
        self.get(&format!("/customers/lookup?{key}={}", urlencode(value))).await
    }

    pub async fn events_of(&self, id: u64) -> Vec<Value> {
        self.get(&format!("/customers/{id}/events?limit=500")).await["items"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Runs the job `name` now through the API and returns its run, waiting out a run the scheduler
/// started (a new store's first start runs every job once; the API answers 409 meanwhile).
pub async fn run_job(app: &TestApp, name: &str) -> Value {
    for _ in 0..600 {
        let res = app
            .admin(reqwest::Method::POST, &format!("/jobs/{name}/run"))
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            200 => return res.json().await.unwrap(),
            409 => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            s => panic!("POST /jobs/{name}/run: {s} {}", res.text().await.unwrap()),
        }
    }
    panic!("the {name} job stayed busy");
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Where the real Segment clients are installed for the tests: `target/test-env`.
pub fn test_env() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("test-env")
}

/// A Python venv with the real Segment client, made on first use (`.ci/run` makes it first).
pub fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = test_env().join("venv");
        let py = venv.join("bin").join("python");
        let ready = venv.join(".ready");
        if !ready.exists() {
            std::fs::create_dir_all(test_env()).unwrap();
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            run(Command::new(&py)
                .args(["-m", "pip", "install", "--quiet", "-r"])
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/requirements.txt")));
            std::fs::write(&ready, "").unwrap();
        }
        py
    })
    .clone()
}

/// Node with `@segment/analytics-node` installed, made on first use.
pub fn node_modules() -> PathBuf {
    static NODE: OnceLock<PathBuf> = OnceLock::new();
    NODE.get_or_init(|| {
        let dir = test_env().join("node");
        let ready = dir.join(".ready");
        if !ready.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/package.json"),
                dir.join("package.json"),
            )
            .unwrap();
            run(Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent"])
                .current_dir(&dir));
            std::fs::write(&ready, "").unwrap();
        }
        dir.join("node_modules")
    })
    .clone()
}

/// An install is current when its `.ready` file holds the manifest it was made from.
fn installed(dir: &Path, manifest: &Path) -> bool {
    std::fs::read(dir.join(".ready")).ok() == std::fs::read(manifest).ok()
}

fn mark_installed(dir: &Path, manifest: &Path) {
    std::fs::copy(manifest, dir.join(".ready")).unwrap();
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian's chromium, installed with apt-get on first use when it is missing (`.ci/run` installs it first).
pub fn chromium() -> PathBuf {
    static CHROMIUM: OnceLock<PathBuf> = OnceLock::new();
    CHROMIUM
        .get_or_init(|| {
            let path = PathBuf::from("/usr/bin/chromium");
            if !path.exists() {
                run(Command::new("apt-get").args(["update", "-qq"]));
                run(Command::new("apt-get")
                    .args([
                        "install",
                        "-y",
                        "-qq",
                        "--no-install-recommends",
                        "chromium",
                        "chromium-driver",
                        "fonts-nanum",
                    ])
                    .env("DEBIAN_FRONTEND", "noninteractive"));
            }
            path
        })
        .clone()
}

/// Loads `url` in headless chromium, lets its scripts run, and returns the DOM it ended with.
pub fn headless_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Signs in to the console over plain HTTP and returns the cookie header to send.
pub async fn console_cookie(app: &TestApp, name: &str, password: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(app.url("/login"))
        .header("cookie", "dangol_login_csrf=t")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name={name}&password={password}&csrf=t"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign-in as {name} failed");
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("dangol_session=")
                .map(|v| v.split(';').next().unwrap().to_string())
        })
        .unwrap();
    format!("dangol_session={session}; dangol_lang=en")
}

/// Posts a URL-encoded form as a signed-in console user, without following the redirect.
pub async fn post_form(app: &TestApp, cookie: &str, path: &str, body: String) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The form token of the signed-in session, read from a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a token") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// A GET as a signed-in console user (or nobody, with an empty cookie), without following the
/// redirect.
pub async fn console_get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// A console page as a signed-in user (or nobody, with an empty cookie), with its status.
pub async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let res = console_get(app, cookie, path).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A console page as a signed-in user (or nobody, with an empty cookie), with its status and the
/// redirect's target (empty when there is none).
pub async fn page_and_location(app: &TestApp, cookie: &str, path: &str) -> (u16, String, String) {
    let res = console_get(app, cookie, path).await;
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

/// A form body from pairs (a name may repeat, as checkboxes do), the values URL-encoded.
pub fn body<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", k.as_ref(), urlencode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// HTML text with askama's escapes undone, then the named ones (`&lt;` …) that campaign pages
/// may carry; enough for the assertions here.
pub fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// The element with `id`, up to its closing tag, as served (still escaped); `None` when the page
/// has none.
pub fn element_html(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let tag: String = html[start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let end = html[at..].find(&format!("</{tag}>"))? + at;
    Some(html[start..end].to_string())
}

/// The element with `id`, up to its closing tag, unescaped; panics when the page has none.
pub fn element(html: &str, id: &str) -> String {
    let found = element_html(html, id).unwrap_or_else(|| panic!("no #{id} in {html}"));
    unescape(&found)
}
