//! The offline evaluation: hide each repeat buyer's last order, build everything from the other
//! orders, recommend 10 products from the history before the hidden order, and count how often
//! (hit rate@10) and how high (NDCG@10) the hidden order's products appear. Every strategy runs
//! through [`super::core::recommend`] with its rules, the bestseller baseline included.

use std::collections::HashMap;

use super::core::{self, Ask, Data, History, Popular, Products, Rules, Strategy, Touched};
use super::model::{Counter, Delta, Item, Measure, Params};

/// An order as the evaluation reads it.
#[derive(Debug, Clone)]
pub struct Order {
    pub customer: String,
    pub at: i64,
    pub products: Vec<String>,
}

/// One strategy's (and model's) figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub hit_rate: f64,
    pub ndcg: f64,
    /// Distinct products recommended, over all lists (bestsellers recommend few).
    pub distinct: usize,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub orders: usize,
    pub products: usize,
    pub tests: usize,
    pub rows: Vec<Row>,
}

/// The model variants compared for bought-together: lift, and the cosine at several
/// popularity penalties.
pub fn variants() -> Vec<(String, Params)> {
    let base = Params::default();
    let mut v = vec![(
        "lift".to_string(),
        Params {
            measure: Measure::Lift,
            ..base
        },
    )];
    for alpha in [0.5, 0.7, 0.9] {
        v.push((
            format!("cosine α={alpha}"),
            Params {
                measure: Measure::Cosine { alpha },
                ..base
            },
        ));
    }
    v
}

const K: usize = 10;

fn ndcg(list: &[Item], wanted: &[Item]) -> (bool, f64) {
    let mut dcg = 0.0;
    let mut hit = false;
    for (i, item) in list.iter().take(K).enumerate() {
        if wanted.contains(item) {
            hit = true;
            dcg += 1.0 / ((i + 2) as f64).log2();
        }
    }
    let ideal: f64 = (0..wanted.len().min(K)).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    (hit, if ideal > 0.0 { dcg / ideal } else { 0.0 })
}

/// Runs the evaluation on `orders`, with `categories` (product id → category path) when known,
/// over at most `max_tests` hidden orders (an even sample of the buyers).
pub fn evaluate(orders: &[Order], categories: &HashMap<String, String>, max_tests: usize, rules: Rules) -> Report {
    let mut products = Products::default();
    let mut by_customer: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, o) in orders.iter().enumerate() {
        for p in &o.products {
            if products.get(p).is_none() {
                products.set(p, true, categories.get(p).map(String::as_str));
            }
        }
        by_customer.entry(&o.customer).or_default().push(i);
    }
    // The hidden orders: each repeat buyer's last.
    let mut hidden: Vec<(usize, Vec<usize>)> = Vec::new();
    for list in by_customer.values_mut() {
        list.sort_by_key(|&i| (orders[i].at, i));
        if list.len() >= 2 {
            let last = list.pop().expect("two or more");
            hidden.push((last, list.clone()));
        }
    }
    hidden.sort_by_key(|h| h.0);
    let step = (hidden.len() / max_tests.max(1)).max(1);
    let tests: Vec<(usize, Vec<usize>)> = hidden.into_iter().step_by(step).take(max_tests).collect();
    let is_hidden: std::collections::HashSet<usize> = tests.iter().map(|t| t.0).collect();

    // Everything else trains: the models and the bestsellers.
    let train = || {
        orders
            .iter()
            .enumerate()
            .filter(|(i, _)| !is_hidden.contains(i))
            .map(|(_, o)| o)
    };
    let mut sold: HashMap<Item, f32> = HashMap::new();
    for o in train() {
        for p in &o.products {
            *sold.entry(products.get(p).expect("interned")).or_default() += 1.0;
        }
    }
    let popular = Popular::from_counts(
        [sold.clone(), sold.clone(), sold.clone()],
        Default::default(),
        sold,
        Vec::new(),
        &products,
    );
    let models: Vec<(String, super::model::Model)> = variants()
        .into_iter()
        .map(|(name, params)| {
            let mut c = Counter::new();
            let mut basket = Vec::new();
            for o in train() {
                basket.clear();
                basket.extend(o.products.iter().map(|p| products.get(p).expect("interned")));
                c.add(&basket, 1.0, params.basket_cap);
            }
            (name, c.finish(&params))
        })
        .collect();

    let histories: Vec<(History, i64, Vec<Item>)> = tests
        .iter()
        .map(|(last, before)| {
            let mut touched: HashMap<Item, Touched> = HashMap::new();
            for &i in before {
                for p in &orders[i].products {
                    let item = products.get(p).expect("interned");
                    let t = touched.entry(item).or_insert(Touched {
                        item,
                        kind: 3,
                        count: 0,
                        last: orders[i].at,
                    });
                    t.count += 1;
                    t.last = t.last.max(orders[i].at);
                }
            }
            let mut wanted: Vec<Item> = orders[*last]
                .products
                .iter()
                .map(|p| products.get(p).expect("interned"))
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            (
                History {
                    touched: touched.into_values().collect(),
                    visit_start: None,
                },
                orders[*last].at - 1,
                wanted,
            )
        })
        .collect();

    let delta = Delta::default();
    let mut rows = Vec::new();
    let mut run = |name: String, strategy: Strategy, model: &super::model::Model| {
        let data = Data {
            products: &products,
            model,
            delta: &delta,
            popular: &popular,
            rules,
        };
        let (mut hits, mut gain) = (0usize, 0.0f64);
        let mut seen = std::collections::HashSet::new();
        for (history, now, wanted) in &histories {
            let ask = Ask {
                strategy,
                history,
                current: None,
                category: None,
                days: 30,
                limit: K,
                now: *now,
            };
            let list: Vec<Item> = core::recommend(&data, &ask).into_iter().map(|p| p.item).collect();
            seen.extend(list.iter().copied());
            let (hit, g) = ndcg(&list, wanted);
            hits += usize::from(hit);
            gain += g;
        }
        let n = histories.len().max(1) as f64;
        rows.push(Row {
            name,
            hit_rate: hits as f64 / n,
            ndcg: gain / n,
            distinct: seen.len(),
        });
    };
    // The served strategies use the default model.
    let default_model = &models
        .iter()
        .find(|(_, m)| m.params == Params::default())
        .expect("the default is among the variants")
        .1;
    run("bestsellers (baseline)".into(), Strategy::Bestsellers, default_model);
    for (name, model) in &models {
        run(format!("bought_together, {name}"), Strategy::BoughtTogether, model);
    }
    run("cross_sell".into(), Strategy::CrossSell, default_model);
    run("for_you".into(), Strategy::ForYou, default_model);
    Report {
        orders: orders.len(),
        products: products.ids.len(),
        tests: histories.len(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_rewards_hits_near_the_top() {
        assert_eq!(ndcg(&[1, 2, 3], &[1]), (true, 1.0));
        let (hit, low) = ndcg(&[5, 6, 1], &[1]);
        assert!(hit && low < 1.0 && low > 0.0);
        assert_eq!(ndcg(&[5, 6], &[1]), (false, 0.0));
    }

    #[test]
    fn complements_beat_bestsellers_when_baskets_have_structure() {
        // Tents go with pegs, cameras with memory cards; milk is in many orders.
        let day = 86_400_000;
        let mut orders = Vec::new();
        for c in 0..60 {
            let (a, b) = if c % 2 == 0 {
                ("tent", "pegs")
            } else {
                ("camera", "card")
            };
            orders.push(Order {
                customer: format!("c{c}"),
                at: day * 100,
                products: vec![a.into(), "milk".into()],
            });
            orders.push(Order {
                customer: format!("c{c}"),
                at: day * 200,
                products: vec![b.into()],
            });
            orders.push(Order {
                customer: format!("x{c}"),
                at: day * 100,
                products: vec![a.into(), b.into()],
            });
        }
        let report = evaluate(&orders, &HashMap::new(), 1000, Rules::default());
        assert_eq!(report.tests, 60, "each c-customer's second order is hidden");
        let get = |name: &str| report.rows.iter().find(|r| r.name.starts_with(name)).unwrap().clone();
        // Five products and ten places: every list hits, so the order decides.
        assert!(get("bought_together").ndcg > get("bestsellers").ndcg, "{report:?}");
        assert!(get("for_you").ndcg > get("bestsellers").ndcg, "{report:?}");
    }
}
