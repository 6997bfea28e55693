//! Schema version and migrations, run on open in one write transaction. A newer data dir is
//! refused. Every table is created up front, because redb reads fail on missing tables.

use redb::ReadableDatabase;

use super::tables::*;
use super::{Error, SCHEMA_VERSION, codec};

pub(super) fn run(db: &redb::Database, now: i64) -> Result<(), Error> {
    let found = {
        let read = db.begin_read()?;
        match read.open_table(META) {
            Ok(meta) => match meta.get("schema_version")? {
                Some(v) => Some(codec::decode::<u64>("meta", "schema_version", v.value())?),
                None => None,
            },
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(found) = found
        && found > SCHEMA_VERSION
    {
        return Err(Error::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let txn = db.begin_write()?;
    {
        // Creating a table is idempotent: this also adds tables introduced by a newer build.
        let mut meta = txn.open_table(META)?;
        txn.open_table(EVENTS)?;
        txn.open_table(CUSTOMER_EVENTS)?;
        txn.open_table(MESSAGE_IDS)?;
        txn.open_table(CUSTOMERS)?;
        txn.open_table(IDENTITIES)?;
        txn.open_table(CUSTOMER_IDENTITIES)?;
        txn.open_table(INTERESTS)?;
        txn.open_table(PRODUCTS)?;
        txn.open_table(PRODUCT_SKUS)?;
        txn.open_table(ORDERS)?;
        txn.open_table(CUSTOMER_ORDERS)?;
        txn.open_table(ORDERS_BY_TIME)?;
        txn.open_table(API_KEYS)?;
        txn.open_table(USERS)?;
        txn.open_table(SESSIONS)?;
        txn.open_table(LOGIN_FAILURES)?;
        txn.open_table(ROLLUPS)?;
        txn.open_table(PRODUCT_STATS)?;
        txn.open_table(JOBS)?;
        txn.open_table(ANALYSIS)?;
        txn.open_table(ANALYSIS_RUNS)?;
        txn.open_table(ANALYSIS_CHANGES)?;
        txn.open_table(CUSTOMERS_GONE)?;
        txn.open_table(SEGMENTS)?;
        txn.open_table(SEGMENT_MEMBERS)?;
        txn.open_table(COUPONS)?;
        txn.open_table(COUPON_CODES)?;
        txn.open_table(COUPON_HOLDS)?;
        txn.open_table(COUPON_REDEMPTIONS)?;
        txn.open_table(PRODUCT_DAYS)?;
        txn.open_table(RECOMMEND)?;
        txn.open_table(CAMPAIGNS)?;
        txn.open_table(CAMPAIGN_SENDS)?;
        txn.open_table(SEND_QUEUE)?;
        txn.open_table(CAMPAIGN_RECIPIENTS)?;
        txn.open_table(CUSTOMER_MESSAGES)?;
        txn.open_table(CAMPAIGN_TRIGGERS)?;
        txn.open_table(CAMPAIGN_DAYS)?;
        txn.open_table(CONSENT_LOG)?;
        txn.open_table(CONSENT_CHANGES)?;
        txn.open_table(ONSITE_MESSAGES)?;
        txn.open_table(ONSITE_SEEN)?;
        txn.open_table(ONSITE_COUNTS)?;
        txn.open_table(WEB_VISITS)?;
        txn.open_table(WEB_CUSTOMER_DAYS)?;
        txn.open_table(WEB_DAYS)?;
        txn.open_table(WEB_NAMES)?;
        txn.open_table(WEB_NAME_IDS)?;
        txn.open_table(WEB_ORDER_MONTHS)?;
        txn.open_table(WEB_COHORTS)?;
        txn.open_table(IMPORTS)?;
        txn.open_table(IMPORT_MAPPINGS)?;
        txn.open_table(EXPERIMENTS)?;
        txn.open_table(EXPERIMENT_ASSIGNMENTS)?;
        txn.open_table(EXPERIMENT_TALLIES)?;
        txn.open_table(EXPERIMENT_DAYS)?;
        // Numbered migrations: `if found < N { mNNN_…(&txn)?; }`; the version is written below.
        if found.is_some_and(|v| v < 2) {
            m002_order_amounts(&txn)?;
        }
        if found.is_some_and(|v| v < 3) {
            m003_customers_gone(&txn)?;
        }
        if found.is_some_and(|v| v < 4) {
            m004_orders_by_time_amounts(&txn)?;
        }
        if found.is_some_and(|v| v < 5) {
            m005_product_days(&txn, now)?;
        }
        if found.is_some_and(|v| v < 6) {
            m006_consent_log(&txn)?;
        }
        if found != Some(SCHEMA_VERSION) {
            meta.insert("schema_version", codec::encode(&SCHEMA_VERSION).as_slice())?;
        }
    }
    txn.commit()?;
    Ok(())
}

/// 2: `customer-orders-2` carries each order's amount less refunds, so the nightly analysis reads
/// purchases without decoding orders. Rebuilt from `orders-1`; `customer-orders-1` is dropped.
fn m002_order_amounts(txn: &redb::WriteTransaction) -> Result<(), Error> {
    use redb::ReadableTable;
    let orders = txn.open_table(ORDERS)?;
    let mut index = txn.open_table(CUSTOMER_ORDERS)?;
    for r in orders.iter()? {
        let (k, v) = r?;
        let order: super::records::OrderRecord = codec::decode("orders", k.value(), v.value())?;
        let net = (order.total - order.refunded_amount()).max(0.0);
        index.insert((order.customer, order.placed_at, order.order_id.as_str()), net)?;
    }
    txn.delete_table(CUSTOMER_ORDERS_V1)?;
    Ok(())
}

/// 3: `customers-gone-1` lists merged and erased customers, so the nightly analysis knows who is
/// live without reading every record.
fn m003_customers_gone(txn: &redb::WriteTransaction) -> Result<(), Error> {
    use redb::ReadableTable;
    #[derive(serde::Deserialize)]
    struct Gone {
        #[serde(default)]
        merged_into: Option<u64>,
        #[serde(default)]
        erased_at: Option<i64>,
    }
    let customers = txn.open_table(CUSTOMERS)?;
    let mut gone = txn.open_table(CUSTOMERS_GONE)?;
    for r in customers.iter()? {
        let (k, v) = r?;
        let rec: Gone = codec::decode("customers", k.value(), v.value())?;
        if rec.merged_into.is_some() || rec.erased_at.is_some() {
            gone.insert(k.value(), ())?;
        }
    }
    Ok(())
}

/// 4: `orders-by-time-2` carries each order's customer and amount less refunds, so a segment's
/// window of orders reads only the orders in it. Rebuilt from `orders-1`.
fn m004_orders_by_time_amounts(txn: &redb::WriteTransaction) -> Result<(), Error> {
    use redb::ReadableTable;
    let orders = txn.open_table(ORDERS)?;
    let mut index = txn.open_table(ORDERS_BY_TIME)?;
    for r in orders.iter()? {
        let (k, v) = r?;
        let order: super::records::OrderRecord = codec::decode("orders", k.value(), v.value())?;
        let net = (order.total - order.refunded_amount()).max(0.0);
        index.insert((order.placed_at, order.order_id.as_str()), (order.customer, net))?;
    }
    txn.delete_table(ORDERS_BY_TIME_V1)?;
    Ok(())
}

/// 5: `product-days-1` counts each product's touches per day. Purchases of the last 31 days are
/// counted from the orders; views, carts and checkouts count from this version on (telling them
/// from the event log's names is the tracking module's business, not the store's).
fn m005_product_days(txn: &redb::WriteTransaction, now: i64) -> Result<(), Error> {
    use std::collections::HashMap;

    use redb::ReadableTable;
    let from = now - 31 * super::DAY_MS;
    let by_time = txn.open_table(ORDERS_BY_TIME)?;
    let orders = txn.open_table(ORDERS)?;
    let mut counts: HashMap<(i32, String), u32> = HashMap::new();
    for r in by_time.range((from, "")..)? {
        let (k, _) = r?;
        let (_, id) = k.value();
        let Some(v) = orders.get(id)? else { continue };
        let order: super::records::OrderRecord = codec::decode("orders", id, v.value())?;
        let day = super::utc_day(order.placed_at);
        for line in &order.lines {
            *counts.entry((day, line.product_id.clone())).or_default() += 1;
        }
    }
    let mut days = txn.open_table(PRODUCT_DAYS)?;
    for ((day, product), n) in counts {
        let (v, c, k, p) = days
            .get((day, product.as_str()))?
            .map(|v| v.value())
            .unwrap_or_default();
        days.insert((day, product.as_str()), (v, c, k, p + n))?;
    }
    Ok(())
}

/// The consent log starts with each customer's consents as the record held them: one entry per
/// channel with the time and source it was given or withdrawn.
fn m006_consent_log(txn: &redb::WriteTransaction) -> Result<(), Error> {
    use redb::ReadableTable;

    use super::records::{ConsentChange, ConsentChannel, CustomerRecord};
    let customers = txn.open_table(CUSTOMERS)?;
    let mut log = txn.open_table(CONSENT_LOG)?;
    for r in customers.iter()? {
        let (k, v) = r?;
        let rec: CustomerRecord = codec::decode("customers", k.value(), v.value())?;
        for ch in ConsentChannel::ALL {
            if let Some(c) = rec.consents.get(ch) {
                let change = ConsentChange {
                    granted: c.granted,
                    source: c.source.clone(),
                    campaign: None,
                };
                log.insert((k.value(), c.at, ch as u8), codec::encode(&change).as_slice())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use redb::{ReadableDatabase, ReadableTable};

    use super::*;
    use crate::store::records::{OrderRecord, OrderStatus, Refund};

    fn order(id: &str, customer: u64, at: i64, total: f64, refunded: f64) -> OrderRecord {
        OrderRecord {
            order_id: id.into(),
            customer,
            placed_at: at,
            status: OrderStatus::Completed,
            currency: None,
            total,
            revenue: None,
            discount: 0.0,
            shipping: None,
            tax: None,
            coupon: None,
            lines: Vec::new(),
            refunds: (refunded > 0.0)
                .then(|| Refund {
                    at,
                    amount: refunded,
                    message_id: "r".into(),
                })
                .into_iter()
                .collect(),
            seq: 1,
        }
    }

    /// A version-1 file (orders indexed without amounts) opens as version 2 with every order's
    /// amount less refunds in the index, and the old index gone.
    #[test]
    fn version_1_is_migrated_to_the_current_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("dangol.redb")).unwrap();
        {
            let txn = db.begin_write().unwrap();
            {
                let mut meta = txn.open_table(META).unwrap();
                meta.insert("schema_version", codec::encode(&1u64).as_slice()).unwrap();
                let mut customers = txn.open_table(CUSTOMERS).unwrap();
                for (id, merged_into) in [(7u64, None), (8, Some(7u64))] {
                    let rec = crate::store::records::CustomerRecord {
                        merged_into,
                        ..Default::default()
                    };
                    customers.insert(id, codec::encode(&rec).as_slice()).unwrap();
                }
                let mut orders = txn.open_table(ORDERS).unwrap();
                let mut v1 = txn.open_table(CUSTOMER_ORDERS_V1).unwrap();
                for o in [order("a", 7, 100, 30000.0, 0.0), order("b", 7, 200, 50000.0, 20000.0)] {
                    orders
                        .insert(o.order_id.as_str(), codec::encode(&o).as_slice())
                        .unwrap();
                    v1.insert((o.customer, o.placed_at, o.order_id.as_str()), ()).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        run(&db, 0).unwrap();
        let read = db.begin_read().unwrap();
        let version: u64 = codec::decode(
            "meta",
            "v",
            read.open_table(META)
                .unwrap()
                .get("schema_version")
                .unwrap()
                .unwrap()
                .value(),
        )
        .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let index = read.open_table(CUSTOMER_ORDERS).unwrap();
        let rows: Vec<(u64, i64, String, f64)> = index
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                let (c, at, id) = k.value();
                (c, at, id.to_string(), v.value())
            })
            .collect();
        assert_eq!(rows, vec![(7, 100, "a".into(), 30000.0), (7, 200, "b".into(), 30000.0)]);
        assert!(matches!(
            read.open_table(CUSTOMER_ORDERS_V1),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
        // Migration 3: the merged customer is listed as gone.
        let gone: Vec<u64> = read
            .open_table(CUSTOMERS_GONE)
            .unwrap()
            .iter()
            .unwrap()
            .map(|r| r.unwrap().0.value())
            .collect();
        assert_eq!(gone, vec![8]);
        // Migration 4: the time index carries customer and amount.
        let by_time: Vec<(i64, (u64, f64))> = read
            .open_table(ORDERS_BY_TIME)
            .unwrap()
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value().0, v.value())
            })
            .collect();
        assert_eq!(by_time, vec![(100, (7, 30000.0)), (200, (7, 30000.0))]);
        assert!(matches!(
            read.open_table(ORDERS_BY_TIME_V1),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }
}
