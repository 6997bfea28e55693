//! Typed access to the on-site message tables: definitions, what each visitor saw of each, and
//! each message's counts. Values are the onsite module's records, encoded here as MessagePack.

use redb::ReadableTable;
use serde::{Serialize, de::DeserializeOwned};

use super::tables::*;
use super::{Error, ReadTx, Tx, codec};

/// The meta key of the last message id given.
const LAST_MESSAGE_ID: &str = "onsite_last_message_id";

fn decode<V: DeserializeOwned>(table: &'static str, key: impl std::fmt::Debug, bytes: &[u8]) -> Result<V, Error> {
    codec::decode(table, format!("{key:?}"), bytes)
}

impl Tx<'_> {
    /// A new message id, never given before (not even to a message since deleted: what visitors
    /// saw of that one stays behind under its id).
    pub fn next_onsite_message_id(&mut self) -> Result<u64, Error> {
        let last_key = self
            .txn
            .open_table(ONSITE_MESSAGES)?
            .last()?
            .map_or(0, |(k, _)| k.value());
        let given: u64 = self.meta(LAST_MESSAGE_ID)?.unwrap_or(0);
        let id = last_key.max(given) + 1;
        self.put_meta(LAST_MESSAGE_ID, &id)?;
        Ok(id)
    }

    pub fn put_onsite_message<V: Serialize>(&mut self, id: u64, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(ONSITE_MESSAGES)?
            .insert(id, codec::encode(rec).as_slice())?;
        Ok(())
    }

    /// Deletes a message and its counts; whether it was there. What visitors saw of it is left
    /// behind, unread (a message id is never given again).
    pub fn delete_onsite_message(&mut self, id: u64) -> Result<bool, Error> {
        let gone = self.txn.open_table(ONSITE_MESSAGES)?.remove(id)?.is_some();
        let mut counts = self.txn.open_table(ONSITE_COUNTS)?;
        counts.retain_in((id, i64::MIN)..=(id, i64::MAX), |_, _| false)?;
        Ok(gone)
    }

    pub fn put_onsite_seen<V: Serialize>(&mut self, customer: u64, message: u64, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(ONSITE_SEEN)?
            .insert((customer, message), codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn put_onsite_counts<V: Serialize>(&mut self, message: u64, bucket: i64, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(ONSITE_COUNTS)?
            .insert((message, bucket), codec::encode(rec).as_slice())?;
        Ok(())
    }

    /// A merge: what `from` saw of each message becomes `to`'s, where `to` has no row of its own
    /// for that message.
    pub fn move_onsite_seen(&mut self, from: u64, to: u64) -> Result<(), Error> {
        let mut t = self.txn.open_table(ONSITE_SEEN)?;
        let mut rows = Vec::new();
        for r in t.range((from, 0)..=(from, u64::MAX))? {
            let (k, v) = r?;
            rows.push((k.value().1, v.value().to_vec()));
        }
        for (message, bytes) in rows {
            t.remove((from, message))?;
            if t.get((to, message))?.is_none() {
                t.insert((to, message), bytes.as_slice())?;
            }
        }
        Ok(())
    }

    /// Forgets what a customer saw of every message (erasure); how many rows went.
    pub fn delete_onsite_seen_of(&mut self, customer: u64) -> Result<u64, Error> {
        let mut t = self.txn.open_table(ONSITE_SEEN)?;
        let mut n = 0;
        t.retain_in((customer, 0)..=(customer, u64::MAX), |_, _| {
            n += 1;
            false
        })?;
        Ok(n)
    }
}

impl ReadTx {
    /// Every message, in id order.
    pub fn onsite_messages<V: DeserializeOwned>(&self) -> Result<Vec<(u64, V)>, Error> {
        let t = self.txn.open_table(ONSITE_MESSAGES)?;
        let mut out = Vec::new();
        for r in t.iter()? {
            let (k, v) = r?;
            out.push((k.value(), decode("onsite_messages", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// A message's counts in the buckets `from..to`, in time order.
    pub fn onsite_counts_between<V: DeserializeOwned>(
        &self,
        message: u64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, V)>, Error> {
        let t = self.txn.open_table(ONSITE_COUNTS)?;
        let mut out = Vec::new();
        for r in t.range((message, from)..(message, to))? {
            let (k, v) = r?;
            out.push((k.value().1, decode("onsite_counts", k.value(), v.value())?));
        }
        Ok(out)
    }
}

// Readers that read the same in the writer's transaction and in a snapshot.
readers_of_both! {
    pub fn onsite_message<V: DeserializeOwned>(&self, id: u64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(ONSITE_MESSAGES)?;
        let v = t.get(id)?;
        v.map(|v| decode("onsite_messages", id, v.value())).transpose()
    }

    pub fn onsite_seen<V: DeserializeOwned>(&self, customer: u64, message: u64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(ONSITE_SEEN)?;
        let v = t.get((customer, message))?;
        v.map(|v| decode("onsite_seen", (customer, message), v.value())).transpose()
    }

    /// What `customer` saw of each message: (message id, value).
    pub fn onsite_seen_of<V: DeserializeOwned>(&self, customer: u64) -> Result<Vec<(u64, V)>, Error> {
        let t = self.txn.open_table(ONSITE_SEEN)?;
        let mut out = Vec::new();
        for r in t.range((customer, 0)..=(customer, u64::MAX))? {
            let (k, v) = r?;
            out.push((k.value().1, decode("onsite_seen", k.value(), v.value())?));
        }
        Ok(out)
    }

    pub fn onsite_counts<V: DeserializeOwned>(&self, message: u64, bucket: i64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(ONSITE_COUNTS)?;
        let v = t.get((message, bucket))?;
        v.map(|v| decode("onsite_counts", (message, bucket), v.value())).transpose()
    }
}
