//! Typed access to the import tables: the history of imports and the column mappings owners
//! chose. Values are the load module's records, encoded here as MessagePack.

use redb::ReadableTable;
use serde::{Serialize, de::DeserializeOwned};

use super::tables::*;
use super::{Error, ReadTx, Tx, codec};

fn decode<V: DeserializeOwned>(table: &'static str, key: impl std::fmt::Debug, bytes: &[u8]) -> Result<V, Error> {
    codec::decode(table, format!("{key:?}"), bytes)
}

impl Tx<'_> {
    /// Keeps an import in the history under a new id, one above the last; returns the id.
    pub fn add_import<V: Serialize>(&mut self, rec: &V) -> Result<u64, Error> {
        let mut t = self.txn.open_table(IMPORTS)?;
        let id = t.last()?.map_or(1, |(k, _)| k.value() + 1);
        t.insert(id, codec::encode(rec).as_slice())?;
        Ok(id)
    }

    pub fn put_import_mapping<V: Serialize>(&mut self, key: &str, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(IMPORT_MAPPINGS)?
            .insert(key, codec::encode(rec).as_slice())?;
        Ok(())
    }
}

impl ReadTx {
    /// The latest imports, newest first: at most `limit`, with ids below `before` when given.
    pub fn imports<V: DeserializeOwned>(&self, before: Option<u64>, limit: usize) -> Result<Vec<(u64, V)>, Error> {
        let t = self.txn.open_table(IMPORTS)?;
        let mut out = Vec::new();
        for r in t.range(..before.unwrap_or(u64::MAX))?.rev().take(limit) {
            let (k, v) = r?;
            out.push((k.value(), decode("imports", k.value(), v.value())?));
        }
        Ok(out)
    }

    pub fn import<V: DeserializeOwned>(&self, id: u64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(IMPORTS)?;
        let v = t.get(id)?;
        v.map(|v| decode("imports", id, v.value())).transpose()
    }

    pub fn import_mapping<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(IMPORT_MAPPINGS)?;
        let v = t.get(key)?;
        v.map(|v| decode("import_mappings", key, v.value())).transpose()
    }
}
