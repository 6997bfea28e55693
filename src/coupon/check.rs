//! Checking a code for a cart: a pure read (the storefront's `validate`, and again inside
//! `redeem`). Stacking: every coupon on an order must allow it, and a coupon counts once.

use crate::store::{self, ReadTx};

use super::*;

/// Whether the customer may use a coupon restricted to segments: asked of the caller, which knows
/// the segments (live ones evaluate now, nightly ones read their latest day).
pub trait Membership {
    fn is_member(&self, segment: u64, customer: u64) -> Result<bool, store::Error>;
}

/// Checks `code` for `customer` (None: an anonymous visitor the store does not know yet) and a
/// cart at `now`.
pub fn check(
    read: &ReadTx,
    segments: &dyn Membership,
    code: &str,
    customer: Option<u64>,
    lines: &[Line],
    applied: &[String],
    now: i64,
) -> Result<Result<Accepted, Refusal>, store::Error> {
    let code = normalise(code);
    let Some(c) = read.coupon_code::<CodeRecord>(&code)? else {
        return Ok(Err(refuse("unknown_code", format!("There is no coupon code {code}."))));
    };
    let Some(coupon) = read.coupon::<CouponRecord>(c.coupon)? else {
        return Ok(Err(refuse("unknown_code", format!("There is no coupon code {code}."))));
    };
    let hold = match customer {
        Some(id) => read.coupon_hold::<Hold>(id, c.coupon)?,
        None => None,
    };
    let tags = match customer {
        Some(id) => read.customer(id)?.map(|r| r.tags).unwrap_or_default(),
        None => Vec::new(),
    };
    let decided = decide(
        &coupon,
        c.coupon,
        &code,
        &c,
        hold.as_ref(),
        &tags,
        customer,
        segments,
        lines,
        now,
        &|id| read.product(id).map(|p| p.and_then(|p| p.category)),
    )?;
    let Ok(accepted) = decided else {
        return Ok(decided);
    };
    // The other codes on the cart, as they would be redeemed with this one.
    let mut others = Vec::new();
    for other in applied
        .iter()
        .map(|a| normalise(a))
        .filter(|a| !a.is_empty() && *a != code)
    {
        if let Some(oc) = read.coupon_code::<CodeRecord>(&other)?
            && let Some(o) = read.coupon::<CouponRecord>(oc.coupon)?
        {
            others.push((other, oc.coupon, o.stackable));
        }
    }
    Ok(match stacks(&accepted, &others) {
        Some(refusal) => Err(refusal),
        None => Ok(accepted),
    })
}

/// Whether `accepted` may go on one order with `others` (code, coupon, stackable): a coupon once
/// per order, and more than one coupon only when every one of them is stackable.
pub(super) fn stacks(accepted: &Accepted, others: &[(String, u64, bool)]) -> Option<Refusal> {
    if let Some((other, _, _)) = others.iter().find(|(_, coupon, _)| *coupon == accepted.coupon) {
        return Some(refuse(
            "already_applied",
            format!(
                "{} is the same coupon as {other}, which is already applied.",
                accepted.code
            ),
        ));
    }
    if others.is_empty() {
        return None;
    }
    if !accepted.stackable {
        return Some(refuse(
            "not_stackable",
            format!("{} cannot be combined with other coupons.", accepted.code),
        ));
    }
    let (other, _, _) = others.iter().find(|(_, _, stackable)| !stackable)?;
    Some(refuse(
        "not_stackable",
        format!("{other} is already applied and cannot be combined with other coupons."),
    ))
}
