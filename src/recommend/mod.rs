//! Recommendations: bought together, personal (recently viewed, carted, purchased, their
//! complements, a blended "for you"), bestsellers and most viewed over 1, 7 and 30 days, under
//! rules every strategy obeys and a fallback chain that never leaves a list empty.
//!
//! - [`model`]: the bought-together model (pure).
//! - [`core`]: the strategies, rules and fallback over data in memory (pure; the offline
//!   evaluation runs the same code).
//! - [`eval`]: the offline evaluation (hide each buyer's last order).
//! - This file: the server's [`Engine`], which keeps that data in memory. The model is built
//!   nightly from the orders (and visits' carts) and stored in redb, so a start loads it; orders
//!   completed since the build count at once (the writer's notices); bestsellers and most viewed
//!   are re-read every minute from `product-days-1`; the catalogue is re-read when it changes.

pub mod core;
pub mod eval;
pub mod model;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

pub use self::core::{Ask, Data, History, Pick, Popular, Products, Rules, Source, Strategy, Touched, WINDOWS};
use self::model::{Counter, Delta, Item, Model, Params};
use crate::store::{self, ReadTx, Store};

/// The job's name.
pub const JOB: &str = "recommend";
/// A visit ends after this long without an event (as web analytics count sessions).
pub const VISIT_GAP_MS: i64 = 30 * 60_000;
/// A visit's cart counts as this much of an order for bought-together.
const CART_WEIGHT: f32 = 0.3;

/// The model as stored: its products' ids (its items are indexes into them), the orders it
/// counted and the last event sequence its read saw.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModelFile {
    pub ids: Vec<String>,
    pub model: Model,
    pub orders: u64,
    pub carts: u64,
    pub seq: u64,
    pub built_at: i64,
    pub took_ms: u64,
}

/// An order as the build and the offline evaluation read it (the rest of the record is skipped).
#[derive(Deserialize)]
pub struct SlimOrder {
    pub customer: u64,
    pub placed_at: i64,
    pub status: store::records::OrderStatus,
    #[serde(default)]
    pub lines: Vec<SlimLine>,
}

#[derive(Deserialize)]
pub struct SlimLine {
    pub product_id: String,
}

/// Builds the model from every order (a fully refunded one does not count) and every visit's
/// cart (products carted within [`VISIT_GAP_MS`] of each other, from the interest counts' last
/// cart times), as of `read`.
pub fn build(read: &ReadTx, params: &Params, now: i64) -> Result<ModelFile, store::Error> {
    let started = std::time::Instant::now();
    let seq = read.last_seq()?;
    let mut ids = Products::default();
    let mut counter = Counter::new();
    let mut orders = 0u64;
    let mut basket: Vec<Item> = Vec::new();
    read.for_each_order_as::<SlimOrder>(|o| {
        if o.status == store::records::OrderStatus::Refunded {
            return;
        }
        basket.clear();
        basket.extend(o.lines.iter().map(|l| ids.intern(&l.product_id)));
        counter.add(&basket, 1.0, params.basket_cap);
        orders += 1;
    })?;
    // Carts: per customer, the products' last cart times, grouped into visits.
    let mut carts = 0u64;
    let mut current: Option<u64> = None;
    let mut times: Vec<(i64, Item)> = Vec::new();
    let flush = |times: &mut Vec<(i64, Item)>, counter: &mut Counter, carts: &mut u64| {
        times.sort_unstable();
        let mut start = 0;
        for i in 1..=times.len() {
            if i == times.len() || times[i].0 - times[i - 1].0 > VISIT_GAP_MS {
                if i - start >= 2 {
                    let items: Vec<Item> = times[start..i].iter().map(|t| t.1).collect();
                    counter.add(&items, CART_WEIGHT, params.basket_cap);
                    *carts += 1;
                }
                start = i;
            }
        }
        times.clear();
    };
    read.for_each_interest(|customer, kind, item, _, last| {
        if current != Some(customer) {
            flush(&mut times, &mut counter, &mut carts);
            current = Some(customer);
        }
        if kind == store::Touch::Carted as u8
            && let Some(p) = item.strip_prefix("p:")
        {
            times.push((last, ids.intern(p)));
        }
        true
    })?;
    flush(&mut times, &mut counter, &mut carts);
    let model = counter.finish(params);
    Ok(ModelFile {
        ids: ids.ids,
        model,
        orders,
        carts,
        seq,
        built_at: now,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

/// What the engine answers from, swapped as a whole when the model is rebuilt.
struct Inner {
    products: Products,
    model: Arc<Model>,
    delta: Delta,
    /// Orders since the model's read (event seq, product ids), to count again into a new delta
    /// when a newer model replaces this one.
    log: Vec<(u64, Vec<String>)>,
    /// The model's last event sequence and when it was built.
    model_seq: u64,
    built_at: Option<i64>,
    basket_cap: usize,
}

impl Inner {
    fn new(file: ModelFile) -> Inner {
        let mut products = Products::default();
        for id in &file.ids {
            products.intern(id);
        }
        Inner {
            products,
            basket_cap: file.model.params.basket_cap,
            model: Arc::new(file.model),
            delta: Delta::default(),
            log: Vec::new(),
            model_seq: file.seq,
            built_at: (file.built_at > 0).then_some(file.built_at),
        }
    }

    fn count_order(&mut self, seq: u64, products: &[String]) {
        if seq <= self.model_seq {
            return;
        }
        let items: Vec<Item> = products.iter().map(|p| self.products.intern(p)).collect();
        self.delta.add(&items, self.basket_cap);
        self.log.push((seq, products.to_vec()));
    }
}

/// The recommender as the server keeps it.
pub struct Engine {
    inner: RwLock<Inner>,
    popular: RwLock<Arc<Popular>>,
    /// What the popular lists were made from: the last event sequence and when (unix millis).
    popular_made: std::sync::Mutex<(u64, i64)>,
    /// The catalogue version (the store's count of catalogue commits) last read.
    catalogue_seen: std::sync::atomic::AtomicU64,
    pub rules: Rules,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine {
            inner: RwLock::new(Inner::new(ModelFile::default())),
            popular: RwLock::new(Arc::new(Popular::default())),
            popular_made: std::sync::Mutex::new((0, 0)),
            catalogue_seen: Default::default(),
            rules: Rules::default(),
        }
    }
}

/// The popular lists are made again this long after an order (at most this often), and every
/// minute for the views.
const POPULAR_AFTER_ORDER: std::time::Duration = std::time::Duration::from_secs(1);
const POPULAR_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Where an answer's products came from: the model's age and how many orders it counted.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub built_at: Option<i64>,
    pub orders_since: usize,
    pub products: usize,
}

impl Engine {
    /// Loads the stored model (if any), the catalogue and the popular lists.
    pub fn load(read: &ReadTx, now: i64) -> Result<Engine, store::Error> {
        let file: ModelFile = read.recommend_record("model")?.unwrap_or_default();
        let engine = Engine {
            inner: RwLock::new(Inner::new(file)),
            ..Engine::default()
        };
        engine.refresh_catalogue(read)?;
        engine.refresh_popular(read, now)?;
        Ok(engine)
    }

    /// Brings the catalogue and the popular lists up to `read` before an answer, when that is
    /// cheap and needed: the catalogue if it changed since last read (`catalogue` is the store's
    /// count of catalogue commits; the newest products come from it, so the popular lists are made
    /// again too), and the popular lists if they are empty and events arrived (a new shop). A shop
    /// with sales has its lists kept by [`follow`] in the background, so answers never wait on them.
    pub fn fresh(&self, read: &ReadTx, catalogue: u64, now: i64) -> Result<(), store::Error> {
        use std::sync::atomic::Ordering;
        let catalogue_changed = self.catalogue_seen.load(Ordering::Acquire) < catalogue;
        if catalogue_changed {
            self.refresh_catalogue(read)?;
            self.catalogue_seen.fetch_max(catalogue, Ordering::AcqRel);
        }
        let empty = {
            let p = self.popular.read().expect("not poisoned");
            p.bought[2].is_empty() && p.all_time.is_empty()
        };
        let behind = empty && read.last_seq()? > self.popular_made.lock().expect("not poisoned").0;
        if catalogue_changed || behind {
            self.refresh_popular(read, now)?;
        }
        Ok(())
    }

    pub fn has_model(&self) -> bool {
        self.inner.read().expect("not poisoned").built_at.is_some()
    }

    pub fn status(&self) -> Status {
        let inner = self.inner.read().expect("not poisoned");
        Status {
            built_at: inner.built_at,
            orders_since: inner.log.len(),
            products: inner.products.available.iter().filter(|a| **a).count(),
        }
    }

    /// Takes a newly built model; the orders noticed since its read count on top of it. The
    /// model's products are numbered as the engine numbers them already, so the popular lists
    /// made before stay right.
    pub fn swap(&self, file: ModelFile, read: &ReadTx) -> Result<(), store::Error> {
        {
            let mut inner = self.inner.write().expect("not poisoned");
            let map: Vec<Item> = file.ids.iter().map(|id| inner.products.intern(id)).collect();
            inner.basket_cap = file.model.params.basket_cap;
            inner.model = Arc::new(file.model.remap(&map));
            inner.model_seq = file.seq;
            inner.built_at = Some(file.built_at);
            inner.delta = Delta::default();
            let log = std::mem::take(&mut inner.log);
            for (seq, products) in &log {
                inner.count_order(*seq, products);
            }
        }
        self.refresh_catalogue(read)
    }

    /// Counts orders the writer has just committed.
    pub fn count_orders(&self, orders: &[(u64, Vec<String>)]) {
        if orders.is_empty() {
            return;
        }
        let mut inner = self.inner.write().expect("not poisoned");
        for (seq, products) in orders {
            inner.count_order(*seq, products);
        }
    }

    /// Re-reads which products may be recommended and their categories.
    pub fn refresh_catalogue(&self, read: &ReadTx) -> Result<(), store::Error> {
        let mut all = Vec::new();
        read.for_each_product(|p| all.push(p))?;
        let mut inner = self.inner.write().expect("not poisoned");
        for a in inner.products.available.iter_mut() {
            *a = false;
        }
        for p in &all {
            inner.products.set(
                &p.id,
                p.in_stock && !p.hidden && crate::catalog::confirmed(p),
                p.category.as_deref(),
            );
        }
        Ok(())
    }

    /// Re-reads bestsellers and most viewed for each window (the oldest day of a window counts
    /// for the part of it still inside: a sliding window over day buckets), all-time bestsellers
    /// and the newest products.
    pub fn refresh_popular(&self, read: &ReadTx, now: i64) -> Result<(), store::Error> {
        let today = store::utc_day(now);
        let done = (now.rem_euclid(store::DAY_MS)) as f32 / store::DAY_MS as f32;
        let mut bought: [HashMap<Item, f32>; 3] = Default::default();
        let mut viewed: [HashMap<Item, f32>; 3] = Default::default();
        let inner = self.inner.read().expect("not poisoned");
        let products = &inner.products;
        read.for_each_product_day(today - 30, today, |day, id, n| {
            let Some(item) = products.get(id) else { return };
            for (w, days) in WINDOWS.iter().enumerate() {
                let first = today - *days as i32;
                let part = if day < first {
                    continue;
                } else if day == first {
                    1.0 - done
                } else {
                    1.0
                };
                *bought[w].entry(item).or_default() += n[3] as f32 * part;
                *viewed[w].entry(item).or_default() += n[0] as f32 * part;
            }
        })?;
        let mut all_time = HashMap::new();
        read.for_each_product_stats(|id, stats| {
            if let Some(item) = products.get(id)
                && stats.touches[3] > 0
            {
                all_time.insert(item, stats.touches[3] as f32);
            }
        })?;
        let mut newest: Vec<(i64, Item)> = Vec::new();
        read.for_each_product(|p| {
            if let Some(item) = products.get(&p.id) {
                newest.push((p.created_at, item));
            }
        })?;
        newest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let popular = Popular::from_counts(
            bought,
            viewed,
            all_time,
            newest.into_iter().map(|(_, i)| i).collect(),
            products,
        );
        drop(inner);
        *self.popular.write().expect("not poisoned") = Arc::new(popular);
        *self.popular_made.lock().expect("not poisoned") = (read.last_seq()?, now);
        Ok(())
    }

    /// A customer's history: what they touched (products only) and the start of their current
    /// visit, if their last event is less than [`VISIT_GAP_MS`] old.
    pub fn history(&self, read: &ReadTx, customer: u64, now: i64) -> Result<History, store::Error> {
        let rows = read.interests_of(customer)?;
        let times = read.customer_event_times_back(customer, 500)?;
        let inner = self.inner.read().expect("not poisoned");
        let touched = rows
            .iter()
            .filter_map(|r| {
                let item = inner.products.get(r.item.strip_prefix("p:")?)?;
                Some(Touched {
                    item,
                    kind: r.touch as u8,
                    count: r.count,
                    last: r.last,
                })
            })
            .collect();
        Ok(History {
            touched,
            visit_start: visit_start(&times, now),
        })
    }

    /// Answers one request.
    pub fn recommend(&self, req: &Request, history: &History, now: i64) -> Vec<(String, Pick)> {
        let inner = self.inner.read().expect("not poisoned");
        let popular = self.popular.read().expect("not poisoned").clone();
        let data = Data {
            products: &inner.products,
            model: &inner.model,
            delta: &inner.delta,
            popular: &popular,
            rules: self.rules,
        };
        let ask = Ask {
            strategy: req.strategy,
            history,
            current: req.product.as_deref().and_then(|p| inner.products.get(p)),
            category: req.category.as_deref().and_then(|c| {
                let level = crate::catalog::category_levels(c).pop()?;
                inner.products.category_id(&level)
            }),
            days: req.days,
            limit: req.limit,
            now,
        };
        self::core::recommend(&data, &ask)
            .into_iter()
            .map(|p| (inner.products.ids[p.item as usize].clone(), p))
            .collect()
    }

    /// The products bought with `product` and how strongly: (product id, score, weighted orders
    /// holding both), best first, unfiltered (for the console's product page).
    pub fn related(&self, product: &str, limit: usize) -> Vec<(String, f32, f32)> {
        let inner = self.inner.read().expect("not poisoned");
        let Some(item) = inner.products.get(product) else {
            return Vec::new();
        };
        inner
            .model
            .related(item, &inner.delta)
            .into_iter()
            .take(limit)
            .map(|(b, s, co)| (inner.products.ids[b as usize].clone(), s, co))
            .collect()
    }
}

/// Where the current visit began: walking back from the last event while the gaps stay under
/// [`VISIT_GAP_MS`]; None when the last event is older than that.
pub fn visit_start(times_newest_first: &[i64], now: i64) -> Option<i64> {
    let &last = times_newest_first.first()?;
    if now - last > VISIT_GAP_MS {
        return None;
    }
    let mut start = last;
    for &t in &times_newest_first[1..] {
        if start - t > VISIT_GAP_MS {
            break;
        }
        start = t;
    }
    Some(start)
}

/// A request as the APIs take it.
#[derive(Debug, Clone)]
pub struct Request {
    pub strategy: Strategy,
    /// The product on screen.
    pub product: Option<String>,
    pub category: Option<String>,
    pub days: u32,
    pub limit: usize,
}

/// The nightly job: builds the model from every order and visit cart, stores it, and hands it to
/// the engine.
pub fn job(engine: Arc<Engine>) -> crate::jobs::Job {
    crate::jobs::Job {
        name: JOB,
        about: "the bought-together model for recommendations, from every order and visit's cart",
        schedule: crate::jobs::Schedule::DailyAt(chrono::NaiveTime::MIN),
        body: Arc::new(move |store: &Store, ctx| {
            let read = store.read()?;
            let file = build(&read, &Params::default(), ctx.now)?;
            let message = crate::jobs::Done::new(
                format!(
                    "{} orders and {} visit carts, {} products, in {:.1} s",
                    file.orders,
                    file.carts,
                    file.ids.len(),
                    file.took_ms as f64 / 1000.0
                ),
                &[
                    ("orders", crate::value::group_digits(file.orders as f64, 0)),
                    ("carts", crate::value::group_digits(file.carts as f64, 0)),
                    ("products", crate::value::group_digits(file.ids.len() as f64, 0)),
                ],
            );
            engine.swap(file.clone(), &read)?;
            Ok(Box::new(move |tx: &mut store::Tx| {
                tx.put_recommend_record("model", &file)?;
                Ok(message.clone())
            }))
        }),
    }
}

/// Follows the writer: new orders count at once, the catalogue is re-read when it changes, the
/// popular lists a second after orders and every minute. Ends when `stop` turns true.
pub async fn follow(engine: Arc<Engine>, store: Store, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut changes = store.customer_changes();
    let mut catalog = store.catalog_changes();
    let mut tick = tokio::time::interval(POPULAR_AFTER_ORDER);
    tick.tick().await;
    let mut ordered = false;
    let mut made = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            got = changes.recv() => match got {
                Ok(rows) => {
                    let orders: Vec<(u64, Vec<String>)> =
                        rows.iter().flat_map(|r| r.bought.iter().cloned()).collect();
                    ordered |= !orders.is_empty();
                    engine.count_orders(&orders);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "recommendations missed notices: their orders count from the next build");
                }
                Err(_) => return,
            },
            Ok(()) = catalog.changed() => {
                // Through `fresh`, which records the version read, so that no answer reads the
                // catalogue again for the same change.
                let version = *catalog.borrow_and_update();
                let (engine, store, now) = (engine.clone(), store.clone(), store.now_ms());
                let _ = tokio::task::spawn_blocking(move || engine.fresh(&store.read()?, version, now)).await;
            }
            _ = tick.tick() => {
                if !ordered && made.elapsed() < POPULAR_EVERY {
                    continue;
                }
                (ordered, made) = (false, std::time::Instant::now());
                let (engine, store, now) = (engine.clone(), store.clone(), store.now_ms());
                let _ = tokio::task::spawn_blocking(move || {
                    let read = store.read()?;
                    engine.refresh_popular(&read, now)
                })
                .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_visit_is_the_last_run_of_events_without_a_long_gap() {
        let m = 60_000;
        let now = 1_000 * m;
        assert_eq!(visit_start(&[], now), None);
        assert_eq!(visit_start(&[now - 31 * m], now), None, "gone for over half an hour");
        assert_eq!(
            visit_start(&[now - m, now - 10 * m, now - 35 * m, now - 120 * m], now),
            Some(now - 35 * m)
        );
        assert_eq!(visit_start(&[now - m, now - 40 * m], now), Some(now - m));
    }
}
