//! A coupon as the API and the console take it, its checks, and creating and updating one.

use serde::Deserialize;

use crate::store::{self, Tx};

use super::*;

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

pub(super) fn bad(field: &'static str, message: impl Into<String>) -> CouponError {
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
