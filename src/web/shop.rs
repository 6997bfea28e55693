//! The shop pages of the console: the product catalogue (a list with search, and a product with
//! its recent sales) and the orders (a list filtered by local day and status, and an order with
//! its lines and refunds). They only read: through `catalog::get`, `order::get` and `ReadTx`,
//! the same reads the JSON API makes. Routes come from [`routes`], merged in `web::routes`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use super::frame::Frame;
use super::{Staff, error_page, failed, render, urlencode, web_url};
use crate::analysis::day_start;
use crate::app::AppState;
use crate::customer::ERASED;
use crate::i18n::{self, Catalog, Lang};
use crate::store::records::{OrderRecord, OrderStatus, ProductRecord};
use crate::store::{self, ReadTx};
use crate::{catalog, order};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", get(product_list))
        .route("/products/{id}", get(product_show))
        .route("/orders", get(order_list))
        .route("/orders/{id}", get(order_show))
}

/// Rows on a page of either list.
const PAGE: usize = 50;
/// Products a search reads at most per request; a shop has about 100,000 at most.
const PRODUCT_SCAN_LIMIT: usize = 200_000;
/// Orders a status filter reads at most per request.
const ORDER_SCAN_LIMIT: usize = 5_000;
/// The newest orders a product page adds up. The labels `products.sales` say this number.
const RECENT_ORDERS: usize = 1_000;

fn not_found(staff: &Staff) -> Response {
    error_page(staff.lang, StatusCode::NOT_FOUND, staff.t.get("error.not_found"))
}

fn money_or_dash(amount: Option<f64>, currency: Option<&str>, lang: Lang) -> String {
    amount.map_or_else(|| "—".into(), |a| i18n::money(a, currency, lang))
}

// --- products ----------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ProductQuery {
    q: Option<String>,
    cursor: Option<String>,
}

pub struct ProductRow {
    pub id: String,
    pub name: String,
    pub sku: String,
    pub image: Option<String>,
    pub category: String,
    pub brand: String,
    pub price: String,
    pub sale_price: Option<String>,
    pub in_stock: bool,
    pub hidden: bool,
}

#[derive(Template)]
#[template(path = "product/list.html")]
struct ProductListPage {
    f: Frame,
    q: String,
    rows: Vec<ProductRow>,
    next: Option<String>,
    /// The search read its limit of products before it filled the page.
    stopped: bool,
}

/// Does a product match a lower-case search text? By name, id, SKU or category.
fn product_matches(p: &ProductRecord, needle: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(needle);
    has(&p.name) || has(&p.id) || p.sku.as_deref().is_some_and(has) || p.category.as_deref().is_some_and(has)
}

/// A page of products after `after` in id order that match `q`, and the cursor of the next page.
/// A search reads at most [`PRODUCT_SCAN_LIMIT`] products; when it stops there, the cursor is
/// the last product read and the flag is set.
fn product_page(
    read: &ReadTx,
    after: &str,
    q: Option<&str>,
) -> Result<(Vec<ProductRecord>, Option<String>, bool), store::Error> {
    let needle = q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let batch = if needle.is_some() { 1_000 } else { PAGE + 1 };
    let mut rows = Vec::new();
    let mut last = after.to_string();
    let mut scanned = 0;
    loop {
        let products = read.products_after(&last, batch)?;
        let exhausted = products.len() < batch;
        for p in products {
            scanned += 1;
            last.clone_from(&p.id);
            if needle.as_deref().is_none_or(|n| product_matches(&p, n)) {
                rows.push(p);
                if rows.len() > PAGE {
                    rows.pop();
                    let next = rows.last().map(|p| p.id.clone());
                    return Ok((rows, next, false));
                }
            }
            if scanned >= PRODUCT_SCAN_LIMIT {
                return Ok((rows, Some(last), true));
            }
        }
        if exhausted {
            return Ok((rows, None, false));
        }
    }
}

async fn product_list(State(st): State<AppState>, staff: Staff, Query(q): Query<ProductQuery>) -> Response {
    let lang = staff.lang;
    let q_text = q.q.unwrap_or_default();
    let query = q_text.clone();
    let after = q.cursor.unwrap_or_default();
    let res = st
        .store
        .call(move |s| product_page(&s.read()?, &after, Some(&query)))
        .await;
    let (items, next, stopped) = match res {
        Ok(r) => r,
        Err(e) => return failed(lang, &e),
    };
    let rows = items
        .into_iter()
        .map(|p| {
            let currency = p.currency.as_deref();
            ProductRow {
                image: web_url(p.image_url.as_deref()),
                sku: p.sku.clone().unwrap_or_default(),
                category: p.category.clone().unwrap_or_default(),
                brand: p.brand.clone().unwrap_or_default(),
                price: money_or_dash(p.price, currency, lang),
                sale_price: p.sale_price.map(|a| i18n::money(a, currency, lang)),
                in_stock: p.in_stock,
                hidden: p.hidden,
                name: p.name,
                id: p.id,
            }
        })
        .collect();
    let next = next.map(|n| format!("/products?q={}&cursor={}", urlencode(&q_text), urlencode(&n)));
    render(&ProductListPage {
        f: Frame::new(&staff, "products"),
        q: q_text,
        rows,
        next,
        stopped,
    })
}

/// What the newest orders hold of one product.
#[derive(Default)]
struct Sales {
    orders_read: usize,
    orders: u64,
    quantity: f64,
    revenue: f64,
}

fn recent_sales(read: &ReadTx, product_id: &str) -> Result<Sales, store::Error> {
    let orders = read.orders_before(None, None, RECENT_ORDERS)?;
    let mut sales = Sales {
        orders_read: orders.len(),
        ..Sales::default()
    };
    for o in &orders {
        let mut found = false;
        for l in o.lines.iter().filter(|l| l.product_id == product_id) {
            found = true;
            sales.quantity += l.quantity;
            sales.revenue += l.price * l.quantity;
        }
        sales.orders += u64::from(found);
    }
    Ok(sales)
}

#[derive(Template)]
#[template(path = "product/show.html")]
struct ProductShowPage {
    f: Frame,
    /// Kind, touches, distinct customers.
    touches: Vec<(&'static str, String, String)>,
    id: String,
    name: String,
    image: Option<String>,
    url: Option<String>,
    in_stock: bool,
    hidden: bool,
    /// Label and value of each plain field.
    /// (label, value, whether the value is the shop's own data: names, codes).
    fields: Vec<(&'static str, String, bool)>,
    description: String,
    tags: Vec<String>,
    /// Catalogue fields that dangol does not interpret, such as `name_en`.
    extra: Vec<(String, String)>,
    /// Label and value of each sales figure.
    sales: Vec<(&'static str, String)>,
    /// What is bought with it (then the fallback), as the related API answers.
    recommended: Vec<super::recommend::Recommended>,
}

async fn product_show(State(st): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    let state = st.clone();
    let res = st
        .store
        .call(move |s| -> Result<_, catalog::Error> {
            let read = s.read()?;
            let product = catalog::get(&read, &id)?;
            let sales = recent_sales(&read, &id)?;
            let stats = read.product_stats(&id)?;
            let recommended = super::recommend::related(&state, &read, &product.id, t, lang)?;
            Ok((product, sales, stats, recommended))
        })
        .await;
    let (p, sales, stats, recommended) = match res {
        Ok(r) => r,
        Err(catalog::Error::NotFound(_)) => return not_found(&staff),
        Err(e) => return failed(lang, &e),
    };
    let currency = p.currency.as_deref();
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let when = |ms: i64| if ms > 0 { i18n::datetime(ms, tz) } else { "—".into() };
    let fields = vec![
        (t.get("products.id"), p.id.clone(), true),
        (t.get("products.sku"), or_dash(&p.sku), true),
        (t.get("products.category"), or_dash(&p.category), true),
        (t.get("products.brand"), or_dash(&p.brand), true),
        (t.get("products.price"), money_or_dash(p.price, currency, lang), false),
        (
            t.get("products.sale_price"),
            money_or_dash(p.sale_price, currency, lang),
            false,
        ),
        (
            t.get("products.currency"),
            p.currency.clone().unwrap_or_else(|| "KRW".into()),
            true,
        ),
        (t.get("products.source"), i18n::source_name(t, &p.source), false),
        (t.get("products.created"), when(p.created_at), false),
        (t.get("products.updated"), when(p.updated_at), false),
    ];
    let extra = p
        .extra
        .iter()
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), shown)
        })
        .collect();
    let sales = vec![
        (t.get("products.sales_orders"), i18n::number(sales.orders as f64, 0)),
        (t.get("products.sales_quantity"), i18n::number(sales.quantity, 0)),
        (
            t.get("products.sales_revenue"),
            i18n::money(sales.revenue, currency, lang),
        ),
        (t.get("products.orders_read"), i18n::number(sales.orders_read as f64, 0)),
    ];
    // All time, kept at write time: touches and distinct customers per kind.
    let touches = crate::store::Touch::ALL
        .iter()
        .map(|k| {
            let i = *k as usize;
            (
                t.get(match k {
                    crate::store::Touch::Viewed => "products.viewed",
                    crate::store::Touch::Carted => "products.carted",
                    crate::store::Touch::Checkout => "products.checkout",
                    crate::store::Touch::Purchased => "products.purchased",
                }),
                i18n::number(stats.touches[i] as f64, 0),
                i18n::number(stats.customers[i] as f64, 0),
            )
        })
        .collect();
    render(&ProductShowPage {
        touches,
        f: Frame::new(&staff, "products"),
        image: web_url(p.image_url.as_deref()),
        url: web_url(p.url.as_deref()),
        in_stock: p.in_stock,
        hidden: p.hidden,
        fields,
        description: p.description.unwrap_or_default(),
        tags: p.tags,
        extra,
        sales,
        recommended,
        name: p.name,
        id: p.id,
    })
}

// --- orders ------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct OrderQuery {
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
}

/// An order list's position: (placed at, order id) of the last order shown.
type OrderCursor = (i64, String);

/// The cursor as the JSON API writes it: `placed_at:order_id` in URL-safe base64.
fn encode_cursor((placed_at, id): &OrderCursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{placed_at}:{id}"))
}

fn decode_cursor(s: &str) -> Option<OrderCursor> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (t, id) = raw.split_once(':')?;
    Some((t.parse().ok()?, id.to_string()))
}

fn status_code(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Completed => "completed",
        OrderStatus::PartiallyRefunded => "partially_refunded",
        OrderStatus::Refunded => "refunded",
    }
}

fn status_label(t: &Catalog, s: OrderStatus) -> &str {
    t.get(&format!("orders.{}", status_code(s)))
}

const STATUSES: [OrderStatus; 3] = [
    OrderStatus::Completed,
    OrderStatus::PartiallyRefunded,
    OrderStatus::Refunded,
];

/// The filters of an order list, read from the query.
struct OrderFilter {
    before: Option<OrderCursor>,
    from: Option<i64>,
    status: Option<OrderStatus>,
}

/// Reads the query; `None` when a date, the status or the cursor is not one this page makes.
fn order_filter(q: &OrderQuery, tz: chrono_tz::Tz) -> Option<OrderFilter> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let day = |v: &Option<String>| -> Option<Option<NaiveDate>> {
        match given(v) {
            Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok().map(Some),
            None => Some(None),
        }
    };
    let from = day(&q.from)?.map(|d| day_start(tz, d));
    // `to` is the last day shown: the list ends where the next day starts.
    let to = day(&q.to)?.map(|d| (day_start(tz, d.succ_opt().unwrap_or(d)), String::new()));
    let cursor = match given(&q.cursor) {
        Some(c) => Some(decode_cursor(&c)?),
        None => None,
    };
    let status = match given(&q.status) {
        Some(s) => Some(*STATUSES.iter().find(|&&x| status_code(x) == s)?),
        None => None,
    };
    let before = match (cursor, to) {
        (Some(c), Some(t)) => Some(c.min(t)),
        (c, t) => c.or(t),
    };
    Some(OrderFilter { before, from, status })
}

/// A page of orders, newest first, and the cursor of the next page. A status filter reads at most
/// [`ORDER_SCAN_LIMIT`] orders; when it stops there, the cursor is the last order read and the
/// flag is set.
fn order_page(
    read: &ReadTx,
    filter: OrderFilter,
) -> Result<(Vec<OrderRecord>, Option<OrderCursor>, bool), store::Error> {
    let mut rows: Vec<OrderRecord> = Vec::new();
    let mut before = filter.before;
    let mut scanned = 0;
    loop {
        let batch = read.orders_before(before.clone(), filter.from, PAGE + 1)?;
        let exhausted = batch.len() <= PAGE;
        for o in batch {
            scanned += 1;
            before = Some((o.placed_at, o.order_id.clone()));
            if filter.status.is_none_or(|s| o.status == s) {
                rows.push(o);
                if rows.len() > PAGE {
                    rows.pop();
                    let next = rows.last().map(|o| (o.placed_at, o.order_id.clone()));
                    return Ok((rows, next, false));
                }
            }
            if scanned >= ORDER_SCAN_LIMIT {
                return Ok((rows, before, true));
            }
        }
        if exhausted {
            return Ok((rows, None, false));
        }
    }
}

/// A customer as an order shows it: a link to the profile, or "erased".
pub struct CustomerCell {
    pub id: Option<u64>,
    pub label: String,
}

fn customer_cell(read: &ReadTx, t: &Catalog, id: u64) -> Result<CustomerCell, store::Error> {
    if id == ERASED {
        return Ok(CustomerCell {
            id: None,
            label: t.get("orders.erased").to_string(),
        });
    }
    let name = read.customer(id)?.and_then(|c| c.name).filter(|n| !n.is_empty());
    Ok(CustomerCell {
        id: Some(id),
        label: name.unwrap_or_else(|| format!("#{id}")),
    })
}

pub struct OrderListRow {
    pub id: String,
    pub placed_at: String,
    pub customer: CustomerCell,
    pub status: &'static str,
    pub status_label: String,
    pub total: String,
    pub coupon: String,
}

#[derive(Template)]
#[template(path = "order/list.html")]
struct OrderListPage {
    f: Frame,
    from: String,
    to: String,
    status: String,
    /// Wire code and label of each status, for the filter.
    statuses: Vec<(&'static str, &'static str)>,
    rows: Vec<OrderListRow>,
    next: Option<String>,
    stopped: bool,
}

async fn order_list(State(st): State<AppState>, staff: Staff, Query(q): Query<OrderQuery>) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    let Some(filter) = order_filter(&q, tz) else {
        return error_page(lang, StatusCode::BAD_REQUEST, t.get("orders.bad_query"));
    };
    let res = st
        .store
        .call(move |s| -> Result<_, store::Error> {
            let read = s.read()?;
            let (orders, next, stopped) = order_page(&read, filter)?;
            let mut rows = Vec::with_capacity(orders.len());
            for o in orders {
                rows.push((customer_cell(&read, t, o.customer)?, o));
            }
            Ok((rows, next, stopped))
        })
        .await;
    let (rows, next, stopped) = match res {
        Ok(r) => r,
        Err(e) => return failed(lang, &e),
    };
    let rows = rows
        .into_iter()
        .map(|(customer, o)| OrderListRow {
            placed_at: i18n::datetime(o.placed_at, tz),
            customer,
            status: status_code(o.status),
            status_label: status_label(t, o.status).to_string(),
            total: i18n::money(o.total, o.currency.as_deref(), lang),
            coupon: o.coupon.unwrap_or_default(),
            id: o.order_id,
        })
        .collect();
    let text = |v: Option<String>| v.map(|v| v.trim().to_string()).unwrap_or_default();
    let (from, to, status) = (text(q.from), text(q.to), text(q.status));
    let next = next.map(|c| {
        format!(
            "/orders?from={}&to={}&status={}&cursor={}",
            urlencode(&from),
            urlencode(&to),
            urlencode(&status),
            encode_cursor(&c)
        )
    });
    render(&OrderListPage {
        f: Frame::new(&staff, "orders"),
        statuses: STATUSES.iter().map(|&s| (status_code(s), status_label(t, s))).collect(),
        from,
        to,
        status,
        rows,
        next,
        stopped,
    })
}

pub struct LineRow {
    pub product_id: String,
    pub name: String,
    pub sku: String,
    pub price: String,
    pub quantity: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "order/show.html")]
struct OrderShowPage {
    f: Frame,
    id: String,
    placed_at: String,
    status: &'static str,
    status_label: String,
    customer: CustomerCell,
    coupon: String,
    lines: Vec<LineRow>,
    /// Label and value of each amount.
    amounts: Vec<(&'static str, String)>,
    /// Time and amount of each refund.
    refunds: Vec<(String, String)>,
    refunded: String,
}

async fn order_show(State(st): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let (tz, lang, t) = (st.tz, staff.lang, staff.t);
    let res = st
        .store
        .call(move |s| -> Result<_, order::Error> {
            let read = s.read()?;
            let o = order::get(&read, &id)?;
            Ok((customer_cell(&read, t, o.customer)?, o))
        })
        .await;
    let (customer, o) = match res {
        Ok(r) => r,
        Err(order::Error::NotFound(_)) => return not_found(&staff),
        Err(e) => return failed(lang, &e),
    };
    let currency = o.currency.as_deref();
    let money = |a: f64| i18n::money(a, currency, lang);
    let lines = o
        .lines
        .iter()
        .map(|l| LineRow {
            product_id: l.product_id.clone(),
            name: l.name.clone().unwrap_or_else(|| l.product_id.clone()),
            sku: l.sku.clone().unwrap_or_default(),
            price: money(l.price),
            quantity: i18n::number(l.quantity, 0),
            amount: money(l.price * l.quantity),
        })
        .collect();
    let amounts = vec![
        (t.get("orders.total"), money(o.total)),
        (t.get("orders.revenue"), money_or_dash(o.revenue, currency, lang)),
        (t.get("orders.discount"), money(o.discount)),
        (t.get("orders.shipping"), money_or_dash(o.shipping, currency, lang)),
        (t.get("orders.tax"), money_or_dash(o.tax, currency, lang)),
    ];
    let refunds = o
        .refunds
        .iter()
        .map(|r| (i18n::datetime(r.at, tz), money(r.amount)))
        .collect();
    render(&OrderShowPage {
        f: Frame::new(&staff, "orders"),
        placed_at: i18n::datetime(o.placed_at, tz),
        status: status_code(o.status),
        status_label: status_label(t, o.status).to_string(),
        customer,
        coupon: o.coupon.clone().unwrap_or_else(|| "—".into()),
        lines,
        amounts,
        refunds,
        refunded: money(o.refunded_amount()),
        id: o.order_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_match_the_api() {
        let c = (1_704_067_200_000, "O:1/가".to_string());
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        assert_eq!(decode_cursor("not base64!"), None);
        assert_eq!(encode_cursor(&(5, "O-1".into())), "NTpPLTE");
    }

    #[test]
    fn days_start_at_local_midnight() {
        let seoul = chrono_tz::Asia::Seoul;
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        // 2024-01-01 00:00 in Seoul is 2023-12-31 15:00 UTC.
        assert_eq!(day_start(seoul, day), 1_704_034_800_000);
        // Havana skipped midnight on 2024-03-10: that day began at 01:00 local, 05:00 UTC.
        let havana = chrono_tz::America::Havana;
        let skipped = NaiveDate::from_ymd_opt(2024, 3, 10).unwrap();
        assert_eq!(day_start(havana, skipped), 1_710_046_800_000);
    }
}
