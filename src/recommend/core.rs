//! The strategies and the rules every one obeys, over data already in memory: the catalogue as
//! items, what sells and is viewed, the bought-together model and one person's history. Pure, so
//! that the server and the offline evaluation run the same code.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::model::{Delta, Item, Model};

const DAY_MS: i64 = 86_400_000;

/// What to recommend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// A blend of the others with the person's interests.
    ForYou,
    /// Products viewed in earlier visits (not the current one).
    RecentlyViewed,
    /// Products put in the cart and not bought since.
    RecentlyCarted,
    /// Products bought (for a review request).
    RecentlyPurchased,
    /// The complements of what was bought (cross-sell).
    CrossSell,
    /// Bought together with the current product, or with what the person touched.
    BoughtTogether,
    Bestsellers,
    MostViewed,
}

impl Strategy {
    pub const ALL: [Strategy; 8] = [
        Strategy::ForYou,
        Strategy::RecentlyViewed,
        Strategy::RecentlyCarted,
        Strategy::RecentlyPurchased,
        Strategy::CrossSell,
        Strategy::BoughtTogether,
        Strategy::Bestsellers,
        Strategy::MostViewed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::ForYou => "for_you",
            Strategy::RecentlyViewed => "recently_viewed",
            Strategy::RecentlyCarted => "recently_carted",
            Strategy::RecentlyPurchased => "recently_purchased",
            Strategy::CrossSell => "cross_sell",
            Strategy::BoughtTogether => "bought_together",
            Strategy::Bestsellers => "bestsellers",
            Strategy::MostViewed => "most_viewed",
        }
    }

    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether an item from `source` is this strategy's own answer rather than a step of the
    /// fallback chain: "for you" blends the cart, earlier views, the complements and the
    /// person's category bestsellers; the others each have one source.
    pub fn owns(self, source: Source) -> bool {
        match self {
            Strategy::ForYou => matches!(
                source,
                Source::RecentlyCarted
                    | Source::RecentlyViewed
                    | Source::BoughtTogether
                    | Source::CategoryBestsellers
                    | Source::Bestsellers
                    | Source::RecentlyPurchased
            ),
            Strategy::RecentlyViewed => source == Source::RecentlyViewed,
            Strategy::RecentlyCarted => source == Source::RecentlyCarted,
            Strategy::RecentlyPurchased => source == Source::RecentlyPurchased,
            Strategy::CrossSell => source == Source::CrossSell,
            Strategy::BoughtTogether => source == Source::BoughtTogether,
            Strategy::Bestsellers => source == Source::Bestsellers,
            Strategy::MostViewed => source == Source::MostViewed,
        }
    }
}

/// Where an item of a list came from: the strategy asked for, or a step of the fallback chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    RecentlyViewed,
    RecentlyCarted,
    RecentlyPurchased,
    CrossSell,
    BoughtTogether,
    /// A bestseller of a category the person (or the current product) is in.
    CategoryBestsellers,
    Bestsellers,
    MostViewed,
    /// A shop with no sales or views yet: its newest products.
    Newest,
}

impl Source {
    pub const ALL: [Source; 9] = [
        Source::RecentlyViewed,
        Source::RecentlyCarted,
        Source::RecentlyPurchased,
        Source::CrossSell,
        Source::BoughtTogether,
        Source::CategoryBestsellers,
        Source::Bestsellers,
        Source::MostViewed,
        Source::Newest,
    ];

    /// The name as the APIs write it (and the console's labels and styles are keyed by).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::RecentlyViewed => "recently_viewed",
            Source::RecentlyCarted => "recently_carted",
            Source::RecentlyPurchased => "recently_purchased",
            Source::CrossSell => "cross_sell",
            Source::BoughtTogether => "bought_together",
            Source::CategoryBestsellers => "category_bestsellers",
            Source::Bestsellers => "bestsellers",
            Source::MostViewed => "most_viewed",
            Source::Newest => "newest",
        }
    }
}

/// The days a window of bestsellers or most viewed covers.
pub const WINDOWS: [u32; 3] = [1, 7, 30];

/// Bestsellers and most viewed, overall and per category (every level of a path), for each of
/// [`WINDOWS`], best first; plus all-time bestsellers and the newest products.
#[derive(Debug, Clone, Default)]
pub struct Popular {
    pub bought: [Vec<(Item, f32)>; 3],
    pub viewed: [Vec<(Item, f32)>; 3],
    pub bought_in: [HashMap<u32, Vec<(Item, f32)>>; 3],
    pub viewed_in: [HashMap<u32, Vec<(Item, f32)>>; 3],
    pub all_time: Vec<(Item, f32)>,
    pub newest: Vec<Item>,
    /// Each product's sales over 30 days (else all time) as a share of the bestseller's: the
    /// popularity prior that breaks near-ties between complements.
    pub share: HashMap<Item, f32>,
}

impl Popular {
    /// The window index of `days` (the nearest of 1, 7, 30 at or above it).
    pub fn window(days: u32) -> usize {
        WINDOWS.iter().position(|&w| days <= w).unwrap_or(2)
    }

    /// Ranks per-item counts of each window (overall and per category), best first.
    pub fn from_counts(
        bought: [HashMap<Item, f32>; 3],
        viewed: [HashMap<Item, f32>; 3],
        all_time: HashMap<Item, f32>,
        newest: Vec<Item>,
        products: &Products,
    ) -> Popular {
        fn ranked(counts: &HashMap<Item, f32>) -> Vec<(Item, f32)> {
            let mut v: Vec<(Item, f32)> = counts.iter().filter(|c| *c.1 > 0.0).map(|(&i, &n)| (i, n)).collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        }
        let by_category = |counts: &HashMap<Item, f32>| {
            let mut out: HashMap<u32, Vec<(Item, f32)>> = HashMap::new();
            for (item, n) in ranked(counts) {
                for &c in products.levels(item) {
                    out.entry(c).or_default().push((item, n));
                }
            }
            out
        };
        let base = if bought[2].is_empty() { &all_time } else { &bought[2] };
        let top = base.values().copied().fold(0.0f32, f32::max);
        let share = base.iter().filter(|_| top > 0.0).map(|(&i, &n)| (i, n / top)).collect();
        Popular {
            share,
            bought_in: [
                by_category(&bought[0]),
                by_category(&bought[1]),
                by_category(&bought[2]),
            ],
            viewed_in: [
                by_category(&viewed[0]),
                by_category(&viewed[1]),
                by_category(&viewed[2]),
            ],
            bought: [ranked(&bought[0]), ranked(&bought[1]), ranked(&bought[2])],
            viewed: [ranked(&viewed[0]), ranked(&viewed[1]), ranked(&viewed[2])],
            all_time: ranked(&all_time),
            newest,
        }
    }
}

/// The catalogue as items: ids, whether each may be recommended, and its category levels.
#[derive(Debug, Clone, Default)]
pub struct Products {
    pub ids: Vec<String>,
    pub index: HashMap<String, Item>,
    /// In stock, not hidden and confirmed by the shop (false for products only seen in orders or
    /// events, not in the catalogue).
    pub available: Vec<bool>,
    /// Each product's category levels ("식품", "식품/초콜릿") as ids into `categories`.
    pub levels: Vec<Vec<u32>>,
    pub categories: Vec<String>,
    category_index: HashMap<String, u32>,
}

impl Products {
    /// The item of a product id, made if new.
    pub fn intern(&mut self, id: &str) -> Item {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.ids.len() as Item;
        self.ids.push(id.to_string());
        self.index.insert(id.to_string(), i);
        self.available.push(false);
        self.levels.push(Vec::new());
        i
    }

    pub fn get(&self, id: &str) -> Option<Item> {
        self.index.get(id).copied()
    }

    pub fn category_id(&self, path: &str) -> Option<u32> {
        self.category_index.get(path).copied()
    }

    /// Sets a product's availability and category (every level of its path).
    pub fn set(&mut self, id: &str, available: bool, category: Option<&str>) -> Item {
        let item = self.intern(id);
        self.available[item as usize] = available;
        let mut levels = Vec::new();
        for level in category.map(crate::catalog::category_levels).unwrap_or_default() {
            let next = self.categories.len() as u32;
            let c = *self.category_index.entry(level.clone()).or_insert(next);
            if c == next {
                self.categories.push(level);
            }
            levels.push(c);
        }
        self.levels[item as usize] = levels;
        item
    }

    pub fn levels(&self, item: Item) -> &[u32] {
        self.levels.get(item as usize).map(Vec::as_slice).unwrap_or(&[])
    }

    fn available(&self, item: Item) -> bool {
        self.available.get(item as usize).copied().unwrap_or(false)
    }
}

/// What one person touched, per product: the kind (0 viewed, 1 carted, 2 checkout, 3
/// purchased), how often and when last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Touched {
    pub item: Item,
    pub kind: u8,
    pub count: u32,
    pub last: i64,
}

/// One person's history, and where their current visit began (None: not on the site now).
#[derive(Debug, Clone, Default)]
pub struct History {
    pub touched: Vec<Touched>,
    pub visit_start: Option<i64>,
}

impl History {
    fn last(&self, item: Item, kind: u8) -> Option<i64> {
        self.touched
            .iter()
            .find(|t| t.item == item && t.kind == kind)
            .map(|t| t.last)
    }

    /// Items of `kind`, most recent first.
    fn of_kind(&self, kind: u8) -> Vec<Touched> {
        let mut v: Vec<Touched> = self.touched.iter().filter(|t| t.kind == kind).copied().collect();
        v.sort_by(|a, b| b.last.cmp(&a.last).then(a.item.cmp(&b.item)));
        v
    }
}

/// The rules' settings.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// A product bought this many days ago or less is not recommended (except by
    /// `recently_purchased`, which is about that purchase).
    pub bought_recently_days: u32,
    /// Interests fade with this half-life in days.
    pub half_life_days: f32,
    /// How much a complement's popularity adds to its score (0: none).
    pub prior: f32,
    /// The weights of "for you"'s parts, each scaled to its best first: complements, the
    /// bestsellers of the person's categories, the shop's bestsellers, what was bought before (not lately). Chosen with
    /// `dangol bench recommend` on the demo shop and Complete Journey.
    pub for_you: [f32; 4],
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            bought_recently_days: 30,
            half_life_days: 14.0,
            prior: 0.6,
            for_you: [1.0, 0.3, 0.3, 1.0],
        }
    }
}

/// One request.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    pub strategy: Strategy,
    pub history: &'a History,
    /// The product on screen (a product page): excluded, and the seed of bought-together.
    pub current: Option<Item>,
    /// For bestsellers and most viewed: only this category (any level).
    pub category: Option<u32>,
    /// 1, 7 or 30 days, for bestsellers and most viewed.
    pub days: u32,
    pub limit: usize,
    pub now: i64,
}

/// What a request is answered from.
pub struct Data<'a> {
    pub products: &'a Products,
    pub model: &'a Model,
    pub delta: &'a Delta,
    pub popular: &'a Popular,
    pub rules: Rules,
}

/// One recommended product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub item: Item,
    pub score: f32,
    pub source: Source,
}

/// Fills a list under the rules: available, not excluded, no repeats, up to the limit.
struct List<'a> {
    data: &'a Data<'a>,
    excluded: HashSet<Item>,
    picks: Vec<Pick>,
    limit: usize,
}

impl List<'_> {
    fn full(&self) -> bool {
        self.picks.len() >= self.limit
    }

    fn offer(&mut self, items: impl IntoIterator<Item = (Item, f32)>, source: Source) {
        for (item, score) in items {
            if self.full() {
                return;
            }
            if self.data.products.available(item) && self.excluded.insert(item) {
                self.picks.push(Pick { item, score, source });
            }
        }
    }
}

impl Data<'_> {
    fn fade(&self, last: i64, now: i64) -> f32 {
        let days = ((now - last).max(0) as f32) / DAY_MS as f32;
        0.5f32.powf(days / self.rules.half_life_days)
    }

    /// Products bought with the seeds (seed, weight), each seed's list scaled to its best
    /// score so that no seed drowns the others; best first.
    fn together(&self, seeds: &[(Item, f32)]) -> Vec<(Item, f32)> {
        let mut scores: HashMap<Item, f32> = HashMap::new();
        for &(seed, w) in seeds {
            let related = self.model.related(seed, self.delta);
            let Some(top) = related.first().map(|r| r.1).filter(|t| *t > 0.0) else {
                continue;
            };
            for (b, s, _) in related {
                *scores.entry(b).or_default() += w * s / top;
            }
        }
        let total: f32 = seeds.iter().map(|s| s.1).sum::<f32>().max(f32::EPSILON);
        for (b, s) in scores.iter_mut() {
            *s += self.rules.prior * total * self.popular.share.get(b).copied().unwrap_or(0.0);
        }
        sorted(scores)
    }

    /// The seeds of a person's history: recent touches weighted by kind and faded by age.
    fn seeds(&self, h: &History, now: i64, kinds: &[(u8, f32)]) -> Vec<(Item, f32)> {
        let mut w: HashMap<Item, f32> = HashMap::new();
        for t in &h.touched {
            if let Some(&(_, k)) = kinds.iter().find(|(kind, _)| *kind == t.kind) {
                let e = w.entry(t.item).or_default();
                *e = e.max(k * self.fade(t.last, now) * (1.0 + (t.count.max(1) as f32).ln()));
            }
        }
        let mut v = sorted(w);
        v.truncate(20);
        v
    }

    /// The person's categories by interest (every level), strongest first.
    fn categories_of(&self, h: &History, now: i64) -> Vec<u32> {
        let mut w: HashMap<u32, f32> = HashMap::new();
        for t in &h.touched {
            let k = [0.3, 0.6, 0.6, 1.0][t.kind.min(3) as usize];
            for &c in self.products.levels(t.item) {
                *w.entry(c).or_default() += k * self.fade(t.last, now) * (1.0 + (t.count as f32).ln());
            }
        }
        // The deepest level first among equals: a leaf says more than its root.
        let mut v: Vec<(u32, f32)> = w.into_iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter().map(|(c, _)| c).take(5).collect()
    }
}

fn sorted(scores: HashMap<Item, f32>) -> Vec<(Item, f32)> {
    let mut v: Vec<(Item, f32)> = scores.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Answers `ask` under the rules, then follows the fallback chain (personal → bought together →
/// category bestsellers → bestsellers → most viewed → newest) until the list is full, so that
/// no list is empty while the shop has one available product.
pub fn recommend(data: &Data, ask: &Ask) -> Vec<Pick> {
    let h = ask.history;
    let now = ask.now;
    let mut excluded: HashSet<Item> = ask.current.into_iter().collect();
    if ask.strategy != Strategy::RecentlyPurchased {
        let since = now - i64::from(data.rules.bought_recently_days) * DAY_MS;
        excluded.extend(
            h.touched
                .iter()
                .filter(|t| t.kind == 3 && t.last >= since)
                .map(|t| t.item),
        );
    }
    if ask.strategy == Strategy::RecentlyViewed
        && let Some(start) = h.visit_start
    {
        // What is on screen in this visit is not "recently viewed", nor its fallback.
        excluded.extend(
            h.touched
                .iter()
                .filter(|t| t.kind == 0 && t.last >= start)
                .map(|t| t.item),
        );
    }
    let mut list = List {
        data,
        excluded,
        picks: Vec::new(),
        limit: ask.limit,
    };
    let w = Popular::window(ask.days);
    let recency = |t: &Touched| data.fade(t.last, now);
    match ask.strategy {
        Strategy::RecentlyViewed => {
            let earlier = h
                .of_kind(0)
                .into_iter()
                .filter(|t| h.visit_start.is_none_or(|start| t.last < start));
            list.offer(
                earlier.map(|t| (t.item, recency(&t))).collect::<Vec<_>>(),
                Source::RecentlyViewed,
            );
        }
        Strategy::RecentlyCarted => {
            let open = h
                .of_kind(1)
                .into_iter()
                .filter(|t| h.last(t.item, 3).is_none_or(|bought| bought < t.last));
            list.offer(
                open.map(|t| (t.item, recency(&t))).collect::<Vec<_>>(),
                Source::RecentlyCarted,
            );
        }
        Strategy::RecentlyPurchased => {
            let bought = h.of_kind(3);
            list.offer(
                bought.iter().map(|t| (t.item, recency(t))).collect::<Vec<_>>(),
                Source::RecentlyPurchased,
            );
        }
        Strategy::CrossSell => {
            let seeds = data.seeds(h, now, &[(3, 1.0)]);
            list.offer(data.together(&seeds), Source::CrossSell);
        }
        Strategy::BoughtTogether => {
            let seeds = match ask.current {
                Some(c) => vec![(c, 1.0)],
                None => data.seeds(h, now, &[(3, 1.0), (2, 0.9), (1, 0.9), (0, 0.5)]),
            };
            list.offer(data.together(&seeds), Source::BoughtTogether);
        }
        Strategy::ForYou => {
            // Carted and not bought, viewed in earlier visits, the complements of all of it, and
            // the bestsellers of the person's categories, summed per product.
            let mut scores: HashMap<Item, (f32, Source)> = HashMap::new();
            let mut add = |item: Item, s: f32, source: Source| {
                let e = scores.entry(item).or_insert((0.0, source));
                if s > e.0 {
                    e.1 = source;
                }
                e.0 += s;
            };
            for t in h.of_kind(1) {
                if h.last(t.item, 3).is_none_or(|b| b < t.last) {
                    add(t.item, 1.0 * recency(&t), Source::RecentlyCarted);
                }
            }
            for t in h.of_kind(0) {
                if h.visit_start.is_none_or(|s| t.last < s) {
                    add(t.item, 0.5 * recency(&t), Source::RecentlyViewed);
                }
            }
            // Buy again: what was bought before (not in the last 30 days: the rules leave those
            // out), the more often the stronger.
            let bought = h.of_kind(3);
            let most = bought.iter().map(|t| t.count).max().unwrap_or(1).max(1) as f32;
            for t in &bought {
                let s = (1.0 + (t.count.max(1) as f32).ln()) / (1.0 + most.ln());
                add(t.item, data.rules.for_you[3] * s, Source::RecentlyPurchased);
            }
            let mut seeds = data.seeds(h, now, &[(3, 1.0), (2, 0.9), (1, 0.9), (0, 0.5)]);
            if let Some(c) = ask.current {
                seeds.push((c, 1.0));
            }
            // Each part scaled to its best, then weighted: complements, the bestsellers of the
            // person's categories, the shop's bestsellers.
            let together = data.together(&seeds);
            let best = together.first().map_or(1.0, |t| t.1.max(f32::EPSILON));
            for (item, s) in together.into_iter().take(100) {
                add(item, data.rules.for_you[0] * s / best, Source::BoughtTogether);
            }
            for c in data.categories_of(h, now) {
                if let Some(best) = data.popular.bought_in[2].get(&c) {
                    let top = best.first().map_or(1.0, |b| b.1);
                    for &(item, n) in best.iter().take(20) {
                        add(item, data.rules.for_you[1] * n / top, Source::CategoryBestsellers);
                    }
                }
            }
            for &(item, _) in data.popular.bought[2].iter().take(50) {
                let share = data.popular.share.get(&item).copied().unwrap_or(0.0);
                add(item, data.rules.for_you[2] * share, Source::Bestsellers);
            }
            let mut v: Vec<(Item, f32, Source)> = scores.into_iter().map(|(i, (s, src))| (i, s, src)).collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            for (item, s, source) in v {
                list.offer([(item, s)], source);
            }
        }
        Strategy::Bestsellers => {
            let ranked = match ask.category {
                Some(c) => data.popular.bought_in[w].get(&c).cloned().unwrap_or_default(),
                None => data.popular.bought[w].clone(),
            };
            list.offer(ranked, Source::Bestsellers);
        }
        Strategy::MostViewed => {
            let ranked = match ask.category {
                Some(c) => data.popular.viewed_in[w].get(&c).cloned().unwrap_or_default(),
                None => data.popular.viewed[w].clone(),
            };
            list.offer(ranked, Source::MostViewed);
        }
    }
    // The fallback chain.
    if !list.full() && ask.strategy != Strategy::BoughtTogether {
        let seeds = match ask.current {
            Some(c) => vec![(c, 1.0)],
            None => data.seeds(h, now, &[(3, 1.0), (2, 0.9), (1, 0.9), (0, 0.5)]),
        };
        list.offer(data.together(&seeds), Source::BoughtTogether);
    }
    if !list.full() {
        let mut categories: Vec<u32> = ask
            .current
            .map(|c| data.products.levels(c).iter().rev().copied().collect())
            .unwrap_or_default();
        categories.extend(ask.category);
        categories.extend(data.categories_of(h, now));
        for c in categories {
            for window in [w, 2] {
                if let Some(best) = data.popular.bought_in[window].get(&c) {
                    list.offer(best.iter().copied(), Source::CategoryBestsellers);
                }
            }
        }
    }
    if !list.full() {
        list.offer(data.popular.bought[w].iter().copied(), Source::Bestsellers);
        list.offer(data.popular.bought[2].iter().copied(), Source::Bestsellers);
        list.offer(data.popular.all_time.iter().copied(), Source::Bestsellers);
    }
    if !list.full() {
        list.offer(data.popular.viewed[2].iter().copied(), Source::MostViewed);
    }
    if !list.full() {
        list.offer(data.popular.newest.iter().map(|&i| (i, 0.0)), Source::Newest);
    }
    list.picks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::model::{Counter, Params};

    const NOW: i64 = 1_800_000_000_000;

    /// A shop: tent 0 goes with pegs 1 and lamp 2; 3 is out of stock; 4 is hidden; 5 is water,
    /// bought by everyone.
    fn shop() -> (Products, Model, Popular) {
        let mut p = Products::default();
        for (id, ok, cat) in [
            ("tent", true, "캠핑/텐트"),
            ("pegs", true, "캠핑/소품"),
            ("lamp", true, "캠핑/소품"),
            ("stove", false, "캠핑/소품"),
            ("secret", false, "캠핑/소품"),
            ("water", true, "식품"),
        ] {
            p.set(id, ok, Some(cat));
        }
        let mut c = Counter::new();
        for _ in 0..5 {
            c.add(&[0, 1, 2], 1.0, 40);
            c.add(&[0, 3], 1.0, 40);
        }
        for _ in 0..30 {
            c.add(&[5], 1.0, 40);
        }
        let model = c.finish(&Params::default());
        let counts: HashMap<Item, f32> = [(5, 30.0), (0, 10.0), (1, 5.0), (2, 5.0), (3, 5.0)].into();
        let views: HashMap<Item, f32> = [(2, 50.0), (0, 40.0)].into();
        let popular = Popular::from_counts(
            [counts.clone(), counts.clone(), counts.clone()],
            [views.clone(), views.clone(), views],
            counts,
            vec![5, 2, 1, 0],
            &p,
        );
        (p, model, popular)
    }

    /// What a request is answered from in the test shop: no orders since the model was built.
    fn data<'a>(p: &'a Products, m: &'a Model, pop: &'a Popular) -> Data<'a> {
        static NO_DELTA: std::sync::LazyLock<Delta> = std::sync::LazyLock::new(Delta::default);
        Data {
            products: p,
            model: m,
            delta: &NO_DELTA,
            popular: pop,
            rules: Rules::default(),
        }
    }

    fn ask(strategy: Strategy, h: &History) -> Ask<'_> {
        Ask {
            strategy,
            history: h,
            current: None,
            category: None,
            days: 30,
            limit: 3,
            now: NOW,
        }
    }

    fn items(p: &Products, picks: &[Pick]) -> Vec<(String, Source)> {
        picks
            .iter()
            .map(|x| (p.ids[x.item as usize].clone(), x.source))
            .collect()
    }

    fn touched(item: Item, kind: u8, hours_ago: i64) -> Touched {
        Touched {
            item,
            kind,
            count: 1,
            last: NOW - hours_ago * 3_600_000,
        }
    }

    #[test]
    fn names_are_the_apis_and_each_strategy_owns_its_source() {
        let all = Source::ALL;
        for s in all {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(!Strategy::ForYou.owns(Source::Newest) && !Strategy::ForYou.owns(Source::MostViewed));
        assert!(
            Strategy::ForYou.owns(Source::Bestsellers),
            "the shop's bestsellers are part of the blend"
        );
        assert!(
            Strategy::ForYou.owns(Source::RecentlyPurchased),
            "and so is buying again"
        );
        assert!(Strategy::ForYou.owns(Source::RecentlyCarted) && Strategy::ForYou.owns(Source::CategoryBestsellers));
        for s in Strategy::ALL.into_iter().filter(|s| *s != Strategy::ForYou) {
            let own: Vec<Source> = all.into_iter().filter(|x| s.owns(*x)).collect();
            assert_eq!(own.len(), 1, "{s:?}");
            assert_eq!(own[0].as_str(), s.as_str(), "a single source is named as its strategy");
        }
    }

    #[test]
    fn a_product_page_gets_its_complements_never_itself_nor_what_is_unavailable() {
        let (p, m, pop) = shop();
        let data = data(&p, &m, &pop);
        let h = History::default();
        let mut a = ask(Strategy::BoughtTogether, &h);
        a.current = Some(0);
        let got = items(&p, &recommend(&data, &a));
        assert_eq!(got[0].1, Source::BoughtTogether);
        let ids: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert!(ids.contains(&"pegs") && ids.contains(&"lamp"), "{got:?}");
        assert!(!ids.contains(&"tent") && !ids.contains(&"stove") && !ids.contains(&"secret"));
        // A third place comes from the fallback: the category's bestsellers, then overall.
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], ("water".to_string(), Source::Bestsellers));
    }

    #[test]
    fn a_brand_new_visitor_gets_bestsellers_and_an_empty_shop_its_newest() {
        let (p, m, pop) = shop();
        let data = data(&p, &m, &pop);
        let h = History::default();
        for s in Strategy::ALL {
            let got = recommend(&data, &ask(s, &h));
            assert_eq!(got.len(), 3, "{s:?} is never empty");
            let mut seen = HashSet::new();
            assert!(got.iter().all(|g| seen.insert(g.item)), "no repeats");
        }
        let got = items(&p, &recommend(&data, &ask(Strategy::RecentlyViewed, &h)));
        assert_eq!(got[0], ("water".to_string(), Source::Bestsellers));
        let empty = Popular {
            newest: vec![5, 2],
            ..Popular::default()
        };
        let data = Data {
            popular: &empty,
            model: &Model::default(),
            ..data
        };
        let got = items(&p, &recommend(&data, &ask(Strategy::ForYou, &h)));
        assert_eq!(
            got,
            vec![
                ("water".to_string(), Source::Newest),
                ("lamp".to_string(), Source::Newest)
            ]
        );
    }

    #[test]
    fn recently_viewed_leaves_out_the_current_visit_and_what_was_bought() {
        let (p, m, pop) = shop();
        let data = data(&p, &m, &pop);
        let h = History {
            touched: vec![
                touched(0, 0, 0),   // the tent, viewed now
                touched(2, 0, 48),  // the lamp, two days ago
                touched(1, 0, 72),  // pegs, three days ago…
                touched(1, 3, 24),  // …bought yesterday
                touched(5, 0, 100), // water
            ],
            visit_start: Some(NOW - 600_000),
        };
        let mut a = ask(Strategy::RecentlyViewed, &h);
        a.limit = 2;
        let got = items(&p, &recommend(&data, &a));
        assert_eq!(
            got,
            vec![
                ("lamp".to_string(), Source::RecentlyViewed),
                ("water".to_string(), Source::RecentlyViewed)
            ]
        );
        // Bought recently: only the review request names it.
        let got = items(&p, &recommend(&data, &ask(Strategy::RecentlyPurchased, &h)));
        assert_eq!(got[0], ("pegs".to_string(), Source::RecentlyPurchased));
        // Carted then bought is not "carted"; carted after the purchase is.
        let h2 = History {
            touched: vec![touched(1, 1, 30), touched(1, 3, 24), touched(2, 1, 2)],
            visit_start: None,
        };
        let got = items(&p, &recommend(&data, &ask(Strategy::RecentlyCarted, &h2)));
        assert_eq!(got[0], ("lamp".to_string(), Source::RecentlyCarted));
        assert!(!got.iter().any(|g| g.0 == "pegs"));
    }

    #[test]
    fn for_you_blends_the_cart_the_complements_and_the_categories() {
        let (p, m, pop) = shop();
        let data = data(&p, &m, &pop);
        let h = History {
            touched: vec![touched(2, 1, 5), touched(0, 3, 24 * 40)],
            visit_start: None,
        };
        let got = items(&p, &recommend(&data, &ask(Strategy::ForYou, &h)));
        // The cart, buying again what was bought 40 days ago, and the complements.
        assert!(got.contains(&("lamp".to_string(), Source::RecentlyCarted)), "{got:?}");
        assert!(
            got.contains(&("tent".to_string(), Source::RecentlyPurchased)),
            "{got:?}"
        );
        assert!(got.iter().any(|g| g.0 == "pegs"), "{got:?}");
        assert!(!got.iter().any(|g| g.0 == "stove"));
    }
}
