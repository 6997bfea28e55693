//! Typed access to the tables inside one transaction. [`Tx`] is the writer's transaction with a
//! write-back cache of the customers and interest counts a group of jobs touches, so that a hundred
//! events of one person re-encode the profile once. [`ReadTx`] is a snapshot for readers.

use std::collections::HashMap;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Serialize, de::DeserializeOwned};

use super::records::*;
use super::tables::*;
use super::{Error, codec};

/// Interest kinds, the second part of an `INTERESTS` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Touch {
    Viewed = 0,
    Carted = 1,
    Checkout = 2,
    Purchased = 3,
}

impl Touch {
    pub const ALL: [Touch; 4] = [Touch::Viewed, Touch::Carted, Touch::Checkout, Touch::Purchased];
    pub fn as_str(self) -> &'static str {
        match self {
            Touch::Viewed => "viewed",
            Touch::Carted => "carted",
            Touch::Checkout => "checkout",
            Touch::Purchased => "purchased",
        }
    }
    fn from_u8(v: u8) -> Option<Touch> {
        Touch::ALL.get(v as usize).copied()
    }
}

/// One row of a customer's interests.
#[derive(Debug, Clone, PartialEq)]
pub struct InterestRow {
    pub touch: Touch,
    /// "p:" product id or "c:" category.
    pub item: String,
    pub count: u32,
    pub last: i64,
}

fn get_rec<K, V>(
    table: &impl ReadableTable<K, &'static [u8]>,
    name: &'static str,
    key: K::SelfType<'_>,
) -> Result<Option<V>, Error>
where
    K: redb::Key + 'static,
    for<'a> K::SelfType<'a>: std::fmt::Debug,
    V: DeserializeOwned,
{
    let shown = format!("{key:?}");
    match table.get(key)? {
        Some(bytes) => Ok(Some(codec::decode(name, shown, bytes.value())?)),
        None => Ok(None),
    }
}

/// The writer's transaction. Only the writer makes one.
pub struct Tx<'t> {
    /// For the tables a few jobs use, opened when asked for rather than on every commit.
    pub(super) txn: &'t redb::WriteTransaction,
    events: redb::Table<'t, u64, &'static [u8]>,
    customer_events: redb::Table<'t, (u64, i64, u64), ()>,
    message_ids: redb::Table<'t, &'static str, u64>,
    customers: redb::Table<'t, u64, &'static [u8]>,
    identities: redb::Table<'t, &'static str, u64>,
    customer_identities: redb::Table<'t, (u64, &'static str), ()>,
    interests: redb::Table<'t, (u64, u8, &'static str), (u32, i64)>,
    products: redb::Table<'t, &'static str, &'static [u8]>,
    product_skus: redb::Table<'t, &'static str, &'static str>,
    orders: redb::Table<'t, &'static str, &'static [u8]>,
    customer_orders: redb::Table<'t, (u64, i64, &'static str), f64>,
    orders_by_time: redb::Table<'t, (i64, &'static str), (u64, f64)>,
    meta: redb::Table<'t, &'static str, &'static [u8]>,
    api_keys: redb::Table<'t, &'static str, &'static [u8]>,
    users: redb::Table<'t, &'static str, &'static [u8]>,
    sessions: redb::Table<'t, &'static str, &'static [u8]>,
    login_failures: redb::Table<'t, &'static str, &'static [u8]>,
    rollups: redb::Table<'t, i64, &'static [u8]>,
    dirty_rollups: HashMap<i64, Rollup>,
    product_stats: redb::Table<'t, &'static str, &'static [u8]>,
    dirty_product_stats: HashMap<String, ProductStats>,
    product_days: redb::Table<'t, (i32, &'static str), (u32, u32, u32, u32)>,
    dirty_product_days: HashMap<(i32, String), [u32; 4]>,
    /// Products known to exist in this transaction: most events of a group name the same few.
    known_products: std::collections::HashSet<String>,
    /// Catalogue categories looked up in this transaction (for lines that name none).
    product_categories: HashMap<String, Option<String>>,
    next_seq: u64,
    next_customer: u64,
    dirty_customers: HashMap<u64, CustomerRecord>,
    dirty_interests: HashMap<(u64, Touch, String), (u32, i64)>,
    /// Interests touched for the first time in this transaction, told to followers.
    new_touches: HashMap<u64, Vec<(u8, String)>>,
    /// Views, carts and checkouts counted in this transaction (kind, item, time, event seq), told
    /// to followers.
    recent_touches: HashMap<u64, Vec<(u8, String, i64, u64)>>,
    /// Orders completed in this transaction (event seq, product ids), told to followers.
    new_orders: HashMap<u64, Vec<(u64, Vec<String>)>>,
    /// Highest sequence appended in this transaction.
    pub(super) last_seq: Option<u64>,
    /// Customers written in this transaction, told to followers after the commit.
    pub(super) touched: Vec<CustomerRow>,
    /// Whether this transaction wrote or deleted a product (the product index follows).
    pub(super) catalog_changed: bool,
    /// Whether this transaction wrote a coupon hold (the holdings index follows).
    pub(super) holds_changed: bool,
    /// Whether any experiment is defined, once looked up in this transaction (an event of a shop
    /// without experiments then looks for no assignments).
    pub(super) any_experiment: Option<bool>,
}

impl<'t> Tx<'t> {
    pub(super) fn open(txn: &'t redb::WriteTransaction) -> Result<Tx<'t>, Error> {
        let events = txn.open_table(EVENTS)?;
        let customers = txn.open_table(CUSTOMERS)?;
        let next_seq = events.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
        let next_customer = customers.last()?.map(|(k, _)| k.value() + 1).unwrap_or(1);
        Ok(Tx {
            txn,
            events,
            customer_events: txn.open_table(CUSTOMER_EVENTS)?,
            message_ids: txn.open_table(MESSAGE_IDS)?,
            customers,
            identities: txn.open_table(IDENTITIES)?,
            customer_identities: txn.open_table(CUSTOMER_IDENTITIES)?,
            interests: txn.open_table(INTERESTS)?,
            products: txn.open_table(PRODUCTS)?,
            product_skus: txn.open_table(PRODUCT_SKUS)?,
            orders: txn.open_table(ORDERS)?,
            customer_orders: txn.open_table(CUSTOMER_ORDERS)?,
            orders_by_time: txn.open_table(ORDERS_BY_TIME)?,
            meta: txn.open_table(META)?,
            api_keys: txn.open_table(API_KEYS)?,
            users: txn.open_table(USERS)?,
            sessions: txn.open_table(SESSIONS)?,
            login_failures: txn.open_table(LOGIN_FAILURES)?,
            rollups: txn.open_table(ROLLUPS)?,
            dirty_rollups: HashMap::new(),
            product_stats: txn.open_table(PRODUCT_STATS)?,
            dirty_product_stats: HashMap::new(),
            product_days: txn.open_table(PRODUCT_DAYS)?,
            dirty_product_days: HashMap::new(),
            known_products: std::collections::HashSet::new(),
            product_categories: HashMap::new(),
            next_seq,
            next_customer,
            dirty_customers: HashMap::new(),
            dirty_interests: HashMap::new(),
            new_touches: HashMap::new(),
            recent_touches: HashMap::new(),
            new_orders: HashMap::new(),
            last_seq: None,
            touched: Vec::new(),
            catalog_changed: false,
            holds_changed: false,
            any_experiment: None,
        })
    }

    /// Writes the cached customers and interest counts. Called before commit and before any
    /// operation that scans those tables.
    pub fn flush(&mut self) -> Result<(), Error> {
        for (id, rec) in self.dirty_customers.drain() {
            self.customers.insert(id, codec::encode(&rec).as_slice())?;
            let mut row = CustomerRow::of(id, &rec);
            row.new_touches = self.new_touches.remove(&id).unwrap_or_default();
            row.touches = self.recent_touches.remove(&id).unwrap_or_default();
            row.bought = self.new_orders.remove(&id).unwrap_or_default();
            self.touched.push(row);
        }
        // Touches of customers whose record this transaction did not change.
        let mut ids: Vec<u64> = self
            .new_touches
            .keys()
            .chain(self.recent_touches.keys())
            .chain(self.new_orders.keys())
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if let Some(rec) = get_rec::<u64, CustomerRecord>(&self.customers, "customers", id)? {
                let mut row = CustomerRow::of(id, &rec);
                row.new_touches = self.new_touches.remove(&id).unwrap_or_default();
                row.touches = self.recent_touches.remove(&id).unwrap_or_default();
                row.bought = self.new_orders.remove(&id).unwrap_or_default();
                self.touched.push(row);
            }
        }
        self.new_touches.clear();
        self.recent_touches.clear();
        self.new_orders.clear();
        for ((c, t, item), v) in self.dirty_interests.drain() {
            self.interests.insert((c, t as u8, item.as_str()), v)?;
        }
        for (bucket, r) in self.dirty_rollups.drain() {
            self.rollups.insert(bucket, codec::encode(&r).as_slice())?;
        }
        for (id, st) in self.dirty_product_stats.drain() {
            self.product_stats.insert(id.as_str(), codec::encode(&st).as_slice())?;
        }
        for ((day, id), n) in self.dirty_product_days.drain() {
            let (v, c, k, p) = self
                .product_days
                .get((day, id.as_str()))?
                .map(|v| v.value())
                .unwrap_or_default();
            self.product_days
                .insert((day, id.as_str()), (v + n[0], c + n[1], k + n[2], p + n[3]))?;
        }
        Ok(())
    }

    /// Changes the shop-wide counts of the 15-minute bucket that holds `at`.
    pub fn bump_rollup(&mut self, at: i64, change: impl FnOnce(&mut Rollup)) -> Result<(), Error> {
        let bucket = at.div_euclid(ROLLUP_BUCKET_MS);
        if !self.dirty_rollups.contains_key(&bucket) {
            let old = get_rec(&self.rollups, "rollups", bucket)?.unwrap_or_default();
            self.dirty_rollups.insert(bucket, old);
        }
        change(self.dirty_rollups.get_mut(&bucket).expect("just inserted"));
        Ok(())
    }

    // --- the event log -------------------------------------------------------------------

    /// Appends an event to the log and the customer's index; remembers its message id.
    pub fn append_event(&mut self, rec: &NewEvent) -> Result<u64, Error> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.insert(seq, codec::encode(rec).as_slice())?;
        self.customer_events.insert((rec.customer, rec.timestamp, seq), ())?;
        self.message_ids.insert(rec.message_id, seq)?;
        self.last_seq = Some(seq);
        Ok(seq)
    }

    /// The sequence of the last event appended, in this transaction or before (0: none).
    pub fn last_event_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Moves every event of `from` onto `to`: the index entries and the records themselves.
    pub fn move_events(&mut self, from: u64, to: u64) -> Result<u64, Error> {
        let keys: Vec<(i64, u64)> = self
            .customer_events
            .range((from, i64::MIN, 0)..=(from, i64::MAX, u64::MAX))?
            .map(|r| r.map(|(k, _)| (k.value().1, k.value().2)))
            .collect::<Result<_, _>>()?;
        for &(ts, seq) in &keys {
            self.customer_events.remove((from, ts, seq))?;
            self.customer_events.insert((to, ts, seq), ())?;
            if let Some(mut ev) = self.event(seq)? {
                ev.customer = to;
                self.events.insert(seq, codec::encode(&ev).as_slice())?;
            }
        }
        Ok(keys.len() as u64)
    }

    /// Deletes every event of a customer from the log and the index (erasure). Returns how many.
    pub fn delete_events_of(&mut self, customer: u64) -> Result<u64, Error> {
        let keys: Vec<(i64, u64)> = self
            .customer_events
            .range((customer, i64::MIN, 0)..=(customer, i64::MAX, u64::MAX))?
            .map(|r| r.map(|(k, _)| (k.value().1, k.value().2)))
            .collect::<Result<_, _>>()?;
        for &(ts, seq) in &keys {
            self.customer_events.remove((customer, ts, seq))?;
            self.events.remove(seq)?;
        }
        Ok(keys.len() as u64)
    }

    // --- customers and identities -------------------------------------------------------

    /// Forgets an identity key.
    pub fn delete_identity(&mut self, key: &str) -> Result<(), Error> {
        if let Some(c) = self.identities.remove(key)?.map(|v| v.value()) {
            self.customer_identities.remove((c, key))?;
        }
        Ok(())
    }

    /// Points an identity key at a customer, moving it off any customer it pointed at before.
    pub fn set_identity(&mut self, key: &str, customer: u64) -> Result<(), Error> {
        if let Some(old) = self.identities.insert(key, customer)?.map(|v| v.value()) {
            if old == customer {
                return Ok(());
            }
            self.customer_identities.remove((old, key))?;
        }
        self.customer_identities.insert((customer, key), ())?;
        Ok(())
    }

    /// A customer for reading; sees this transaction's changes.
    pub fn customer(&self, id: u64) -> Result<Option<CustomerRecord>, Error> {
        if let Some(c) = self.dirty_customers.get(&id) {
            return Ok(Some(c.clone()));
        }
        get_rec(&self.customers, "customers", id)
    }

    /// A customer to change; written back at commit.
    pub fn customer_mut(&mut self, id: u64) -> Result<Option<&mut CustomerRecord>, Error> {
        if !self.dirty_customers.contains_key(&id) {
            match get_rec::<u64, CustomerRecord>(&self.customers, "customers", id)? {
                Some(rec) => {
                    self.dirty_customers.insert(id, rec);
                }
                None => return Ok(None),
            }
        }
        Ok(self.dirty_customers.get_mut(&id))
    }

    pub fn insert_customer(&mut self, rec: CustomerRecord) -> u64 {
        let id = self.next_customer;
        self.next_customer += 1;
        self.dirty_customers.insert(id, rec);
        id
    }

    /// Counts one touch of a product shop-wide; `first` when it is this customer's first of
    /// this kind.
    pub fn bump_product_stats(&mut self, product_id: &str, touch: Touch, first: bool) -> Result<(), Error> {
        if !self.dirty_product_stats.contains_key(product_id) {
            let old = get_rec(&self.product_stats, "product_stats", product_id)?.unwrap_or_default();
            self.dirty_product_stats.insert(product_id.to_string(), old);
        }
        let st = self.dirty_product_stats.get_mut(product_id).expect("just inserted");
        st.touches[touch as usize] += 1;
        st.customers[touch as usize] += u64::from(first);
        Ok(())
    }

    /// Tells followers (after the commit) that `customer` completed an order of these products.
    pub fn note_order(&mut self, customer: u64, products: Vec<String>) {
        let seq = self.last_seq.unwrap_or(0);
        self.new_orders.entry(customer).or_default().push((seq, products));
    }

    /// Counts one touch of a product on its UTC day (bestsellers and most viewed by window).
    pub fn bump_product_day(&mut self, product_id: &str, touch: Touch, at: i64) {
        let key = (super::utc_day(at), product_id.to_string());
        self.dirty_product_days.entry(key).or_default()[touch as usize] += 1;
    }

    /// How often a customer touched an item this way (this transaction's counts included).
    pub fn interest_count(&self, customer: u64, touch: Touch, item: &str) -> Result<u32, Error> {
        if let Some(v) = self.dirty_interests.get(&(customer, touch, item.to_string())) {
            return Ok(v.0);
        }
        Ok(self
            .interests
            .get((customer, touch as u8, item))?
            .map_or(0, |v| v.value().0))
    }

    /// Adds one touch of an item to a customer's interest counts. Returns true when it is the
    /// customer's first touch of that kind of that item.
    pub fn bump_interest(&mut self, customer: u64, touch: Touch, item: &str, at: i64) -> Result<bool, Error> {
        let key = (customer, touch, item.to_string());
        if !self.dirty_interests.contains_key(&key) {
            let old = self
                .interests
                .get((customer, touch as u8, item))?
                .map(|v| v.value())
                .unwrap_or((0, i64::MIN));
            self.dirty_interests.insert(key.clone(), old);
        }
        if touch != Touch::Purchased
            && let Some(seq) = self.last_seq
        {
            self.recent_touches
                .entry(customer)
                .or_default()
                .push((touch as u8, key.2.clone(), at, seq));
        }
        let v = self.dirty_interests.get_mut(&key).expect("just inserted");
        let first = v.0 == 0;
        if first {
            self.new_touches
                .entry(customer)
                .or_default()
                .push((touch as u8, key.2.clone()));
        }
        v.0 += 1;
        v.1 = v.1.max(at);
        Ok(first)
    }

    /// Adds every interest row of `from` onto `to`, and removes them from `from`.
    pub fn move_interests(&mut self, from: u64, to: u64) -> Result<(), Error> {
        self.flush()?;
        let rows = read_interests(&self.interests, from)?;
        for row in rows {
            self.interests.remove((from, row.touch as u8, row.item.as_str()))?;
            let key = (to, row.touch as u8, row.item.as_str());
            let (c, l) = self.interests.get(key)?.map(|v| v.value()).unwrap_or((0, i64::MIN));
            self.interests.insert(key, (c + row.count, l.max(row.last)))?;
            if c == 0 {
                self.new_touches
                    .entry(to)
                    .or_default()
                    .push((row.touch as u8, row.item.clone()));
            }
        }
        Ok(())
    }

    pub fn interests_of(&mut self, customer: u64) -> Result<Vec<InterestRow>, Error> {
        self.flush()?;
        read_interests(&self.interests, customer)
    }

    /// Deletes a customer's interest counts (erasure). Returns how many rows.
    pub fn delete_interests_of(&mut self, customer: u64) -> Result<u64, Error> {
        self.flush()?;
        let rows = read_interests(&self.interests, customer)?;
        for row in &rows {
            self.interests.remove((customer, row.touch as u8, row.item.as_str()))?;
        }
        Ok(rows.len() as u64)
    }

    // --- catalogue and orders ------------------------------------------------------------

    /// The catalogue category of a product, looked up once per transaction.
    pub fn product_category(&mut self, id: &str) -> Result<Option<String>, Error> {
        if let Some(c) = self.product_categories.get(id) {
            return Ok(c.clone());
        }
        let c = self.product(id)?.and_then(|p| p.category);
        self.product_categories.insert(id.to_string(), c.clone());
        Ok(c)
    }

    pub fn has_product(&mut self, id: &str) -> Result<bool, Error> {
        if self.known_products.contains(id) {
            return Ok(true);
        }
        let known = self.products.get(id)?.is_some();
        if known {
            self.known_products.insert(id.to_string());
        }
        Ok(known)
    }

    /// Stores a product and keeps the SKU index in step.
    pub fn put_product(&mut self, rec: &ProductRecord) -> Result<(), Error> {
        self.catalog_changed = true;
        self.product_categories.remove(&rec.id);
        let old_sku = self.product(&rec.id)?.and_then(|p| p.sku);
        if let Some(old) = old_sku.as_deref().filter(|o| Some(*o) != rec.sku.as_deref()) {
            self.remove_sku_of(old, &rec.id)?;
        }
        if let Some(sku) = rec.sku.as_deref().filter(|s| !s.is_empty() && s.len() <= 256) {
            self.product_skus.insert(sku, rec.id.as_str())?;
        }
        self.products.insert(rec.id.as_str(), codec::encode(rec).as_slice())?;
        Ok(())
    }

    fn remove_sku_of(&mut self, sku: &str, id: &str) -> Result<(), Error> {
        let points_here = self.product_skus.get(sku)?.is_some_and(|v| v.value() == id);
        if points_here {
            self.product_skus.remove(sku)?;
        }
        Ok(())
    }

    pub fn delete_product(&mut self, id: &str) -> Result<bool, Error> {
        self.catalog_changed = true;
        self.known_products.remove(id);
        self.product_categories.remove(id);
        match self.product(id)? {
            Some(p) => {
                if let Some(sku) = p.sku.as_deref() {
                    self.remove_sku_of(sku, id)?;
                }
                self.products.remove(id)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The product that has this SKU.
    pub fn product_id_by_sku(&self, sku: &str) -> Result<Option<String>, Error> {
        Ok(self.product_skus.get(sku)?.map(|v| v.value().to_string()))
    }

    /// Stores an order and keeps its two indexes in step (also when its customer changes).
    /// Writes a record of the recommender's table (compact encoding).
    pub fn put_recommend_record<V: Serialize>(&mut self, key: &str, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(RECOMMEND)?
            .insert(key, codec::encode_compact(rec).as_slice())?;
        Ok(())
    }

    pub fn put_order(&mut self, rec: &OrderRecord) -> Result<(), Error> {
        if let Some(old) = self.order(&rec.order_id)? {
            self.customer_orders
                .remove((old.customer, old.placed_at, old.order_id.as_str()))?;
            self.orders_by_time.remove((old.placed_at, old.order_id.as_str()))?;
        }
        self.orders
            .insert(rec.order_id.as_str(), codec::encode(rec).as_slice())?;
        let net = (rec.total - rec.refunded_amount()).max(0.0);
        self.customer_orders
            .insert((rec.customer, rec.placed_at, rec.order_id.as_str()), net)?;
        self.orders_by_time
            .insert((rec.placed_at, rec.order_id.as_str()), (rec.customer, net))?;
        Ok(())
    }

    /// Records that a customer was merged away or erased (see `CUSTOMERS_GONE`).
    pub fn mark_customer_gone(&mut self, id: u64) -> Result<(), Error> {
        let mut t = self.txn.open_table(CUSTOMERS_GONE)?;
        t.insert(id, ())?;
        Ok(())
    }

    // --- segments ------------------------------------------------------------------------

    /// The next free segment id.
    pub fn next_segment_id(&self) -> Result<u64, Error> {
        let t = self.txn.open_table(SEGMENTS)?;
        Ok(t.last()?.map_or(1, |(k, _)| k.value() + 1))
    }

    pub fn put_segment<V: Serialize>(&mut self, id: u64, rec: &V) -> Result<(), Error> {
        let mut t = self.txn.open_table(SEGMENTS)?;
        t.insert(id, codec::encode(rec).as_slice())?;
        Ok(())
    }

    // --- coupons (tables opened when used) ------------------------------------------------

    pub fn next_coupon_id(&self) -> Result<u64, Error> {
        let t = self.txn.open_table(COUPONS)?;
        Ok(t.last()?.map_or(1, |(k, _)| k.value() + 1))
    }

    pub fn put_coupon<V: Serialize>(&mut self, id: u64, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(COUPONS)?
            .insert(id, codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn put_coupon_code<V: Serialize>(&mut self, code: &str, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(COUPON_CODES)?
            .insert(code, codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn delete_coupon_code(&mut self, code: &str) -> Result<bool, Error> {
        Ok(self.txn.open_table(COUPON_CODES)?.remove(code)?.is_some())
    }

    pub fn put_coupon_hold<V: Serialize>(&mut self, customer: u64, coupon: u64, rec: &V) -> Result<(), Error> {
        self.holds_changed = true;
        self.txn
            .open_table(COUPON_HOLDS)?
            .insert((customer, coupon), codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn put_coupon_redemption<V: Serialize>(&mut self, order_id: &str, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(COUPON_REDEMPTIONS)?
            .insert(order_id, codec::encode(rec).as_slice())?;
        Ok(())
    }

    /// Deletes a segment and its membership history; false if there was none.
    pub fn delete_segment(&mut self, id: u64) -> Result<bool, Error> {
        let mut t = self.txn.open_table(SEGMENTS)?;
        let existed = t.remove(id)?.is_some();
        let mut m = self.txn.open_table(SEGMENT_MEMBERS)?;
        m.retain_in((id, i32::MIN)..=(id, i32::MAX), |_, _| false)?;
        Ok(existed)
    }

    pub fn put_segment_day<V: Serialize>(&mut self, id: u64, day: i32, v: &V) -> Result<(), Error> {
        let mut t = self.txn.open_table(SEGMENT_MEMBERS)?;
        t.insert((id, day), codec::encode(v).as_slice())?;
        Ok(())
    }

    /// The days a segment has membership for, oldest first.
    pub fn segment_days(&self, id: u64) -> Result<Vec<i32>, Error> {
        let t = self.txn.open_table(SEGMENT_MEMBERS)?;
        let mut out = Vec::new();
        for r in t.range((id, i32::MIN)..=(id, i32::MAX))? {
            out.push(r?.0.value().1);
        }
        Ok(out)
    }

    pub fn delete_segment_day(&mut self, id: u64, day: i32) -> Result<(), Error> {
        let mut t = self.txn.open_table(SEGMENT_MEMBERS)?;
        t.remove((id, day))?;
        Ok(())
    }

    // --- jobs and analysis ---------------------------------------------------------------

    pub fn put_job<V: Serialize>(&mut self, name: &str, rec: &V) -> Result<(), Error> {
        let mut t = self.txn.open_table(JOBS)?;
        t.insert(name, codec::encode(rec).as_slice())?;
        Ok(())
    }

    /// Stores one chunk of a day's analysis, compactly encoded (positional, not named fields).
    pub fn put_analysis_chunk<V: Serialize>(&mut self, day: i32, first: u64, chunk: &V) -> Result<(), Error> {
        let mut t = self.txn.open_table(ANALYSIS)?;
        t.insert((day, first), codec::encode_compact(chunk).as_slice())?;
        Ok(())
    }

    /// Removes every chunk of `day` (what a run that stopped half way left behind); returns how many.
    pub fn delete_analysis_day(&mut self, day: i32) -> Result<u64, Error> {
        let mut t = self.txn.open_table(ANALYSIS)?;
        let mut n = 0;
        t.retain_in((day, 0)..=(day, u64::MAX), |_, _| {
            n += 1;
            false
        })?;
        Ok(n)
    }

    pub fn put_analysis_run<V: Serialize>(&mut self, day: i32, run: &V) -> Result<(), Error> {
        let mut t = self.txn.open_table(ANALYSIS_RUNS)?;
        t.insert(day, codec::encode(run).as_slice())?;
        Ok(())
    }

    pub fn delete_analysis_run(&mut self, day: i32) -> Result<bool, Error> {
        let mut t = self.txn.open_table(ANALYSIS_RUNS)?;
        Ok(t.remove(day)?.is_some())
    }

    pub fn delete_analysis_change(&mut self, customer: u64, day: i32) -> Result<bool, Error> {
        let mut t = self.txn.open_table(ANALYSIS_CHANGES)?;
        Ok(t.remove((customer, day))?.is_some())
    }

    pub fn put_analysis_change<V: Serialize>(&mut self, customer: u64, day: i32, change: &V) -> Result<(), Error> {
        let mut t = self.txn.open_table(ANALYSIS_CHANGES)?;
        t.insert((customer, day), codec::encode(change).as_slice())?;
        Ok(())
    }

    /// Removes a customer's analysis history (for erasure).
    pub fn delete_analysis_changes_of(&mut self, customer: u64) -> Result<u64, Error> {
        let mut t = self.txn.open_table(ANALYSIS_CHANGES)?;
        let mut n = 0;
        t.retain_in((customer, i32::MIN)..=(customer, i32::MAX), |_, _| {
            n += 1;
            false
        })?;
        Ok(n)
    }

    // --- meta, keys, users ---------------------------------------------------------------

    pub fn delete_meta(&mut self, key: &str) -> Result<bool, Error> {
        Ok(self.meta.remove(key)?.is_some())
    }

    pub fn put_meta<V: Serialize>(&mut self, key: &str, value: &V) -> Result<(), Error> {
        self.meta.insert(key, codec::encode(value).as_slice())?;
        Ok(())
    }

    pub fn put_api_key(&mut self, hash: &str, rec: &ApiKeyRecord) -> Result<(), Error> {
        self.api_keys.insert(hash, codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn put_user(&mut self, rec: &UserRecord) -> Result<(), Error> {
        self.users.insert(rec.name.as_str(), codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn users_count(&self) -> Result<u64, Error> {
        Ok(self.users.len()?)
    }

    pub fn delete_user(&mut self, name: &str) -> Result<bool, Error> {
        Ok(self.users.remove(name)?.is_some())
    }

    pub fn put_session(&mut self, hash: &str, rec: &SessionRecord) -> Result<(), Error> {
        self.sessions.insert(hash, codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn delete_session(&mut self, hash: &str) -> Result<(), Error> {
        self.sessions.remove(hash)?;
        Ok(())
    }

    /// Removes sessions that expired before `now`, and every session of `user` when given.
    pub fn prune_sessions(&mut self, now: i64, user: Option<&str>) -> Result<u64, Error> {
        let mut gone = Vec::new();
        for r in self.sessions.iter()? {
            let (k, v) = r?;
            let rec: SessionRecord = codec::decode("sessions", k.value(), v.value())?;
            if rec.expires_at < now || user.is_some_and(|u| u == rec.user) {
                gone.push(k.value().to_string());
            }
        }
        for k in &gone {
            self.sessions.remove(k.as_str())?;
        }
        Ok(gone.len() as u64)
    }

    /// Removes the failure rows last written before `before` and not locked after it; returns how
    /// many.
    pub fn prune_login_failures(&mut self, before: i64) -> Result<u64, Error> {
        let mut gone = Vec::new();
        for r in self.login_failures.iter()? {
            let (k, v) = r?;
            let f: LoginFailures = codec::decode("login_failures", k.value(), v.value())?;
            if f.last_at < before && f.locked_until.is_none_or(|u| u < before) {
                gone.push(k.value().to_string());
            }
        }
        for k in &gone {
            self.login_failures.remove(k.as_str())?;
        }
        Ok(gone.len() as u64)
    }

    pub fn put_login_failures(&mut self, user: &str, rec: Option<&LoginFailures>) -> Result<(), Error> {
        match rec {
            Some(r) => self.login_failures.insert(user, codec::encode(r).as_slice())?,
            None => self.login_failures.remove(user)?,
        };
        Ok(())
    }
}

/// Width of a rollup bucket: 15 minutes, so that every time zone's midnight falls on an edge.
pub const ROLLUP_BUCKET_MS: i64 = 15 * 60 * 1000;

fn read_all<V: DeserializeOwned>(
    t: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &'static str,
) -> Result<Vec<V>, Error> {
    let mut out = Vec::new();
    for r in t.iter()? {
        let (k, v) = r?;
        out.push(codec::decode(name, k.value(), v.value())?);
    }
    Ok(out)
}

fn read_identities(t: &impl ReadableTable<(u64, &'static str), ()>, customer: u64) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for r in t.range((customer, "")..)? {
        let (k, _) = r?;
        let (c, key) = k.value();
        if c != customer {
            break;
        }
        out.push(key.to_string());
    }
    Ok(out)
}

fn read_interests(
    t: &impl ReadableTable<(u64, u8, &'static str), (u32, i64)>,
    customer: u64,
) -> Result<Vec<InterestRow>, Error> {
    let mut out = Vec::new();
    for r in t.range((customer, 0u8, "")..)? {
        let (k, v) = r?;
        let (c, touch, item) = k.value();
        if c != customer {
            break;
        }
        let (count, last) = v.value();
        if let Some(touch) = Touch::from_u8(touch) {
            out.push(InterestRow {
                touch,
                item: item.to_string(),
                count,
                last,
            });
        }
    }
    Ok(out)
}

fn read_customer_orders(
    t: &impl ReadableTable<(u64, i64, &'static str), f64>,
    customer: u64,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for r in t.range((customer, i64::MIN, "")..)? {
        let (k, _) = r?;
        let (c, _, id) = k.value();
        if c != customer {
            break;
        }
        out.push(id.to_string());
    }
    Ok(out)
}

fn read_purchases(
    t: &impl ReadableTable<(u64, i64, &'static str), f64>,
    customer: u64,
) -> Result<Vec<(i64, f64)>, Error> {
    let mut out = Vec::new();
    for r in t.range((customer, i64::MIN, "")..)? {
        let (k, v) = r?;
        let (c, at, _) = k.value();
        if c != customer {
            break;
        }
        out.push((at, v.value()));
    }
    Ok(out)
}

fn find_analysis_chunk<V: DeserializeOwned>(
    t: &impl ReadableTable<(i32, u64), &'static [u8]>,
    day: i32,
    customer: u64,
) -> Result<Option<(u64, V)>, Error> {
    let Some(r) = t.range((day, 0)..=(day, customer))?.next_back() else {
        return Ok(None);
    };
    let (k, v) = r?;
    let first = k.value().1;
    let chunk = codec::decode_compact("analysis", &format!("{day}/{first}"), v.value())?;
    Ok(Some((first, chunk)))
}

fn read_analysis_days(t: &impl ReadableTable<(i32, u64), &'static [u8]>) -> Result<Vec<i32>, Error> {
    let mut days = Vec::new();
    let mut next = Some(i32::MIN);
    while let Some(from) = next {
        next = None;
        if let Some(r) = t.range((from, 0)..)?.next() {
            let day = r?.0.value().0;
            days.push(day);
            next = day.checked_add(1);
        }
    }
    Ok(days)
}

fn read_api_keys(t: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Vec<(String, ApiKeyRecord)>, Error> {
    let mut out = Vec::new();
    for r in t.iter()? {
        let (k, v) = r?;
        out.push((k.value().to_string(), codec::decode("api_keys", k.value(), v.value())?));
    }
    Ok(out)
}

/// Customers of a page with their ids, and where the next page starts.
pub type CustomerPage = (Vec<(u64, CustomerRecord)>, Option<u64>);

/// A read snapshot.
pub struct ReadTx {
    /// For the tables a few readers use, opened when asked for.
    pub(super) txn: redb::ReadTransaction,
    events: redb::ReadOnlyTable<u64, &'static [u8]>,
    customer_events: redb::ReadOnlyTable<(u64, i64, u64), ()>,
    message_ids: redb::ReadOnlyTable<&'static str, u64>,
    customers: redb::ReadOnlyTable<u64, &'static [u8]>,
    identities: redb::ReadOnlyTable<&'static str, u64>,
    customer_identities: redb::ReadOnlyTable<(u64, &'static str), ()>,
    interests: redb::ReadOnlyTable<(u64, u8, &'static str), (u32, i64)>,
    products: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    orders: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    customer_orders: redb::ReadOnlyTable<(u64, i64, &'static str), f64>,
    orders_by_time: redb::ReadOnlyTable<(i64, &'static str), (u64, f64)>,
    meta: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    api_keys: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    users: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    sessions: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    login_failures: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    rollups: redb::ReadOnlyTable<i64, &'static [u8]>,
    product_stats: redb::ReadOnlyTable<&'static str, &'static [u8]>,
}

impl ReadTx {
    pub(super) fn begin(db: &redb::Database) -> Result<ReadTx, Error> {
        let t = db.begin_read()?;
        Ok(ReadTx {
            events: t.open_table(EVENTS)?,
            customer_events: t.open_table(CUSTOMER_EVENTS)?,
            message_ids: t.open_table(MESSAGE_IDS)?,
            customers: t.open_table(CUSTOMERS)?,
            identities: t.open_table(IDENTITIES)?,
            customer_identities: t.open_table(CUSTOMER_IDENTITIES)?,
            interests: t.open_table(INTERESTS)?,
            products: t.open_table(PRODUCTS)?,
            orders: t.open_table(ORDERS)?,
            customer_orders: t.open_table(CUSTOMER_ORDERS)?,
            orders_by_time: t.open_table(ORDERS_BY_TIME)?,
            meta: t.open_table(META)?,
            api_keys: t.open_table(API_KEYS)?,
            users: t.open_table(USERS)?,
            sessions: t.open_table(SESSIONS)?,
            login_failures: t.open_table(LOGIN_FAILURES)?,
            rollups: t.open_table(ROLLUPS)?,
            product_stats: t.open_table(PRODUCT_STATS)?,
            txn: t,
        })
    }

    pub fn product_stats(&self, product_id: &str) -> Result<ProductStats, Error> {
        Ok(get_rec(&self.product_stats, "product_stats", product_id)?.unwrap_or_default())
    }

    /// The sum of the rollup buckets in [from, to).
    pub fn rollup(&self, from: i64, to: i64) -> Result<Rollup, Error> {
        let mut sum = Rollup::default();
        // Every bucket that overlaps [from, to): `from` is a bucket edge in practice (midnights
        // in any time zone are), and the last bucket counts whole, as it holds nothing later.
        let (a, b) = (
            from.div_euclid(ROLLUP_BUCKET_MS),
            (to + ROLLUP_BUCKET_MS - 1).div_euclid(ROLLUP_BUCKET_MS),
        );
        for r in self.rollups.range(a..b)? {
            let (k, v) = r?;
            sum.add(&codec::decode("rollups", k.value(), v.value())?);
        }
        Ok(sum)
    }

    /// The newest events of the whole shop, newest first.
    pub fn latest_events(&self, limit: usize) -> Result<Vec<(u64, EventRecord)>, Error> {
        let mut out = Vec::new();
        for r in self.events.iter()?.rev().take(limit) {
            let (k, v) = r?;
            out.push((k.value(), codec::decode("events", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// The shop's events newest first, at most `limit`, until `f` says stop (false).
    pub fn for_each_latest_event(&self, limit: usize, mut f: impl FnMut(&EventRecord) -> bool) -> Result<(), Error> {
        for r in self.events.iter()?.rev().take(limit) {
            let (k, v) = r?;
            let e: EventRecord = codec::decode("events", k.value(), v.value())?;
            if !f(&e) {
                break;
            }
        }
        Ok(())
    }

    /// The newest `limit` events as stored, newest first, until `f` says stop: for a reader that
    /// decodes only the fields it needs.
    pub fn for_each_latest_event_bytes(
        &self,
        limit: usize,
        mut f: impl FnMut(u64, &[u8]) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        for r in self.events.iter()?.rev().take(limit) {
            let (k, v) = r?;
            if !f(k.value(), v.value())? {
                break;
            }
        }
        Ok(())
    }

    pub fn events_count(&self) -> Result<u64, Error> {
        Ok(self.events.len()?)
    }

    pub fn last_seq(&self) -> Result<u64, Error> {
        Ok(self.events.last()?.map(|(k, _)| k.value()).unwrap_or(0))
    }

    /// Events with a sequence above `after`, oldest first.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, EventRecord)>, Error> {
        let mut out = Vec::new();
        for r in self.events.range(after.saturating_add(1)..)?.take(limit) {
            let (k, v) = r?;
            out.push((k.value(), codec::decode("events", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// A customer's events, newest first, strictly before `before` = (time, seq) when given.
    pub fn customer_events(
        &self,
        customer: u64,
        before: Option<(i64, u64)>,
        limit: usize,
    ) -> Result<Vec<(u64, EventRecord)>, Error> {
        let end = before.unwrap_or((i64::MAX, u64::MAX));
        let mut out = Vec::new();
        for r in self
            .customer_events
            .range((customer, i64::MIN, 0)..(customer, end.0, end.1))?
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let (k, _) = r?;
            let seq = k.value().2;
            if let Some(ev) = self.event(seq)? {
                out.push((seq, ev));
            }
        }
        Ok(out)
    }

    pub fn customer_events_count(&self, customer: u64) -> Result<u64, Error> {
        let mut n = 0;
        for r in self
            .customer_events
            .range((customer, i64::MIN, 0)..=(customer, i64::MAX, u64::MAX))?
        {
            r?;
            n += 1;
        }
        Ok(n)
    }

    pub fn customer(&self, id: u64) -> Result<Option<CustomerRecord>, Error> {
        get_rec(&self.customers, "customers", id)
    }

    pub fn customers_count(&self) -> Result<u64, Error> {
        Ok(self.customers.len()?)
    }

    /// Customers with an id above `after`, in id order, that pass `keep`; at most `limit`.
    /// Scans at most `scan_limit` records.
    pub fn customers_after(
        &self,
        after: u64,
        limit: usize,
        scan_limit: usize,
        mut keep: impl FnMut(&CustomerRecord) -> bool,
    ) -> Result<CustomerPage, Error> {
        let mut out = Vec::new();
        let mut last = None;
        for (scanned, r) in self.customers.range(after.saturating_add(1)..)?.enumerate() {
            if out.len() >= limit || scanned >= scan_limit {
                return Ok((out, last));
            }
            let (k, v) = r?;
            let rec: CustomerRecord = codec::decode("customers", k.value(), v.value())?;
            last = Some(k.value());
            if keep(&rec) {
                out.push((k.value(), rec));
            }
        }
        Ok((out, None))
    }

    pub fn interests_of(&self, customer: u64) -> Result<Vec<InterestRow>, Error> {
        read_interests(&self.interests, customer)
    }

    pub fn products_count(&self) -> Result<u64, Error> {
        Ok(self.products.len()?)
    }

    /// Products with an id above `after` in id order.
    pub fn products_after(&self, after: &str, limit: usize) -> Result<Vec<ProductRecord>, Error> {
        let mut out = Vec::new();
        for r in self.products.range(after..)? {
            let (k, v) = r?;
            if k.value() == after {
                continue;
            }
            if out.len() >= limit {
                break;
            }
            out.push(codec::decode("products", k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Every product of the catalogue, in id order.
    pub fn for_each_product(&self, mut f: impl FnMut(ProductRecord)) -> Result<(), Error> {
        for r in self.products.iter()? {
            let (k, v) = r?;
            f(codec::decode("products", k.value(), v.value())?);
        }
        Ok(())
    }

    /// Every product's touch counts, in one pass over the table.
    pub fn for_each_product_stats(&self, mut f: impl FnMut(&str, ProductStats)) -> Result<(), Error> {
        for r in self.product_stats.iter()? {
            let (k, v) = r?;
            f(k.value(), codec::decode("product_stats", k.value(), v.value())?);
        }
        Ok(())
    }

    pub fn orders_count(&self) -> Result<u64, Error> {
        Ok(self.orders.len()?)
    }

    /// Every purchase of every customer in customer order, then time order: `f(customer, placed
    /// at, amount less refunds)`. Reads only the index, never an order record.
    pub fn for_each_purchase(&self, mut f: impl FnMut(u64, i64, f64)) -> Result<u64, Error> {
        let mut n = 0;
        for r in self.customer_orders.iter()? {
            let (k, v) = r?;
            let (c, at, _) = k.value();
            f(c, at, v.value());
            n += 1;
        }
        Ok(n)
    }

    /// The live customers' ids in order, without reading their records: ids are dense (1..=last),
    /// so they are every id but the merged and erased ones. None if the ids are not dense (a store
    /// edited by hand), and the caller must read the records.
    pub fn live_customer_ids(&self) -> Result<Option<Vec<u64>>, Error> {
        let last = self.customers.last()?.map_or(0, |(k, _)| k.value());
        if self.customers.len()? != last {
            return Ok(None);
        }
        let mut gone = self.gone_customer_ids()?.into_iter().peekable();
        let mut out = Vec::with_capacity(last as usize);
        for id in 1..=last {
            if gone.next_if_eq(&id).is_none() {
                out.push(id);
            }
        }
        Ok(Some(out))
    }

    /// The ids of merged and erased customers.
    pub fn gone_customer_ids(&self) -> Result<Vec<u64>, Error> {
        let mut gone = Vec::new();
        for r in self.txn.open_table(CUSTOMERS_GONE)?.iter()? {
            gone.push(r?.0.value());
        }
        Ok(gone)
    }

    /// Every order placed in [from, to]: `f(customer, placed at, amount less refunds)`, read from
    /// the time index alone.
    /// Every order, decoded as `V` (a slim view of `OrderRecord`: serde skips what it lacks).
    pub fn for_each_order_as<V: DeserializeOwned>(&self, mut f: impl FnMut(V)) -> Result<(), Error> {
        for r in self.orders.iter()? {
            let (k, v) = r?;
            f(codec::decode("orders", k.value(), v.value())?);
        }
        Ok(())
    }

    /// Each product's touches per UTC day for days `from..=to`: (day, product, [viewed, carted,
    /// checkout, purchased]).
    pub fn for_each_product_day(
        &self,
        from: i32,
        to: i32,
        mut f: impl FnMut(i32, &str, [u32; 4]),
    ) -> Result<(), Error> {
        for r in self.txn.open_table(PRODUCT_DAYS)?.range((from, "")..)? {
            let (k, v) = r?;
            let (day, product) = k.value();
            if day > to {
                break;
            }
            let (a, b, c, d) = v.value();
            f(day, product, [a, b, c, d]);
        }
        Ok(())
    }

    /// The times of a customer's latest events, newest first (the keys only).
    pub fn customer_event_times_back(&self, customer: u64, limit: usize) -> Result<Vec<i64>, Error> {
        let mut out = Vec::new();
        for r in self
            .customer_events
            .range((customer, i64::MIN, 0)..=(customer, i64::MAX, u64::MAX))?
            .rev()
            .take(limit)
        {
            out.push(r?.0.value().1);
        }
        Ok(out)
    }

    /// A record of the recommender's table (compact encoding).
    pub fn recommend_record<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        match self.txn.open_table(RECOMMEND)?.get(key)? {
            Some(v) => Ok(Some(codec::decode_compact("recommend", key, v.value())?)),
            None => Ok(None),
        }
    }

    pub fn for_each_order_between(&self, from: i64, to: i64, mut f: impl FnMut(u64, i64, f64)) -> Result<(), Error> {
        for r in self.orders_by_time.range((from, "")..)? {
            let (k, v) = r?;
            let at = k.value().0;
            if at > to {
                break;
            }
            let (customer, amount) = v.value();
            f(customer, at, amount);
        }
        Ok(())
    }

    /// Every purchase with its order id: `f(customer, placed at, order id, amount less refunds)`.
    pub fn for_each_order_of_customers(&self, mut f: impl FnMut(u64, i64, &str, f64)) -> Result<(), Error> {
        for r in self.customer_orders.iter()? {
            let (k, v) = r?;
            let (c, at, id) = k.value();
            f(c, at, id, v.value());
        }
        Ok(())
    }

    /// A customer's count and last time of one kind of touch of an item.
    pub fn interest(&self, customer: u64, kind: u8, item: &str) -> Result<Option<(u32, i64)>, Error> {
        Ok(self.interests.get((customer, kind, item))?.map(|v| v.value()))
    }

    /// Every interest row, while `f(customer, kind, item, count, last time)` returns true; items are
    /// `p:ID` and `c:CATEGORY`. Returns false if `f` stopped it.
    pub fn for_each_interest(&self, mut f: impl FnMut(u64, u8, &str, u32, i64) -> bool) -> Result<bool, Error> {
        for r in self.interests.iter()? {
            let (k, v) = r?;
            let (c, kind, item) = k.value();
            let (count, last) = v.value();
            if !f(c, kind, item, count, last) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Every entry of the per-customer event index with its time in [from, to]:
    /// `f(customer, time, sequence)`, in customer order.
    pub fn for_each_event_key(&self, from: i64, to: i64, mut f: impl FnMut(u64, i64, u64)) -> Result<(), Error> {
        for r in self.customer_events.iter()? {
            let (k, _) = r?;
            let (c, at, seq) = k.value();
            if at >= from && at <= to {
                f(c, at, seq);
            }
        }
        Ok(())
    }

    /// A customer's events with times in [from, to], oldest first, decoded as `V` (which may name
    /// only the fields it needs: skipping the rest is much cheaper than building it).
    pub fn customer_events_between_as<V: DeserializeOwned>(
        &self,
        customer: u64,
        from: i64,
        to: i64,
    ) -> Result<Vec<V>, Error> {
        let mut out = Vec::new();
        for r in self
            .customer_events
            .range((customer, from, 0)..=(customer, to, u64::MAX))?
        {
            let seq = r?.0.value().2;
            if let Some(v) = self.events.get(seq)? {
                out.push(codec::decode("events", seq, v.value())?);
            }
        }
        Ok(out)
    }

    /// Every key of the per-customer event index, while `f(customer, time, seq)` returns true.
    pub fn for_each_customer_event_key(&self, mut f: impl FnMut(u64, i64, u64) -> bool) -> Result<(), Error> {
        for r in self.customer_events.iter()? {
            let (c, at, seq) = r?.0.value();
            if !f(c, at, seq) {
                break;
            }
        }
        Ok(())
    }

    /// The product that has this SKU.
    pub fn product_id_by_sku(&self, sku: &str) -> Result<Option<String>, Error> {
        Ok(self
            .txn
            .open_table(PRODUCT_SKUS)?
            .get(sku)?
            .map(|v| v.value().to_string()))
    }

    /// One event decoded as `V` (which may name only the fields it needs).
    pub fn event_as<V: DeserializeOwned>(&self, seq: u64) -> Result<Option<V>, Error> {
        match self.events.get(seq)? {
            Some(v) => Ok(Some(codec::decode("events", seq, v.value())?)),
            None => Ok(None),
        }
    }

    /// Events from the newest back, decoded as `V` (which may name only the fields it needs),
    /// while `f(seq, event)` returns true.
    pub fn for_each_event_back_as<V: DeserializeOwned>(&self, mut f: impl FnMut(u64, V) -> bool) -> Result<(), Error> {
        for r in self.events.iter()?.rev() {
            let (k, v) = r?;
            if !f(k.value(), codec::decode("events", k.value(), v.value())?) {
                break;
            }
        }
        Ok(())
    }

    /// Every customer record decoded as `V` (which may name only the fields it needs), in id order.
    pub fn for_each_customer_as<V: DeserializeOwned>(&self, mut f: impl FnMut(u64, V)) -> Result<u64, Error> {
        let mut n = 0;
        for r in self.customers.iter()? {
            let (k, v) = r?;
            f(k.value(), codec::decode("customers", k.value(), v.value())?);
            n += 1;
        }
        Ok(n)
    }

    // --- segments ------------------------------------------------------------------------

    pub fn segments<V: DeserializeOwned>(&self) -> Result<Vec<(u64, V)>, Error> {
        let t = self.txn.open_table(SEGMENTS)?;
        let mut out = Vec::new();
        for r in t.iter()? {
            let (k, v) = r?;
            out.push((k.value(), codec::decode("segments", k.value(), v.value())?));
        }
        Ok(out)
    }

    // --- coupons -------------------------------------------------------------------------

    /// What one customer holds, by coupon id.
    pub fn coupon_holds_of<V: DeserializeOwned>(&self, customer: u64) -> Result<Vec<(u64, V)>, Error> {
        let mut out = Vec::new();
        for r in self
            .txn
            .open_table(COUPON_HOLDS)?
            .range((customer, 0)..=(customer, u64::MAX))?
        {
            let (k, v) = r?;
            out.push((k.value().1, codec::decode("coupon_holds", customer, v.value())?));
        }
        Ok(out)
    }

    /// Every hold: `f(customer, coupon, hold)`.
    pub fn for_each_coupon_hold<V: DeserializeOwned>(&self, mut f: impl FnMut(u64, u64, V)) -> Result<(), Error> {
        for r in self.txn.open_table(COUPON_HOLDS)?.iter()? {
            let (k, v) = r?;
            let (c, id) = k.value();
            f(c, id, codec::decode("coupon_holds", c, v.value())?);
        }
        Ok(())
    }

    /// A segment's membership on `day`, or on the latest recomputed day on or before it.
    pub fn segment_day_on_or_before<V: DeserializeOwned>(&self, id: u64, day: i32) -> Result<Option<(i32, V)>, Error> {
        let t = self.txn.open_table(SEGMENT_MEMBERS)?;
        let Some(r) = t.range((id, i32::MIN)..=(id, day))?.next_back() else {
            return Ok(None);
        };
        let (k, v) = r?;
        Ok(Some((k.value().1, codec::decode("segment_members", id, v.value())?)))
    }

    /// A segment's days, newest first, at most `limit`: (day, value).
    pub fn segment_history<V: DeserializeOwned>(&self, id: u64, limit: usize) -> Result<Vec<(i32, V)>, Error> {
        let t = self.txn.open_table(SEGMENT_MEMBERS)?;
        let mut out = Vec::new();
        for r in t.range((id, i32::MIN)..=(id, i32::MAX))?.rev().take(limit) {
            let (k, v) = r?;
            out.push((k.value().1, codec::decode("segment_members", id, v.value())?));
        }
        Ok(out)
    }

    // --- jobs and analysis ---------------------------------------------------------------

    pub fn jobs<V: DeserializeOwned>(&self) -> Result<Vec<(String, V)>, Error> {
        let t = self.txn.open_table(JOBS)?;
        let mut out = Vec::new();
        for r in t.iter()? {
            let (k, v) = r?;
            out.push((k.value().to_string(), codec::decode("jobs", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// Every chunk of `day` in customer order.
    pub fn for_each_analysis_chunk<V: DeserializeOwned>(&self, day: i32, mut f: impl FnMut(V)) -> Result<u64, Error> {
        let t = self.txn.open_table(ANALYSIS)?;
        let mut n = 0;
        for r in t.range((day, 0)..=(day, u64::MAX))? {
            let (k, v) = r?;
            f(codec::decode_compact(
                "analysis",
                &format!("{day}/{}", k.value().1),
                v.value(),
            )?);
            n += 1;
        }
        Ok(n)
    }

    /// The latest run summary on or before `day`.
    pub fn analysis_run_on_or_before<V: DeserializeOwned>(&self, day: i32) -> Result<Option<(i32, V)>, Error> {
        let t = self.txn.open_table(ANALYSIS_RUNS)?;
        let Some(r) = t.range(..=day)?.next_back() else {
            return Ok(None);
        };
        let (k, v) = r?;
        Ok(Some((k.value(), codec::decode("analysis_runs", k.value(), v.value())?)))
    }

    /// A customer's analysis changes, oldest first.
    pub fn analysis_changes_of<V: DeserializeOwned>(&self, customer: u64) -> Result<Vec<(i32, V)>, Error> {
        let t = self.txn.open_table(ANALYSIS_CHANGES)?;
        let mut out = Vec::new();
        for r in t.range((customer, i32::MIN)..=(customer, i32::MAX))? {
            let (k, v) = r?;
            let day = k.value().1;
            out.push((day, codec::decode("analysis_changes", customer, v.value())?));
        }
        Ok(out)
    }

    /// Orders newest first, strictly before `before` = (placed at, order id) when given, placed
    /// within [from, to) when given.
    pub fn orders_before(
        &self,
        before: Option<(i64, String)>,
        from: Option<i64>,
        limit: usize,
    ) -> Result<Vec<OrderRecord>, Error> {
        let mut out = Vec::new();
        let lo = (from.unwrap_or(i64::MIN), "");
        let iter = match &before {
            Some((t, id)) => self.orders_by_time.range(lo..(*t, id.as_str()))?,
            None => self.orders_by_time.range(lo..)?,
        };
        for r in iter.rev() {
            if out.len() >= limit {
                break;
            }
            let (k, _) = r?;
            if let Some(o) = self.order(k.value().1)? {
                out.push(o);
            }
        }
        Ok(out)
    }
}

// Readers that read the same in the writer's transaction and in a snapshot: written once, for both.
readers_of_both! {
    /// Has a message with this id been stored already? Returns the sequence it got.
    pub fn message_seq(&self, message_id: &str) -> Result<Option<u64>, Error> {
        Ok(self.message_ids.get(message_id)?.map(|v| v.value()))
    }

    pub fn event(&self, seq: u64) -> Result<Option<EventRecord>, Error> {
        get_rec(&self.events, "events", seq)
    }

    pub fn identity(&self, key: &str) -> Result<Option<u64>, Error> {
        Ok(self.identities.get(key)?.map(|v| v.value()))
    }

    pub fn identities_of(&self, customer: u64) -> Result<Vec<String>, Error> {
        read_identities(&self.customer_identities, customer)
    }

    pub fn product(&self, id: &str) -> Result<Option<ProductRecord>, Error> {
        get_rec(&self.products, "products", id)
    }

    pub fn order(&self, id: &str) -> Result<Option<OrderRecord>, Error> {
        get_rec(&self.orders, "orders", id)
    }

    pub fn order_ids_of(&self, customer: u64) -> Result<Vec<String>, Error> {
        read_customer_orders(&self.customer_orders, customer)
    }

    /// Every purchase of a customer: (placed at, amount less refunds), oldest first.
    pub fn purchases_of(&self, customer: u64) -> Result<Vec<(i64, f64)>, Error> {
        read_purchases(&self.customer_orders, customer)
    }

    pub fn segment<V: DeserializeOwned>(&self, id: u64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(SEGMENTS)?;
        get_rec(&t, "segments", id)
    }

    pub fn coupon<V: DeserializeOwned>(&self, id: u64) -> Result<Option<V>, Error> {
        get_rec(&self.txn.open_table(COUPONS)?, "coupons", id)
    }

    /// Every coupon, in id order.
    pub fn coupons<V: DeserializeOwned>(&self) -> Result<Vec<(u64, V)>, Error> {
        let mut out = Vec::new();
        for r in self.txn.open_table(COUPONS)?.iter()? {
            let (k, v) = r?;
            out.push((k.value(), codec::decode("coupons", k.value(), v.value())?));
        }
        Ok(out)
    }

    pub fn coupon_code<V: DeserializeOwned>(&self, code: &str) -> Result<Option<V>, Error> {
        get_rec(&self.txn.open_table(COUPON_CODES)?, "coupon_codes", code)
    }

    pub fn coupon_hold<V: DeserializeOwned>(&self, customer: u64, coupon: u64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(COUPON_HOLDS)?;
        match t.get((customer, coupon))? {
            Some(v) => Ok(Some(codec::decode("coupon_holds", customer, v.value())?)),
            None => Ok(None),
        }
    }

    pub fn coupon_redemption<V: DeserializeOwned>(&self, order_id: &str) -> Result<Option<V>, Error> {
        get_rec(
            &self.txn.open_table(COUPON_REDEMPTIONS)?,
            "coupon_redemptions",
            order_id,
        )
    }

    pub fn job<V: DeserializeOwned>(&self, name: &str) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(JOBS)?;
        get_rec(&t, "jobs", name)
    }

    /// The chunk of `day` that holds `customer`, if any.
    pub fn analysis_chunk<V: DeserializeOwned>(&self, day: i32, customer: u64) -> Result<Option<(u64, V)>, Error> {
        let t = self.txn.open_table(ANALYSIS)?;
        find_analysis_chunk(&t, day, customer)
    }

    /// The days that have analysis chunks, oldest first.
    pub fn analysis_days(&self) -> Result<Vec<i32>, Error> {
        let t = self.txn.open_table(ANALYSIS)?;
        read_analysis_days(&t)
    }

    pub fn analysis_run<V: DeserializeOwned>(&self, day: i32) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(ANALYSIS_RUNS)?;
        get_rec(&t, "analysis_runs", day)
    }

    pub fn meta<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        get_rec(&self.meta, "meta", key)
    }

    pub fn api_key(&self, hash: &str) -> Result<Option<ApiKeyRecord>, Error> {
        get_rec(&self.api_keys, "api_keys", hash)
    }

    pub fn api_keys(&self) -> Result<Vec<(String, ApiKeyRecord)>, Error> {
        read_api_keys(&self.api_keys)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, Error> {
        get_rec(&self.users, "users", name)
    }

    pub fn users(&self) -> Result<Vec<UserRecord>, Error> {
        read_all(&self.users, "users")
    }

    pub fn session(&self, hash: &str) -> Result<Option<SessionRecord>, Error> {
        get_rec(&self.sessions, "sessions", hash)
    }

    pub fn login_failures(&self, user: &str) -> Result<Option<LoginFailures>, Error> {
        get_rec(&self.login_failures, "login_failures", user)
    }
}
