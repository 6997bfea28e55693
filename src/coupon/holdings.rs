//! What customers hold, for the segment attributes `available_coupons` and `coupon_codes`: an
//! in-memory copy of the coupon holds, made again when a commit has written holds since it was
//! made (the store counts those commits), so that a rule over coupons reads memory, not every hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{CouponRecord, Hold};
use crate::store::{self, ReadTx, Store};

/// One coupon a customer holds, as the attributes need it.
#[derive(Debug, Clone)]
struct Held {
    coupon: u64,
    uses: u32,
    expires_at: Option<i64>,
    codes: Vec<String>,
}

/// Every customer's holds, as of one read of the store, in customer id order.
#[derive(Debug, Default)]
pub struct HoldIndex {
    customers: Vec<u64>,
    held: Vec<Vec<Held>>,
}

impl HoldIndex {
    /// Reads every hold (a scan: what the cache avoids repeating). The table is keyed by
    /// (customer, coupon), so the holds come grouped by customer.
    pub fn build(read: &ReadTx) -> Result<HoldIndex, store::Error> {
        let mut index = HoldIndex::default();
        read.for_each_coupon_hold::<Hold>(|customer, coupon, hold| {
            let held = Held {
                coupon,
                uses: hold.uses,
                expires_at: hold.expires_at,
                codes: hold.codes,
            };
            match (index.customers.last(), index.held.last_mut()) {
                (Some(&last), Some(list)) if last == customer => list.push(held),
                _ => {
                    index.customers.push(customer);
                    index.held.push(vec![held]);
                }
            }
        })?;
        Ok(index)
    }

    /// How many coupons each holder can use at `now`: the coupon running, the hold not expired,
    /// uses left for them and in all. Holders with none available are listed with 0; customers
    /// holding nothing are absent.
    pub fn available<'a>(
        &'a self,
        coupons: &'a HashMap<u64, CouponRecord>,
        now: i64,
    ) -> impl Iterator<Item = (u64, u32)> + 'a {
        self.customers.iter().zip(&self.held).map(move |(&customer, held)| {
            let n = held
                .iter()
                .filter(|h| {
                    coupons.get(&h.coupon).is_some_and(|c| {
                        let running = c.starts_at.is_none_or(|s| s <= now) && c.ends_at.is_none_or(|e| now <= e);
                        let fresh = h.expires_at.is_none_or(|e| now <= e);
                        let left = h.uses < c.per_customer_limit && c.total_limit.is_none_or(|n| c.used < n);
                        running && fresh && left
                    })
                })
                .count();
            (customer, n as u32)
        })
    }

    /// The customers holding a code that contains `needle` (normalised: upper-case).
    pub fn with_code<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = u64> + 'a {
        self.customers
            .iter()
            .zip(&self.held)
            .filter(move |(_, held)| held.iter().any(|h| h.codes.iter().any(|c| c.contains(needle))))
            .map(|(&customer, _)| customer)
    }
}

/// The [`HoldIndex`], kept for as long as no commit writes a hold.
pub struct Holdings {
    store: Store,
    changes: tokio::sync::watch::Receiver<u64>,
    made: Mutex<Option<(u64, Arc<HoldIndex>)>>,
}

impl Holdings {
    pub fn new(store: Store) -> Holdings {
        Holdings {
            changes: store.hold_changes(),
            store,
            made: Mutex::new(None),
        }
    }

    /// The index as of now: the one kept if no hold was written since, else a new one read from
    /// a transaction begun after the count was taken (so it includes every commit counted).
    pub fn current(&self) -> Result<Arc<HoldIndex>, store::Error> {
        let mut made = self.made.lock().expect("not poisoned");
        let version = *self.changes.borrow();
        if let Some((v, index)) = made.as_ref()
            && *v == version
        {
            return Ok(index.clone());
        }
        let index = Arc::new(HoldIndex::build(&self.store.read()?)?);
        *made = Some((version, index.clone()));
        Ok(index)
    }
}
