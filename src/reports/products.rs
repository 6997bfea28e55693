//! The products report: each product's views, carts, checkouts and purchases over a range, from
//! the per-product day counts the writer keeps for the recommender (`product-days`). Those days
//! are UTC days, so a range's ends fall at 09:00 Korean time, not at midnight; the report says so.

use std::collections::HashMap;

use super::query::Days;
use super::rollup::ratio;
use crate::store::{self, ReadTx};

/// One product's touches over the range.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ProductItem {
    pub product_id: String,
    /// Its name in the catalogue; empty when the catalogue does not have it.
    pub name: String,
    /// `Product Viewed` events.
    pub views: u64,
    /// `Product Added` events.
    pub carts: u64,
    /// `Checkout Started` events that held it.
    pub checkouts: u64,
    /// Orders that held it.
    pub purchases: u64,
    /// Purchases ÷ views.
    pub purchase_rate: f64,
}

/// The top `limit` products of the UTC days numbered like the range's dates, most purchases
/// first, then most views, then by id.
pub fn products(read: &ReadTx, days: Days, limit: usize) -> Result<Vec<ProductItem>, store::Error> {
    let range = days.numbers();
    let mut sums: HashMap<String, [u64; 4]> = HashMap::new();
    read.for_each_product_day(*range.start(), *range.end(), |_, id, n| {
        let s = match sums.get_mut(id) {
            Some(s) => s,
            None => sums.entry(id.to_string()).or_default(),
        };
        for (sum, n) in s.iter_mut().zip(n) {
            *sum += n as u64;
        }
    })?;
    let mut top: Vec<(String, [u64; 4])> = sums.into_iter().collect();
    top.sort_by(|a, b| (b.1[3], b.1[0]).cmp(&(a.1[3], a.1[0])).then_with(|| a.0.cmp(&b.0)));
    top.truncate(limit);
    let mut out = Vec::with_capacity(top.len());
    for (id, [views, carts, checkouts, purchases]) in top {
        out.push(ProductItem {
            name: read.product(&id)?.map(|p| p.name).unwrap_or_default(),
            product_id: id,
            views,
            carts,
            checkouts,
            purchases,
            purchase_rate: ratio(purchases as f64, views as f64),
        });
    }
    Ok(out)
}
