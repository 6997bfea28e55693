//! `dangol bench send`: a one-off email campaign to N customers, each message personalised (name,
//! a unique coupon code if asked, four recommended products as cards with tracked links, the
//! open pixel and the ad labels), handed over SMTP to a sink on loopback. Timed from the launch to
//! the last message marked sent, so the scheduler's bookkeeping (the outbox rows queued, claimed
//! and finished, one commit each side of the hand-over) is inside the figure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Args;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct SendOptions {
    /// Customers, every one with an email address and email consent: the messages sent.
    #[arg(long, default_value_t = 100_000)]
    pub customers: usize,
    /// Products in the catalogue.
    #[arg(long, default_value_t = 300)]
    pub products: usize,
    /// Messages in hand at once (the setting `workers`).
    #[arg(long, default_value_t = 8)]
    pub workers: u32,
    /// Issue each recipient a unique coupon code as part of the send.
    #[arg(long)]
    pub coupon: bool,
}

/// A minimal SMTP server that accepts everything and counts the messages: the receiving end of
/// the benchmark, so that the figure is dangol's and not a mail server's.
async fn sink(listener: TcpListener, count: Arc<AtomicU64>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let count = count.clone();
        // As mail servers do: replies go out at once, not after a delayed ACK.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut r = BufReader::new(r);
            if w.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                return;
            }
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" => b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
                    "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                    "DATA" => {
                        if w.write_all(b"354 go ahead\r\n").await.is_err() {
                            return;
                        }
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" || line == ".\n" {
                                break;
                            }
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                        b"250 accepted\r\n"
                    }
                    "QUIT" => {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    }
                    _ => b"502 not here\r\n",
                };
                if w.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}

pub async fn run(opts: SendOptions) -> anyhow::Result<()> {
    let dir = super::tempfile_dir(&None)?;
    let mut config = Config::for_tests(&dir.path);
    config.admin_password = None;
    let server = super::BenchServer::start(config).await?;
    let base = server.base.clone();
    let smtp = TcpListener::bind("127.0.0.1:0").await?;
    let smtp_port = smtp.local_addr()?.port();
    let received = Arc::new(AtomicU64::new(0));
    tokio::spawn(sink(smtp, received.clone()));
    let client = reqwest::Client::new();
    let admin = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth("test-master-key")
    };
    // The law's notices would answer each consent below with a mail of their own: paused, so the
    // figure is the campaign's.
    let all: Value = admin(reqwest::Method::GET, "/campaigns").send().await?.json().await?;
    for c in all["items"].as_array().into_iter().flatten() {
        if c["template"].as_str().is_some_and(|t| t.starts_with("consent_")) {
            admin(reqwest::Method::POST, &format!("/campaigns/{}/pause", c["id"]))
                .send()
                .await?
                .error_for_status()?;
        }
    }
    let started = Instant::now();
    let products: Vec<Value> = (0..opts.products)
        .map(|i| {
            json!({"id": format!("P{i}"), "name": format!("상품 {i}"), "price": 5000 + 100 * (i % 200),
                   "category": format!("카테고리/{}", i % 12), "url": format!("https://shop.example/p/{i}"),
                   "image_url": format!("https://shop.example/img/{i}.jpg")})
        })
        .collect();
    admin(reqwest::Method::POST, "/products")
        .json(&products)
        .send()
        .await?
        .error_for_status()?;
    // Customers with consent, each with an order of two or three products, so that every message
    // carries recommendations of its own.
    for chunk in (0..opts.customers).collect::<Vec<_>>().chunks(250) {
        let mut batch = Vec::with_capacity(chunk.len() * 2);
        for &i in chunk {
            batch.push(json!({"type": "identify", "userId": format!("m{i}"),
                "traits": {"email": format!("m{i}@example.com"), "name": format!("고객{i}"), "email_consent": true}}));
            let lines: Vec<Value> = (0..2 + i % 2)
                .map(|k| json!({"product_id": format!("P{}", (i * 7 + k * 13) % opts.products), "price": 10000, "quantity": 1}))
                .collect();
            batch.push(
                json!({"type": "track", "userId": format!("m{i}"), "event": "Order Completed",
                "properties": {"order_id": format!("o{i}"), "total": 10000 * lines.len(), "products": lines}}),
            );
        }
        client
            .post(format!("{base}/v1/batch"))
            .basic_auth("test-write-key", Some(""))
            .json(&json!({ "batch": batch }))
            .send()
            .await?
            .error_for_status()?;
    }
    println!(
        "dangol bench send — {} customers with an order each, {} products, written in {:.1} s",
        opts.customers,
        opts.products,
        started.elapsed().as_secs_f64()
    );
    admin(reqwest::Method::POST, "/jobs/recommend/run")
        .send()
        .await?
        .error_for_status()?;
    loop {
        let stats: Value = admin(reqwest::Method::GET, "/stats").send().await?.json().await?;
        if stats["columns_ready"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    admin(reqwest::Method::PUT, "/settings/messaging")
        .json(&json!({
            "sender_name": "단골상점", "sender_contact": "02-123-4567", "public_url": base, "cap": null,
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "plain", "from_email": "shop@example.com"},
            "rates": {"email": 1_000_000}, "workers": opts.workers
        }))
        .send()
        .await?
        .error_for_status()?;
    let coupon = if opts.coupon {
        let c: Value = admin(reqwest::Method::POST, "/coupons")
            .json(&json!({"name": "감사 쿠폰", "discount": {"type": "percent", "percent": 10, "cap": 5000}}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        c["id"].clone()
    } else {
        Value::Null
    };
    let campaign: Value = admin(reqwest::Method::POST, "/campaigns")
        .json(&json!({
            "name": "bench", "channel": "email", "when": {"kind": "once"},
            "content": {
                "subject": "{{ customer.name }}님을 위한 추천",
                "text": "{{ customer.name }}님, 안녕하세요.\n{% if coupon %}쿠폰 {{ coupon.code }} ({{ coupon.discount }})\n{% endif %}{{ product_lines(recommendations) }}",
                "html": "<h1>{{ customer.name }}님</h1>{% if coupon %}<p>쿠폰 <b>{{ coupon.code }}</b></p>{% endif %}{{ product_cards(recommendations) }}"
            },
            "coupon_id": coupon,
            "recommend": {"strategy": "for_you", "limit": 4}
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = campaign["id"].as_u64().unwrap_or_default();
    let started = Instant::now();
    admin(reqwest::Method::POST, &format!("/campaigns/{id}/launch"))
        .send()
        .await?
        .error_for_status()?;
    let mut queued_at = None;
    let target = opts.customers as u64;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let r: Value = admin(reqwest::Method::GET, &format!("/campaigns/{id}/report"))
            .send()
            .await?
            .json()
            .await?;
        let t = &r["totals"];
        if queued_at.is_none() && t["targeted"].as_u64() == Some(target) {
            queued_at = Some(started.elapsed().as_secs_f64());
        }
        let done = t["sent"].as_u64().unwrap_or(0) + t["failed"].as_u64().unwrap_or(0);
        if done >= target {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{} personalised emails (4 recommendations each{}) sent in {secs:.1} s: {:.0} messages/s; \
                 the outbox held all of them after {:.1} s; {} failed; the sink received {}; {} workers; peak RSS {} MB",
                t["sent"],
                if opts.coupon { ", a unique coupon code each" } else { "" },
                done as f64 / secs,
                queued_at.unwrap_or(secs),
                t["failed"],
                received.load(Ordering::Relaxed),
                opts.workers,
                super::peak_resident_bytes().unwrap_or(0) >> 20
            );
            break;
        }
    }
    server.stop().await?;
    Ok(())
}
