//! Typed access to the experiment tables: each experiment's arms and goal, who was assigned to
//! which arm, and each arm's running tallies in all and per shop-local day. Values are the
//! experiment module's records, encoded here as MessagePack.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Serialize, de::DeserializeOwned};

use super::tables::*;
use super::{Error, ReadTx, Tx, codec};

/// An experiment's key: (kind, id): a campaign's (1, its id), an on-site message's (2, its id).
pub type ExperimentKey = (u8, u64);

fn decode<V: DeserializeOwned>(table: &'static str, key: impl std::fmt::Debug, bytes: &[u8]) -> Result<V, Error> {
    codec::decode(table, format!("{key:?}"), bytes)
}

impl Tx<'_> {
    pub fn put_experiment<V: Serialize>(&mut self, key: ExperimentKey, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(EXPERIMENTS)?
            .insert(key, codec::encode(rec).as_slice())?;
        self.any_experiment = Some(true);
        Ok(())
    }

    /// Whether any experiment is defined, looked up once a transaction: the writer asks for
    /// every event, and most shops run none.
    pub fn any_experiment(&mut self) -> Result<bool, Error> {
        if let Some(any) = self.any_experiment {
            return Ok(any);
        }
        let any = !self.txn.open_table(EXPERIMENTS)?.is_empty()?;
        self.any_experiment = Some(any);
        Ok(any)
    }

    pub fn put_assignment<V: Serialize>(&mut self, customer: u64, key: ExperimentKey, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(EXPERIMENT_ASSIGNMENTS)?
            .insert((customer, key.0, key.1), codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn remove_assignment(&mut self, customer: u64, key: ExperimentKey) -> Result<(), Error> {
        self.txn
            .open_table(EXPERIMENT_ASSIGNMENTS)?
            .remove((customer, key.0, key.1))?;
        Ok(())
    }

    /// Forgets a customer's places in every experiment (erasure); the arms' tallies keep them.
    pub fn delete_assignments_of(&mut self, customer: u64) -> Result<u64, Error> {
        let mut t = self.txn.open_table(EXPERIMENT_ASSIGNMENTS)?;
        let mut n = 0;
        t.retain_in((customer, 0u8, 0u64)..=(customer, u8::MAX, u64::MAX), |_, _| {
            n += 1;
            false
        })?;
        Ok(n)
    }

    pub fn put_experiment_tallies<V: Serialize>(&mut self, key: ExperimentKey, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(EXPERIMENT_TALLIES)?
            .insert(key, codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn put_experiment_day<V: Serialize>(&mut self, key: ExperimentKey, day: i32, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(EXPERIMENT_DAYS)?
            .insert((key.0, key.1, day), codec::encode(rec).as_slice())?;
        Ok(())
    }
}

// Readers that read the same in the writer's transaction and in a snapshot.
readers_of_both! {
    /// An experiment's definition (its arms, goal and window), if it has one.
    pub fn experiment<V: DeserializeOwned>(&self, key: ExperimentKey) -> Result<Option<V>, Error> {
        let table = self.txn.open_table(EXPERIMENTS)?;
        table
            .get(key)?
            .map(|v| decode("experiments", key, v.value()))
            .transpose()
    }

    /// A customer's assignment in an experiment.
    pub fn assignment<V: DeserializeOwned>(&self, customer: u64, key: ExperimentKey) -> Result<Option<V>, Error> {
        let table = self.txn.open_table(EXPERIMENT_ASSIGNMENTS)?;
        table
            .get((customer, key.0, key.1))?
            .map(|v| decode("experiment-assignments", (customer, key), v.value()))
            .transpose()
    }

    /// Every assignment of a customer, by experiment.
    pub fn assignments_of<V: DeserializeOwned>(&self, customer: u64) -> Result<Vec<(ExperimentKey, V)>, Error> {
        let table = self.txn.open_table(EXPERIMENT_ASSIGNMENTS)?;
        let mut out = Vec::new();
        for row in table.range((customer, 0u8, 0u64)..=(customer, u8::MAX, u64::MAX))? {
            let (k, v) = row?;
            let (_, kind, id) = k.value();
            out.push(((kind, id), decode("experiment-assignments", (customer, kind, id), v.value())?));
        }
        Ok(out)
    }

    /// An experiment's tallies in all.
    pub fn experiment_tallies<V: DeserializeOwned + Default>(&self, key: ExperimentKey) -> Result<V, Error> {
        let table = self.txn.open_table(EXPERIMENT_TALLIES)?;
        Ok(table
            .get(key)?
            .map(|v| decode("experiment-tallies", key, v.value()))
            .transpose()?
            .unwrap_or_default())
    }

    /// An experiment's tallies on one shop-local day.
    pub fn experiment_day<V: DeserializeOwned + Default>(&self, key: ExperimentKey, day: i32) -> Result<V, Error> {
        let table = self.txn.open_table(EXPERIMENT_DAYS)?;
        Ok(table
            .get((key.0, key.1, day))?
            .map(|v| decode("experiment-days", (key, day), v.value()))
            .transpose()?
            .unwrap_or_default())
    }

    /// An experiment's days with tallies, in order.
    pub fn experiment_days<V: DeserializeOwned>(&self, key: ExperimentKey) -> Result<Vec<(i32, V)>, Error> {
        let table = self.txn.open_table(EXPERIMENT_DAYS)?;
        let mut out = Vec::new();
        for row in table.range((key.0, key.1, i32::MIN)..=(key.0, key.1, i32::MAX))? {
            let (k, v) = row?;
            let day = k.value().2;
            out.push((day, decode("experiment-days", (key, day), v.value())?));
        }
        Ok(out)
    }
}
