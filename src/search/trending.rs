//! Trending interests ("what customers look at most right now", TasOn's 추천 태그): the products,
//! categories and words of the last hours' product views, carts and purchases, each with its
//! rise against the seven days before.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{self, ReadTx};

const HOUR_MS: i64 = 3_600_000;
/// The baseline: the seven days before the window.
const BASELINE_MS: i64 = 7 * 24 * HOUR_MS;
/// Events read at most, newest first (a busy shop's fortnight).
const MAX_EVENTS: usize = 3_000_000;
/// Imports may store events out of time order: stop only after this many in a row older than needed.
const OLDER_IN_A_ROW: usize = 5_000;

/// One trending product, category or word.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Trend {
    /// `p:ID`, `c:PATH`, or the word itself.
    pub key: String,
    /// The product's name, the category's path, or the word.
    pub title: String,
    /// Weighted touches in the window: a view 1, a cart 2, a checkout 3, a purchase 4.
    pub score: u64,
    /// Customers who touched it in the window.
    pub customers: u64,
    /// The window's score against the baseline's average for a window as long (1.0 = as usual);
    /// None when the baseline had none.
    pub rise: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Trending {
    pub hours: u32,
    pub products: Vec<Trend>,
    pub categories: Vec<Trend>,
    pub words: Vec<Trend>,
    /// Events read to find them.
    pub events_read: u64,
}

/// The fields of an event this needs.
#[derive(Deserialize)]
struct Seen {
    #[serde(default)]
    event: Option<String>,
    customer: u64,
    timestamp: i64,
    #[serde(default)]
    properties: Value,
}

fn weight(event: &str) -> u64 {
    match event {
        "Product Viewed" | "Product Clicked" => 1,
        "Product Added" => 2,
        "Checkout Started" => 3,
        "Order Completed" => 4,
        _ => 0,
    }
}

#[derive(Default)]
struct Tally {
    window: u64,
    baseline: u64,
    customers: std::collections::HashSet<u64>,
}

/// The words of a name worth showing as a tag: two or more letters, not a number nor a size or
/// count ("50ml", "500g", "3개입", "6구": a word that starts with a digit says how much, not what).
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && !w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_lowercase)
}

/// What rose in the `hours` before `now`, `limit` of each kind.
pub fn trending(read: &ReadTx, now: i64, hours: u32, limit: usize) -> Result<Trending, store::Error> {
    let window_start = now - i64::from(hours) * HOUR_MS;
    let start = window_start - BASELINE_MS;
    let mut products: HashMap<String, Tally> = HashMap::new();
    let (mut read_n, mut older) = (0usize, 0usize);
    read.for_each_event_back_as::<Seen>(|_, e| {
        read_n += 1;
        if e.timestamp < start {
            older += 1;
            return older < OLDER_IN_A_ROW && read_n < MAX_EVENTS;
        }
        older = 0;
        let w = e.event.as_deref().map_or(0, weight);
        if w == 0 || e.timestamp > now {
            return read_n < MAX_EVENTS;
        }
        for line in crate::catalog::products_of_value(&e.properties) {
            let Some(id) = crate::catalog::id_text(line, "product_id") else {
                continue;
            };
            let t = products.entry(id).or_default();
            if e.timestamp >= window_start {
                t.window += w;
                t.customers.insert(e.customer);
            } else {
                t.baseline += w;
            }
        }
        read_n < MAX_EVENTS
    })?;
    let mut categories: HashMap<String, Tally> = HashMap::new();
    let mut word_tally: HashMap<String, Tally> = HashMap::new();
    let mut titles: HashMap<String, String> = HashMap::new();
    for (id, t) in &products {
        let Some(p) = read.product(id)? else { continue };
        if p.hidden {
            continue;
        }
        let add = |into: &mut HashMap<String, Tally>, key: String| {
            let c = into.entry(key).or_default();
            c.window += t.window;
            c.baseline += t.baseline;
            c.customers.extend(&t.customers);
        };
        for level in p
            .category
            .as_deref()
            .map(crate::catalog::category_levels)
            .unwrap_or_default()
        {
            add(&mut categories, format!("c:{level}"));
            titles.insert(format!("c:{level}"), level);
        }
        let mut seen = std::collections::HashSet::new();
        // A brand is one tag as it is written ("Seoul Aube"), not its words ("seoul").
        let brand = p
            .brand
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_lowercase);
        for w in words(&p.name).chain(brand) {
            if seen.insert(w.clone()) {
                add(&mut word_tally, w);
            }
        }
        titles.insert(format!("p:{id}"), p.name);
    }
    let products = products.into_iter().map(|(id, t)| (format!("p:{id}"), t)).collect();
    let top = |tally: HashMap<String, Tally>| -> Vec<Trend> {
        let mut v: Vec<Trend> = tally
            .into_iter()
            .filter(|(_, t)| t.window > 0)
            .map(|(key, t)| {
                let usual = t.baseline as f64 * f64::from(hours) / (BASELINE_MS / HOUR_MS) as f64;
                Trend {
                    title: titles.get(&key).cloned().unwrap_or_else(|| key.clone()),
                    key,
                    score: t.window,
                    customers: t.customers.len() as u64,
                    rise: (usual > 0.0).then(|| t.window as f64 / usual),
                }
            })
            .collect();
        v.sort_by(|a, b| b.score.cmp(&a.score).then(a.key.cmp(&b.key)));
        v.truncate(limit);
        v
    };
    Ok(Trending {
        hours,
        products: top(products),
        categories: top(categories),
        words: top(word_tally),
        events_read: read_n as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn sizes_and_counts_are_not_words_worth_a_tag() {
        let got: Vec<String> = words("판테놀 선크림 50ml · 밀크 초콜릿 3개입 (6구) 18K 골드 Eau de Parfum 2").collect();
        assert_eq!(
            got,
            ["판테놀", "선크림", "밀크", "초콜릿", "골드", "eau", "de", "parfum"]
        );
    }
}
