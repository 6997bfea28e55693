//! Redeeming inside the writer's transaction, so that of many concurrent redemptions of a last
//! use exactly one wins; idempotent per order id. Orders record their coupons' uses; refunds give
//! them back.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::store::{self, Tx};

use super::*;

/// The stored uses of one order: a list (one per code), or one use as written before stacking.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum OrderUses {
    Many(Vec<Redemption>),
    One(Redemption),
}

/// The coupons `order_id` used, one redemption per code.
pub fn order_uses(tx: &Tx, order_id: &str) -> Result<Vec<Redemption>, store::Error> {
    Ok(match tx.coupon_redemption::<OrderUses>(order_id)? {
        None => Vec::new(),
        Some(OrderUses::Many(v)) => v,
        Some(OrderUses::One(r)) => vec![r],
    })
}

fn put_order_uses(tx: &mut Tx, order_id: &str, uses: Vec<Redemption>) -> Result<(), store::Error> {
    tx.put_coupon_redemption(order_id, &OrderUses::Many(uses))
}

/// Counts one use of `code` (coupon `c.coupon`) by `customer` for an order worth `total`: the
/// coupon's uses and revenue, a unique code spent, the customer's hold.
fn count_use(
    tx: &mut Tx,
    code: &str,
    c: &mut CodeRecord,
    coupon: &mut CouponRecord,
    customer: u64,
    total: f64,
    now: i64,
) -> Result<(), store::Error> {
    coupon.used += 1;
    coupon.revenue += total;
    tx.put_coupon(c.coupon, coupon)?;
    if c.unique {
        c.used = true;
        tx.put_coupon_code(code, c)?;
    }
    let mut hold = tx.coupon_hold::<Hold>(customer, c.coupon)?.unwrap_or_else(|| Hold {
        issued_at: now,
        source: "order".into(),
        ..Hold::default()
    });
    hold.uses += 1;
    if !hold.codes.iter().any(|h| h == code) {
        hold.codes.push(code.to_string());
    }
    tx.put_coupon_hold(customer, c.coupon, &hold)
}

/// The rules, in the order a customer would want to hear them.
#[allow(clippy::too_many_arguments)]
pub(super) fn decide(
    coupon: &CouponRecord,
    coupon_id: u64,
    code: &str,
    c: &CodeRecord,
    hold: Option<&Hold>,
    tags: &[String],
    customer: Option<u64>,
    segments: &dyn Membership,
    lines: &[Line],
    now: i64,
    category_of: &dyn Fn(&str) -> Result<Option<String>, store::Error>,
) -> Result<Result<Accepted, Refusal>, store::Error> {
    if coupon.starts_at.is_some_and(|s| now < s) {
        return Ok(Err(refuse(
            "not_started",
            format!("{code} can be used from a later date."),
        )));
    }
    let expires = [coupon.ends_at, c.expires_at, hold.and_then(|h| h.expires_at)]
        .into_iter()
        .flatten()
        .min();
    if expires.is_some_and(|e| now > e) {
        return Ok(Err(refuse("expired", format!("{code} has expired."))));
    }
    if c.unique {
        if c.used {
            return Ok(Err(refuse("already_used", format!("{code} has been used."))));
        }
        if c.customer.is_some() && c.customer != customer {
            return Ok(Err(refuse("not_yours", format!("{code} was issued to someone else."))));
        }
    }
    if coupon.total_limit.is_some_and(|n| coupon.used >= n) {
        return Ok(Err(refuse("limit_reached", format!("{code} has been used up."))));
    }
    if hold.is_some_and(|h| h.uses >= coupon.per_customer_limit) {
        return Ok(Err(refuse(
            "customer_limit_reached",
            format!("{code} can be used {} time(s) per customer.", coupon.per_customer_limit),
        )));
    }
    if !coupon.segments.is_empty() || !coupon.tags.is_empty() {
        let by_tag = coupon.tags.iter().any(|t| tags.contains(t));
        let mut by_segment = false;
        if let Some(id) = customer
            && !by_tag
        {
            for s in &coupon.segments {
                if segments.is_member(*s, id)? {
                    by_segment = true;
                    break;
                }
            }
        }
        if !by_tag && !by_segment {
            return Ok(Err(refuse(
                "not_eligible",
                format!("{code} is for selected customers only."),
            )));
        }
    }
    let subtotal: f64 = lines.iter().map(|l| l.price * l.quantity).sum();
    if subtotal < coupon.min_order {
        return Ok(Err(refuse(
            "minimum_not_reached",
            format!("{code} needs an order of at least {}.", coupon.min_order),
        )));
    }
    let mut eligible = 0.0;
    let wanted: HashSet<&str> = coupon.categories.iter().map(String::as_str).collect();
    for l in lines {
        let fits = if (coupon.products.is_empty() && coupon.categories.is_empty())
            || coupon.products.contains(&l.product_id)
        {
            true
        } else if wanted.is_empty() {
            false
        } else {
            category_of(&l.product_id)?
                .as_deref()
                .map(crate::catalog::category_levels)
                .unwrap_or_default()
                .iter()
                .any(|level| wanted.contains(level.as_str()))
        };
        if fits {
            eligible += l.price * l.quantity;
        }
    }
    if eligible <= 0.0 {
        return Ok(Err(refuse(
            "no_eligible_products",
            format!("{code} does not apply to the products in the cart."),
        )));
    }
    let discount = match &coupon.discount {
        Discount::Fixed { amount } => amount.min(eligible),
        Discount::Percent { percent, cap } => {
            let d = (eligible * percent / 100.0).floor();
            cap.map_or(d, |c| d.min(c))
        }
    };
    Ok(Ok(Accepted {
        coupon: coupon_id,
        code: code.to_string(),
        discount,
        stackable: coupon.stackable,
    }))
}

/// A redemption's outcome: applied now, applied before (the same order again), or refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Redeemed {
    Applied(Accepted),
    Again(Accepted),
    Refused(Refusal),
}

/// Uses `code` for `order_id` inside the writer's transaction: checked again against the counts
/// as committed so far, then counted (coupon, code, the customer's hold) and recorded per order.
#[allow(clippy::too_many_arguments)]
pub fn redeem(
    tx: &mut Tx,
    segments: &dyn Membership,
    code: &str,
    customer: u64,
    order_id: &str,
    lines: &[Line],
    order_total: Option<f64>,
    now: i64,
) -> Result<Redeemed, store::Error> {
    let code = normalise(code);
    let mut uses = order_uses(tx, order_id)?;
    if let Some(r) = uses.iter().find(|r| r.code == code) {
        let stackable = tx.coupon::<CouponRecord>(r.coupon)?.is_some_and(|c| c.stackable);
        return Ok(Redeemed::Again(Accepted {
            coupon: r.coupon,
            code: r.code.clone(),
            discount: r.discount,
            stackable,
        }));
    }
    let Some(mut c) = tx.coupon_code::<CodeRecord>(&code)? else {
        return Ok(Redeemed::Refused(refuse(
            "unknown_code",
            format!("There is no coupon code {code}."),
        )));
    };
    let Some(mut coupon) = tx.coupon::<CouponRecord>(c.coupon)? else {
        return Ok(Redeemed::Refused(refuse(
            "unknown_code",
            format!("There is no coupon code {code}."),
        )));
    };
    let hold = tx.coupon_hold::<Hold>(customer, c.coupon)?;
    let tags = tx.customer(customer)?.map(|r| r.tags).unwrap_or_default();
    let decided = {
        let category_of =
            |id: &str| -> Result<Option<String>, store::Error> { Ok(tx.product(id)?.and_then(|p| p.category)) };
        decide(
            &coupon,
            c.coupon,
            &code,
            &c,
            hold.as_ref(),
            &tags,
            Some(customer),
            segments,
            lines,
            now,
            &category_of,
        )?
    };
    let accepted = match decided {
        Ok(a) => a,
        Err(r) => return Ok(Redeemed::Refused(r)),
    };
    let mut others = Vec::with_capacity(uses.len());
    for r in uses.iter().filter(|r| !r.refunded) {
        let stackable = tx.coupon::<CouponRecord>(r.coupon)?.is_some_and(|o| o.stackable);
        others.push((r.code.clone(), r.coupon, stackable));
    }
    if let Some(refusal) = stacks(&accepted, &others) {
        return Ok(Redeemed::Refused(refusal));
    }
    let total =
        order_total.unwrap_or_else(|| lines.iter().map(|l| l.price * l.quantity).sum::<f64>() - accepted.discount);
    count_use(tx, &code, &mut c, &mut coupon, customer, total, now)?;
    uses.push(Redemption {
        coupon: c.coupon,
        code: code.clone(),
        customer,
        discount: accepted.discount,
        order_total: total,
        at: now,
        refunded: false,
    });
    put_order_uses(tx, order_id, uses)?;
    Ok(Redeemed::Applied(accepted))
}

/// Records an `Order Completed` that names a `coupon` (one code, or several separated by commas):
/// each known code's use is counted for the order's customer, as a redemption would (the order
/// has happened: its conditions are not checked again). Codes the order already redeemed are
/// left alone; the order's discount not yet accounted for is split evenly over the codes added.
pub fn record_order(
    tx: &mut Tx,
    codes: &str,
    customer: u64,
    order_id: &str,
    discount: f64,
    total: f64,
    at: i64,
) -> Result<(), store::Error> {
    let mut uses = order_uses(tx, order_id)?;
    let mut found = Vec::new();
    for code in codes.split(',').map(normalise).filter(|c| !c.is_empty()) {
        if uses.iter().any(|r| r.code == code) || found.iter().any(|(c, _, _): &(String, _, _)| *c == code) {
            continue;
        }
        let Some(c) = tx.coupon_code::<CodeRecord>(&code)? else {
            continue;
        };
        let Some(coupon) = tx.coupon::<CouponRecord>(c.coupon)? else {
            continue;
        };
        if uses.iter().any(|r| r.coupon == c.coupon)
            || found.iter().any(|(_, f, _): &(_, CodeRecord, _)| f.coupon == c.coupon)
        {
            continue;
        }
        found.push((code, c, coupon));
    }
    if found.is_empty() {
        return Ok(());
    }
    let accounted: f64 = uses.iter().map(|r| r.discount).sum();
    let share = ((discount - accounted).max(0.0) / found.len() as f64 * 100.0).round() / 100.0;
    for (code, mut c, mut coupon) in found {
        count_use(tx, &code, &mut c, &mut coupon, customer, total, at)?;
        uses.push(Redemption {
            coupon: c.coupon,
            code,
            customer,
            discount: share,
            order_total: total,
            at,
            refunded: false,
        });
    }
    put_order_uses(tx, order_id, uses)
}

/// A fully refunded order gives its coupon uses back (each coupon's count, the customer's, a
/// unique code's), except for coupons that say a refund keeps the use. True if any came back.
pub fn give_back(tx: &mut Tx, order_id: &str) -> Result<bool, store::Error> {
    let mut uses = order_uses(tx, order_id)?;
    let mut any = false;
    for r in uses.iter_mut().filter(|r| !r.refunded) {
        let Some(mut coupon) = tx.coupon::<CouponRecord>(r.coupon)? else {
            continue;
        };
        if coupon.keep_use_on_refund {
            continue;
        }
        coupon.used = coupon.used.saturating_sub(1);
        coupon.revenue -= r.order_total;
        tx.put_coupon(r.coupon, &coupon)?;
        if let Some(mut c) = tx.coupon_code::<CodeRecord>(&r.code)?
            && c.unique
        {
            c.used = false;
            tx.put_coupon_code(&r.code, &c)?;
        }
        if let Some(mut hold) = tx.coupon_hold::<Hold>(r.customer, r.coupon)? {
            hold.uses = hold.uses.saturating_sub(1);
            tx.put_coupon_hold(r.customer, r.coupon, &hold)?;
        }
        r.refunded = true;
        any = true;
    }
    if any {
        put_order_uses(tx, order_id, uses)?;
    }
    Ok(any)
}
