//! The in-memory, column-wise view of customer aggregates (DESIGN.md §6): one vector per
//! attribute indexed by a dense row number, and bitmaps for tags and consents, so that a list
//! sorted by spend or filtered by tag over a million customers is a bitmap and a partial sort,
//! not a scan of redb. Derived state: built from redb on start (in the background; until then
//! `ready` is false and callers fall back to id order), then kept current from the rows the
//! writer sends of the customers each durable commit wrote. It never holds what redb lacks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use roaring::RoaringBitmap;

use crate::store::records::{CustomerRecord, CustomerRow};
use crate::store::{self, Store};

/// What a list is sorted by. Sorted lists are newest / largest first; `Id` is by customer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Id,
    LastSeen,
    Spent,
    Orders,
}

impl Sort {
    pub fn parse(s: &str) -> Option<Sort> {
        Some(match s {
            "id" => Sort::Id,
            "last_seen" => Sort::LastSeen,
            "spent" => Sort::Spent,
            "orders" => Sort::Orders,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Id => "id",
            Sort::LastSeen => "last_seen",
            Sort::Spent => "spent",
            Sort::Orders => "orders",
        }
    }
}

/// A channel whose consent a filter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Kakao,
}

impl Channel {
    pub fn parse(s: &str) -> Option<Channel> {
        Some(match s {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            "kakao" => Channel::Kakao,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    pub tag: Option<String>,
    /// Only customers who gave this consent (and have not withdrawn it).
    pub consent: Option<Channel>,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
}

/// Times are unix millis, `i64::MIN` for never. Rows are in customer id order (customers are
/// read in id order and new ids only grow). The segment engine reads the fields directly.
#[derive(Default)]
pub struct Columns {
    ready: bool,
    pub(crate) ids: Vec<u64>,
    pub(crate) rows: HashMap<u64, u32>,
    pub(crate) live: RoaringBitmap,
    pub(crate) last_seen: Vec<i64>,
    pub(crate) spent: Vec<f64>,
    pub(crate) orders: Vec<u32>,
    pub(crate) signed_up: Vec<i64>,
    pub(crate) last_order: Vec<i64>,
    /// Per row, an index into `places` (city, country; `u32::MAX` for none).
    pub(crate) city: Vec<u32>,
    pub(crate) country: Vec<u32>,
    /// Interned lower-cased city and country names.
    pub(crate) places: Vec<String>,
    place_ids: HashMap<String, u32>,
    pub(crate) tags: HashMap<String, RoaringBitmap>,
    pub(crate) consents: [RoaringBitmap; 3],
    /// Per row, what text search looks in (see `CustomerRow::search`).
    search: Vec<String>,
    /// Who ever touched an item, per kind of touch (viewed, carted, checkout, purchased): the
    /// interests turned around, so a segment rule on a product or category starts from its
    /// customers instead of reading every interest.
    items: HashMap<String, u32>,
    touchers: [Vec<RoaringBitmap>; 4],
    /// Whether `touchers` holds every interest in the store yet: it is built after the rest (a
    /// million customers' interests take half a minute to read), and kept by the notices meanwhile.
    touches_ready: bool,
    /// Every view, cart and checkout of the last 90 days with its time, for "N times in a window".
    pub(crate) recent: super::recent::Recent,
}

/// Who touched what, read from the store apart from the columns (see `Columns::touches_ready`).
pub struct Touches {
    items: HashMap<String, u32>,
    touchers: [Vec<RoaringBitmap>; 4],
}

pub type Shared = Arc<RwLock<Columns>>;

impl Columns {
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// Customers that exist.
    pub fn len(&self) -> u64 {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Puts a customer's current record into the columns (or takes a merged or erased one out).
    pub fn upsert(&mut self, id: u64, rec: &CustomerRecord) {
        self.apply(&CustomerRow::of(id, rec));
    }

    /// Puts a customer's row into the columns (or takes a merged or erased one out).
    pub fn apply(&mut self, c: &CustomerRow) {
        let row = match self.rows.get(&c.id) {
            Some(&row) => row,
            None => {
                let row = self.ids.len() as u32;
                self.ids.push(c.id);
                self.rows.insert(c.id, row);
                self.last_seen.push(i64::MIN);
                self.spent.push(0.0);
                self.orders.push(0);
                self.search.push(String::new());
                self.signed_up.push(i64::MIN);
                self.last_order.push(i64::MIN);
                self.city.push(u32::MAX);
                self.country.push(u32::MAX);
                row
            }
        };
        let r = row as usize;
        for bitmap in self.tags.values_mut() {
            bitmap.remove(row);
        }
        for bitmap in &mut self.consents {
            bitmap.remove(row);
        }
        self.recent.apply(row, &c.touches, c.merged_into);
        if !c.live {
            self.live.remove(row);
            return;
        }
        self.live.insert(row);
        self.last_seen[r] = c.last_seen.unwrap_or(i64::MIN);
        self.spent[r] = c.spent;
        self.orders[r] = c.orders;
        self.search[r].clone_from(&c.search);
        self.signed_up[r] = c.signed_up_at.unwrap_or(i64::MIN);
        self.last_order[r] = c.last_order_at.unwrap_or(i64::MIN);
        self.city[r] = self.place(c.city.as_deref());
        self.country[r] = self.place(c.country.as_deref());
        for tag in &c.tags {
            self.tags.entry(tag.clone()).or_default().insert(row);
        }
        for (i, given) in c.consents.iter().enumerate() {
            if *given {
                self.consents[i].insert(row);
            }
        }
        for (kind, item) in &c.new_touches {
            self.add_touch(row, *kind, item);
        }
    }

    fn add_touch(&mut self, row: u32, kind: u8, item: &str) {
        let Some(by_item) = self.touchers.get_mut(usize::from(kind)) else {
            return;
        };
        let next = self.items.len() as u32;
        let id = *self.items.entry(item.to_string()).or_insert(next) as usize;
        if by_item.len() <= id {
            by_item.resize_with(id + 1, RoaringBitmap::new);
        }
        by_item[id].insert(row);
    }

    /// Whether `touchers` answers for every interest (else read the interests themselves).
    pub fn touches_ready(&self) -> bool {
        self.touches_ready
    }

    /// Adds what `build_touches` read to what the notices added meanwhile.
    pub fn merge_touches(&mut self, t: Touches) {
        for (item, id) in t.items {
            for (kind, by_item) in t.touchers.iter().enumerate() {
                if let Some(rows) = by_item.get(id as usize)
                    && !rows.is_empty()
                {
                    let next = self.items.len() as u32;
                    let mine = *self.items.entry(item.clone()).or_insert(next) as usize;
                    let list = &mut self.touchers[kind];
                    if list.len() <= mine {
                        list.resize_with(mine + 1, RoaringBitmap::new);
                    }
                    list[mine] |= rows;
                }
            }
        }
        self.touches_ready = true;
    }

    /// The rows of everyone who ever touched `item` ("p:ID", "c:CATEGORY") in this way.
    pub(crate) fn touchers(&self, kind: u8, item: &str) -> Option<&RoaringBitmap> {
        let id = *self.items.get(item)? as usize;
        self.touchers.get(usize::from(kind))?.get(id)
    }

    /// The interned id of a lower-cased place name.
    fn place(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name else { return u32::MAX };
        if let Some(&id) = self.place_ids.get(name) {
            return id;
        }
        let id = self.places.len() as u32;
        self.places.push(name.to_string());
        self.place_ids.insert(name.to_string(), id);
        id
    }

    /// The interned id of a place name as a rule gives it (any case), if any customer has it.
    pub(crate) fn place_id(&self, name: &str) -> Option<u32> {
        self.place_ids.get(&name.trim().to_lowercase()).copied()
    }

    /// The customer ids of one page of a query, and how many customers match in all.
    pub fn query(&self, q: &Query) -> (Vec<u64>, u64) {
        let mut set = self.live.clone();
        if let Some(tag) = &q.tag {
            match self.tags.get(tag) {
                Some(b) => set &= b,
                None => set.clear(),
            }
        }
        if let Some(ch) = q.consent {
            set &= &self.consents[ch as usize];
        }
        let total = set.len();
        let ids = match q.sort {
            // Rows are in id order: customers are read in id order and new ids only grow.
            Sort::Id => set
                .iter()
                .skip(q.offset)
                .take(q.limit)
                .map(|r| self.ids[r as usize])
                .collect(),
            sort => {
                let mut rows: Vec<u32> = set.iter().collect();
                let key = |r: &u32| -> (std::cmp::Reverse<OrdF64>, u64) {
                    let i = *r as usize;
                    let k = match sort {
                        Sort::LastSeen => self.last_seen[i] as f64,
                        Sort::Spent => self.spent[i],
                        Sort::Orders => f64::from(self.orders[i]),
                        Sort::Id => unreachable!(),
                    };
                    (std::cmp::Reverse(OrdF64(k)), self.ids[i])
                };
                let want = q.offset.saturating_add(q.limit).min(rows.len());
                if want == 0 {
                    return (Vec::new(), total);
                }
                if want < rows.len() {
                    rows.select_nth_unstable_by_key(want - 1, key);
                    rows.truncate(want);
                }
                rows.sort_unstable_by_key(key);
                rows.into_iter()
                    .skip(q.offset)
                    .take(q.limit)
                    .map(|r| self.ids[r as usize])
                    .collect()
            }
        };
        (ids, total)
    }

    /// Customers whose name, email or user id contains `text` (any case), or whose phone
    /// contains its digits when it has four or more; in id order, one page of them, and how many
    /// match.
    pub fn search(&self, text: &str, offset: usize, limit: usize) -> (Vec<u64>, u64) {
        let needle = text.trim().to_lowercase();
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if needle.is_empty() {
            return (Vec::new(), 0);
        }
        let mut ids = Vec::new();
        let mut total = 0u64;
        for row in self.live.iter() {
            let hay = &self.search[row as usize];
            let (words, phone) = hay.rsplit_once('\u{1}').unwrap_or((hay, ""));
            if words.contains(&needle) || (digits.len() >= 4 && phone.contains(&digits)) {
                if total as usize >= offset && ids.len() < limit {
                    ids.push(self.ids[row as usize]);
                }
                total += 1;
            }
        }
        (ids, total)
    }

    /// The tags in use, with how many customers have each, most used first.
    pub fn tag_counts(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .tags
            .iter()
            .map(|(t, b)| (t.clone(), b.intersection_len(&self.live)))
            .filter(|(_, n)| *n > 0)
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

/// A total order on f64 for sorting (NaN never occurs in these columns).
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF64(f64);
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Builds the columns from every customer in the store. Gives up (returns `None`) between pages
/// once `stop` is set.
pub fn build(store: &Store, stop: &AtomicBool) -> Result<Option<Columns>, store::Error> {
    let mut cols = Columns::default();
    let read = store.read()?;
    let mut after = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let (page, _) = read.customers_after(after, 50_000, usize::MAX, |_| true)?;
        let Some(&(last, _)) = page.last() else { break };
        for (id, rec) in &page {
            cols.upsert(*id, rec);
        }
        after = last;
    }
    cols.ready = true;
    Ok(Some(cols))
}

/// Reads every interest into who-touched-what, by the rows of `rows` (a copy of the columns'
/// customer-to-row map taken when they were built). Gives up (`None`) once `stop` is set.
pub fn build_touches(
    store: &Store,
    rows: &HashMap<u64, u32>,
    stop: &AtomicBool,
) -> Result<Option<Touches>, store::Error> {
    let mut t = Touches {
        items: HashMap::new(),
        touchers: Default::default(),
    };
    let whole = store.read()?.for_each_interest(|customer, kind, item, _, _| {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let (Some(&row), Some(by_item)) = (rows.get(&customer), t.touchers.get_mut(usize::from(kind))) else {
            return true;
        };
        let next = t.items.len() as u32;
        let id = match t.items.get(item) {
            Some(&id) => id,
            None => {
                t.items.insert(item.to_string(), next);
                next
            }
        } as usize;
        if by_item.len() <= id {
            by_item.resize_with(id + 1, RoaringBitmap::new);
        }
        by_item[id].insert(row);
        true
    })?;
    Ok(whole.then_some(t))
}

/// Keeps `shared` current: subscribes to the writer's notices, builds from redb, then applies
/// every notice (a notice that arrives during the build is applied again, which changes
/// nothing). If it falls behind the notices, it builds again. Returns when `stop` turns true,
/// having let go of the store (a build in progress gives up at its next page).
pub async fn follow(store: Store, shared: Shared, mut stop: tokio::sync::watch::Receiver<bool>) {
    use tokio::sync::broadcast::error::RecvError;
    let stopping = Arc::new(AtomicBool::new(false));
    let flag = stopping.clone();
    let mut stop2 = stop.clone();
    tokio::spawn(async move {
        let _ = stop2.wait_for(|s| *s).await;
        flag.store(true, Ordering::Relaxed);
    });
    // Touch builds under way: waited for (they give up at once) before the store is let go.
    let mut touches: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    let following = async {
        loop {
            let mut notices = store.customer_changes();
            let started = std::time::Instant::now();
            let flag = stopping.clone();
            let built = store.call(move |s| build(s, &flag)).await;
            match built {
                Ok(None) => return,
                Ok(Some(cols)) => {
                    let n = cols.len();
                    let rows = cols.rows.clone();
                    let rows2 = rows.clone();
                    *shared.write().expect("not poisoned") = cols;
                    tracing::info!(
                        customers = n,
                        seconds = started.elapsed().as_secs_f64(),
                        "customer columns built"
                    );
                    // Who touched what comes after, while the notices keep the columns current.
                    let (store, shared, flag) = (store.clone(), shared.clone(), stopping.clone());
                    touches.push(tokio::spawn(async move {
                        let started = std::time::Instant::now();
                        let first = flag.clone();
                        match store.call(move |s| build_touches(s, &rows, &first)).await {
                            Ok(Some(t)) => {
                                shared.write().expect("not poisoned").merge_touches(t);
                                tracing::info!(seconds = started.elapsed().as_secs_f64(), "customer touches built");
                            }
                            Ok(None) => return,
                            Err(e) => {
                                tracing::error!(error = %e, "customer touches could not be built");
                                return;
                            }
                        }
                        // Then the last 90 days of views, carts and checkouts with their times.
                        let started = std::time::Instant::now();
                        let (rows, flag2) = (rows2, flag);
                        let built = store
                            .call(move |s| super::recent::build(s, &rows, s.now_ms(), &flag2))
                            .await;
                        match built {
                            Ok(Some(r)) => {
                                shared.write().expect("not poisoned").recent.merge(r);
                                tracing::info!(seconds = started.elapsed().as_secs_f64(), "recent touches built");
                            }
                            Ok(None) => {}
                            Err(e) => tracing::error!(error = %e, "recent touches could not be built"),
                        }
                    }));
                }
                Err(e) => {
                    tracing::error!(error = %e, "customer columns could not be built");
                    return;
                }
            }
            loop {
                let notice = tokio::select! {
                    n = notices.recv() => n,
                    _ = stop.wait_for(|s| *s) => return,
                };
                match notice {
                    Ok(rows) => {
                        let mut cols = shared.write().expect("not poisoned");
                        for row in rows.iter() {
                            cols.apply(row);
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "customer columns fell behind; rebuilding");
                        break;
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        }
    };
    following.await;
    stopping.store(true, Ordering::Relaxed);
    for t in touches {
        let _ = t.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::Consent;

    fn rec(spent: f64, seen: i64, tags: &[&str], sms: bool) -> CustomerRecord {
        let mut r = CustomerRecord {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        };
        r.stats.total_spent = spent;
        r.stats.last_seen = Some(seen);
        r.stats.orders_count = (spent / 1000.0) as u32;
        if sms {
            r.consents.sms = Some(Consent {
                granted: true,
                at: 0,
                source: "t".into(),
            });
        }
        r
    }

    fn q(sort: Sort, offset: usize, limit: usize) -> Query {
        Query {
            tag: None,
            consent: None,
            sort,
            offset,
            limit,
        }
    }

    #[test]
    fn sorts_filters_and_pages() {
        let mut c = Columns::default();
        for i in 1..=10u64 {
            c.upsert(
                i,
                &rec(
                    (i * 1000) as f64,
                    100 - i as i64,
                    if i % 2 == 0 { &["vip"] } else { &[] },
                    i % 3 == 0,
                ),
            );
        }
        assert_eq!(c.query(&q(Sort::Spent, 0, 3)).0, vec![10, 9, 8]);
        assert_eq!(c.query(&q(Sort::Spent, 3, 3)).0, vec![7, 6, 5]);
        assert_eq!(c.query(&q(Sort::LastSeen, 0, 2)).0, vec![1, 2]);
        assert_eq!(c.query(&q(Sort::Id, 8, 5)).0, vec![9, 10]);
        let vip = Query {
            tag: Some("vip".into()),
            ..q(Sort::Spent, 0, 10)
        };
        assert_eq!(c.query(&vip), (vec![10, 8, 6, 4, 2], 5));
        let sms_vip = Query {
            consent: Some(Channel::Sms),
            ..vip.clone()
        };
        assert_eq!(c.query(&sms_vip), (vec![6], 1));
        // A change moves a customer; a merged one leaves every list.
        c.upsert(1, &rec(99_000.0, 0, &["vip"], false));
        assert_eq!(c.query(&q(Sort::Spent, 0, 1)).0, vec![1]);
        assert_eq!(c.query(&vip).1, 6);
        let mut gone = rec(0.0, 0, &[], false);
        gone.merged_into = Some(2);
        c.upsert(1, &gone);
        assert_eq!(c.query(&vip).1, 5);
        assert_eq!(c.len(), 9);
        assert_eq!(c.tag_counts(), vec![("vip".to_string(), 5)]);
        assert_eq!(c.query(&q(Sort::Spent, 50, 10)), (vec![], 9));
        let mut named = rec(0.0, 0, &[], false);
        named.name = Some("김서연".into());
        named.email = Some("seoyeon@example.com".into());
        named.phone = Some("010-1234-5678".into());
        c.upsert(42, &named);
        assert_eq!(c.search("서연", 0, 10), (vec![42], 1));
        assert_eq!(c.search("SEOYEON@", 0, 10), (vec![42], 1));
        assert_eq!(c.search("1234-56", 0, 10), (vec![42], 1));
        assert_eq!(
            c.search("010", 0, 10).1,
            0,
            "fewer than four digits is not a phone search"
        );
    }
}
