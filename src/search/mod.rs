//! Interest search: two tantivy indexes derived from redb, in `DATA_DIR/index/`.
//! - `products-1`: the catalogue's products and category levels (see [`products`]);
//! - `interests-1`: one document per customer with the words of what they touched (see [`interests`]).
//!
//! Both are followers (DESIGN §5): [`follow`] brings them in step on start (a missing or unreadable
//! index is made again, an index ahead of the store is rebuilt) and then applies the writer's
//! notices, committing at most a quarter second after a change. They only ever read committed
//! redb data, so they never hold what redb lacks. `dangol reindex` rebuilds both.
//!
//! Korean and English text go through one analyser ([`analyzer`]); free text becomes a query by
//! [`query::build_query`].

pub mod analyzer;
pub mod eval;
pub mod interests;
pub mod products;
pub mod query;
pub mod trending;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tantivy::Index;
use tantivy::schema::Schema;

use crate::customer::columns::Shared;
use crate::store::{self, ReadTx, Store, Touch};
pub use interests::InterestIndex;
pub use products::{ProductHit, ProductIndex};

/// How long a change waits before it is committed to the indexes, gathering others meanwhile.
const COMMIT_DELAY: Duration = Duration::from_millis(250);
/// Under load the wait after a change grows to this many times the last update's time (at most
/// [`MAX_COMMIT_DELAY`]), so that indexing takes at most a ninth of a core from ingest: a busy
/// shop's index is seconds behind instead of its tracking endpoint a third slower.
const LOAD_FACTOR: u32 = 8;
const MAX_COMMIT_DELAY: Duration = Duration::from_secs(10);
/// Past this many customers to catch up, a rebuild is quicker than re-reading each.
const CATCH_UP_LIMIT: usize = 200_000;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("search index directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the index in `dir` when it is there, readable and of this schema; otherwise empties
/// the directory and makes a new one (the index is derived: nothing is lost).
fn open_index(dir: &Path, schema: Schema) -> Result<Index, Error> {
    std::fs::create_dir_all(dir)?;
    let usable = |index: &Index| -> bool {
        index.schema() == schema && index.searchable_segment_metas().is_ok() && index.reader().is_ok()
    };
    let index = match Index::open_in_dir(dir) {
        Ok(index) if usable(&index) => index,
        found => {
            if let Err(e) = found {
                if !matches!(
                    e,
                    tantivy::TantivyError::OpenDirectoryError(_) | tantivy::TantivyError::OpenReadError(_)
                ) {
                    tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; making it again");
                }
            } else {
                tracing::warn!(dir = %dir.display(), "search index of another layout; making it again");
            }
            std::fs::remove_dir_all(dir)?;
            std::fs::create_dir_all(dir)?;
            Index::create_in_dir(dir, schema)?
        }
    };
    analyzer::register(&index);
    Ok(index)
}

/// Both indexes, and whether each has caught up since the start.
pub struct Search {
    pub products: ProductIndex,
    pub interests: InterestIndex,
    products_ready: AtomicBool,
    interests_ready: AtomicBool,
    /// The store's count of catalogue changes (set by [`follow`]), and the count the product index
    /// has synced up to: a search that finds them apart syncs first, so that a product saved a
    /// moment ago is found.
    catalog: std::sync::Mutex<Option<tokio::sync::watch::Receiver<u64>>>,
    synced: std::sync::atomic::AtomicU64,
    /// Keys a sync made by [`fresh`](Search::fresh) rewrote: their customers' interest documents
    /// are for the follower to redo.
    rewritten: std::sync::Mutex<Vec<String>>,
    /// The last trending lists, (computed at, hours, limit, lists): they change slowly and cost a
    /// read of the hours' events.
    trending: std::sync::Mutex<Option<(i64, u32, usize, trending::Trending)>>,
}

/// How long trending lists are reused.
const TRENDING_TTL_MS: i64 = 60_000;

impl Search {
    /// Opens (or makes) the indexes under `data_dir/index`.
    pub fn open(data_dir: &Path) -> Result<Search, Error> {
        let dir = data_dir.join("index");
        Ok(Search {
            products: ProductIndex::open(&dir.join("products-1"))?,
            interests: InterestIndex::open(&dir.join("interests-1"))?,
            products_ready: AtomicBool::new(false),
            interests_ready: AtomicBool::new(false),
            catalog: std::sync::Mutex::new(None),
            synced: std::sync::atomic::AtomicU64::new(u64::MAX),
            trending: std::sync::Mutex::new(None),
            rewritten: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// What customers look at most in the `hours` before `now` ([`trending::trending`]), reused
    /// for a minute.
    pub fn trending(&self, read: &ReadTx, now: i64, hours: u32, limit: usize) -> Result<trending::Trending, Error> {
        if let Some((at, h, l, t)) = self.trending.lock().expect("not poisoned").as_ref()
            && (*h, *l) == (hours, limit)
            && (0..TRENDING_TTL_MS).contains(&(now - at))
        {
            return Ok(t.clone());
        }
        let t = trending::trending(read, now, hours, limit)?;
        *self.trending.lock().expect("not poisoned") = Some((now, hours, limit, t.clone()));
        Ok(t)
    }

    /// Syncs the product index with the catalogue `read` sees when a change is known to be
    /// missing from it; a no-op otherwise (and before [`follow`] has run).
    pub fn fresh(&self, read: &ReadTx) -> Result<(), Error> {
        let current = match self.catalog.lock().expect("not poisoned").as_ref() {
            Some(rx) => *rx.borrow(),
            None => return Ok(()),
        };
        if self.synced.load(Ordering::Acquire) != current {
            // Held across the sync, so that the follower, which syncs and then takes these, cannot
            // take them between this sync and their arrival.
            let mut rewritten = self.rewritten.lock().expect("not poisoned");
            rewritten.extend(self.products.sync(read)?.rewritten);
            self.synced.store(current, Ordering::Release);
        }
        Ok(())
    }

    /// Whether the product index holds the catalogue as of the start or later.
    pub fn products_ready(&self) -> bool {
        self.products_ready.load(Ordering::Acquire)
    }

    /// Whether the interest index has caught up with the store since the start.
    pub fn interests_ready(&self) -> bool {
        self.interests_ready.load(Ordering::Acquire)
    }

    /// Rebuilds both indexes from `store` (for `dangol reindex`): returns (products and
    /// categories, customers with interests).
    pub fn rebuild(&self, store: &Store) -> Result<(usize, u64), Error> {
        let read = store.read()?;
        self.products.sync(&read)?;
        self.interests.rebuild(&read, &AtomicBool::new(false))?;
        Ok((self.products.len(), self.interests.len()))
    }
}

/// Deletes the store's indexes (`DATA_DIR/index`) and builds both again from the store: what
/// `dangol reindex` does on a stopped server's data dir. Returns the products and categories, and
/// the customers, indexed.
pub fn reindex(store: &Store) -> anyhow::Result<(usize, u64)> {
    use anyhow::Context;
    let dir = store.dir().join("index");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(Search::open(store.dir())?.rebuild(store)?)
}

/// Brings the interest index up to the store: a rebuild when it is new or ahead of the store (a
/// restored backup), else the customers of the events since its mark, and the merged and erased
/// ones. Returns false when stopped.
fn catch_up(store: &Store, search: &Search, stop: &AtomicBool) -> Result<bool, Error> {
    let read = store.read()?;
    let last = read.last_seq()?;
    let applied = search.interests.applied_seq()?;
    let started = std::time::Instant::now();
    let rebuild = match applied {
        None => true,
        Some(seq) if seq > last => {
            tracing::warn!(
                index = seq,
                store = last,
                "interest index is ahead of the store; rebuilding"
            );
            true
        }
        Some(seq) if seq == last => return Ok(true),
        Some(seq) => {
            let mut customers = HashSet::new();
            let mut after = seq;
            loop {
                let page = read.events_after(after, 10_000)?;
                let Some(&(s, _)) = page.last() else { break };
                after = s;
                customers.extend(page.iter().map(|(_, e)| e.customer));
                if customers.len() > CATCH_UP_LIMIT || stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if customers.len() > CATCH_UP_LIMIT {
                true
            } else {
                customers.extend(read.gone_customer_ids()?);
                search.interests.update(&read, &customers)?;
                tracing::info!(
                    customers = customers.len(),
                    seconds = started.elapsed().as_secs_f64(),
                    "interest index caught up"
                );
                false
            }
        }
    };
    if rebuild {
        if !search.interests.rebuild(&read, stop)? {
            return Ok(false);
        }
        tracing::info!(
            customers = search.interests.len(),
            seconds = started.elapsed().as_secs_f64(),
            "interest index built"
        );
    }
    Ok(true)
}

/// The customers who touched any of `keys`: from the columns' who-touched index when it is
/// built, else from the interests themselves.
fn customers_of(read: &ReadTx, columns: &Shared, keys: &[String]) -> Result<HashSet<u64>, store::Error> {
    let mut out = HashSet::new();
    if keys.is_empty() {
        return Ok(out);
    }
    {
        let cols = columns.read().expect("not poisoned");
        if cols.touches_ready() {
            for key in keys {
                for touch in Touch::ALL {
                    if let Some(rows) = cols.touchers(touch as u8, key) {
                        out.extend(rows.iter().map(|r| cols.ids[r as usize]));
                    }
                }
            }
            return Ok(out);
        }
    }
    let keys: HashSet<&str> = keys.iter().map(String::as_str).collect();
    read.for_each_interest(|customer, _, item, _, _| {
        if keys.contains(item) {
            out.insert(customer);
        }
        true
    })?;
    Ok(out)
}

/// Syncs the product index; returns the customers whose interest documents now read differently.
fn sync_products(store: &Store, search: &Search, columns: &Shared) -> Result<HashSet<u64>, Error> {
    // The count first: a change committed after it is synced again later, never skipped.
    let version = *store.catalog_changes().borrow();
    let read = store.read()?;
    let synced = search.products.sync(&read)?;
    search.synced.store(version, Ordering::Release);
    if synced.added + synced.changed + synced.removed > 0 {
        tracing::info!(
            added = synced.added,
            changed = synced.changed,
            removed = synced.removed,
            "product index synced"
        );
    }
    search.products_ready.store(true, Ordering::Release);
    let mut rewritten = synced.rewritten;
    rewritten.append(&mut search.rewritten.lock().expect("not poisoned"));
    Ok(customers_of(&read, columns, &rewritten)?)
}

/// Keeps both indexes in step with the store until `stop` turns true.
pub async fn follow(store: Store, search: Arc<Search>, columns: Shared, mut stop: tokio::sync::watch::Receiver<bool>) {
    use tokio::sync::broadcast::error::RecvError;
    let stopping = Arc::new(AtomicBool::new(false));
    let flag = stopping.clone();
    let mut stop2 = stop.clone();
    tokio::spawn(async move {
        let _ = stop2.wait_for(|s| *s).await;
        flag.store(true, Ordering::Relaxed);
    });
    let mut notices = store.customer_changes();
    let mut catalog = store.catalog_changes();
    *search.catalog.lock().expect("not poisoned") = Some(store.catalog_changes());
    let mut dirty: HashSet<u64> = HashSet::new();
    let mut due: Option<tokio::time::Instant> = None;
    let mut behind = true;
    let mut products_behind = true;
    let mut delay = COMMIT_DELAY;
    loop {
        if products_behind {
            let (s, x, c) = (store.clone(), search.clone(), columns.clone());
            match tokio::task::spawn_blocking(move || sync_products(&s, &x, &c)).await {
                Ok(Ok(customers)) => {
                    dirty.extend(customers);
                    products_behind = false;
                }
                Ok(Err(e)) => tracing::error!(error = %e, "product index could not be synced"),
                Err(e) => tracing::error!(error = %e, "product index sync failed"),
            }
        }
        if behind {
            let (s, x, f) = (store.clone(), search.clone(), stopping.clone());
            match tokio::task::spawn_blocking(move || catch_up(&s, &x, &f)).await {
                Ok(Ok(true)) => {
                    search.interests_ready.store(true, Ordering::Release);
                    behind = false;
                }
                Ok(Ok(false)) => return,
                Ok(Err(e)) => tracing::error!(error = %e, "interest index could not catch up"),
                Err(e) => tracing::error!(error = %e, "interest index catch-up failed"),
            }
            if behind || products_behind {
                // Try again in a while rather than spin on a broken disk.
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(10)) => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
        if !dirty.is_empty() && due.is_none() {
            due = Some(tokio::time::Instant::now() + delay);
        }
        let flush_at = due.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        let mut flush = false;
        tokio::select! {
            n = notices.recv() => match n {
                Ok(rows) => dirty.extend(rows.iter().map(|r| r.id)),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "interest index fell behind the notices; catching up");
                    behind = true;
                }
                Err(RecvError::Closed) => return,
            },
            changed = catalog.changed() => {
                if changed.is_err() {
                    return;
                }
                products_behind = true;
            }
            _ = tokio::time::sleep_until(flush_at), if due.is_some() => {
                due = None;
                flush = true;
            }
            _ = stop.wait_for(|s| *s) => return,
        }
        if flush && !behind {
            let customers = std::mem::take(&mut dirty);
            let (s, x) = (store.clone(), search.clone());
            let started = std::time::Instant::now();
            let done = tokio::task::spawn_blocking(move || -> Result<(), Error> {
                x.interests.update(&s.read()?, &customers)
            })
            .await;
            delay = (started.elapsed() * LOAD_FACTOR).clamp(COMMIT_DELAY, MAX_COMMIT_DELAY);
            if !matches!(done, Ok(Ok(()))) {
                tracing::error!("interest index update failed; catching up from its mark");
                behind = true;
            }
        }
    }
}

/// How strongly a customer showed interest in a matched product or category, by kind of touch.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Evidence {
    /// `p:ID` or `c:PATH`.
    pub key: String,
    /// The product's name or the category's path.
    pub title: String,
    pub viewed: u32,
    pub carted: u32,
    pub checkout: u32,
    pub purchased: u32,
    /// The last touch, unix millis.
    pub last: i64,
}

/// A customer found by interest search.
#[derive(Debug, Clone)]
pub struct InterestHit {
    pub customer: u64,
    pub score: f32,
    /// The matched products and categories they touched, strongest first.
    pub evidence: Vec<Evidence>,
}

/// What an interest search found.
#[derive(Debug, Clone, Default)]
pub struct InterestResult {
    /// Customers whose interests match (with a window: who also touched anything in it, an upper
    /// bound of those who touched a match in it).
    pub total: usize,
    /// The products and categories the text matched, best first.
    pub matched: Vec<ProductHit>,
    pub customers: Vec<InterestHit>,
}

/// Customers ranked by interest in `text` (touched since `since` when given), with the evidence.
pub fn interest_search(
    search: &Search,
    read: &ReadTx,
    text: &str,
    since: Option<i64>,
    now: i64,
    limit: usize,
) -> Result<InterestResult, Error> {
    let Some(query) = query::build_query(&[(search.interests.field(), 1.0)], text) else {
        return Ok(InterestResult::default());
    };
    search.fresh(read)?;
    let matched = search.products.search_interest_fields(text, 10_000)?;
    let titles: HashMap<&str, &str> = matched.iter().map(|h| (h.key.as_str(), h.title.as_str())).collect();
    // A window drops those whose matching touches are all older: ask for more than needed.
    let want = if since.is_some() { limit * 3 + 10 } else { limit };
    let (ranked, total) = search.interests.rank(query, since, now, want)?;
    let mut customers = Vec::with_capacity(limit);
    for (customer, score) in ranked {
        if customers.len() == limit {
            break;
        }
        let mut by_item: HashMap<String, Evidence> = HashMap::new();
        for row in read.interests_of(customer)? {
            let Some(title) = titles.get(row.item.as_str()) else {
                continue;
            };
            if since.is_some_and(|s| row.last < s) {
                continue;
            }
            let e = by_item.entry(row.item.clone()).or_insert_with(|| Evidence {
                key: row.item.clone(),
                title: title.to_string(),
                viewed: 0,
                carted: 0,
                checkout: 0,
                purchased: 0,
                last: i64::MIN,
            });
            match row.touch {
                Touch::Viewed => e.viewed += row.count,
                Touch::Carted => e.carted += row.count,
                Touch::Checkout => e.checkout += row.count,
                Touch::Purchased => e.purchased += row.count,
            }
            e.last = e.last.max(row.last);
        }
        if since.is_some() && by_item.is_empty() {
            continue;
        }
        let mut evidence: Vec<Evidence> = by_item.into_values().collect();
        let strength = |e: &Evidence| e.viewed + 2 * e.carted + 3 * e.checkout + 4 * e.purchased;
        evidence.sort_by(|a, b| strength(b).cmp(&strength(a)).then(b.last.cmp(&a.last)));
        evidence.truncate(10);
        customers.push(InterestHit {
            customer,
            score,
            evidence,
        });
    }
    let mut matched = matched;
    matched.truncate(20);
    Ok(InterestResult {
        total,
        matched,
        customers,
    })
}
