//! Items bought together: how often two products share an order (and, weighted less, a visit's
//! cart), turned into a score that does not just echo bestsellers. Pure: the nightly job feeds it
//! the store's orders, the offline evaluation feeds it any baskets.
//!
//! Scores, for a seed `a` and a candidate `b`, with `co` the weighted baskets holding both, `n(x)`
//! the weighted baskets holding `x` and `N` all baskets:
//! - **lift**: `co·N / (n(a)·n(b))`, how much more often than chance;
//! - **cosine with a popularity penalty** (asymmetric cosine): `co / (n(a)^(1-α) · n(b)^α)`, where
//!   α > 0.5 discounts popular candidates (α = 0.5 is the plain cosine).
//!
//! Both are shrunk by `co / (co + shrink)`, so a pair seen twice does not outrank one seen fifty
//! times on chance alone. `dangol bench recommend` measures which is better.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A product, as an index into the model's list of product ids.
pub type Item = u32;

/// How a pair's co-occurrence becomes a score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Measure {
    Lift,
    Cosine { alpha: f32 },
}

/// What the build keeps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub measure: Measure,
    /// Pairs seen in fewer (weighted) baskets are dropped.
    pub min_support: f32,
    /// The shrinkage constant (see the module's words).
    pub shrink: f32,
    /// Neighbours kept per product.
    pub keep: usize,
    /// Lines of a basket counted for pairs (the first this many distinct products): a huge basket
    /// says little about each pair and costs its square.
    pub basket_cap: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            measure: Measure::Cosine { alpha: 0.5 },
            min_support: 2.0,
            shrink: 3.0,
            keep: 60,
            basket_cap: 40,
        }
    }
}

impl Params {
    /// The score of `b` for a seed `a`.
    pub fn score(&self, co: f32, n_a: f32, n_b: f32, baskets: f32) -> f32 {
        if co <= 0.0 || n_a <= 0.0 || n_b <= 0.0 {
            return 0.0;
        }
        let raw = match self.measure {
            Measure::Lift => co * baskets / (n_a * n_b),
            Measure::Cosine { alpha } => co / (n_a.powf(1.0 - alpha) * n_b.powf(alpha)),
        };
        raw * co / (co + self.shrink)
    }
}

/// Counts baskets and the pairs in them.
#[derive(Debug, Default)]
pub struct Counter {
    n: Vec<f32>,
    pairs: HashMap<u64, f32>,
    baskets: f64,
    seen: Vec<Item>,
}

fn pair_key(a: Item, b: Item) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    (u64::from(lo) << 32) | u64::from(hi)
}

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }

    /// Counts one basket with `weight` (1 for an order, less for a visit's cart). Repeats of a
    /// product count once; only the first `cap` distinct products make pairs.
    pub fn add(&mut self, items: &[Item], weight: f32, cap: usize) {
        self.seen.clear();
        for &i in items {
            if !self.seen.contains(&i) {
                self.seen.push(i);
            }
        }
        if self.seen.is_empty() {
            return;
        }
        self.baskets += f64::from(weight);
        for &i in &self.seen {
            let i = i as usize;
            if self.n.len() <= i {
                self.n.resize(i + 1, 0.0);
            }
            self.n[i] += weight;
        }
        let top = &self.seen[..self.seen.len().min(cap)];
        for (x, &a) in top.iter().enumerate() {
            for &b in &top[x + 1..] {
                *self.pairs.entry(pair_key(a, b)).or_default() += weight;
            }
        }
    }

    /// The pairs above the minimum support, each product's best `keep` neighbours by score.
    pub fn finish(self, params: &Params) -> Model {
        let items = self.n.len();
        let baskets = self.baskets as f32;
        let mut neighbours: Vec<Vec<(Item, f32)>> = vec![Vec::new(); items];
        for (key, co) in self.pairs {
            if co < params.min_support {
                continue;
            }
            let (a, b) = ((key >> 32) as Item, key as u32);
            neighbours[a as usize].push((b, co));
            neighbours[b as usize].push((a, co));
        }
        for (a, list) in neighbours.iter_mut().enumerate() {
            let n_a = self.n[a];
            list.sort_by(|x, y| {
                let sx = params.score(x.1, n_a, self.n[x.0 as usize], baskets);
                let sy = params.score(y.1, n_a, self.n[y.0 as usize], baskets);
                sy.total_cmp(&sx).then(x.0.cmp(&y.0))
            });
            list.truncate(params.keep);
            list.shrink_to_fit();
        }
        Model {
            params: *params,
            n: self.n,
            baskets,
            neighbours,
        }
    }
}

/// Each product's neighbours with their co-occurrence, and what scores them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    pub params: Params,
    /// Weighted baskets holding each product.
    pub n: Vec<f32>,
    pub baskets: f32,
    /// Per product: (neighbour, weighted baskets holding both), best first.
    pub neighbours: Vec<Vec<(Item, f32)>>,
}

/// Orders counted since the model was built, so that a new order counts before the next build.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    n: HashMap<Item, f32>,
    pairs: HashMap<Item, HashMap<Item, f32>>,
    baskets: f32,
}

impl Delta {
    /// Counts one order's products (as [`Counter::add`] does, with weight 1).
    pub fn add(&mut self, items: &[Item], cap: usize) {
        let mut seen: Vec<Item> = Vec::new();
        for &i in items {
            if !seen.contains(&i) {
                seen.push(i);
            }
        }
        if seen.is_empty() {
            return;
        }
        self.baskets += 1.0;
        for &i in &seen {
            *self.n.entry(i).or_default() += 1.0;
        }
        let top = &seen[..seen.len().min(cap)];
        for (x, &a) in top.iter().enumerate() {
            for &b in &top[x + 1..] {
                *self.pairs.entry(a).or_default().entry(b).or_default() += 1.0;
                *self.pairs.entry(b).or_default().entry(a).or_default() += 1.0;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.baskets == 0.0
    }
}

impl Model {
    /// The same model over another numbering of the products: `map[i]` is item `i`'s new number.
    pub fn remap(self, map: &[Item]) -> Model {
        let size = map.iter().map(|&i| i as usize + 1).max().unwrap_or(0);
        let mut n = vec![0.0; size];
        let mut neighbours = vec![Vec::new(); size];
        for (old, list) in self.neighbours.into_iter().enumerate() {
            let new = map[old] as usize;
            n[new] = self.n[old];
            neighbours[new] = list.into_iter().map(|(b, co)| (map[b as usize], co)).collect();
        }
        Model {
            params: self.params,
            n,
            baskets: self.baskets,
            neighbours,
        }
    }

    fn count(&self, item: Item, delta: &Delta) -> f32 {
        self.n.get(item as usize).copied().unwrap_or(0.0) + delta.n.get(&item).copied().unwrap_or(0.0)
    }

    /// The products bought with `item`, best first: (product, score, weighted baskets holding
    /// both), counting the orders in `delta` too. A pair new since the build needs the minimum
    /// support like any other.
    pub fn related(&self, item: Item, delta: &Delta) -> Vec<(Item, f32, f32)> {
        let baskets = self.baskets + delta.baskets;
        let n_a = self.count(item, delta);
        let mut co: HashMap<Item, f32> = self
            .neighbours
            .get(item as usize)
            .map(|l| l.iter().copied().collect())
            .unwrap_or_default();
        if let Some(more) = delta.pairs.get(&item) {
            for (&b, &c) in more {
                *co.entry(b).or_default() += c;
            }
        }
        let mut out: Vec<(Item, f32, f32)> = co
            .into_iter()
            .filter(|&(_, c)| c >= self.params.min_support)
            .map(|(b, c)| (b, self.params.score(c, n_a, self.count(b, delta), baskets), c))
            .collect();
        out.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_below_support_are_dropped_and_popular_partners_are_discounted() {
        let mut c = Counter::new();
        // 0 (a tent) goes with 1 (pegs) 5 times; 2 (water) is in every basket.
        for _ in 0..5 {
            c.add(&[0, 1, 2], 1.0, 40);
        }
        for _ in 0..40 {
            c.add(&[2, 3], 1.0, 40);
        }
        c.add(&[0, 4], 1.0, 40); // once: below the support
        let m = c.finish(&Params::default());
        let related = m.related(0, &Delta::default());
        let ids: Vec<Item> = related.iter().map(|r| r.0).collect();
        assert_eq!(ids, vec![1, 2], "pegs before water, the one-off gone");
        assert_eq!(related[0].2, 5.0);
        let lift = Params {
            measure: Measure::Lift,
            ..Params::default()
        };
        assert!(lift.score(5.0, 6.0, 5.0, 46.0) > lift.score(5.0, 6.0, 45.0, 46.0));
    }

    #[test]
    fn a_new_order_counts_before_the_next_build() {
        let mut c = Counter::new();
        c.add(&[0, 1], 1.0, 40);
        c.add(&[0, 1], 1.0, 40);
        let m = c.finish(&Params::default());
        assert_eq!(m.related(0, &Delta::default())[0].2, 2.0);
        let mut d = Delta::default();
        d.add(&[0, 1, 1], 40);
        assert_eq!(m.related(0, &d)[0], (1, m.params.score(3.0, 3.0, 3.0, 3.0), 3.0));
        d.add(&[5, 0], 40);
        assert_eq!(
            m.related(0, &d).len(),
            1,
            "a pair new since the build needs the support too"
        );
        d.add(&[0, 5], 40);
        assert_eq!(m.related(0, &d).len(), 2);
    }

    #[test]
    fn a_renumbered_model_answers_the_same() {
        let mut c = Counter::new();
        c.add(&[0, 1], 1.0, 40);
        c.add(&[0, 1], 1.0, 40);
        let m = c.finish(&Params::default());
        let before = m.related(0, &Delta::default());
        let m = m.remap(&[7, 3]);
        assert_eq!(m.related(7, &Delta::default()), vec![(3, before[0].1, 2.0)]);
        assert!(m.related(0, &Delta::default()).is_empty());
    }

    #[test]
    fn only_the_first_lines_of_a_huge_basket_make_pairs() {
        let mut c = Counter::new();
        let big: Vec<Item> = (0..100).collect();
        c.add(&big, 1.0, 10);
        c.add(&big, 1.0, 10);
        let m = c.finish(&Params::default());
        assert_eq!(m.neighbours[0].len(), 9);
        assert!(m.neighbours[50].is_empty());
        assert_eq!(m.n[99], 2.0, "every product still counts as bought");
    }
}
