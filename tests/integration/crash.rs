//! The server is killed with SIGKILL while clients stream events; after a restart every event
//! that was acknowledged is there. Then SIGTERM stops it cleanly (exit 0).

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::{MASTER_KEY, WRITE_KEY};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dangol"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("DANGOL_MASTER_KEY", MASTER_KEY)
        .env("DANGOL_WRITE_KEY", WRITE_KEY)
        .env("DANGOL_ADMIN_PASSWORD", "pw")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..500 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server at {base} did not come up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut child = start(tmp.path(), port);
    wait_healthy(&client, &base).await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                // Alternate single events and small batches.
                let ids: Vec<String> = (0..if i % 2 == 0 { 1 } else { 20 }).map(|j| format!("w{worker}-{i}-{j}")).collect();
                let msgs: Vec<_> = ids
                    .iter()
                    .map(|id| json!({"type": "track", "userId": format!("crash-{worker}"), "event": "Product Viewed", "messageId": id, "properties": {"product_id": "P1"}}))
                    .collect();
                let res = if ids.len() == 1 {
                    client.post(format!("{base}/v1/track")).basic_auth(WRITE_KEY, Some("")).json(&msgs[0]).send().await
                } else {
                    client.post(format!("{base}/v1/batch")).basic_auth(WRITE_KEY, Some("")).json(&json!({"batch": msgs})).send().await
                };
                match res {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().extend(ids),
                    _ => return,
                }
            }
        }));
    }
    // Let them stream, then kill the server in the middle of it.
    while acked.lock().unwrap().len() < 3000 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 3000);

    // Restart: the store opens and holds at least what was acknowledged.
    let mut child = start(tmp.path(), port);
    wait_healthy(&client, &base).await;
    let stats: serde_json::Value = client
        .get(format!("{base}/api/v1/stats"))
        .bearer_auth(MASTER_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        stats["events"].as_u64().unwrap() >= acked.len() as u64,
        "{stats} < {}",
        acked.len()
    );
    // SIGTERM: a clean stop with exit 0.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // Every acknowledged message id, one by one, straight from the redb file.
    let store = dangol::store::Store::open(tmp.path()).unwrap();
    let read = store.read().unwrap();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| read.message_seq(id).unwrap().is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

/// First start without secrets: they are generated, printed once, and work; the second start
/// prints nothing and the same keys still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secrets_are_generated_and_printed_once() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut printed = Vec::new();
    for round in 0..2 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_dangol"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(tmp.path())
            .env_remove("DANGOL_MASTER_KEY")
            .env_remove("DANGOL_WRITE_KEY")
            .env_remove("DANGOL_ADMIN_PASSWORD")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        wait_healthy(&client, &base).await;
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(child.wait().unwrap().success());
        let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map(Result::unwrap)
            .collect();
        if round == 0 {
            printed = lines;
        } else {
            assert!(lines.is_empty(), "printed again: {lines:?}");
        }
    }
    let value = |name: &str| {
        printed
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} not in {printed:?}"))
            .to_string()
    };
    let (master, write) = (value("DANGOL_MASTER_KEY"), value("DANGOL_WRITE_KEY"));
    assert!(value("DANGOL_ADMIN_PASSWORD").ends_with("(user `admin`)"));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dangol"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(tmp.path())
        .env_remove("DANGOL_MASTER_KEY")
        .env_remove("DANGOL_WRITE_KEY")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(&client, &base).await;
    let res = client
        .post(format!("{base}/v1/track"))
        .basic_auth(&write, Some(""))
        .json(&json!({"userId": "x", "event": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(format!("{base}/api/v1/stats"))
        .bearer_auth(&master)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
