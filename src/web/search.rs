//! Interest search in the console (`/search`): customers ranked by interest in free text with the
//! evidence of what they viewed, carted, checked out and bought of it, the products and categories
//! the text matched, a link that opens the segment builder on the same `interest` rule, and the
//! trending interests of the last hours (TasOn's 추천 태그). It calls the same domain functions as
//! `api::search`: `search::interest_search` and `search::trending::trending`. A plain GET form;
//! no JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::frame::Frame;
use super::{Staff, failed, render, urlencode};
use crate::app::AppState;
use crate::i18n::{self, Catalog};
use crate::search::trending::{Trend, Trending};
use crate::search::{self, Evidence};

pub fn routes() -> Router<AppState> {
    Router::new().route("/search", get(page))
}

/// Customers listed for a search.
const RESULTS: usize = 50;
/// Matched products and categories shown as chips (the search returns up to 20).
const MATCHED_CHIPS: usize = 12;
/// Entries of each trending list.
const TRENDS: usize = 12;
/// The longest text searched for (as the API).
const MAX_TEXT: usize = 200;
/// The windows the form offers, in days (none is all time).
const DAY_CHOICES: [u32; 4] = [7, 14, 30, 90];
/// The trending windows the panel offers, in hours.
const HOUR_CHOICES: [u32; 3] = [24, 72, 168];

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    /// Empty (the form's "all time") or a number of days.
    #[serde(default)]
    days: String,
    #[serde(default)]
    hours: String,
}

/// A product or category chip: a link and its text.
pub struct Chip {
    pub href: String,
    pub label: String,
    /// A category (shown with its own style), not a product.
    pub category: bool,
}

/// One line of evidence: "플라워향수 오 드 퍼퓸 50ml — viewed 3, bought 1, last 2026-11-03".
pub struct EvidenceLine {
    /// The product's page, or the interest search for the category.
    pub href: String,
    pub title: String,
    pub category: bool,
    /// "viewed 3, bought 1".
    pub counts: String,
    /// The last touch's date in the shop's time zone.
    pub last: String,
}

pub struct ResultRow {
    pub rank: usize,
    pub id: u64,
    /// The name, else the member id, else the email, else "Guest".
    pub label: String,
    /// What else identifies them (member id, email), muted under the label.
    pub detail: String,
    pub score: String,
    pub last_seen: String,
    pub evidence: Vec<EvidenceLine>,
}

pub struct Found {
    /// "12 customers showed interest".
    pub total: String,
    /// With a window: why the total is an upper bound.
    pub bound_note: Option<String>,
    /// "Showing the top 50" when fewer are listed than the total.
    pub showing: Option<String>,
    /// The first [`MATCHED_CHIPS`] of what the text matched, and how many more there are.
    pub matched: Vec<Chip>,
    pub more_matched: usize,
    pub rows: Vec<ResultRow>,
    /// The segment builder opened on this search's rule (None for viewers, who cannot save one).
    pub segment_href: Option<String>,
}

/// A trending product, category or word.
pub struct TrendChip {
    pub href: String,
    pub label: String,
    pub score: String,
    /// "↑ 2.3×", "↓ 0.5×", "→ 1.0×" or "new".
    pub rise: String,
    /// `up`, `down`, `flat` or `new`, for the colour.
    pub rise_class: &'static str,
    /// "score 12 · 3 customers", the chip's title.
    pub title: String,
}

#[derive(Template)]
#[template(path = "search/index.html")]
struct SearchPage {
    f: Frame,
    q: String,
    hours: u32,
    /// (value, label, chosen) of the window choices, all time first (value "").
    day_choices: Vec<(String, String, bool)>,
    /// (href, label, current) of the trending windows.
    hour_choices: Vec<(String, String, bool)>,
    /// Why the search did not run ("still catching up", "too long").
    notice: Option<String>,
    found: Option<Found>,
    words: Vec<TrendChip>,
    categories: Vec<TrendChip>,
    products: Vec<TrendChip>,
    trending_about: String,
}

/// The link that runs the interest search for `q` with the page's other choices.
fn search_href(q: &str, days: Option<u32>, hours: u32) -> String {
    let mut href = format!("/search?q={}", urlencode(q));
    if let Some(d) = days {
        href.push_str(&format!("&days={d}"));
    }
    if hours != HOUR_CHOICES[0] {
        href.push_str(&format!("&hours={hours}"));
    }
    href
}

/// What a category path is searched as: its levels as words ("뷰티/향수" → "뷰티 향수", which
/// needs both).
fn category_text(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The segment builder opened on the rule of this search.
fn segment_href(q: &str, days: Option<u32>) -> String {
    let mut rule = json!({"attr": "interest", "op": "matches", "value": q});
    if let Some(d) = days {
        rule["days"] = json!(d);
    }
    format!("/segments/new?rule={}", urlencode(&rule.to_string()))
}

fn counts(t: &Catalog, e: &Evidence) -> String {
    [
        ("search.viewed", e.viewed),
        ("search.carted", e.carted),
        ("search.checkout", e.checkout),
        ("search.purchased", e.purchased),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{} {}", t.get(k), i18n::number(f64::from(n), 0)))
    .collect::<Vec<_>>()
    .join(", ")
}

fn rise(t: &Catalog, r: Option<f64>) -> (String, &'static str) {
    match r {
        None => (t.get("search.rise_new").to_string(), "new"),
        Some(r) => {
            let n = if r >= 10.0 {
                i18n::number(r, 0)
            } else {
                i18n::number(r, 1)
            };
            if r >= 1.05 {
                (format!("↑ {n}×"), "up")
            } else if r <= 0.95 {
                (format!("↓ {n}×"), "down")
            } else {
                (format!("→ {n}×"), "flat")
            }
        }
    }
}

fn trend_chips(t: &Catalog, trends: Vec<Trend>, days: Option<u32>, hours: u32) -> Vec<TrendChip> {
    trends
        .into_iter()
        .map(|tr| {
            let (href, label) = if let Some(id) = tr.key.strip_prefix("p:") {
                (format!("/products/{}", urlencode_strict(id)), tr.title)
            } else if let Some(path) = tr.key.strip_prefix("c:") {
                (search_href(&category_text(path), days, hours), tr.title)
            } else {
                (search_href(&tr.key, days, hours), tr.title)
            };
            let (rise, rise_class) = rise(t, tr.rise);
            TrendChip {
                href,
                label,
                score: i18n::number(tr.score as f64, 0),
                rise,
                rise_class,
                title: t
                    .get("search.trend_title")
                    .replace("{score}", &i18n::number(tr.score as f64, 0))
                    .replace("{customers}", &i18n::number(tr.customers as f64, 0)),
            }
        })
        .collect()
}

/// A path segment percent-encoded, `/` included (a product id may hold one).
fn urlencode_strict(s: &str) -> String {
    urlencode(s).replace('/', "%2F")
}

/// What the search found, with each customer's record.
struct Searched {
    result: search::InterestResult,
    customers: Vec<Option<crate::store::records::CustomerRecord>>,
}

pub async fn page(State(st): State<AppState>, staff: Staff, Query(query): Query<SearchQuery>) -> Response {
    let t = staff.t;
    let (tz, now) = (st.tz, st.now_ms());
    let q = query.q.trim().to_string();
    let days = query.days.trim().parse::<u32>().ok().filter(|d| (1..=3650).contains(d));
    let hours = query
        .hours
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|h| (1..=168).contains(h))
        .unwrap_or(HOUR_CHOICES[0]);
    let mut notice = None;
    let text = if q.is_empty() {
        None
    } else if q.chars().count() > MAX_TEXT {
        notice = Some(t.get("search.too_long").to_string());
        None
    } else if !st.search.interests_ready() {
        notice = Some(t.get("search.not_ready").to_string());
        None
    } else {
        Some(q.clone())
    };
    let search = st.search.clone();
    let res = st
        .store
        .call(move |s| -> Result<(Trending, Option<Searched>), search::Error> {
            let read = s.read()?;
            let trending = search.trending(&read, now, hours, TRENDS)?;
            let searched = match text {
                None => None,
                Some(text) => {
                    let since = days.map(|d| crate::segment::eval::window_start(now, tz, d));
                    let result = search::interest_search(&search, &read, &text, since, now, RESULTS)?;
                    let customers = result
                        .customers
                        .iter()
                        .map(|hit| read.customer(hit.customer))
                        .collect::<Result<_, _>>()?;
                    Some(Searched { result, customers })
                }
            };
            Ok((trending, searched))
        })
        .await;
    let (trending, searched) = match res {
        Ok(r) => r,
        Err(e) => return failed(staff.lang, &e),
    };
    let found = searched.map(|Searched { result, customers }| {
        let more_matched = result.matched.len().saturating_sub(MATCHED_CHIPS);
        let matched = result
            .matched
            .iter()
            .take(MATCHED_CHIPS)
            .map(|h| match h.key.strip_prefix("p:") {
                Some(id) => Chip {
                    href: format!("/products/{}", urlencode_strict(id)),
                    label: h.title.clone(),
                    category: false,
                },
                None => Chip {
                    href: search_href(&category_text(h.key.trim_start_matches("c:")), days, hours),
                    label: h.title.clone(),
                    category: true,
                },
            })
            .collect();
        let rows: Vec<ResultRow> = result
            .customers
            .into_iter()
            .zip(customers)
            .filter_map(|(hit, rec)| Some((hit, rec?)))
            .enumerate()
            .map(|(i, (hit, rec))| {
                let ids: Vec<String> = [rec.user_id.clone(), rec.email.clone()].into_iter().flatten().collect();
                let (label, detail) = match &rec.name {
                    Some(name) => (name.clone(), ids.join(" · ")),
                    None if !ids.is_empty() => (ids[0].clone(), ids[1..].join(" · ")),
                    None => (t.get("customers.anonymous").to_string(), format!("#{}", hit.customer)),
                };
                ResultRow {
                    rank: i + 1,
                    id: hit.customer,
                    label,
                    detail,
                    score: i18n::number(f64::from(hit.score), 2),
                    last_seen: rec.stats.last_seen.map(|l| i18n::datetime(l, tz)).unwrap_or_default(),
                    evidence: hit
                        .evidence
                        .iter()
                        .map(|e| {
                            let (href, category) = match e.key.strip_prefix("p:") {
                                Some(id) => (format!("/products/{}", urlencode_strict(id)), false),
                                None => (
                                    search_href(&category_text(e.key.trim_start_matches("c:")), days, hours),
                                    true,
                                ),
                            };
                            EvidenceLine {
                                href,
                                title: e.title.clone(),
                                category,
                                counts: counts(t, e),
                                last: i18n::date(e.last, tz),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        let total = i18n::number(result.total as f64, 0);
        Found {
            total: t.get("search.total").replace("{n}", &total),
            bound_note: days.map(|d| t.get("search.total_window").replace("{n}", &d.to_string())),
            showing: (rows.len() < result.total && !rows.is_empty())
                .then(|| t.get("search.showing").replace("{n}", &rows.len().to_string())),
            matched,
            more_matched,
            rows,
            segment_href: staff.can_change().then(|| segment_href(&q, days)),
        }
    });
    let mut day_choices = vec![(String::new(), t.get("search.all_time").to_string(), days.is_none())];
    let mut offered: Vec<u32> = DAY_CHOICES.to_vec();
    if let Some(d) = days
        && !offered.contains(&d)
    {
        offered.push(d);
        offered.sort_unstable();
    }
    day_choices.extend(offered.into_iter().map(|d| {
        let label = t.get("search.last_days").replace("{n}", &d.to_string());
        (d.to_string(), label, Some(d) == days)
    }));
    let here = |h: u32| {
        let mut href = String::from("/search?");
        if !q.is_empty() {
            href.push_str(&format!("q={}&", urlencode(&q)));
        }
        if let Some(d) = days {
            href.push_str(&format!("days={d}&"));
        }
        href.push_str(&format!("hours={h}"));
        href
    };
    let hour_choices = HOUR_CHOICES
        .iter()
        .map(|&h| {
            (
                here(h),
                t.get("search.last_hours").replace("{n}", &h.to_string()),
                h == hours,
            )
        })
        .collect();
    render(&SearchPage {
        f: Frame::new(&staff, "search"),
        hours,
        day_choices,
        hour_choices,
        notice,
        found,
        words: trend_chips(t, trending.words, days, hours),
        categories: trend_chips(t, trending.categories, days, hours),
        products: trend_chips(t, trending.products, days, hours),
        trending_about: t.get("search.trending_about").replace("{n}", &hours.to_string()),
        q,
    })
}
