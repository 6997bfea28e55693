//! Typed access to the web-analytics tables: the reports' visits, the days' cells, the names they
//! number, and the cohorts. All derived from the log (the reports' follower writes them; `dangol
//! reindex` rebuilds them). Values are the reports module's records, encoded here compactly.

use std::ops::RangeInclusive;

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::tables::*;
use super::{Error, ReadTx, Tx, codec};

fn decode<V: DeserializeOwned>(table: &'static str, key: impl std::fmt::Debug, bytes: &[u8]) -> Result<V, Error> {
    codec::decode_compact(table, &format!("{key:?}"), bytes)
}

/// ((first-order month, month), customers).
pub type CohortCell = ((i32, i32), u32);

impl Tx<'_> {
    /// Empties every web-analytics table (a rebuild starts from nothing).
    pub fn clear_web(&mut self) -> Result<(), Error> {
        self.txn.delete_table(WEB_VISITS)?;
        self.txn.delete_table(WEB_CUSTOMER_DAYS)?;
        self.txn.delete_table(WEB_DAYS)?;
        self.txn.delete_table(WEB_NAMES)?;
        self.txn.delete_table(WEB_NAME_IDS)?;
        self.txn.delete_table(WEB_ORDER_MONTHS)?;
        self.txn.delete_table(WEB_COHORTS)?;
        self.txn.open_table(WEB_VISITS)?;
        self.txn.open_table(WEB_CUSTOMER_DAYS)?;
        self.txn.open_table(WEB_DAYS)?;
        self.txn.open_table(WEB_NAMES)?;
        self.txn.open_table(WEB_NAME_IDS)?;
        self.txn.open_table(WEB_ORDER_MONTHS)?;
        self.txn.open_table(WEB_COHORTS)?;
        Ok(())
    }

    /// Writes visits (`Some`) or takes them out (`None`).
    pub fn put_web_visits<'r, V: Serialize + 'r>(
        &mut self,
        rows: impl IntoIterator<Item = ((i32, u64, i64), Option<&'r V>)>,
    ) -> Result<(), Error> {
        let mut t = self.txn.open_table(WEB_VISITS)?;
        for (key, row) in rows {
            match row {
                Some(row) => t.insert(key, codec::encode_compact(row).as_slice())?,
                None => t.remove(key)?,
            };
        }
        Ok(())
    }

    /// Notes the days customers have visits on (`true`) or no longer have (`false`).
    pub fn put_web_customer_days(&mut self, days: impl IntoIterator<Item = (u64, i32, bool)>) -> Result<(), Error> {
        let mut t = self.txn.open_table(WEB_CUSTOMER_DAYS)?;
        for (customer, day, has) in days {
            if has {
                t.insert((customer, day), ())?;
            } else {
                t.remove((customer, day))?;
            }
        }
        Ok(())
    }

    /// Writes days' cells (`Some`) or takes them out (`None`).
    pub fn put_web_cells<'r, V: Serialize + 'r>(
        &mut self,
        cells: impl IntoIterator<Item = ((i32, u8, u32), Option<&'r V>)>,
    ) -> Result<(), Error> {
        let mut t = self.txn.open_table(WEB_DAYS)?;
        for (key, cell) in cells {
            match cell {
                Some(cell) => t.insert(key, codec::encode_compact(cell).as_slice())?,
                None => t.remove(key)?,
            };
        }
        Ok(())
    }

    pub fn put_web_names<'r>(&mut self, names: impl IntoIterator<Item = (&'r str, u32)>) -> Result<(), Error> {
        let mut by_name = self.txn.open_table(WEB_NAMES)?;
        let mut by_id = self.txn.open_table(WEB_NAME_IDS)?;
        for (name, id) in names {
            by_name.insert(name, id)?;
            by_id.insert(id, name)?;
        }
        Ok(())
    }

    pub fn put_web_order_months<'r>(
        &mut self,
        months: impl IntoIterator<Item = (u64, &'r [i32])>,
    ) -> Result<(), Error> {
        let mut t = self.txn.open_table(WEB_ORDER_MONTHS)?;
        for (customer, months) in months {
            if months.is_empty() {
                t.remove(customer)?;
            } else {
                t.insert(customer, codec::encode_compact(&months).as_slice())?;
            }
        }
        Ok(())
    }

    pub fn put_web_cohorts(&mut self, cells: impl IntoIterator<Item = ((i32, i32), u32)>) -> Result<(), Error> {
        let mut t = self.txn.open_table(WEB_COHORTS)?;
        for (key, customers) in cells {
            if customers == 0 {
                t.remove(key)?;
            } else {
                t.insert(key, customers)?;
            }
        }
        Ok(())
    }
}

impl ReadTx {
    /// The visits that started on `days`, in (day, customer, start) order, while `f(day,
    /// customer, start, row bytes)` returns true. The bytes decode with [`ReadTx::decode_web`].
    pub fn for_each_web_visit(
        &self,
        days: RangeInclusive<i32>,
        mut f: impl FnMut(i32, u64, i64, &[u8]) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let t = self.txn.open_table(WEB_VISITS)?;
        for r in t.range((*days.start(), 0, i64::MIN)..=(*days.end(), u64::MAX, i64::MAX))? {
            let (k, v) = r?;
            let (day, customer, start) = k.value();
            if !f(day, customer, start, v.value())? {
                break;
            }
        }
        Ok(())
    }

    /// A customer's visits that started on `day`: (start, row).
    pub fn web_visits_of<V: DeserializeOwned>(&self, day: i32, customer: u64) -> Result<Vec<(i64, V)>, Error> {
        let t = self.txn.open_table(WEB_VISITS)?;
        let mut out = Vec::new();
        for r in t.range((day, customer, i64::MIN)..=(day, customer, i64::MAX))? {
            let (k, v) = r?;
            out.push((k.value().2, decode("web_visits", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// The days a customer has visits on.
    pub fn web_customer_days(&self, customer: u64) -> Result<Vec<i32>, Error> {
        let t = self.txn.open_table(WEB_CUSTOMER_DAYS)?;
        let mut out = Vec::new();
        for r in t.range((customer, i32::MIN)..=(customer, i32::MAX))? {
            out.push(r?.0.value().1);
        }
        Ok(out)
    }

    /// Every customer with visits, once each, in id order.
    pub fn web_customers(&self) -> Result<Vec<u64>, Error> {
        let t = self.txn.open_table(WEB_CUSTOMER_DAYS)?;
        let mut out: Vec<u64> = Vec::new();
        for r in t.iter()? {
            let c = r?.0.value().0;
            if out.last() != Some(&c) {
                out.push(c);
            }
        }
        Ok(out)
    }

    pub fn web_cell<V: DeserializeOwned>(&self, key: (i32, u8, u32)) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(WEB_DAYS)?;
        match t.get(key)? {
            Some(v) => Ok(Some(decode("web_days", key, v.value())?)),
            None => Ok(None),
        }
    }

    /// The cells of one dimension on `days`: `f(day, value id, cell bytes)`.
    pub fn for_each_web_cell(
        &self,
        days: RangeInclusive<i32>,
        dim: u8,
        mut f: impl FnMut(i32, u32, &[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let t = self.txn.open_table(WEB_DAYS)?;
        for day in days {
            for r in t.range((day, dim, 0)..=(day, dim, u32::MAX))? {
                let (k, v) = r?;
                f(day, k.value().2, v.value())?;
            }
        }
        Ok(())
    }

    /// Decodes the bytes of a web-analytics row or cell.
    pub fn decode_web<V: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<V, Error> {
        codec::decode_compact(what, "", bytes)
    }

    /// Every name the reports number, with its id.
    pub fn web_names(&self) -> Result<Vec<(String, u32)>, Error> {
        let t = self.txn.open_table(WEB_NAMES)?;
        let mut out = Vec::with_capacity(t.len()? as usize);
        for r in t.iter()? {
            let (k, v) = r?;
            out.push((k.value().to_string(), v.value()));
        }
        Ok(out)
    }

    pub fn web_name_id(&self, name: &str) -> Result<Option<u32>, Error> {
        Ok(self.txn.open_table(WEB_NAMES)?.get(name)?.map(|v| v.value()))
    }

    pub fn web_name(&self, id: u32) -> Result<Option<String>, Error> {
        Ok(self
            .txn
            .open_table(WEB_NAME_IDS)?
            .get(id)?
            .map(|v| v.value().to_string()))
    }

    pub fn web_order_months(&self, customer: u64) -> Result<Vec<i32>, Error> {
        match self.txn.open_table(WEB_ORDER_MONTHS)?.get(customer)? {
            Some(v) => decode("web_order_months", customer, v.value()),
            None => Ok(Vec::new()),
        }
    }

    /// The cohort cells whose first-order month is in `cohorts`: ((cohort, month), customers).
    pub fn web_cohorts(&self, cohorts: RangeInclusive<i32>) -> Result<Vec<CohortCell>, Error> {
        let t = self.txn.open_table(WEB_COHORTS)?;
        let mut out = Vec::new();
        for r in t.range((*cohorts.start(), i32::MIN)..=(*cohorts.end(), i32::MAX))? {
            let (k, v) = r?;
            out.push((k.value(), v.value()));
        }
        Ok(out)
    }

    pub fn web_cohort(&self, key: (i32, i32)) -> Result<u32, Error> {
        Ok(self.txn.open_table(WEB_COHORTS)?.get(key)?.map_or(0, |v| v.value()))
    }

    /// The run of a customer's events around `at` with no gap over `gap`: (first, last) event
    /// time, `at` itself when the customer has no event then.
    pub fn customer_event_run(&self, customer: u64, at: i64, gap: i64) -> Result<(i64, i64), Error> {
        let t = self.txn.open_table(CUSTOMER_EVENTS)?;
        let mut lo = at;
        for r in t.range((customer, i64::MIN, 0)..(customer, at, 0))?.rev() {
            let time = r?.0.value().1;
            if lo - time > gap {
                break;
            }
            lo = time;
        }
        let mut hi = at;
        for r in t.range((customer, at, 0)..=(customer, i64::MAX, u64::MAX))? {
            let time = r?.0.value().1;
            if time - hi > gap {
                break;
            }
            hi = time;
        }
        Ok((lo, hi))
    }

    /// The events with sequences in `seqs`, in log order, as stored, while `f(seq, bytes)` returns
    /// true. The bytes decode with [`ReadTx::decode_event`], into a type that names only the
    /// fields it needs and may borrow its strings from them.
    pub fn for_each_event_bytes(
        &self,
        seqs: RangeInclusive<u64>,
        mut f: impl FnMut(u64, &[u8]) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let events = self.txn.open_table(EVENTS)?;
        for r in events.range(seqs)? {
            let (k, v) = r?;
            if !f(k.value(), v.value())? {
                break;
            }
        }
        Ok(())
    }

    /// A customer's events with times in [from, to], oldest first, as stored: (sequence, bytes).
    pub fn customer_event_bytes_between(
        &self,
        customer: u64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        let index = self.txn.open_table(CUSTOMER_EVENTS)?;
        let events = self.txn.open_table(EVENTS)?;
        let mut out = Vec::new();
        for r in index.range((customer, from, 0)..=(customer, to, u64::MAX))? {
            let seq = r?.0.value().2;
            if let Some(v) = events.get(seq)? {
                out.push((seq, v.value().to_vec()));
            }
        }
        Ok(out)
    }

    /// Decodes an event's bytes (see [`ReadTx::for_each_event_bytes`]).
    pub fn decode_event<'de, V: Deserialize<'de>>(seq: u64, bytes: &'de [u8]) -> Result<V, Error> {
        codec::decode_borrowed("events", seq, bytes)
    }

    /// The times of a customer's orders, oldest first.
    pub fn customer_order_times(&self, customer: u64) -> Result<Vec<i64>, Error> {
        let t = self.txn.open_table(CUSTOMER_ORDERS)?;
        let mut out = Vec::new();
        for r in t.range((customer, i64::MIN, "")..=(customer, i64::MAX, "\u{10ffff}"))? {
            out.push(r?.0.value().1);
        }
        Ok(out)
    }
}
