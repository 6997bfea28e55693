//! Orders from `Order Completed` and `Order Refunded` (E-commerce Spec v2), with the customer
//! aggregates they change. Called by `track` inside the writer, and by `api` for reads.

use serde_json::{Map, Value};

use crate::catalog;
use crate::store::records::{OrderLine, OrderRecord, OrderStatus, Refund};
use crate::store::{self, ReadTx, Touch, Tx};
use crate::value::number;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("order {0:?} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for Error {
    fn code(&self) -> crate::error::ErrorCode {
        match self {
            Error::NotFound(_) => crate::error::ErrorCode::OrderNotFound,
            Error::Store(_) => crate::error::ErrorCode::Internal,
        }
    }
}

fn text(props: &Map<String, Value>, key: &str) -> Option<String> {
    match props.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn num(props: &Map<String, Value>, key: &str) -> Option<f64> {
    props.get(key).and_then(number)
}

/// A line's product properties, as the event sent them.
pub type LineProps<'a> = &'a Map<String, Value>;

/// The products of an event: `properties.products[]`, or the event's own product properties.
pub fn lines_of<'a>(
    tx: &mut Tx,
    props: &'a Map<String, Value>,
) -> Result<Vec<(OrderLine, LineProps<'a>)>, store::Error> {
    let items: Vec<&Map<String, Value>> = match props.get("products").and_then(Value::as_array) {
        Some(items) => items.iter().filter_map(Value::as_object).collect(),
        None => vec![props],
    };
    let mut out = Vec::with_capacity(items.len());
    for p in items {
        if let Some(id) = catalog::product_id_of(tx, p)? {
            // A line without a category is in its catalogue product's category.
            let category = match text(p, "category") {
                Some(c) => Some(c),
                None => tx.product_category(&id)?,
            };
            let line = OrderLine {
                product_id: id,
                sku: text(p, "sku"),
                name: text(p, "name"),
                category,
                price: num(p, "price").unwrap_or(0.0),
                quantity: num(p, "quantity").unwrap_or(1.0),
            };
            out.push((line, p));
        }
    }
    Ok(out)
}

/// Records an order, its customer's order aggregates and purchase interests. A second
/// `Order Completed` for a known order id (another message id) changes nothing.
pub fn complete(
    tx: &mut Tx,
    customer: u64,
    props: &Map<String, Value>,
    seq: u64,
    at: i64,
) -> Result<bool, store::Error> {
    let Some(order_id) = text(props, "order_id") else {
        return Ok(false);
    };
    if tx.order(&order_id)?.is_some() {
        return Ok(false);
    }
    let with_props = lines_of(tx, props)?;
    let discount = num(props, "discount").unwrap_or(0.0);
    let lines_total: f64 = with_props.iter().map(|(l, _)| l.price * l.quantity).sum();
    let total = num(props, "total")
        .or(num(props, "revenue"))
        .or(num(props, "value"))
        .unwrap_or((lines_total - discount).max(0.0));
    for (line, p) in &with_props {
        catalog::observe(tx, &line.product_id, p, at)?;
        touch(
            tx,
            customer,
            Touch::Purchased,
            &line.product_id,
            line.category.as_deref(),
            at,
        )?;
    }
    let order = OrderRecord {
        order_id,
        customer,
        placed_at: at,
        status: OrderStatus::Completed,
        currency: text(props, "currency"),
        total,
        revenue: num(props, "revenue"),
        discount,
        shipping: num(props, "shipping"),
        tax: num(props, "tax"),
        coupon: text(props, "coupon"),
        lines: with_props.into_iter().map(|(l, _)| l).collect(),
        refunds: Vec::new(),
        seq,
    };
    tx.note_order(customer, order.lines.iter().map(|l| l.product_id.clone()).collect());
    if let Some(codes) = order.coupon.as_deref() {
        crate::coupon::record_order(tx, codes, customer, &order.order_id, discount, total, at)?;
    }
    tx.put_order(&order)?;
    tx.bump_rollup(at, |r| {
        r.orders += 1;
        r.revenue += total;
    })?;
    let rec = tx.customer_mut(customer)?.expect("order's customer exists");
    let s = &mut rec.stats;
    s.orders_count += 1;
    s.total_spent += total;
    s.first_order_at = Some(s.first_order_at.map_or(at, |f| f.min(at)));
    s.last_order_at = s.last_order_at.max(Some(at));
    Ok(true)
}

/// Applies a refund to a known order: the amount is `total` (or `revenue`), else the refunded
/// products' value, else what remains of the order. Unknown orders are only logged as events.
pub fn refund(tx: &mut Tx, props: &Map<String, Value>, message_id: &str, at: i64) -> Result<bool, store::Error> {
    let Some(order_id) = text(props, "order_id") else {
        return Ok(false);
    };
    let Some(mut order) = tx.order(&order_id)? else {
        return Ok(false);
    };
    let remaining = (order.total - order.refunded_amount()).max(0.0);
    let products_value: f64 = match props.get("products") {
        Some(_) => lines_of(tx, props)?.iter().map(|(l, _)| l.price * l.quantity).sum(),
        None => 0.0,
    };
    let asked = num(props, "total")
        .or(num(props, "revenue"))
        .or((products_value > 0.0).then_some(products_value))
        .unwrap_or(remaining);
    let amount = asked.min(remaining).max(0.0);
    if amount <= 0.0 {
        return Ok(false);
    }
    order.refunds.push(Refund {
        at,
        amount,
        message_id: message_id.to_string(),
    });
    order.status = if order.refunded_amount() + 0.005 >= order.total {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    };
    if order.status == OrderStatus::Refunded {
        crate::coupon::give_back(tx, &order.order_id)?;
    }
    tx.put_order(&order)?;
    tx.bump_rollup(at, |r| {
        r.refunds += 1;
        r.refunded += amount;
    })?;
    if let Some(rec) = tx.customer_mut(order.customer)? {
        rec.stats.refunds_count += 1;
        rec.stats.refunded_amount += amount;
        rec.stats.total_spent -= amount;
    }
    Ok(true)
}

/// Counts one touch of a product and of each level of its category.
pub fn touch(
    tx: &mut Tx,
    customer: u64,
    kind: Touch,
    product_id: &str,
    category: Option<&str>,
    at: i64,
) -> Result<(), store::Error> {
    let first = tx.bump_interest(customer, kind, &format!("p:{product_id}"), at)?;
    tx.bump_product_stats(product_id, kind, first)?;
    tx.bump_product_day(product_id, kind, at);
    if let Some(c) = category {
        for level in catalog::category_levels(c) {
            tx.bump_interest(customer, kind, &format!("c:{level}"), at)?;
        }
    }
    Ok(())
}

pub fn get(read: &ReadTx, id: &str) -> Result<OrderRecord, Error> {
    read.order(id)?.ok_or_else(|| Error::NotFound(id.to_string()))
}
