//! Schema version and migrations, run on open in one write transaction. A newer data dir is
//! refused. Every table is created up front, because redb reads fail on missing tables.

use redb::ReadableDatabase;

use super::tables::*;
use super::{Error, SCHEMA_VERSION, codec};

pub(super) fn run(db: &redb::Database) -> Result<(), Error> {
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
        // Numbered migrations: `if found < N { mNNN_…(&txn)?; }`; the version is written below.
        if found.is_some_and(|v| v < 2) {
            m002_order_amounts(&txn)?;
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
