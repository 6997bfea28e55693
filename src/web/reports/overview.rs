//! Reports ▸ Overview: the figures of the range beside the period before, visitors and revenue
//! over time, the breakdown panels (sources, pages, devices, locations) and the top products; a
//! breakdown's full table; their CSVs. The dashboard's charts come from here too.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::{
    Controls, Outcome, Picked, count, csv_failed, csv_response, our_word, report, status_of, tabs, value_name,
};
use crate::app::AppState;
use crate::app::reports::{self as app_reports, Asked, ReportError};
use crate::i18n::{self, Catalog, Lang};
use crate::reports::Dim;
use crate::reports::products::ProductItem;
use crate::reports::query::{Item, Overview, Totals};
use crate::web::chart::{self, SeriesChart, SeriesText};
use crate::web::frame::Frame;
use crate::web::{Staff, failed, render};

/// A figure of the range beside the period before.
pub struct Figure {
    pub key: &'static str,
    pub label: String,
    /// What it means (CONTRACT §8), shown on hover or tap.
    pub tip: String,
    pub value: String,
    pub previous: String,
    /// "+12.5%", "−3.0%p", "—".
    pub change: String,
    /// `better`, `worse` or `same`: the change's colour.
    pub trend: &'static str,
}

/// How a figure is shown and compared.
#[derive(Clone, Copy)]
enum Kind {
    Count,
    Ratio,
    Rate,
    Seconds,
    Money,
}

const FIGURES: [(&str, Kind, bool); 9] = [
    ("visitors", Kind::Count, true),
    ("visits", Kind::Count, true),
    ("pageviews", Kind::Count, true),
    ("pages_per_visit", Kind::Ratio, true),
    ("bounce_rate", Kind::Rate, false),
    ("visit_duration", Kind::Seconds, true),
    ("orders", Kind::Count, true),
    ("revenue", Kind::Money, true),
    ("conversion_rate", Kind::Rate, true),
];

fn value_of(t: &Totals, key: &str) -> f64 {
    match key {
        "visitors" => t.visitors as f64,
        "visits" => t.visits as f64,
        "pageviews" => t.pageviews as f64,
        "pages_per_visit" => t.pages_per_visit,
        "bounce_rate" => t.bounce_rate,
        "visit_duration" => t.visit_duration_s,
        "orders" => t.orders as f64,
        "revenue" => t.revenue,
        _ => t.conversion_rate,
    }
}

fn shown(kind: Kind, v: f64, lang: Lang) -> String {
    match kind {
        Kind::Count => i18n::number(v, 0),
        Kind::Ratio => i18n::number(v, 2),
        Kind::Rate => i18n::percent(v),
        Kind::Seconds => minutes_seconds(v, lang),
        Kind::Money => i18n::money(v, None, lang),
    }
}

/// A visit's length: "3분 52초" in Korean, "3 min 52 s" in English.
fn minutes_seconds(s: f64, lang: Lang) -> String {
    let s = s.round() as u64;
    let (m, s) = (s / 60, s % 60);
    match (lang, m) {
        (Lang::Ko, 0) => format!("{s}초"),
        (Lang::Ko, m) => format!("{m}분 {s}초"),
        (Lang::En, 0) => format!("{s} s"),
        (Lang::En, m) => format!("{m} min {s:02} s"),
    }
}

/// The change from `before` to `now`: relative for amounts, in percentage points for rates.
fn change(kind: Kind, now: f64, before: f64, up_is_good: bool) -> (String, &'static str) {
    let (text, delta) = match kind {
        Kind::Rate => {
            let pp = (now - before) * 100.0;
            (format!("{}%p", signed(pp)), pp)
        }
        _ if before == 0.0 => return ("—".into(), "same"),
        _ => {
            let rel = (now - before) / before * 100.0;
            (format!("{}%", signed(rel)), rel)
        }
    };
    let trend = if delta.abs() < 0.05 {
        "same"
    } else if (delta > 0.0) == up_is_good {
        "better"
    } else {
        "worse"
    };
    (text, trend)
}

/// "+12.5", "−3.0" (a minus sign), "0.0".
fn signed(v: f64) -> String {
    let n = i18n::number(v.abs(), 1);
    if v >= 0.05 {
        format!("+{n}")
    } else if v <= -0.05 {
        format!("−{n}")
    } else {
        "0.0".into()
    }
}

pub fn figures(t: &Catalog, lang: Lang, now: &Totals, before: &Totals) -> Vec<Figure> {
    FIGURES
        .iter()
        .map(|&(key, kind, up_is_good)| {
            let (a, b) = (value_of(now, key), value_of(before, key));
            let (change, trend) = change(kind, a, b, up_is_good);
            Figure {
                key,
                label: t.get(&format!("reports.figure.{key}")).to_string(),
                tip: t.get(&format!("reports.tip.{key}")).to_string(),
                value: shown(kind, a, lang),
                previous: shown(kind, b, lang),
                change,
                trend,
            }
        })
        .collect()
}

/// Money short enough for an axis: "120만", "1.2억" in Korean; "12k", "1.2M" in English.
fn compact_money(v: f64, lang: Lang) -> String {
    let short = |n: f64, unit: &str| {
        format!(
            "{}{unit}",
            i18n::number(n, if n < 10.0 && n.fract() != 0.0 { 1 } else { 0 })
        )
    };
    match lang {
        Lang::Ko if v >= 1e8 => short(v / 1e8, "억"),
        Lang::Ko if v >= 1e4 => short(v / 1e4, "만"),
        Lang::En if v >= 1e6 => short(v / 1e6, "M"),
        Lang::En if v >= 1e3 => short(v / 1e3, "k"),
        _ => i18n::number(v, 0),
    }
}

/// Visitors and revenue over the range, the period before dashed behind.
pub fn charts(t: &Catalog, lang: Lang, now: &Overview, before: Option<&Overview>) -> Vec<SeriesChart> {
    let dates: Vec<String> = now.series.iter().map(|p| p.date.clone()).collect();
    let pick = |o: Option<&Overview>, f: fn(&Totals) -> f64| -> Vec<f64> {
        o.map(|o| o.series.iter().map(|p| f(&p.totals)).collect())
            .unwrap_or_default()
    };
    let visitors = |t: &Totals| t.visitors as f64;
    let revenue = |t: &Totals| t.revenue;
    let count = |v: f64| i18n::number(v, 0);
    let money = |v: f64| compact_money(v, lang);
    let text = |id, about: &str, format| SeriesText {
        id,
        about: t.get(about),
        now_label: t.get("reports.this_period"),
        before_label: t.get("reports.previous"),
        format,
    };
    vec![
        chart::series(
            &text("visitors", "reports.visitors_chart", &count),
            &dates,
            &pick(Some(now), visitors),
            &pick(before, visitors),
            false,
        ),
        chart::series(
            &text("revenue", "reports.revenue_chart", &money),
            &dates,
            &pick(Some(now), revenue),
            &pick(before, revenue),
            true,
        ),
    ]
}

/// A breakdown panel: its dimensions as tabs, the top values.
pub struct Panel {
    pub id: &'static str,
    pub title: String,
    /// (label, href, current).
    pub tabs: Vec<(String, String, bool)>,
    pub by: String,
    pub rows: Vec<Row>,
    pub more: String,
    pub csv: String,
}

/// A value of a breakdown as a table shows it.
pub struct Row {
    pub value: String,
    /// The value is a name (a site, page, browser, city), not a word of ours: not translated.
    pub named: bool,
    /// The link that filters the report by this value, when the reports filter by its dimension.
    pub filter: Option<String>,
    pub visitors: String,
    /// Visitors as a share of the top value's, for the bar ("37.5").
    pub bar: String,
    pub visits: String,
    pub pageviews: String,
    pub bounce_rate: String,
    pub orders: String,
    pub revenue: String,
    pub exit_rate: String,
}

/// The filter a dimension's values set, if the reports take one.
fn filter_key(by: Dim) -> Option<&'static str> {
    match by {
        Dim::Source => Some("source"),
        Dim::Device => Some("device"),
        Dim::Page | Dim::EntryPage | Dim::ExitPage => Some("page"),
        _ => None,
    }
}

pub fn rows(t: &Catalog, lang: Lang, q: &Picked, by: Dim, items: &[Item]) -> Vec<Row> {
    let top = items.iter().map(|i| i.visitors).max().unwrap_or(0).max(1) as f64;
    items
        .iter()
        .map(|i| Row {
            value: value_name(t, by.as_str(), &i.value),
            named: our_word(t, by.as_str(), &i.value).is_none(),
            filter: filter_key(by).map(|k| q.with("/reports", k, &i.value)),
            visitors: count(i.visitors),
            bar: format!("{:.1}", i.visitors as f64 / top * 100.0),
            visits: count(i.visits),
            pageviews: count(i.pageviews),
            bounce_rate: i18n::percent(i.bounce_rate),
            orders: count(i.orders),
            revenue: i18n::money(i.revenue, None, lang),
            exit_rate: i.exit_rate.map(i18n::percent).unwrap_or_default(),
        })
        .collect()
}

/// The panels: (id, the query key that picks the tab, its dimensions, the first the default).
const PANELS: [(&str, &str, &[Dim]); 4] = [
    (
        "sources",
        "sources",
        &[
            Dim::Source,
            Dim::Channel,
            Dim::Referrer,
            Dim::UtmSource,
            Dim::UtmMedium,
            Dim::UtmCampaign,
        ],
    ),
    ("pages", "pages", &[Dim::Page, Dim::EntryPage, Dim::ExitPage]),
    ("devices", "devices", &[Dim::Device, Dim::Browser, Dim::Os]),
    ("cities", "cities", &[Dim::City]),
];

/// The dimension each panel shows, as the query picks it.
fn panel_dims(q: &Picked) -> Vec<Dim> {
    PANELS
        .iter()
        .map(|(_, key, dims)| {
            q.get(key)
                .and_then(Dim::parse)
                .filter(|d| dims.contains(d))
                .unwrap_or(dims[0])
        })
        .collect()
}

/// Products of the range as a table shows them.
pub struct ProductRow {
    pub product_id: String,
    pub name: String,
    pub views: String,
    pub carts: String,
    pub purchases: String,
    pub purchase_rate: String,
    pub bar: String,
}

pub fn product_rows(items: &[ProductItem]) -> Vec<ProductRow> {
    let top = items.iter().map(|i| i.purchases).max().unwrap_or(0).max(1) as f64;
    items
        .iter()
        .map(|p| ProductRow {
            product_id: p.product_id.clone(),
            name: if p.name.is_empty() {
                p.product_id.clone()
            } else {
                p.name.clone()
            },
            views: count(p.views),
            carts: count(p.carts),
            purchases: count(p.purchases),
            purchase_rate: i18n::percent(p.purchase_rate),
            bar: format!("{:.1}", p.purchases as f64 / top * 100.0),
        })
        .collect()
}

/// The range before, as asked (for the charts' dashed line).
fn before(st: &AppState, a: &Asked) -> Result<Asked, ReportError> {
    let days = app_reports::days(st, a)?.previous();
    Ok(Asked {
        from: Some(days.from.to_string()),
        to: Some(days.to.to_string()),
        ..a.clone()
    })
}

/// What the overview reads.
struct Read {
    /// The period before's first and last day.
    previous: (String, String),
    now: Overview,
    before: Overview,
    panels: Vec<Vec<Item>>,
    products: Option<Vec<ProductItem>>,
}

#[derive(Template)]
#[template(path = "reports/overview.html")]
struct OverviewPage {
    f: Frame,
    c: Controls,
    tabs: Vec<(&'static str, String, String)>,
    tab: &'static str,
    action: &'static str,
    keep: Vec<(String, String)>,
    out: Outcome<()>,
    previous_range: String,
    figures: Vec<Figure>,
    charts: Vec<SeriesChart>,
    bots: String,
    empty: bool,
    panels: Vec<Panel>,
    products: Option<Vec<ProductRow>>,
    series_csv: String,
    products_csv: String,
}

pub async fn show(State(st): State<AppState>, staff: Staff, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let q = Picked::new(pairs);
    let dims = panel_dims(&q);
    let picked = dims.clone();
    let res = report(&st, &staff, &q, "/reports", move |st, c| {
        let interval = Some(c.interval.as_str());
        let now = app_reports::overview(st, &c.asked, interval)?;
        let asked_before = before(st, &c.asked)?;
        let previous = (
            asked_before.from.clone().unwrap_or_default(),
            asked_before.to.clone().unwrap_or_default(),
        );
        let before = app_reports::overview(st, &asked_before, interval)?;
        let mut panels = Vec::new();
        for by in &picked {
            panels.push(app_reports::breakdown(st, &c.asked, Some(by.as_str()), Some(10))?);
        }
        let products = if c.filtered() {
            None
        } else {
            Some(app_reports::products(st, &c.asked, Some(10))?)
        };
        Ok(Read {
            previous,
            now,
            before,
            panels,
            products,
        })
    })
    .await;
    let (c, out) = match res {
        Ok(r) => r,
        Err(page) => return page,
    };
    let (t, lang) = (staff.t, staff.lang);
    let mut page = OverviewPage {
        tabs: tabs(t, &q),
        tab: "overview",
        action: "/reports",
        keep: PANELS
            .iter()
            .filter_map(|(_, key, _)| q.get(key).map(|v| (key.to_string(), v.to_string())))
            .collect(),
        out: Outcome::NotReady,
        previous_range: String::new(),
        figures: Vec::new(),
        charts: Vec::new(),
        bots: String::new(),
        empty: false,
        panels: Vec::new(),
        products: None,
        series_csv: q.at("/reports/series.csv"),
        products_csv: q.at("/reports/products.csv"),
        f: Frame::new(&staff, "reports"),
        c,
    };
    let status = status_of(&out);
    page.out = match out {
        Outcome::Shown(r) => {
            page.previous_range = t
                .get("reports.previous_range")
                .replace("{from}", &r.previous.0)
                .replace("{to}", &r.previous.1);
            page.figures = figures(t, lang, &r.now.totals, &r.now.previous);
            page.charts = charts(t, lang, &r.now, Some(&r.before));
            page.empty = r.now.totals.visits == 0;
            if r.now.bots_left_out > 0 {
                page.bots = t
                    .get("reports.bots_left_out")
                    .replace("{count}", &count(r.now.bots_left_out));
            }
            page.panels = PANELS
                .iter()
                .zip(&dims)
                .zip(&r.panels)
                .map(|(((id, key, all), by), items)| Panel {
                    id,
                    title: t.get(&format!("reports.{id}_panel")).to_string(),
                    tabs: if all.len() > 1 {
                        all.iter()
                            .map(|d| {
                                (
                                    t.get(&format!("reports.dim.{}", d.as_str())).to_string(),
                                    q.with("/reports", key, d.as_str()),
                                    d == by,
                                )
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                    by: t.get(&format!("reports.dim.{}", by.as_str())).to_string(),
                    rows: rows(t, lang, &q, *by, items),
                    more: q.with("/reports/breakdown", "by", by.as_str()),
                    csv: q.with("/reports/breakdown.csv", "by", by.as_str()),
                })
                .collect();
            page.products = r.products.as_deref().map(product_rows);
            Outcome::Shown(())
        }
        Outcome::Wrong(m) => Outcome::Wrong(m),
        Outcome::NotReady => Outcome::NotReady,
    };
    (status, render(&page)).into_response()
}

#[derive(Template)]
#[template(path = "reports/breakdown.html")]
struct BreakdownPage {
    f: Frame,
    c: Controls,
    tabs: Vec<(&'static str, String, String)>,
    tab: &'static str,
    action: &'static str,
    keep: Vec<(String, String)>,
    out: Outcome<()>,
    by_label: String,
    dims: Vec<super::Opt>,
    exit: bool,
    rows: Vec<Row>,
    csv: String,
}

fn by_of(q: &Picked) -> Result<Dim, ReportError> {
    let by = q.get("by").unwrap_or("source");
    Dim::parse(by).ok_or_else(|| {
        let names: Vec<&str> = Dim::BREAKDOWNS.iter().map(|d| d.as_str()).collect();
        ReportError::Field("by", format!("`by` is one of {} (got {by:?})", names.join(", ")))
    })
}

pub async fn breakdown(
    State(st): State<AppState>,
    staff: Staff,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let q = Picked::new(pairs);
    let by = by_of(&q);
    let asked_by = by.as_ref().ok().copied();
    let res = report(&st, &staff, &q, "/reports/breakdown", move |st, c| {
        let by = asked_by.ok_or_else(|| ReportError::Field("by", String::new()))?;
        app_reports::breakdown(st, &c.asked, Some(by.as_str()), Some(100))
    })
    .await;
    let (c, out) = match res {
        Ok(r) => r,
        Err(page) => return page,
    };
    let (t, lang) = (staff.t, staff.lang);
    let shown_by = by.as_ref().copied().unwrap_or(Dim::Source);
    let mut page = BreakdownPage {
        tabs: tabs(t, &q),
        tab: "overview",
        action: "/reports/breakdown",
        keep: vec![("by".to_string(), shown_by.as_str().to_string())],
        out: Outcome::NotReady,
        by_label: t.get(&format!("reports.dim.{}", shown_by.as_str())).to_string(),
        dims: super::opts(
            Dim::BREAKDOWNS.iter().map(|d| {
                (
                    d.as_str().to_string(),
                    t.get(&format!("reports.dim.{}", d.as_str())).to_string(),
                )
            }),
            shown_by.as_str(),
        ),
        exit: shown_by == Dim::ExitPage,
        rows: Vec::new(),
        csv: q.at("/reports/breakdown.csv"),
        f: Frame::new(&staff, "reports"),
        c,
    };
    let out = match (by, out) {
        (Err(e), _) => Outcome::Wrong(e.to_string()),
        (Ok(by), Outcome::Shown(items)) => {
            page.rows = rows(t, lang, &q, by, &items);
            Outcome::Shown(())
        }
        (_, Outcome::Wrong(m)) => Outcome::Wrong(m),
        (_, Outcome::NotReady) => Outcome::NotReady,
    };
    let status = status_of(&out);
    page.out = out;
    (status, render(&page)).into_response()
}

/// Runs a report for a CSV: the controls as the page reads them, the report's errors as text.
async fn for_csv<T: Send + 'static>(
    st: &AppState,
    staff: &Staff,
    q: &Picked,
    run: impl FnOnce(&AppState, &Controls) -> Result<T, ReportError> + Send + 'static,
) -> Result<(Controls, T), Response> {
    let segments = super::segments(st).await.map_err(|e| failed(staff.lang, &e))?;
    let c = Controls::read(q, app_reports::today(st), segments, staff.t, "").map_err(|e| csv_failed(staff.lang, e))?;
    let state = st.clone();
    let (c, out) = st
        .store
        .call(move |_| {
            let out = run(&state, &c);
            Ok::<_, ReportError>((c, out))
        })
        .await
        .map_err(|e| failed(staff.lang, &e))?;
    out.map(|v| (c, v)).map_err(|e| csv_failed(staff.lang, e))
}

/// The file name of a range's CSV: `dangol-{what}-{from}-{to}.csv`.
fn file_name(what: &str, c: &Controls) -> String {
    format!("dangol-{what}-{}-{}.csv", c.from, c.to)
}

const TOTALS_HEADER: [&str; 9] = [
    "visitors",
    "visits",
    "pageviews",
    "bounce_rate",
    "visit_duration_s",
    "pages_per_visit",
    "orders",
    "revenue",
    "conversion_rate",
];

fn totals_cells(t: &Totals) -> Vec<String> {
    vec![
        t.visitors.to_string(),
        t.visits.to_string(),
        t.pageviews.to_string(),
        t.bounce_rate.to_string(),
        t.visit_duration_s.to_string(),
        t.pages_per_visit.to_string(),
        t.orders.to_string(),
        t.revenue.to_string(),
        t.conversion_rate.to_string(),
    ]
}

pub async fn series_csv(
    State(st): State<AppState>,
    staff: Staff,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let q = Picked::new(pairs);
    match for_csv(&st, &staff, &q, |st, c| {
        app_reports::overview(st, &c.asked, Some(&c.interval))
    })
    .await
    {
        Ok((c, o)) => {
            let mut rows = vec![
                std::iter::once("date")
                    .chain(TOTALS_HEADER)
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            ];
            for p in &o.series {
                rows.push(std::iter::once(p.date.clone()).chain(totals_cells(&p.totals)).collect());
            }
            csv_response(&file_name("overview", &c), rows)
        }
        Err(r) => r,
    }
}

pub async fn breakdown_csv(
    State(st): State<AppState>,
    staff: Staff,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let q = Picked::new(pairs);
    let by = q.get("by").map(str::to_string);
    let by_name = by.clone().unwrap_or_default();
    match for_csv(&st, &staff, &q, move |st, c| {
        app_reports::breakdown(st, &c.asked, by.as_deref(), Some(1000))
    })
    .await
    {
        Ok((c, items)) => {
            let exit = by_name == "exit_page";
            let mut header = vec![
                by_name.as_str(),
                "visitors",
                "visits",
                "pageviews",
                "bounce_rate",
                "orders",
                "revenue",
            ];
            if exit {
                header.push("exit_rate");
            }
            let mut rows = vec![header.into_iter().map(str::to_string).collect::<Vec<_>>()];
            for i in &items {
                let mut row = vec![
                    i.value.clone(),
                    i.visitors.to_string(),
                    i.visits.to_string(),
                    i.pageviews.to_string(),
                    i.bounce_rate.to_string(),
                    i.orders.to_string(),
                    i.revenue.to_string(),
                ];
                if exit {
                    row.push(i.exit_rate.unwrap_or_default().to_string());
                }
                rows.push(row);
            }
            csv_response(&file_name(&by_name, &c), rows)
        }
        Err(r) => r,
    }
}

pub async fn products_csv(
    State(st): State<AppState>,
    staff: Staff,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let q = Picked::new(pairs);
    match for_csv(&st, &staff, &q, |st, c| app_reports::products(st, &c.asked, Some(1000))).await {
        Ok((c, items)) => {
            let header = [
                "product_id",
                "name",
                "views",
                "carts",
                "checkouts",
                "purchases",
                "purchase_rate",
            ];
            let mut rows = vec![header.into_iter().map(str::to_string).collect::<Vec<_>>()];
            for p in &items {
                rows.push(vec![
                    p.product_id.clone(),
                    p.name.clone(),
                    p.views.to_string(),
                    p.carts.to_string(),
                    p.checkouts.to_string(),
                    p.purchases.to_string(),
                    p.purchase_rate.to_string(),
                ]);
            }
            csv_response(&file_name("products", &c), rows)
        }
        Err(r) => r,
    }
}

/// The dashboard's charts: the last 30 days' visitors and revenue beside the 30 before, the top
/// sources and products; None while the reports' tables are first built.
pub struct Dashboard {
    pub figures: Vec<Figure>,
    pub charts: Vec<SeriesChart>,
    pub sources: Vec<Row>,
    pub products: Vec<ProductRow>,
}

impl Dashboard {
    pub fn read(st: &AppState, t: &'static Catalog, lang: Lang) -> Result<Option<Dashboard>, ReportError> {
        let asked = Asked::default();
        let read = || -> Result<_, ReportError> {
            let now = app_reports::overview(st, &asked, None)?;
            let before = app_reports::overview(st, &before(st, &asked)?, None)?;
            let sources = app_reports::breakdown(st, &asked, Some("source"), Some(5))?;
            let products = app_reports::products(st, &asked, Some(5))?;
            Ok((now, before, sources, products))
        };
        let (now, before, sources, products) = match read() {
            Ok(r) => r,
            Err(ReportError::NotReady) => return Ok(None),
            Err(e) => return Err(e),
        };
        let q = Picked::new(vec![("range".into(), "30d".into())]);
        Ok(Some(Dashboard {
            figures: figures(t, lang, &now.totals, &now.previous)
                .into_iter()
                .filter(|f| ["visitors", "orders", "revenue", "conversion_rate"].contains(&f.key))
                .collect(),
            charts: charts(t, lang, &now, Some(&before)),
            sources: rows(t, lang, &q, Dim::Source, &sources),
            products: product_rows(&products),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_relative_for_amounts_and_in_points_for_rates() {
        assert_eq!(
            change(Kind::Count, 120.0, 100.0, true),
            ("+20.0%".to_string(), "better")
        );
        assert_eq!(change(Kind::Count, 80.0, 100.0, true), ("−20.0%".to_string(), "worse"));
        assert_eq!(change(Kind::Count, 5.0, 0.0, true), ("—".to_string(), "same"));
        // A bounce rate that went up is worse; in percentage points.
        assert_eq!(change(Kind::Rate, 0.45, 0.40, false), ("+5.0%p".to_string(), "worse"));
        assert_eq!(change(Kind::Rate, 0.40, 0.40, false), ("0.0%p".to_string(), "same"));
        assert_eq!(compact_money(1_234_000.0, Lang::Ko), "123만");
        assert_eq!(compact_money(250_000_000.0, Lang::Ko), "2.5억");
        assert_eq!(compact_money(1_500_000.0, Lang::En), "1.5M");
        assert_eq!(compact_money(900.0, Lang::En), "900");
        assert_eq!(minutes_seconds(232.4, Lang::Ko), "3분 52초");
        assert_eq!(minutes_seconds(45.0, Lang::Ko), "45초");
        assert_eq!(minutes_seconds(705.0, Lang::En), "11 min 45 s");
    }
}
