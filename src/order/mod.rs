//! Orders from `Order Completed` and `Order Refunded` (E-commerce Spec v2), with the customer
//! aggregates they change. Called by `track` inside the writer, and by `api` for reads.

use serde_json::{Map, Value};

use crate::catalog::{self, lines_of};
use crate::store::records::{OrderRecord, OrderStatus, Refund};
use crate::store::{self, ReadTx, Touch, Tx};
use crate::value::number;

fn text(props: &Map<String, Value>, key: &str) -> Option<String> {
    catalog::id_text(props, key)
}

fn num(props: &Map<String, Value>, key: &str) -> Option<f64> {
    props.get(key).and_then(number)
}

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

/// Records an order, its customer's order aggregates and purchase interests; its total when it
/// is new. A second `Order Completed` for a known order id (another message id) changes nothing.
pub fn complete(
    tx: &mut Tx,
    customer: u64,
    props: &Map<String, Value>,
    seq: u64,
    at: i64,
) -> Result<Option<f64>, store::Error> {
    let Some(order_id) = text(props, "order_id") else {
        return Ok(None);
    };
    if tx.order(&order_id)?.is_some() {
        return Ok(None);
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
        catalog::touch(
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
    Ok(Some(total))
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

pub fn get(read: &ReadTx, id: &str) -> Result<OrderRecord, Error> {
    read.order(id)?.ok_or_else(|| Error::NotFound(id.to_string()))
}
