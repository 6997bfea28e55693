//! The store of record: one redb file. Owns the tables, the record encodings, migrations and the
//! single writer with group commit. Domain modules read through [`ReadTx`] and write through
//! [`Store::write`], which hands them a [`Tx`]; nobody else touches redb.

/// Readers that read the same inside the writer's transaction ([`Tx`]) and a snapshot
/// ([`ReadTx`]), written once for both: the two hold their tables under the same names.
macro_rules! readers_of_both {
    ($($reader:tt)*) => {
        impl Tx<'_> {
            $($reader)*
        }
        impl ReadTx {
            $($reader)*
        }
    };
}

mod campaigns;
pub mod codec;
mod experiments;
mod imports;
mod migrate;
mod onsite;
pub mod records;
pub mod tables;
mod tx;
mod web;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;

pub use campaigns::{ConsentChangeRow, SendKey};
pub use experiments::ExperimentKey;
pub use tx::{CustomerPage, InterestRow, ROLLUP_BUCKET_MS, ReadTx, Touch, Tx};
pub use writer::WriteError;

/// The schema version this build writes. A data dir with a newer one is refused.
pub const SCHEMA_VERSION: u64 = 6;

/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC day (days since 1970-01-01) of a unix-millis instant: the key of `product-days-1`.
pub fn utc_day(at: i64) -> i32 {
    at.div_euclid(DAY_MS) as i32
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("store: {0}")]
    Redb(Arc<redb::Error>),
    #[error("record {key} of table {table} cannot be decoded: {reason}")]
    Decode {
        table: &'static str,
        key: String,
        reason: String,
    },
    #[error("the data dir has schema version {found}, newer than this build's {supported}: upgrade dangol")]
    TooNew { found: u64, supported: u64 },
    #[error("the writer has stopped")]
    WriterGone,
    #[error("{0}")]
    Io(Arc<std::io::Error>),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self { Error::Redb(Arc::new(e.into())) }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

impl crate::error::HasCode for Error {
    fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::Internal
    }
}

/// A handle to the open store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<redb::Database>,
    dir: PathBuf,
    writer: writer::Handle,
    clock: Clock,
}

impl Store {
    /// Opens (or creates) `DIR/dangol.redb` on the machine's clock, runs migrations and starts the
    /// writer.
    pub fn open(dir: &Path) -> Result<Store, Error> {
        Store::open_with_clock(dir, Clock::system())
    }

    /// The same, with the clock every time recorded in this store is read from.
    pub fn open_with_clock(dir: &Path, clock: Clock) -> Result<Store, Error> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("dangol.redb");
        let db = redb::Database::builder().set_cache_size(256 << 20).create(&path)?;
        migrate::run(&db, clock.now_ms())?;
        let db = Arc::new(db);
        let writer = writer::Handle::start(db.clone())?;
        Ok(Store {
            inner: Arc::new(Inner {
                db,
                dir: dir.to_path_buf(),
                writer,
                clock,
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// How many handles to this store exist (this one included): the file closes when the last
    /// is dropped.
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// The server's clock: every recorded time is read from it.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Now on the server's clock, in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// A consistent snapshot to read from. Never waits for the writer.
    pub fn read(&self) -> Result<ReadTx, Error> {
        ReadTx::begin(&self.inner.db)
    }

    /// Runs `f` on the blocking pool with this store: the way async edges call domain functions.
    pub async fn call<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&Store) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let store = self.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Queues `f` for the writer, which applies it with other queued work in one transaction
    /// and answers only after that transaction is durably committed. `f` may run more than once
    /// (when another job of the same group fails, the group is retried without it), so it must
    /// not consume its inputs. If `f` fails, nothing it wrote is kept.
    pub async fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.inner.writer.submit(f).await
    }

    /// The blocking twin of [`Store::write`], for CLI commands and jobs on the blocking pool.
    pub fn write_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.inner.writer.submit_blocking(f)
    }

    /// Applies `f` in one transaction of its own outside the writer's queue, with durability
    /// `None` unless `durable`: for bulk loads before the server takes requests. A final call
    /// with `durable = true` makes everything before it durable.
    pub fn bulk<R, E>(&self, durable: bool, f: impl FnOnce(&mut Tx) -> Result<R, E>) -> Result<R, E>
    where
        E: From<Error>,
    {
        self.inner.writer.bulk(durable, f)
    }

    /// The sequence of the last committed event, and a way to wait for the next.
    pub fn committed_seq(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.writer.committed.subscribe()
    }

    /// The customers each commit from now on wrote, as the columns keep them (after the commit
    /// is durable). A receiver that falls behind gets `Lagged` and should rebuild from the store.
    pub fn customer_changes(&self) -> tokio::sync::broadcast::Receiver<Arc<Vec<records::CustomerRow>>> {
        self.inner.writer.changes.subscribe()
    }

    /// Counts the commits that changed the catalogue (products) since the store was opened.
    pub fn catalog_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.writer.catalog.subscribe()
    }

    /// Counts the commits that wrote coupon holds since the store was opened.
    pub fn hold_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.writer.holds.subscribe()
    }

    /// Size of the redb file in bytes.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(self.inner.dir.join("dangol.redb"))
            .map(|m| m.len())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rollup_window_counts_the_bucket_it_ends_in() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let edge = 1_000 * ROLLUP_BUCKET_MS;
        for at in [edge, edge + 5 * 60 * 1000, edge + ROLLUP_BUCKET_MS] {
            store
                .write_blocking(move |tx| tx.bump_rollup(at, |r| r.events += 1))
                .unwrap();
        }
        let read = store.read().unwrap();
        // A window ending mid-bucket counts that bucket (it holds nothing later than now).
        assert_eq!(read.rollup(edge, edge + 6 * 60 * 1000).unwrap().events, 2);
        assert_eq!(read.rollup(edge, edge + ROLLUP_BUCKET_MS).unwrap().events, 2);
        assert_eq!(read.rollup(edge, edge + ROLLUP_BUCKET_MS + 1).unwrap().events, 3);
        assert_eq!(
            read.rollup(edge + ROLLUP_BUCKET_MS, edge + 2 * ROLLUP_BUCKET_MS)
                .unwrap()
                .events,
            1
        );
    }
}
