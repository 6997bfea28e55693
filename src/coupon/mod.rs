//! Coupons and discount codes: a coupon is a discount with its conditions (minimum order, products
//! or categories, dates, limits, stacking) and restrictions (segments, tags); a code is how a
//! customer presents it: one shared code ("WELCOME10") or unique one-time codes made in bulk and
//! issued to customers. Checking a code for a cart ([`check`]) is a pure read; redeeming it
//! ([`redeem`]) checks again inside the writer's transaction, so that of many concurrent
//! redemptions of a last use exactly one wins, and is idempotent per order id.

use std::collections::HashSet;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::store::{self, ReadTx, Tx};

mod holdings;
pub use holdings::{HoldIndex, Holdings};

/// Unique codes use these: no 0/O, 1/I/L, so that a code read aloud or typed from paper works.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Random characters of a unique code (31^10 ≈ 8 × 10^14 codes: collisions stay rare and are retried).
const CODE_LEN: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Discount {
    /// A fixed amount off the eligible lines (never more than they cost).
    Fixed { amount: f64 },
    /// A percentage of the eligible lines, at most `cap` when given.
    Percent {
        percent: f64,
        #[serde(default)]
        cap: Option<f64>,
    },
}

impl Default for Discount {
    fn default() -> Self {
        Discount::Fixed { amount: 0.0 }
    }
}

/// A discount in Korean words for messages: "3,000원 할인", "10% 할인 (최대 5,000원)".
pub fn discount_words(d: &Discount) -> String {
    let won = |v: f64| format!("{}원", crate::value::group_digits(v, 0));
    let pct = |p: f64| {
        if p.fract() == 0.0 {
            format!("{p:.0}")
        } else {
            format!("{p}")
        }
    };
    match d {
        Discount::Fixed { amount } => format!("{} 할인", won(*amount)),
        Discount::Percent { percent, cap: None } => format!("{}% 할인", pct(*percent)),
        Discount::Percent {
            percent,
            cap: Some(cap),
        } => format!("{}% 할인 (최대 {})", pct(*percent), won(*cap)),
    }
}

/// A coupon as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CouponRecord {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub discount: Discount,
    /// The cart's subtotal must reach this.
    #[serde(default)]
    pub min_order: f64,
    /// Only these products' lines count (empty with no categories: every product).
    #[serde(default)]
    pub products: Vec<String>,
    /// Only lines in these categories (any level of the path) count.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Unix millis.
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub ends_at: Option<i64>,
    /// A code issued to a customer is good for this many days from its issue.
    #[serde(default)]
    pub valid_days: Option<u32>,
    /// Uses in all, across customers.
    #[serde(default)]
    pub total_limit: Option<u64>,
    /// Uses per customer (default 1).
    #[serde(default = "one")]
    pub per_customer_limit: u32,
    /// May be used with other coupons on one order.
    #[serde(default)]
    pub stackable: bool,
    /// A fully refunded order keeps its use counted (by default a refund gives it back).
    #[serde(default)]
    pub keep_use_on_refund: bool,
    /// Issued to every customer when they sign up (a `Signed Up` event).
    #[serde(default)]
    pub issue_on_sign_up: bool,
    /// The prefix of unique codes issued automatically.
    #[serde(default)]
    pub prefix: String,
    /// The customer must be in one of these segments (live ones now, nightly ones as of their
    /// latest day) — when any are given.
    #[serde(default)]
    pub segments: Vec<u64>,
    /// Or carry one of these tags — when any are given.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The shared code, if the coupon has one.
    #[serde(default)]
    pub code: Option<String>,
    /// Uses, issued codes and the revenue of orders that used it.
    #[serde(default)]
    pub used: u64,
    #[serde(default)]
    pub issued: u64,
    #[serde(default)]
    pub revenue: f64,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

fn one() -> u32 {
    1
}

/// A code as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CodeRecord {
    pub coupon: u64,
    /// The customer a unique code was issued to (None: shared, or made and not yet issued).
    #[serde(default)]
    pub customer: Option<u64>,
    /// A unique code is used once.
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub used: bool,
    #[serde(default)]
    pub issued_at: Option<i64>,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// What a customer holds of one coupon.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hold {
    /// Codes issued to them (unique), or the shared code once used or issued.
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub uses: u32,
    #[serde(default)]
    pub issued_at: i64,
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// How it came: `api`, `segment`, `campaign`, `sign_up`, `order`.
    #[serde(default)]
    pub source: String,
}

/// One order's use of a coupon.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Redemption {
    pub coupon: u64,
    pub code: String,
    pub customer: u64,
    pub discount: f64,
    #[serde(default)]
    pub order_total: f64,
    pub at: i64,
    #[serde(default)]
    pub refunded: bool,
}

/// A cart line as the storefront sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Line {
    pub product_id: String,
    #[serde(default)]
    pub price: f64,
    #[serde(default = "one_f")]
    pub quantity: f64,
}

fn one_f() -> f64 {
    1.0
}

/// Why a code does not apply: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// A code that applies, and how much it takes off.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub coupon: u64,
    pub code: String,
    pub discount: f64,
    pub stackable: bool,
}

/// A code as typed: trimmed, upper-case.
pub fn normalise(code: &str) -> String {
    code.trim().to_uppercase()
}

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
fn stacks(accepted: &Accepted, others: &[(String, u64, bool)]) -> Option<Refusal> {
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

/// The stored uses of one order: a list (one per code), or one use as written before stacking.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum OrderUses {
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
fn decide(
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

/// A customer's first sign-up: the coupons issued on sign-up (and running now) are issued to them.
pub fn on_sign_up(tx: &mut Tx, customer: u64, at: i64) -> Result<(), store::Error> {
    for (id, c) in tx.coupons::<CouponRecord>()? {
        let running = c.starts_at.is_none_or(|s| s <= at) && c.ends_at.is_none_or(|e| at <= e);
        if c.issue_on_sign_up && running {
            issue(tx, id, &[customer], &c.prefix, "sign_up", at)?;
        }
    }
    Ok(())
}

/// Makes a new random code with `prefix`, one not in the store or in `taken`.
fn fresh_code(tx: &Tx, prefix: &str, taken: &HashSet<String>, rng: &mut impl Rng) -> Result<String, store::Error> {
    loop {
        let body: String = (0..CODE_LEN)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let code = format!("{prefix}{body}");
        if !taken.contains(&code) && tx.coupon_code::<CodeRecord>(&code)?.is_none() {
            return Ok(code);
        }
    }
}

/// Issues `coupon` to `customers` from `now`: each gets a unique code (`prefix` + ten characters of
/// an unambiguous alphabet) when the coupon has no shared code, else the shared one. A customer who
/// already holds the coupon keeps what they hold. Returns (customer, code) for those issued now.
pub fn issue(
    tx: &mut Tx,
    coupon_id: u64,
    customers: &[u64],
    prefix: &str,
    source: &str,
    now: i64,
) -> Result<Option<Vec<(u64, String)>>, store::Error> {
    let Some(mut coupon) = tx.coupon::<CouponRecord>(coupon_id)? else {
        return Ok(None);
    };
    let expires_at = coupon.valid_days.map(|d| now + i64::from(d) * 86_400_000);
    let prefix = normalise(prefix);
    let mut rng = rand::rng();
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(customers.len());
    for &customer in customers {
        if tx.coupon_hold::<Hold>(customer, coupon_id)?.is_some() {
            continue;
        }
        let code = match &coupon.code {
            Some(shared) => shared.clone(),
            None => {
                let code = fresh_code(tx, &prefix, &taken, &mut rng)?;
                taken.insert(code.clone());
                tx.put_coupon_code(
                    &code,
                    &CodeRecord {
                        coupon: coupon_id,
                        customer: Some(customer),
                        unique: true,
                        used: false,
                        issued_at: Some(now),
                        expires_at,
                    },
                )?;
                code
            }
        };
        tx.put_coupon_hold(
            customer,
            coupon_id,
            &Hold {
                codes: vec![code.clone()],
                uses: 0,
                issued_at: now,
                expires_at,
                source: source.to_string(),
            },
        )?;
        out.push((customer, code));
    }
    coupon.issued += out.len() as u64;
    tx.put_coupon(coupon_id, &coupon)?;
    Ok(Some(out))
}

/// A code prefix as typed for [`issue`] (e.g. "wb-"): normalised, or why it cannot be one.
pub fn prefix(typed: &str) -> Result<String, CouponError> {
    let p = normalise(typed);
    if p.len() > 16 || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad("prefix", "must be up to 16 letters, digits, - or _"));
    }
    Ok(p)
}

/// Of `customers`, those on record under their current id (not merged into another, not
/// erased): the ones [`issue`] may give a code to.
pub fn on_record(tx: &Tx, customers: &[u64]) -> Result<Vec<u64>, store::Error> {
    let mut live = Vec::with_capacity(customers.len());
    for &c in customers {
        if let Some(rec) = tx.customer(c)?
            && rec.merged_into.is_none()
            && rec.erased_at.is_none()
        {
            live.push(c);
        }
    }
    Ok(live)
}

/// Who holds `coupon`, in customer id order (a scan of every hold: fine for an export).
pub fn holders(read: &ReadTx, coupon: u64) -> Result<Vec<(u64, Hold)>, store::Error> {
    let mut out = Vec::new();
    read.for_each_coupon_hold::<Hold>(|customer, id, hold| {
        if id == coupon {
            out.push((customer, hold));
        }
    })?;
    Ok(out)
}

/// A coupon's codes as CSV, one row per code a customer holds: customer_id, user_id, email, code,
/// issued_at and expires_at (RFC 3339 in `tz`), used.
pub fn codes_csv(read: &ReadTx, coupon_id: u64, tz: chrono_tz::Tz) -> Result<Vec<u8>, store::Error> {
    use chrono::TimeZone;
    let coupon = read.coupon::<CouponRecord>(coupon_id)?.unwrap_or_default();
    let time = |ms: i64| {
        tz.timestamp_millis_opt(ms)
            .single()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
            .unwrap_or_default()
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into memory cannot fail.
    w.write_record([
        "customer_id",
        "user_id",
        "email",
        "code",
        "issued_at",
        "expires_at",
        "used",
    ])
    .expect("in memory");
    for (customer, hold) in holders(read, coupon_id)? {
        let rec = read.customer(customer)?;
        let (user_id, email) = rec.map(|r| (r.user_id, r.email)).unwrap_or_default();
        for code in &hold.codes {
            let used = match read.coupon_code::<CodeRecord>(code)? {
                Some(c) if c.unique => c.used,
                _ => hold.uses > 0,
            };
            w.write_record([
                customer.to_string(),
                user_id.clone().unwrap_or_default(),
                email.clone().unwrap_or_default(),
                code.clone(),
                time(hold.issued_at),
                hold_expires(&coupon, &hold).map(time).unwrap_or_default(),
                used.to_string(),
            ])
            .expect("in memory");
        }
    }
    Ok(w.into_inner().expect("in memory"))
}

/// Where a customer's coupon stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    Held,
    /// Used as often as a customer may, or its unique code used.
    Used,
    /// Past the hold's expiry or the coupon's end.
    Expired,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Held => "held",
            HoldStatus::Used => "used",
            HoldStatus::Expired => "expired",
        }
    }
}

/// When a hold stops being good: the earlier of its own expiry and the coupon's end.
pub fn hold_expires(coupon: &CouponRecord, hold: &Hold) -> Option<i64> {
    [coupon.ends_at, hold.expires_at].into_iter().flatten().min()
}

/// A hold's status at `now`; `codes` are the records of the hold's codes (a used unique code
/// means used).
pub fn hold_status(coupon: &CouponRecord, hold: &Hold, codes: &[CodeRecord], now: i64) -> HoldStatus {
    if hold.uses >= coupon.per_customer_limit || codes.iter().any(|c| c.unique && c.used) {
        HoldStatus::Used
    } else if hold_expires(coupon, hold).is_some_and(|e| now > e) {
        HoldStatus::Expired
    } else {
        HoldStatus::Held
    }
}

/// What a client sends to create or change a coupon.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CouponInput {
    pub name: String,
    pub discount: Discount,
    #[serde(default)]
    pub min_order: f64,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// RFC 3339.
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default)]
    pub valid_days: Option<u32>,
    #[serde(default)]
    pub total_limit: Option<u64>,
    #[serde(default)]
    pub per_customer_limit: Option<u32>,
    #[serde(default)]
    pub stackable: bool,
    /// A fully refunded order keeps its use counted (default: the use is given back).
    #[serde(default)]
    pub keep_use_on_refund: bool,
    /// Issue it to every customer who signs up from now on (a `Signed Up` event).
    #[serde(default)]
    pub issue_on_sign_up: bool,
    /// The prefix of unique codes issued automatically.
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub segments: Vec<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// A shared code ("WELCOME10"); without one, customers get unique codes when issued.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CouponError {
    #[error("{field}: {message}")]
    Field { field: &'static str, message: String },
    #[error("the code {0} is taken")]
    CodeTaken(String),
    #[error("no coupon {0}")]
    NotFound(u64),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for CouponError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            CouponError::Field { .. } => ErrorCode::InvalidField,
            CouponError::CodeTaken(_) => ErrorCode::Conflict,
            CouponError::NotFound(_) => ErrorCode::NotFound,
            CouponError::Store(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            CouponError::Field { field, .. } => Some(field),
            CouponError::CodeTaken(_) => Some("code"),
            _ => None,
        }
    }
}

fn bad(field: &'static str, message: impl Into<String>) -> CouponError {
    CouponError::Field {
        field,
        message: message.into(),
    }
}

impl CouponInput {
    /// The record this input describes (counters zero), or the first field that is wrong.
    fn record(&self, now: i64) -> Result<CouponRecord, CouponError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(bad("name", "must be 1 to 200 characters"));
        }
        match &self.discount {
            Discount::Fixed { amount } if !(amount.is_finite() && *amount > 0.0) => {
                return Err(bad("discount.amount", "must be a positive number"));
            }
            Discount::Percent { percent, .. } if !(percent.is_finite() && *percent > 0.0 && *percent <= 100.0) => {
                return Err(bad("discount.percent", "must be more than 0 and at most 100"));
            }
            Discount::Percent { cap: Some(c), .. } if !(c.is_finite() && *c > 0.0) => {
                return Err(bad("discount.cap", "must be a positive number"));
            }
            _ => {}
        }
        if !(self.min_order.is_finite() && self.min_order >= 0.0) {
            return Err(bad("min_order", "must be zero or more"));
        }
        let time = |field: &'static str, v: &Option<String>| -> Result<Option<i64>, CouponError> {
            v.as_deref()
                .map(|s| crate::value::parse_time(s).ok_or_else(|| bad(field, "must be an RFC 3339 time")))
                .transpose()
        };
        let (starts_at, ends_at) = (time("starts_at", &self.starts_at)?, time("ends_at", &self.ends_at)?);
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e <= s
        {
            return Err(bad("ends_at", "must be after starts_at"));
        }
        if self.per_customer_limit == Some(0) {
            return Err(bad("per_customer_limit", "must be at least 1"));
        }
        let prefix = prefix(&self.prefix)?;
        let code = match self.code.as_deref().map(normalise) {
            Some(c)
                if c.is_empty()
                    || c.len() > 64
                    || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') =>
            {
                return Err(bad("code", "must be 1 to 64 letters, digits, - or _"));
            }
            c => c,
        };
        Ok(CouponRecord {
            name: name.to_string(),
            discount: self.discount.clone(),
            min_order: self.min_order,
            products: self.products.clone(),
            categories: self
                .categories
                .iter()
                .filter_map(|c| crate::catalog::category_levels(c).pop())
                .collect(),
            starts_at,
            ends_at,
            valid_days: self.valid_days,
            total_limit: self.total_limit,
            per_customer_limit: self.per_customer_limit.unwrap_or(1),
            stackable: self.stackable,
            keep_use_on_refund: self.keep_use_on_refund,
            issue_on_sign_up: self.issue_on_sign_up,
            prefix,
            segments: self.segments.clone(),
            tags: self
                .tags
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            code,
            created_at: now,
            updated_at: now,
            ..CouponRecord::default()
        })
    }
}

/// Creates a coupon (and its shared code, if it has one); returns its id.
pub fn create(tx: &mut Tx, input: &CouponInput, now: i64) -> Result<u64, CouponError> {
    let rec = input.record(now)?;
    if let Some(code) = &rec.code
        && tx.coupon_code::<CodeRecord>(code)?.is_some()
    {
        return Err(CouponError::CodeTaken(code.clone()));
    }
    let id = tx.next_coupon_id()?;
    if let Some(code) = &rec.code {
        tx.put_coupon_code(
            code,
            &CodeRecord {
                coupon: id,
                ..CodeRecord::default()
            },
        )?;
    }
    tx.put_coupon(id, &rec)?;
    Ok(id)
}

/// Replaces a coupon's terms; its counts, issued codes and holds stay. A new shared code takes the
/// old one's place (the old code stops working).
pub fn update(tx: &mut Tx, id: u64, input: &CouponInput, now: i64) -> Result<(), CouponError> {
    let old = tx.coupon::<CouponRecord>(id)?.ok_or(CouponError::NotFound(id))?;
    let mut rec = input.record(now)?;
    if rec.code != old.code {
        if let Some(code) = &rec.code
            && tx.coupon_code::<CodeRecord>(code)?.is_some()
        {
            return Err(CouponError::CodeTaken(code.clone()));
        }
        if let Some(code) = &old.code {
            tx.delete_coupon_code(code)?;
        }
        if let Some(code) = &rec.code {
            tx.put_coupon_code(
                code,
                &CodeRecord {
                    coupon: id,
                    ..CodeRecord::default()
                },
            )?;
        }
    }
    rec.used = old.used;
    rec.issued = old.issued;
    rec.revenue = old.revenue;
    rec.created_at = old.created_at;
    tx.put_coupon(id, &rec)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nobody;
    impl Membership for Nobody {
        fn is_member(&self, _: u64, _: u64) -> Result<bool, store::Error> {
            Ok(false)
        }
    }
    struct Everyone;
    impl Membership for Everyone {
        fn is_member(&self, _: u64, _: u64) -> Result<bool, store::Error> {
            Ok(true)
        }
    }

    fn line(id: &str, price: f64, quantity: f64) -> Line {
        Line {
            product_id: id.into(),
            price,
            quantity,
        }
    }

    fn run(
        coupon: &CouponRecord,
        hold: Option<&Hold>,
        tags: &[&str],
        m: &dyn Membership,
        lines: &[Line],
    ) -> Result<f64, &'static str> {
        let code = CodeRecord {
            coupon: 1,
            ..CodeRecord::default()
        };
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        let category = |id: &str| -> Result<Option<String>, store::Error> {
            Ok(Some(
                if id.starts_with('P') {
                    "뷰티/향수"
                } else {
                    "식품/초콜릿"
                }
                .to_string(),
            ))
        };
        match decide(coupon, 1, "X", &code, hold, &tags, Some(7), m, lines, 1_000, &category).unwrap() {
            Ok(a) => Ok(a.discount),
            Err(r) => Err(r.code),
        }
    }

    #[test]
    fn discounts_minimums_products_and_restrictions() {
        let ten = CouponRecord {
            discount: Discount::Percent {
                percent: 10.0,
                cap: Some(5_000.0),
            },
            min_order: 30_000.0,
            per_customer_limit: 1,
            ..CouponRecord::default()
        };
        assert_eq!(run(&ten, None, &[], &Nobody, &[line("P1", 25_000.0, 2.0)]), Ok(5_000.0));
        assert_eq!(run(&ten, None, &[], &Nobody, &[line("P1", 35_000.0, 1.0)]), Ok(3_500.0));
        assert_eq!(
            run(&ten, None, &[], &Nobody, &[line("P1", 20_000.0, 1.0)]),
            Err("minimum_not_reached")
        );
        let used = Hold {
            uses: 1,
            ..Hold::default()
        };
        assert_eq!(
            run(&ten, Some(&used), &[], &Nobody, &[line("P1", 35_000.0, 1.0)]),
            Err("customer_limit_reached")
        );
        // Only the chocolate lines count for a chocolate coupon; a fixed amount never exceeds them.
        let choco = CouponRecord {
            discount: Discount::Fixed { amount: 8_000.0 },
            categories: vec!["식품".into()],
            per_customer_limit: 1,
            ..CouponRecord::default()
        };
        assert_eq!(
            run(
                &choco,
                None,
                &[],
                &Nobody,
                &[line("P1", 50_000.0, 1.0), line("C1", 5_000.0, 1.0)]
            ),
            Ok(5_000.0)
        );
        assert_eq!(
            run(&choco, None, &[], &Nobody, &[line("P1", 50_000.0, 1.0)]),
            Err("no_eligible_products")
        );
        // Restricted to a segment or a tag.
        let vip = CouponRecord {
            discount: Discount::Fixed { amount: 1_000.0 },
            segments: vec![3],
            tags: vec!["vip".into()],
            per_customer_limit: 1,
            ..CouponRecord::default()
        };
        let cart = [line("P1", 10_000.0, 1.0)];
        assert_eq!(run(&vip, None, &[], &Nobody, &cart), Err("not_eligible"));
        assert_eq!(run(&vip, None, &["vip"], &Nobody, &cart), Ok(1_000.0));
        assert_eq!(run(&vip, None, &[], &Everyone, &cart), Ok(1_000.0));
        // Dates and the total limit.
        let late = CouponRecord {
            ends_at: Some(999),
            ..vip.clone()
        };
        assert_eq!(run(&late, None, &["vip"], &Nobody, &cart), Err("expired"));
        let early = CouponRecord {
            starts_at: Some(2_000),
            ..vip.clone()
        };
        assert_eq!(run(&early, None, &["vip"], &Nobody, &cart), Err("not_started"));
        let gone = CouponRecord {
            total_limit: Some(5),
            used: 5,
            ..vip
        };
        assert_eq!(run(&gone, None, &["vip"], &Nobody, &cart), Err("limit_reached"));
    }

    #[test]
    fn a_hold_is_used_expired_or_held() {
        let coupon = CouponRecord {
            per_customer_limit: 2,
            ends_at: Some(5_000),
            ..CouponRecord::default()
        };
        let hold = |uses, expires_at| Hold {
            uses,
            expires_at,
            ..Hold::default()
        };
        let unique = |used| CodeRecord {
            unique: true,
            used,
            ..CodeRecord::default()
        };
        assert_eq!(hold_status(&coupon, &hold(1, None), &[], 1_000), HoldStatus::Held);
        assert_eq!(hold_status(&coupon, &hold(2, None), &[], 1_000), HoldStatus::Used);
        assert_eq!(
            hold_status(&coupon, &hold(0, None), &[unique(true)], 1_000),
            HoldStatus::Used
        );
        assert_eq!(
            hold_status(&coupon, &hold(0, None), &[unique(false)], 1_000),
            HoldStatus::Held
        );
        assert_eq!(hold_status(&coupon, &hold(0, None), &[], 6_000), HoldStatus::Expired);
        assert_eq!(
            hold_status(&coupon, &hold(0, Some(900)), &[], 1_000),
            HoldStatus::Expired
        );
        assert_eq!(hold_expires(&coupon, &hold(0, Some(9_000))), Some(5_000));
        assert_eq!(prefix(" wb-").unwrap(), "WB-");
        assert!(prefix("a b").is_err() && prefix(&"x".repeat(17)).is_err());
    }

    #[test]
    fn an_order_written_before_stacking_reads_as_one_use() {
        let r = Redemption {
            coupon: 3,
            code: "A".into(),
            customer: 7,
            discount: 1000.0,
            order_total: 9000.0,
            at: 5,
            refunded: false,
        };
        let one: OrderUses = store::codec::decode("t", "k", &store::codec::encode(&r)).unwrap();
        assert!(matches!(one, OrderUses::One(ref x) if x.code == "A" && x.coupon == 3));
        let many: OrderUses =
            store::codec::decode("t", "k", &store::codec::encode(&OrderUses::Many(vec![r.clone(), r]))).unwrap();
        assert!(matches!(many, OrderUses::Many(ref v) if v.len() == 2));
    }

    #[test]
    fn stacking_needs_every_coupon_stackable_and_a_coupon_once() {
        let a = |stackable| Accepted {
            coupon: 1,
            code: "NEW".into(),
            discount: 1.0,
            stackable,
        };
        assert_eq!(stacks(&a(false), &[]), None);
        assert_eq!(stacks(&a(true), &[("B".into(), 2, true)]), None);
        assert_eq!(
            stacks(&a(false), &[("B".into(), 2, true)]).unwrap().code,
            "not_stackable"
        );
        let r = stacks(&a(true), &[("B".into(), 2, true), ("C".into(), 3, false)]).unwrap();
        assert!(r.message.starts_with("C is already applied"), "{}", r.message);
        assert_eq!(
            stacks(&a(true), &[("OTHER".into(), 1, true)]).unwrap().code,
            "already_applied"
        );
    }

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        assert!(!ALPHABET.iter().any(|c| b"01OIL".contains(c)));
        assert_eq!(normalise("  welcome10 "), "WELCOME10");
    }
}
