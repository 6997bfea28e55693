//! Reports: the web-analytics reports (CONTRACT §8) as pages: the overview with its charts and
//! breakdowns, the funnel, cohorts and live. Every page takes the same range (a preset or two
//! dates) and filters from its query string, so a link or a bookmark is the report; each table
//! downloads as CSV. The pages only lay out what `app::reports` answers.

mod cohorts;
mod funnel;
mod live;
mod overview;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Months, NaiveDate};

use super::choices::{Opt, labelled, opts};
use super::{Staff, csv_response, failed};
use crate::app::AppState;
use crate::app::reports::{self as app_reports, Asked, ReportError};
use crate::i18n::{self, Catalog, Lang};

pub use overview::Dashboard;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(overview::show))
        .route("/reports/series.csv", get(overview::series_csv))
        .route("/reports/breakdown", get(overview::breakdown))
        .route("/reports/breakdown.csv", get(overview::breakdown_csv))
        .route("/reports/products.csv", get(overview::products_csv))
        .route("/reports/funnel", get(funnel::show))
        .route("/reports/funnel.csv", get(funnel::csv))
        .route("/reports/cohorts", get(cohorts::show))
        .route("/reports/cohorts.csv", get(cohorts::csv))
        .route("/reports/live", get(live::show))
}

/// The range presets, in the picker's order.
const PRESETS: [&str; 8] = [
    "today",
    "yesterday",
    "7d",
    "30d",
    "month",
    "last_month",
    "12m",
    "custom",
];

/// The query string as asked: every pair, in order (the funnel repeats `step`).
pub struct Picked {
    pairs: Vec<(String, String)>,
}

impl Picked {
    pub fn new(pairs: Vec<(String, String)>) -> Picked {
        Picked { pairs }
    }

    /// The first non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    /// `path` with this query, `key` set to `value` (or left out when `value` is empty).
    pub fn with(&self, path: &str, key: &str, value: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if k != key && !v.trim().is_empty() {
                q.append_pair(k, v);
            }
        }
        if !value.is_empty() {
            q.append_pair(key, value);
        }
        let q = q.finish();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    }

    /// `path` with the same query.
    pub fn at(&self, path: &str) -> String {
        self.with(path, "", "")
    }
}

/// The range a preset names on `today`, both ends in.
fn preset_days(preset: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let day = chrono::Duration::days;
    let first = today.with_day(1)?;
    Some(match preset {
        "today" => (today, today),
        "yesterday" => (today - day(1), today - day(1)),
        "7d" => (today - day(6), today),
        "30d" => (today - day(29), today),
        "month" => (first, today),
        "last_month" => (first.checked_sub_months(Months::new(1))?, first - day(1)),
        "12m" => (first.checked_sub_months(Months::new(11))?, today),
        _ => return None,
    })
}

/// What the pages' controls hold: the range, the filters, and what the report is asked for.
pub struct Controls {
    pub preset: String,
    pub presets: Vec<Opt>,
    pub from: String,
    pub to: String,
    pub interval: String,
    pub intervals: Vec<Opt>,
    pub segments: Vec<Opt>,
    pub source: String,
    pub devices: Vec<Opt>,
    pub page: String,
    /// The filters in force, each with the link that removes it.
    pub chips: Vec<(String, String)>,
    pub asked: Asked,
}

/// The series' step a range gets when none is asked for: days up to about six weeks, weeks up to
/// half a year, then months.
fn interval_for(from: NaiveDate, to: NaiveDate) -> &'static str {
    match (to - from).num_days() + 1 {
        ..=45 => "day",
        46..=190 => "week",
        _ => "month",
    }
}

impl Controls {
    /// The controls of `q` on `today`, with the shop's segments to offer; a wrong preset is named
    /// like the API names a wrong field.
    pub fn read(
        q: &Picked,
        today: NaiveDate,
        segments: Vec<(String, String)>,
        t: &Catalog,
        path: &str,
    ) -> Result<Controls, ReportError> {
        let custom = q.get("from").is_some() || q.get("to").is_some();
        let preset = q
            .get("range")
            .unwrap_or(if custom { "custom" } else { "30d" })
            .to_string();
        if !PRESETS.contains(&preset.as_str()) {
            return Err(ReportError::Field(
                "range",
                format!("`range` is one of {} (got {preset:?})", PRESETS.join(", ")),
            ));
        }
        let (from, to) = match preset_days(&preset, today) {
            Some((from, to)) => (from.to_string(), to.to_string()),
            None => (
                q.get("from").unwrap_or_default().to_string(),
                q.get("to").unwrap_or_default().to_string(),
            ),
        };
        let dates = (
            NaiveDate::parse_from_str(&from, "%Y-%m-%d").ok(),
            NaiveDate::parse_from_str(&to, "%Y-%m-%d").unwrap_or(today),
        );
        let interval = match (q.get("interval"), dates) {
            (Some(i), _) => i.to_string(),
            (None, (Some(f), t)) => interval_for(f, t).to_string(),
            (None, (None, t)) => interval_for(t - chrono::Duration::days(29), t).to_string(),
        };
        let segment_id =
            match q.get("segment_id") {
                None => None,
                Some(s) => Some(s.parse::<u64>().map_err(|_| {
                    ReportError::Field("segment_id", format!("`segment_id` must be a number (got {s:?})"))
                })?),
            };
        let (source, device, page) = (q.get("source"), q.get("device"), q.get("page"));
        let mut chips = Vec::new();
        if let Some(id) = segment_id {
            let name = segments
                .iter()
                .find(|(v, _)| *v == id.to_string())
                .map_or_else(|| format!("#{id}"), |(_, n)| n.clone());
            chips.push((
                format!("{}: {name}", t.get("reports.segment")),
                q.with(path, "segment_id", ""),
            ));
        }
        for (key, value) in [("source", source), ("device", device), ("page", page)] {
            if let Some(v) = value {
                let shown = value_name(t, key, v);
                chips.push((
                    format!("{}: {shown}", t.get(&format!("reports.{key}"))),
                    q.with(path, key, ""),
                ));
            }
        }
        let mut segment_opts = vec![(String::new(), t.get("reports.any_segment").to_string())];
        segment_opts.extend(segments);
        let mut device_opts = vec![(String::new(), t.get("reports.any_device").to_string())];
        device_opts.extend(labelled(t, "reports.devices.", &["desktop", "mobile", "tablet"]));
        Ok(Controls {
            presets: opts(labelled(t, "reports.preset.", &PRESETS), &preset),
            preset,
            intervals: opts(
                std::iter::once((String::new(), t.get("reports.intervals.auto").to_string())).chain(labelled(
                    t,
                    "reports.intervals.",
                    &["day", "week", "month"],
                )),
                q.get("interval").unwrap_or_default(),
            ),
            segments: opts(segment_opts, &segment_id.map(|i| i.to_string()).unwrap_or_default()),
            source: source.unwrap_or_default().to_string(),
            devices: opts(device_opts, device.unwrap_or_default()),
            page: page.unwrap_or_default().to_string(),
            chips,
            asked: Asked {
                from: Some(from.clone()),
                to: Some(to.clone()),
                segment_id,
                source: source.map(str::to_string),
                device: device.map(str::to_string),
                page: page.map(str::to_string),
            },
            from,
            to,
            interval,
        })
    }

    pub fn filtered(&self) -> bool {
        !self.chips.is_empty()
    }
}

/// A device's name in the staff member's language (a value the catalogue lacks as it is).
/// A dimension's value as a person reads it: devices, channels and `Direct` in words; the rest
/// (sites, pages, browsers, cities, campaigns) are names and stay as they are.
pub fn value_name(t: &Catalog, dim: &str, v: &str) -> String {
    our_word(t, dim, v).unwrap_or(v).to_string()
}

/// A dimension's value in the catalogue's words, when it is one of ours (not a name).
pub fn our_word<'t>(t: &'t Catalog, dim: &str, v: &str) -> Option<&'t str> {
    let table = match dim {
        "device" => "devices",
        "channel" => "channels",
        "source" => "sources",
        _ => return None,
    };
    t.find(&format!("reports.{table}.{v}"))
}

/// What a report page shows instead of figures when it has none to show.
pub enum Outcome<T> {
    Shown(T),
    /// A wrong field of the controls, said in words.
    Wrong(String),
    /// The tables are first being built.
    NotReady,
}

impl<T> Outcome<T> {
    /// The page's outcome from the report's answer; a store error is the caller's to show.
    pub fn of(r: Result<T, ReportError>) -> Result<Outcome<T>, ReportError> {
        match r {
            Ok(v) => Ok(Outcome::Shown(v)),
            Err(ReportError::Field(_, m)) => Ok(Outcome::Wrong(m)),
            Err(ReportError::NotReady) => Ok(Outcome::NotReady),
            Err(e) => Err(e),
        }
    }
}

/// The shop's segments as (id, name), for the segment filter.
async fn segments(st: &AppState) -> Result<Vec<(String, String)>, crate::store::Error> {
    Ok(super::choices::segments_and_coupons(st).await?.0)
}

/// Runs a report on the blocking pool with the page's controls read first; a store error is the
/// console's error page.
async fn report<T: Send + 'static>(
    st: &AppState,
    staff: &Staff,
    q: &Picked,
    path: &str,
    run: impl FnOnce(&AppState, &Controls) -> Result<T, ReportError> + Send + 'static,
) -> Result<(Controls, Outcome<T>), Response> {
    let segments = segments(st).await.map_err(|e| failed(staff.lang, &e))?;
    let today = app_reports::today(st);
    let controls = match Controls::read(q, today, segments.clone(), staff.t, path) {
        Ok(c) => c,
        Err(e) => {
            // The controls as they would be without the wrong part, and the error in words.
            let fallback = Controls::read(&Picked::new(Vec::new()), today, segments, staff.t, path)
                .expect("the default controls read");
            return Ok((fallback, Outcome::Wrong(e.to_string())));
        }
    };
    let state = st.clone();
    let (controls, out) = st
        .store
        .call(move |_| {
            let out = run(&state, &controls);
            Ok::<_, ReportError>((controls, out))
        })
        .await
        .map_err(|e| failed(staff.lang, &e))?;
    let out = Outcome::of(out).map_err(|e| failed(staff.lang, &e))?;
    Ok((controls, out))
}

/// A CSV's refusal: the report's error as plain text with its status.
fn csv_failed(lang: Lang, e: ReportError) -> Response {
    match e {
        ReportError::Store(_) => failed(lang, &e),
        e => {
            let status = crate::error::HasCode::code(&e).status();
            (status, e.to_string()).into_response()
        }
    }
}

/// The number a table shows.
fn count(n: u64) -> String {
    i18n::number(n as f64, 0)
}

/// The report pages' tabs: (key, href, label).
fn tabs(t: &Catalog, q: &Picked) -> Vec<(&'static str, String, String)> {
    ["overview", "funnel", "cohorts", "live"]
        .into_iter()
        .map(|k| {
            let path = match k {
                "overview" => "/reports".to_string(),
                k => format!("/reports/{k}"),
            };
            let href = match k {
                "live" | "cohorts" => path,
                _ => q.at(&path),
            };
            (k, href, t.get(&format!("reports.{k}")).to_string())
        })
        .collect()
}

/// Statuses the pages answer with: 200 when shown, 400 with a wrong control, 503 while built.
fn status_of<T>(o: &Outcome<T>) -> StatusCode {
    match o {
        Outcome::Shown(_) => StatusCode::OK,
        Outcome::Wrong(_) => StatusCode::BAD_REQUEST,
        Outcome::NotReady => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_their_days() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-03-07");
        let days = |p| preset_days(p, today).map(|(a, b)| (a.to_string(), b.to_string()));
        let both = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(days("today"), both("2026-03-07", "2026-03-07"));
        assert_eq!(days("yesterday"), both("2026-03-06", "2026-03-06"));
        assert_eq!(days("7d"), both("2026-03-01", "2026-03-07"));
        assert_eq!(days("30d"), both("2026-02-06", "2026-03-07"));
        assert_eq!(days("month"), both("2026-03-01", "2026-03-07"));
        assert_eq!(days("last_month"), both("2026-02-01", "2026-02-28"));
        assert_eq!(days("12m"), both("2025-04-01", "2026-03-07"));
        assert_eq!(days("custom"), None);
        assert_eq!(interval_for(d("2026-03-01"), d("2026-03-07")), "day");
        assert_eq!(interval_for(d("2025-12-01"), d("2026-03-07")), "week");
        assert_eq!(interval_for(d("2025-04-01"), d("2026-03-07")), "month");
    }

    #[test]
    fn a_link_keeps_the_query_and_sets_one_key() {
        let q = Picked::new(vec![
            ("range".into(), "7d".into()),
            ("source".into(), "Naver".into()),
            ("page".into(), "".into()),
        ]);
        assert_eq!(
            q.with("/reports", "device", "mobile"),
            "/reports?range=7d&source=Naver&device=mobile"
        );
        assert_eq!(q.with("/reports", "source", ""), "/reports?range=7d");
        assert_eq!(
            q.with("/reports", "source", "네이버 블로그"),
            "/reports?range=7d&source=%EB%84%A4%EC%9D%B4%EB%B2%84+%EB%B8%94%EB%A1%9C%EA%B7%B8"
        );
        assert_eq!(q.at("/reports/funnel"), "/reports/funnel?range=7d&source=Naver");
    }
}
