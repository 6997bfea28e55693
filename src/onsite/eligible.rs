//! Whether a message may show to a visitor on a page now: its schedule in the shop's time zone,
//! its URL rules and devices, and how often this visitor has seen it. The parts that need the
//! rest of the store (segments, the visitor's cart, the recommendations) are `app::onsite`'s.

use chrono::{Datelike, Timelike};
use chrono_tz::Tz;

use super::seen::Seen;
use super::{Device, Display, Frequency, StopAfter, UrlMatch, UrlRule};

/// Within the message's dates, weekdays and hours.
pub fn scheduled(d: &Display, now: i64, tz: Tz) -> bool {
    let at = |s: &Option<String>| s.as_deref().and_then(crate::value::parse_time);
    if at(&d.starts_at).is_some_and(|t| now < t) || at(&d.ends_at).is_some_and(|t| now >= t) {
        return false;
    }
    let Some(local) = chrono::DateTime::from_timestamp_millis(now).map(|t| t.with_timezone(&tz)) else {
        return false;
    };
    if !d.weekdays.is_empty() && !d.weekdays.contains(&local.weekday().number_from_monday()) {
        return false;
    }
    match d.hours {
        Some(h) if h.from < h.to => (h.from..h.to).contains(&local.hour()),
        Some(h) => local.hour() >= h.from || local.hour() < h.to,
        None => true,
    }
}

fn rule_matches(rule: &UrlRule, url: &str) -> bool {
    // A value that starts with `/` is about the path (and query); others about the whole URL.
    let target = if rule.value.starts_with('/') { path_of(url) } else { url };
    match rule.matching {
        UrlMatch::Contains => target.contains(&rule.value),
        UrlMatch::StartsWith => target.starts_with(&rule.value),
        UrlMatch::Equals => target == rule.value || target.trim_end_matches('/') == rule.value.trim_end_matches('/'),
        UrlMatch::Regex => compiled(&rule.value).is_some_and(|re| re.is_match(url)),
    }
}

/// A URL rule's regex, compiled once (rules are checked on every page view of every visitor).
fn compiled(pattern: &str) -> Option<regex::Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().expect("not poisoned").get(pattern) {
        return re.clone();
    }
    let re = super::url_regex(pattern).ok();
    let mut map = cache.lock().expect("not poisoned");
    // Patterns of messages since changed or deleted go with the rest now and then.
    if map.len() >= 1_000 {
        map.clear();
    }
    map.insert(pattern.to_string(), re.clone());
    re
}

/// The path and query of a URL (the URL itself when it has no host part).
pub fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

/// No exclude rule matches, and an include rule does (or there are none).
pub fn url_allowed(rules: &[UrlRule], url: &str) -> bool {
    if rules.iter().any(|r| r.exclude && rule_matches(r, url)) {
        return false;
    }
    let mut includes = rules.iter().filter(|r| !r.exclude).peekable();
    includes.peek().is_none() || includes.any(|r| rule_matches(r, url))
}

pub fn device_allowed(devices: &[Device], device: Device) -> bool {
    devices.is_empty() || devices.contains(&device)
}

/// The device a user agent is on, as the script would say it.
pub fn device_of(user_agent: &str) -> Device {
    let ua = user_agent.to_ascii_lowercase();
    if ["mobi", "android", "iphone", "ipod", "ipad"]
        .iter()
        .any(|m| ua.contains(m))
    {
        Device::Mobile
    } else {
        Device::Desktop
    }
}

/// Whether what this visitor did with the message lets it show again now. `visit_start`: when
/// the visitor's current visit began (None: this page view starts one).
pub fn frequency_allows(d: &Display, seen: Option<&Seen>, visit_start: Option<i64>, now: i64) -> bool {
    let Some(s) = seen else {
        return true;
    };
    let this_visit = |t: Option<i64>| matches!((t, visit_start), (Some(t), Some(v)) if t >= v);
    let stopped = d.stop_after.iter().any(|stop| match stop {
        StopAfter::Click => s.clicks > 0,
        StopAfter::Close => s.closed_at.is_some(),
        StopAfter::Conversion => s.converted_at.is_some(),
    });
    if stopped
        || s.snoozed_until.is_some_and(|t| now < t)
        || d.max_views.is_some_and(|m| s.views >= m)
        // Closed: not again in this visit, whatever the frequency.
        || this_visit(s.closed_at)
    {
        return false;
    }
    match d.frequency {
        Frequency::Page => true,
        Frequency::Visit => !this_visit(s.last_view_at),
        Frequency::Days { days } => s.last_view_at.is_none_or(|t| now - t >= i64::from(days) * 86_400_000),
        Frequency::Once => s.views == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onsite::Hours;

    const H: i64 = 3_600_000;

    fn rule(m: UrlMatch, v: &str, exclude: bool) -> UrlRule {
        UrlRule {
            matching: m,
            value: v.into(),
            exclude,
        }
    }

    #[test]
    fn url_rules_include_and_exclude() {
        let rules = [
            rule(UrlMatch::StartsWith, "/products/", false),
            rule(UrlMatch::Regex, r"/products/P9\d", true),
        ];
        assert!(url_allowed(&rules, "https://shop.example/products/P1?x=1"));
        assert!(!url_allowed(&rules, "https://shop.example/products/P91"));
        assert!(!url_allowed(&rules, "https://shop.example/cart"));
        assert!(url_allowed(&[], "https://shop.example/anything"));
        let contains = [rule(UrlMatch::Contains, "utm_source=naver", false)];
        assert!(url_allowed(&contains, "https://shop.example/?utm_source=naver"));
        assert_eq!(path_of("https://shop.example"), "/");
    }

    #[test]
    fn the_schedule_is_in_the_shop_s_time_zone() {
        let tz = chrono_tz::Asia::Seoul;
        // 2026-12-07T01:00Z is a Monday, 10:00 in Seoul.
        let now = crate::value::parse_time("2026-12-07T01:00:00Z").unwrap();
        let d = |weekdays: Vec<u32>, hours: Option<Hours>| Display {
            weekdays,
            hours,
            ..Display::default()
        };
        assert!(scheduled(&d(vec![1], Some(Hours { from: 9, to: 18 })), now, tz));
        assert!(!scheduled(&d(vec![6, 7], None), now, tz));
        assert!(!scheduled(&d(vec![], Some(Hours { from: 11, to: 18 })), now, tz));
        assert!(
            scheduled(&d(vec![], Some(Hours { from: 22, to: 11 })), now, tz),
            "over midnight"
        );
        let ended = Display {
            ends_at: Some("2026-12-07T00:00:00Z".into()),
            ..Display::default()
        };
        assert!(!scheduled(&ended, now, tz));
    }

    #[test]
    fn how_often_a_visitor_sees_a_message() {
        let now = 100 * 24 * H;
        let seen = Seen {
            views: 1,
            last_view_at: Some(now - H),
            ..Seen::default()
        };
        let visit = Display::default();
        assert!(frequency_allows(&visit, None, None, now));
        assert!(
            !frequency_allows(&visit, Some(&seen), Some(now - 2 * H), now),
            "seen this visit"
        );
        assert!(
            frequency_allows(&visit, Some(&seen), Some(now - H / 2), now),
            "a new visit"
        );
        let weekly = Display {
            frequency: Frequency::Days { days: 7 },
            ..Display::default()
        };
        assert!(!frequency_allows(&weekly, Some(&seen), None, now));
        let snoozed = Seen {
            snoozed_until: Some(now + 6 * 24 * H),
            ..seen.clone()
        };
        let every_page = Display {
            frequency: Frequency::Page,
            ..Display::default()
        };
        assert!(frequency_allows(&every_page, Some(&seen), Some(now - 2 * H), now));
        assert!(
            !frequency_allows(&every_page, Some(&snoozed), None, now),
            "7일간 보지 않기"
        );
        let clicked = Seen { clicks: 1, ..seen };
        let stop = Display {
            frequency: Frequency::Page,
            stop_after: vec![StopAfter::Click],
            ..Display::default()
        };
        assert!(!frequency_allows(&stop, Some(&clicked), None, now));
    }
}
