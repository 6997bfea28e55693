//! The events a shop sends, by name, for the console's pickers: the track events of the newest
//! end of the log, most sent first, then the Segment e-commerce spec's that the shop has not sent
//! yet (a new shop picks from those).

use std::collections::HashMap;

use serde::Deserialize;

use crate::store::records::EventKind;
use crate::store::{self, ReadTx};

/// The events of the Segment e-commerce spec a shop most often acts on, in the order of a visit.
pub const SPEC: &[&str] = &[
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
    "Checkout Step Completed",
    "Order Completed",
    "Order Refunded",
    "Coupon Applied",
    "Product Reviewed",
    "Signed Up",
];

/// How many of the newest events are read for the names.
pub const READ: usize = 20_000;

#[derive(Deserialize)]
struct Named {
    kind: EventKind,
    #[serde(default)]
    event: Option<String>,
}

/// The names, the shop's most sent first (ties by name), then [`SPEC`]'s others.
pub fn known(read: &ReadTx) -> Result<Vec<String>, store::Error> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut seen = 0;
    read.for_each_event_back_as::<Named>(|_, e| {
        seen += 1;
        if e.kind == EventKind::Track
            && let Some(name) = e.event.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
        {
            *counts.entry(name).or_default() += 1;
        }
        seen < READ
    })?;
    let mut names: Vec<(String, u64)> = counts.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out: Vec<String> = names.into_iter().map(|(n, _)| n).collect();
    for s in SPEC {
        if !out.iter().any(|n| n == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}
