//! Coupons and discount codes: a coupon is a discount with its conditions (minimum order, products
//! or categories, dates, limits, stacking) and restrictions (segments, tags); a code is how a
//! customer presents it: one shared code ("WELCOME10") or unique one-time codes made in bulk and
//! issued to customers. Checking a code for a cart ([`check`]) is a pure read; redeeming it
//! ([`redeem`]) checks again inside the writer's transaction, so that of many concurrent
//! redemptions of a last use exactly one wins, and is idempotent per order id.

use serde::{Deserialize, Serialize};

mod check;
mod holdings;
mod input;
mod issue;
mod redeem;
pub use holdings::{HoldIndex, Holdings};

use check::stacks;
pub use check::*;
use input::bad;
pub use input::*;
pub use issue::*;
use redeem::decide;
pub use redeem::*;

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
    /// How it came: `api`, `segment`, `campaign`, `sign_up`, `order`, `console` (a customer's page),
    /// `onsite` (an on-site message).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

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
