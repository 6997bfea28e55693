//! The demo shop's visitors now: while `serve --demo` runs, a visit every few seconds, by a member
//! of the demo shop or a first-time guest, arriving from Naver, Instagram, KakaoTalk, Google or
//! directly, browsing pages and products, sometimes carting, checking out and ordering. Each visit
//! is the Segment messages of its events with their times (from `now` up to a few minutes on),
//! for the caller to send when each is due. Pure, like the rest of the generator.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::people;
use super::rng::{Dice, uuid};
use super::{DemoOptions, SHOP_URL};

/// Where a live visit arrives from: (referrer, user agent it forces, UTM query, weight).
const ARRIVALS: &[(Option<&str>, Option<&str>, &str, u32)] = &[
    (
        Some("https://m.search.naver.com/search.naver?query=%ED%96%A5%EC%88%98"),
        None,
        "",
        26,
    ),
    (
        Some("https://search.naver.com/search.naver?query=%EC%84%A0%EB%AC%BC"),
        None,
        "",
        8,
    ),
    (
        Some("https://m.blog.naver.com/PostView.naver?blogId=scent&logNo=1"),
        None,
        "",
        6,
    ),
    (
        Some("https://search.shopping.naver.com/search/all?query=candle"),
        None,
        "?NaPm=ct%3Dlive%7Cci%3D1",
        6,
    ),
    (
        None,
        Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 KAKAOTALK 10.4.5",
        ),
        "",
        10,
    ),
    (
        Some("https://l.instagram.com/"),
        Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 312.0.0",
        ),
        "",
        10,
    ),
    (Some("https://www.google.com/"), None, "", 7),
    (Some("https://search.daum.net/search?q=%ED%96%A5%EC%88%98"), None, "", 4),
    (
        None,
        None,
        "?utm_source=kakao&utm_medium=cpc&utm_campaign=winter_sale",
        5,
    ),
    (
        None,
        None,
        "?utm_source=newsletter&utm_medium=email&utm_campaign=weekly",
        3,
    ),
    (None, None, "", 15),
];

/// A message and when to send it.
pub type Due = (DateTime<Utc>, Value);

/// The visits of the demo shop's visitors now.
pub struct Live {
    catalog: Catalog,
    dice: Dice,
    members: usize,
    /// Tells this run's ids from an earlier run's.
    run: u64,
    serial: u64,
}

impl Live {
    /// For a demo shop of `opts.customers` members (its seed); `stream` tells runs apart.
    pub fn new(opts: &DemoOptions, stream: u64) -> Live {
        Live {
            catalog: Catalog::new(opts.seed),
            dice: Dice::new(opts.seed ^ 0x11fe, stream),
            members: opts.customers.max(1),
            run: stream,
            serial: 0,
        }
    }

    /// Seconds to wait before the next visit starts: three on average.
    pub fn pause(&mut self) -> u64 {
        self.dice.count(1, 5) as u64
    }

    /// One visit starting at `now`, its messages in time order.
    pub fn visit(&mut self, now: DateTime<Utc>) -> Vec<Due> {
        self.serial += 1;
        let d = &mut self.dice;
        let member = d.chance(0.6);
        let (who, user_agent_given) = {
            let weights: Vec<u32> = ARRIVALS.iter().map(|a| a.3).collect();
            let arrival = ARRIVALS[d.weighted(&weights)];
            (arrival, arrival.1)
        };
        let (referrer, _, query, _) = who;
        let user_agent = user_agent_given.unwrap_or_else(|| people::user_agent(d));
        let index = d.index(self.members);
        let anonymous_id = uuid(0x11fe ^ self.run, self.serial, 0);
        let mut identity = json!({"anonymousId": anonymous_id});
        if member {
            identity["userId"] = format!("u{index:07}").into();
        }
        let context = json!({
            "library": {"name": "dangol-demo-live", "version": "1"},
            "userAgent": user_agent,
            "locale": "ko-KR",
            "timezone": "Asia/Seoul",
        });
        let mut at = now;
        let mut out: Vec<Due> = Vec::new();
        let mut first = true;
        let mut send = |at: DateTime<Utc>, mut m: Value, path: &str, first: &mut bool| {
            for (k, v) in identity.as_object().expect("an object") {
                m[k] = v.clone();
            }
            let url = format!("{SHOP_URL}{path}{}", if *first { query } else { "" });
            let mut ctx = context.clone();
            ctx["page"] = json!({"url": url, "path": path});
            if *first {
                if let Some(r) = referrer {
                    ctx["page"]["referrer"] = r.into();
                }
                if let Some(campaign) = campaign_of(query) {
                    ctx["campaign"] = campaign;
                }
            }
            if m["type"] == "page" {
                m["properties"] = ctx["page"].clone();
            }
            m["context"] = ctx;
            m["timestamp"] = at.to_rfc3339().into();
            m["messageId"] = uuid(0x11fe ^ self.run, self.serial, out.len() as u32 + 1).into();
            out.push((at, m));
            *first = false;
        };
        let pages = d.count(1, 6);
        let mut carted = Vec::new();
        for n in 0..pages {
            if n > 0 {
                at += Duration::seconds(d.between(8, 70));
            }
            if n == 0 && d.chance(0.35) {
                send(at, json!({"type": "page", "name": "홈"}), "/", &mut first);
                continue;
            }
            let top = d.index(8);
            let p = &self.catalog.products[self.catalog.pick(d, top)];
            let path = format!("/products/{}", p.id);
            send(at, json!({"type": "page", "name": p.name}), &path, &mut first);
            send(
                at + Duration::seconds(1),
                json!({"type": "track", "event": "Product Viewed", "properties": p.properties(1)}),
                &path,
                &mut first,
            );
            if d.chance(0.22) {
                at += Duration::seconds(d.between(5, 40));
                send(
                    at,
                    json!({"type": "track", "event": "Product Added", "properties": p.properties(1)}),
                    &path,
                    &mut first,
                );
                carted.push(p);
            }
        }
        if !carted.is_empty() && d.chance(0.45) {
            at += Duration::seconds(d.between(20, 90));
            let total: u32 = carted.iter().map(|p| p.unit_price()).sum();
            let lines: Vec<Value> = carted.iter().map(|p| p.line_item(1)).collect();
            send(
                at,
                json!({"type": "track", "event": "Checkout Started", "properties": {"value": total, "currency": "KRW", "products": lines}}),
                "/checkout",
                &mut first,
            );
            if member && d.chance(0.6) {
                at += Duration::seconds(d.between(30, 150));
                send(
                    at,
                    json!({"type": "track", "event": "Order Completed", "properties": {
                        "order_id": format!("L{}-{}", now.timestamp(), self.serial),
                        "total": total, "revenue": total, "currency": "KRW", "products": lines,
                    }}),
                    "/order/complete",
                    &mut first,
                );
            }
        }
        out
    }
}

/// The UTM parameters of a landing query, as `context.campaign`.
fn campaign_of(query: &str) -> Option<Value> {
    let mut c = serde_json::Map::new();
    for pair in query.trim_start_matches('?').split('&') {
        if let Some((k, v)) = pair.split_once('=')
            && let Some(name) = k.strip_prefix("utm_")
        {
            c.insert(if name == "campaign" { "name".into() } else { name.into() }, v.into());
        }
    }
    (!c.is_empty()).then_some(Value::Object(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_visits_are_valid_messages_in_time_order_from_many_sources() {
        let opts = DemoOptions::new(200, Utc::now());
        let mut live = Live::new(&opts, 1);
        let now = Utc::now();
        let (mut orders, mut referrers, mut members) = (0, std::collections::HashSet::new(), 0);
        for _ in 0..300 {
            let visit = live.visit(now);
            assert!(!visit.is_empty());
            assert!(visit.windows(2).all(|w| w[0].0 <= w[1].0), "in time order");
            assert!(visit[0].0 == now && visit.last().unwrap().0 < now + Duration::minutes(15));
            let first = &visit[0].1;
            assert_eq!(first["type"], "page", "a visit starts with a page view");
            referrers.insert(first["context"]["page"]["referrer"].as_str().unwrap_or("").to_string());
            members += usize::from(first.get("userId").is_some());
            for (_, m) in &visit {
                crate::track::Message::parse(m.clone(), None, "").unwrap_or_else(|e| panic!("{m}: {e:?}"));
                orders += usize::from(m["event"] == "Order Completed");
            }
        }
        assert!(orders > 5 && orders < 100, "orders now and then: {orders}");
        assert!(referrers.len() >= 7, "{referrers:?}");
        assert!((120..240).contains(&members), "{members}");
        let pause = live.pause();
        assert!((1..=5).contains(&pause));
    }
}
