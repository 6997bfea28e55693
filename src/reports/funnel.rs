//! The funnel (CONTRACT §8): a visitor counts at step i after doing steps 1..i in order, each
//! within `within_hours` of their step 1, whose time lies in the range. Read from the visits'
//! track events; the products of the last step reached show where the funnel is left most.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::query::{Days, Filters};
use super::rollup::{Dim, Row};
use crate::store::{self, ReadTx};

/// The default steps: product view, cart, checkout, order.
pub const DEFAULT_STEPS: [&str; 4] = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"];

/// One step's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Step {
    pub event: String,
    pub visitors: u64,
    /// Visitors here ÷ visitors at the step before (1 for the first).
    pub from_previous: f64,
    /// Visitors here ÷ visitors at the first step.
    pub from_first: f64,
    /// The products of this step done by visitors who went no further, most first (at most 10).
    pub left_with: Vec<LeftWith>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LeftWith {
    pub product_id: String,
    pub visitors: u64,
}

fn ratio(a: u64, b: u64) -> f64 {
    super::rollup::ratio(a as f64, b as f64)
}

/// `from_ms`..=`to_ms` bounds a visitor's first step; events up to `to_ms + within` count.
pub fn funnel(
    read: &ReadTx,
    steps: &[String],
    days: Days,
    range_ms: (i64, i64),
    within_ms: i64,
    f: &Filters,
) -> Result<Vec<Step>, store::Error> {
    let ids: Vec<Option<u32>> = steps.iter().map(|s| read.web_name_id(s)).collect::<Result<_, _>>()?;
    let mut filters = Vec::new();
    for (dim, name) in [(Dim::Source, &f.source), (Dim::Device, &f.device), (Dim::Page, &f.page)] {
        if let Some(name) = name {
            match read.web_name_id(name)? {
                Some(id) => filters.push((dim, id)),
                None => return Ok(empty(steps)),
            }
        }
    }
    // Each visitor's events of the steps: (time, step names it is, product).
    let extra_days = within_ms.max(0) / 86_400_000 + 2;
    let scan = Days {
        from: days.from - chrono::Duration::days(1),
        to: days.to + chrono::Duration::days(extra_days),
    };
    let each = |per: &mut FxHashMap<u64, Vec<(i64, u32, u32)>>, _, c, start, row: &Row| {
        for &(name, offset, product) in &row.steps {
            if ids.contains(&Some(name)) {
                per.entry(c).or_default().push((start + offset as i64, name, product));
            }
        }
    };
    let row_of = Row::read_all;
    let mut parts = super::query::scan(read, scan, f.members.as_ref(), &filters, row_of, each)?.into_iter();
    let mut per = parts.next().unwrap_or_default();
    for part in parts {
        for (c, evs) in part {
            per.entry(c).or_default().extend(evs);
        }
    }
    let n = steps.len();
    let mut reached = vec![0u64; n];
    let mut left: Vec<HashMap<u32, u64>> = vec![HashMap::new(); n];
    for (_, mut evs) in per {
        evs.sort_unstable();
        // The furthest step any first step in the range leads to, and the product there.
        let mut best: (usize, u32) = (0, 0);
        for (i, &(t1, name, product)) in evs.iter().enumerate() {
            if Some(name) != ids[0] || t1 < range_ms.0 || t1 > range_ms.1 {
                continue;
            }
            let mut step = 1;
            let mut last_product = product;
            for &(t, name, product) in &evs[i + 1..] {
                if step == n || t - t1 > within_ms {
                    break;
                }
                if Some(name) == ids[step] {
                    step += 1;
                    last_product = product;
                }
            }
            if step > best.0 {
                best = (step, last_product);
            }
            if step == n {
                break;
            }
        }
        if best.0 == 0 {
            continue;
        }
        for r in reached.iter_mut().take(best.0) {
            *r += 1;
        }
        if best.0 < n && best.1 != 0 {
            *left[best.0 - 1].entry(best.1).or_default() += 1;
        }
    }
    let mut out = Vec::with_capacity(n);
    for (i, event) in steps.iter().enumerate() {
        // Most visitors first; ties by the product's id, so the order does not hang on the
        // numbers names were given (a rebuild gives others). Only those that can make the ten
        // are named.
        let mut products: Vec<(u32, u64)> = left[i].iter().map(|(k, v)| (*k, *v)).collect();
        products.sort_by_key(|p| std::cmp::Reverse(p.1));
        if let Some(&(_, tenth)) = products.get(9) {
            products.retain(|p| p.1 >= tenth);
        }
        let mut left_with = Vec::with_capacity(products.len());
        for (id, visitors) in products {
            left_with.push(LeftWith {
                product_id: read.web_name(id)?.unwrap_or_default(),
                visitors,
            });
        }
        left_with.sort_by(|a, b| {
            b.visitors
                .cmp(&a.visitors)
                .then_with(|| a.product_id.cmp(&b.product_id))
        });
        left_with.truncate(10);
        out.push(Step {
            event: event.clone(),
            visitors: reached[i],
            from_previous: if i == 0 { 1.0 } else { ratio(reached[i], reached[i - 1]) },
            from_first: ratio(reached[i], reached[0]),
            left_with,
        });
    }
    Ok(out)
}

fn empty(steps: &[String]) -> Vec<Step> {
    steps
        .iter()
        .map(|s| Step {
            event: s.clone(),
            visitors: 0,
            from_previous: 0.0,
            from_first: 0.0,
            left_with: Vec::new(),
        })
        .collect()
}
