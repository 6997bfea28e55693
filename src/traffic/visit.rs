//! A visitor's events cut into visits, as CONTRACT §8 defines them: a run of events with no gap
//! over 30 minutes (by the events' own times); a page view is a `page` or `screen`; a bounce holds
//! exactly one page view and no event but page views, `Product Viewed` and `Message Viewed`; the
//! duration is the last event's time less the first's; the source is the first event's; a visit
//! with a bot's user agent is a bot's. Pure: the reports' follower feeds it one visitor's events.

use std::borrow::Cow;

use serde_json::Value;

use super::agent::{Agent, Agents, Device};
use super::source::{Landing, Source, Utm, classify};
use crate::store::records::{EventKind, EventRecord};

/// The longest gap inside one visit.
pub const VISIT_GAP_MS: i64 = 30 * 60 * 1000;

/// Whether an event of this kind and name is part of a visit (see [`Hit::in_visits`]).
pub fn makes_visits(kind: EventKind, event: Option<&str>) -> bool {
    match kind {
        EventKind::Page | EventKind::Screen => true,
        EventKind::Track => event != Some("Order Refunded"),
        _ => false,
    }
}

/// What a visit needs of one event. Its strings borrow from the event it was read from where
/// they can (a path worked out from the URL is its own).
#[derive(Debug, Clone, Default)]
pub struct Hit<'a> {
    /// The event's time.
    pub at: i64,
    pub page_view: bool,
    /// A track event's name.
    pub event: Option<Cow<'a, str>>,
    pub url: Option<Cow<'a, str>>,
    /// The page's path (from `path`, else the URL's).
    pub path: Option<Cow<'a, str>>,
    pub referrer: Option<Cow<'a, str>>,
    /// `context.campaign`'s source, medium and name.
    pub campaign: [Option<Cow<'a, str>>; 3],
    pub user_agent: Option<Cow<'a, str>>,
    /// `Order Completed`: its total.
    pub order_total: Option<f64>,
    /// The event's place in the log.
    pub seq: u64,
    /// `Order Completed`: its `order_id`.
    pub order_id: Option<Cow<'a, str>>,
    /// A track event's product (`product_id`, else `id`, else `sku`).
    pub product: Option<Cow<'a, str>>,
}

/// The few fields of an event a hit reads, however the event was decoded: a stored
/// [`EventRecord`]'s JSON, or the borrowed fields a build of the whole log decodes without the
/// rest. Each gives a field's string as stored (untrimmed), or None when it is absent or not a
/// string.
pub trait Fields<'a> {
    /// `properties.<key>`.
    fn property(&self, key: &str) -> Option<&'a str>;
    /// `properties.<key>` when it is a number (a numeric string comes through `property`).
    fn property_number(&self, key: &str) -> Option<f64>;
    /// `context.page.<key>`.
    fn page(&self, key: &str) -> Option<&'a str>;
    /// `context.campaign.<key>`.
    fn campaign(&self, key: &str) -> Option<&'a str>;
    /// `context.userAgent`.
    fn user_agent(&self) -> Option<&'a str>;
}

/// A stored event's fields, read from its JSON.
impl<'a> Fields<'a> for &'a EventRecord {
    fn property(&self, key: &str) -> Option<&'a str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    fn property_number(&self, key: &str) -> Option<f64> {
        self.properties.get(key).and_then(Value::as_f64)
    }

    fn page(&self, key: &str) -> Option<&'a str> {
        self.context.get("page")?.get(key).and_then(Value::as_str)
    }

    fn campaign(&self, key: &str) -> Option<&'a str> {
        self.context.get("campaign")?.get(key).and_then(Value::as_str)
    }

    fn user_agent(&self) -> Option<&'a str> {
        self.context.get("userAgent").and_then(Value::as_str)
    }
}

/// A field's text, trimmed; None when empty.
fn text(v: Option<&str>) -> Option<Cow<'_, str>> {
    v.map(str::trim).filter(|s| !s.is_empty()).map(Cow::Borrowed)
}

fn path_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.path().to_string())
}

impl<'a> Hit<'a> {
    /// Reads what a visit needs from a stored event: the page from `properties` (a `page`
    /// message's own) else `context.page`, the campaign from `context.campaign`, the agent from
    /// `context.userAgent`.
    pub fn of(e: &'a EventRecord) -> Hit<'a> {
        Hit::read(e.kind, e.event.as_deref(), e.timestamp, &e)
    }

    /// [`Hit::of`] for an event given as its kind, name, time and the fields it has.
    pub fn read(kind: EventKind, event: Option<&'a str>, at: i64, f: &impl Fields<'a>) -> Hit<'a> {
        let page_view = matches!(kind, EventKind::Page | EventKind::Screen);
        let pick = |key: &str| {
            if page_view {
                text(f.property(key)).or_else(|| text(f.page(key)))
            } else {
                text(f.page(key))
            }
        };
        let url = pick("url");
        let path = pick("path").or_else(|| url.as_deref().and_then(path_of).map(Cow::Owned));
        let event = (kind == EventKind::Track).then_some(event).flatten();
        let is_order = event == Some("Order Completed");
        let number = |key: &str| {
            f.property_number(key)
                .or_else(|| f.property(key).and_then(|s| s.trim().parse().ok()))
        };
        Hit {
            seq: 0,
            order_id: if is_order { text(f.property("order_id")) } else { None },
            product: if event.is_some() {
                text(f.property("product_id"))
                    .or_else(|| text(f.property("id")))
                    .or_else(|| text(f.property("sku")))
            } else {
                None
            },
            at,
            page_view,
            order_total: is_order
                .then(|| number("total").or_else(|| number("revenue")))
                .flatten(),
            event: event.map(Cow::Borrowed),
            url,
            path,
            referrer: pick("referrer"),
            campaign: [
                text(f.campaign("source")),
                text(f.campaign("medium")),
                text(f.campaign("name")),
            ],
            user_agent: text(f.user_agent()),
        }
    }

    /// Whether a stored event is part of a visit: page views and track events are; what a server
    /// says about a person (`identify`, `alias`, `group`) and `Order Refunded` (which comes from
    /// the shop's back office, not from a visit) are not.
    pub fn in_visits(e: &EventRecord) -> bool {
        makes_visits(e.kind, e.event.as_deref())
    }

    /// Events a bounce may hold besides its one page view.
    fn keeps_a_bounce(&self) -> bool {
        self.page_view || matches!(self.event.as_deref(), Some("Product Viewed" | "Message Viewed"))
    }
}

/// One visit. Its strings borrow from its hits where those do.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit<'a> {
    pub start: i64,
    pub end: i64,
    pub pageviews: u32,
    pub events: u32,
    pub bounce: bool,
    /// The first and last page viewed (paths).
    pub entry: Option<Cow<'a, str>>,
    pub exit: Option<Cow<'a, str>>,
    /// Every page view's path, in order.
    pub pages: Vec<Cow<'a, str>>,
    pub source: Source,
    pub device: Device,
    pub browser: String,
    pub os: String,
    pub bot: bool,
    pub orders: u32,
    pub revenue: f64,
    /// Its track events in order: (name, time, product).
    pub steps: Vec<(Cow<'a, str>, i64, Option<Cow<'a, str>>)>,
    /// Its `Order Completed` events: (sequence, order id).
    pub order_events: Vec<(u64, Option<Cow<'a, str>>)>,
}

impl Visit<'_> {
    pub fn duration_ms(&self) -> i64 {
        self.end - self.start
    }
}

fn visit_of<'a>(hits: &[Hit<'a>], own_hosts: &[String], agents: &Agents) -> Visit<'a> {
    let first = &hits[0];
    // The first event's page and referrer; its agent, else the first agent the visit shows.
    let ua = hits.iter().find_map(|h| h.user_agent.as_deref());
    let agent: Option<std::sync::Arc<Agent>> = ua.map(|u| agents.get(u));
    let landing = hits
        .iter()
        .find(|h| h.url.is_some() || h.referrer.is_some())
        .unwrap_or(first);
    let given = |v: &Option<Cow<str>>| v.as_deref().map(str::to_string);
    let source = classify(
        &Landing {
            url: landing.url.as_deref(),
            referrer: landing.referrer.as_deref(),
            campaign: Utm {
                source: given(&first.campaign[0]),
                medium: given(&first.campaign[1]),
                campaign: given(&first.campaign[2]),
            },
            user_agent: ua,
        },
        own_hosts,
    );
    let pages: Vec<Cow<'a, str>> = hits
        .iter()
        .filter(|h| h.page_view)
        .map(|h| h.path.clone().unwrap_or(Cow::Borrowed("/")))
        .collect();
    let pageviews = pages.len() as u32;
    Visit {
        start: first.at,
        end: hits.last().map_or(first.at, |h| h.at),
        pageviews,
        events: hits.len() as u32,
        bounce: pageviews == 1 && hits.iter().all(Hit::keeps_a_bounce),
        entry: pages.first().cloned(),
        exit: pages.last().cloned(),
        source,
        device: agent.as_ref().map_or(Device::Desktop, |a| a.device),
        browser: agent.as_ref().map_or_else(|| "Unknown".into(), |a| a.browser.clone()),
        os: agent.as_ref().map_or_else(|| "Unknown".into(), |a| a.os.clone()),
        bot: agents_say_bot(hits, agents),
        orders: hits
            .iter()
            .filter(|h| h.order_total.is_some() || h.event.as_deref() == Some("Order Completed"))
            .count() as u32,
        revenue: hits.iter().filter_map(|h| h.order_total).sum(),
        steps: hits
            .iter()
            .filter_map(|h| Some((h.event.clone()?, h.at, h.product.clone())))
            .collect(),
        order_events: hits
            .iter()
            .filter(|h| h.event.as_deref() == Some("Order Completed"))
            .map(|h| (h.seq, h.order_id.clone()))
            .collect(),
        pages,
    }
}

/// Whether any of the visit's agents is a bot's. A visitor's events mostly repeat one agent, so
/// an agent is looked up again only when it differs from the one before.
fn agents_say_bot(hits: &[Hit], agents: &Agents) -> bool {
    let mut last: Option<&str> = None;
    for ua in hits.iter().filter_map(|h| h.user_agent.as_deref()) {
        if last != Some(ua) {
            if agents.get(ua).bot {
                return true;
            }
            last = Some(ua);
        }
    }
    false
}

/// One visitor's events cut into visits, oldest first. `hits` in any order.
pub fn visits<'a>(mut hits: Vec<Hit<'a>>, own_hosts: &[String], agents: &Agents) -> Vec<Visit<'a>> {
    hits.sort_by_key(|h| (h.at, h.seq));
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=hits.len() {
        if i == hits.len() || hits[i].at - hits[i - 1].at > VISIT_GAP_MS {
            out.push(visit_of(&hits[start..i], own_hosts, agents));
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Channel;

    const MIN: i64 = 60_000;
    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    fn page(at: i64, path: &str, referrer: Option<&str>) -> Hit<'static> {
        Hit {
            at,
            page_view: true,
            url: Some(format!("https://shop.example{path}").into()),
            path: Some(path.to_string().into()),
            referrer: referrer.map(|r| r.to_string().into()),
            user_agent: Some(CHROME.into()),
            ..Hit::default()
        }
    }

    fn track(at: i64, event: &str) -> Hit<'static> {
        Hit {
            at,
            event: Some(event.to_string().into()),
            order_total: (event == "Order Completed").then_some(39_000.0),
            user_agent: Some(CHROME.into()),
            ..Hit::default()
        }
    }

    fn cut(hits: Vec<Hit<'static>>) -> Vec<Visit<'static>> {
        visits(hits, &["shop.example".to_string()], &Agents::default())
    }

    #[test]
    fn a_gap_of_thirty_minutes_keeps_a_visit_and_one_over_splits_it() {
        let v = cut(vec![
            page(0, "/", Some("https://search.naver.com/search.naver?query=x")),
            page(29 * MIN, "/p/1", None),
            page(29 * MIN + 31 * MIN, "/p/2", Some("https://shop.example/p/1")),
        ]);
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].pageviews, v[0].duration_ms(), v[0].bounce), (2, 29 * MIN, false));
        assert_eq!((v[0].entry.as_deref(), v[0].exit.as_deref()), (Some("/"), Some("/p/1")));
        assert_eq!(
            (v[0].source.name.as_str(), v[0].source.channel),
            ("Naver", Channel::OrganicSearch)
        );
        // The second visit came from the shop's own page: no source.
        assert_eq!(
            (v[1].source.name.as_str(), v[1].bounce, v[1].duration_ms()),
            ("Direct", true, 0)
        );
        assert_eq!(
            (v[0].device, v[0].browser.as_str(), v[0].os.as_str()),
            (Device::Desktop, "Chrome", "Windows")
        );
        // Exactly thirty minutes is still the same visit.
        assert_eq!(cut(vec![page(0, "/", None), page(30 * MIN, "/a", None)]).len(), 1);
    }

    #[test]
    fn a_bounce_is_one_page_view_and_nothing_else_but_views() {
        let bounce = cut(vec![
            page(0, "/p/1", None),
            track(MIN, "Product Viewed"),
            track(2 * MIN, "Message Viewed"),
        ]);
        assert!(bounce[0].bounce);
        assert_eq!((bounce[0].events, bounce[0].duration_ms()), (3, 2 * MIN));
        let carted = cut(vec![page(0, "/p/1", None), track(MIN, "Product Added")]);
        assert!(!carted[0].bounce, "a cart is engagement");
        let no_page = cut(vec![track(0, "Product Viewed")]);
        assert!(!no_page[0].bounce, "no page view, no bounce");
        assert_eq!(no_page[0].pageviews, 0);
    }

    #[test]
    fn orders_and_revenue_belong_to_their_visit_and_bots_are_marked() {
        let v = cut(vec![page(0, "/", None), track(5 * MIN, "Order Completed")]);
        assert_eq!((v[0].orders, v[0].revenue), (1, 39_000.0));
        let mut bot = page(0, "/", None);
        bot.user_agent = Some("Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)".into());
        assert!(cut(vec![bot])[0].bot);
    }

    #[test]
    fn out_of_order_events_are_sorted_and_utm_comes_from_the_first() {
        let mut first = page(0, "/", None);
        first.campaign = [
            Some("instagram".into()),
            Some("paid_social".into()),
            Some("winter".into()),
        ];
        let v = cut(vec![page(10 * MIN, "/b", None), first, page(5 * MIN, "/a", None)]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].pages, ["/", "/a", "/b"]);
        assert_eq!(
            (v[0].source.name.as_str(), v[0].source.channel),
            ("instagram", Channel::PaidSocial)
        );
    }

    #[test]
    fn a_stored_page_event_is_read_as_a_hit() {
        let e: EventRecord = serde_json::from_value(serde_json::json!({
            "kind": "page", "customer": 1, "message_id": "m", "timestamp": 5, "received_at": 6,
            "properties": {"url": "https://shop.example/p/1?utm_source=x", "referrer": "https://m.blog.naver.com/a/1"},
            "context": {"userAgent": CHROME, "campaign": {"source": "naver_blog", "medium": "social", "name": "spring"}}
        }))
        .unwrap();
        let h = Hit::of(&e);
        assert!(h.page_view);
        assert_eq!(
            (h.at, h.path.as_deref(), h.referrer.as_deref()),
            (5, Some("/p/1"), Some("https://m.blog.naver.com/a/1"))
        );
        assert_eq!(h.campaign[2].as_deref(), Some("spring"));
        let order: EventRecord = serde_json::from_value(serde_json::json!({
            "kind": "track", "customer": 1, "message_id": "o", "timestamp": 9, "received_at": 9,
            "event": "Order Completed", "properties": {"order_id": "1", "total": "12000"},
            "context": {"page": {"url": "https://shop.example/order/done", "path": "/order/done"}}
        }))
        .unwrap();
        let h = Hit::of(&order);
        assert_eq!(
            (h.page_view, h.order_total, h.path.as_deref()),
            (false, Some(12_000.0), Some("/order/done"))
        );
    }
}
