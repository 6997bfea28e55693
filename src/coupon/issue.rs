//! Issuing: codes made in bulk and given to customers (a segment, a campaign, a sign-up),
//! what each customer holds, and the codes' export.

use std::collections::HashSet;

use rand::Rng;

use crate::store::{self, ReadTx, Tx};
use crate::value::csv_cell;

use super::*;

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

/// The `n` latest holds of a coupon, newest issue first (ties by customer), and how many hold it.
pub fn latest_holders(read: &ReadTx, coupon: u64, n: usize) -> Result<(u64, Vec<(u64, Hold)>), store::Error> {
    let mut all = holders(read, coupon)?;
    let total = all.len() as u64;
    all.sort_by_key(|(customer, hold)| (std::cmp::Reverse(hold.issued_at), *customer));
    all.truncate(n);
    Ok((total, all))
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
            let cell = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or_default()).into_owned();
            w.write_record([
                customer.to_string(),
                cell(&user_id),
                cell(&email),
                csv_cell(code).into_owned(),
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
