//! The single writer with group commit (DESIGN.md §2). Requests queue jobs; one thread takes
//! whatever is queued, applies it in one transaction, commits once (one fsync), then answers every
//! job of the group. A job that fails is answered with its error and the group is applied again
//! without it, so each job is atomic and nothing is acknowledged before it is durable.

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::records::CustomerRow;
use super::{Error, Tx};

/// Most jobs applied in one transaction.
const MAX_GROUP: usize = 512;

/// Returned by [`Store::write`] when the writer could not commit.
pub type WriteError = Error;

trait Job: Send {
    /// Applies the job inside the group's transaction. `false`: it failed, roll back without it.
    fn apply(&mut self, tx: &mut Tx) -> bool;
    /// Answers the caller once the group's commit is done (or failed).
    fn complete(&mut self, committed: Result<(), Error>);
}

struct Typed<F, R, E> {
    f: F,
    out: Option<Result<R, E>>,
    /// Taken when the job is answered.
    reply: Option<Reply<R, E>>,
}

enum Reply<R, E> {
    Async(oneshot::Sender<Result<R, E>>),
    Blocking(std::sync::mpsc::SyncSender<Result<R, E>>),
}

impl<F, R, E> Job for Typed<F, R, E>
where
    F: FnMut(&mut Tx) -> Result<R, E> + Send,
    R: Send,
    E: From<Error> + Send,
{
    fn apply(&mut self, tx: &mut Tx) -> bool {
        let r = (self.f)(tx);
        let ok = r.is_ok();
        self.out = Some(r);
        ok
    }

    fn complete(&mut self, committed: Result<(), Error>) {
        let result = match (committed, self.out.take()) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(r))) => Ok(r),
            (Err(e), _) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(Error::WriterGone)),
        };
        match self.reply.take() {
            Some(Reply::Async(tx)) => {
                let _ = tx.send(result);
            }
            Some(Reply::Blocking(tx)) => {
                let _ = tx.send(result);
            }
            None => {}
        }
    }
}

pub(super) struct Handle {
    /// `None` only while dropping.
    queue: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    db: Arc<redb::Database>,
    /// Serialises bulk transactions with the writer thread's own.
    lock: Arc<Mutex<()>>,
    pub(super) committed: watch::Sender<u64>,
    /// The customers each commit wrote, for followers (in-memory columns).
    pub(super) changes: broadcast::Sender<Arc<Vec<CustomerRow>>>,
    /// Counts the commits that changed the catalogue since the start (the product index follows).
    pub(super) catalog: watch::Sender<u64>,
    /// Counts the commits that wrote coupon holds (the holdings index follows).
    pub(super) holds: watch::Sender<u64>,
}

impl Handle {
    pub(super) fn start(db: Arc<redb::Database>) -> Result<Handle, Error> {
        let last = super::ReadTx::begin(&db)?.last_seq()?;
        let (committed, _) = watch::channel(last);
        let (changes, _) = broadcast::channel(4096);
        let (catalog, _) = watch::channel(0);
        let (holds, _) = watch::channel(0);
        let (queue, rx) = mpsc::channel::<Box<dyn Job>>(16_384);
        let lock = Arc::new(Mutex::new(()));
        let notify = Notify {
            committed: committed.clone(),
            changes: changes.clone(),
            catalog: catalog.clone(),
            holds: holds.clone(),
        };
        let (db2, lock2) = (db.clone(), lock.clone());
        let thread = std::thread::Builder::new()
            .name("dangol-writer".into())
            .spawn(move || run(db2, lock2, notify, rx))?;
        Ok(Handle {
            queue: Some(queue),
            thread: Some(thread),
            db,
            lock,
            committed,
            changes,
            catalog,
            holds,
        })
    }

    fn queue(&self) -> &mpsc::Sender<Box<dyn Job>> {
        self.queue.as_ref().expect("the queue lives as long as the handle")
    }

    pub(super) async fn submit<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job = Box::new(Typed {
            f,
            out: None,
            reply: Some(Reply::Async(tx)),
        });
        self.queue().send(job).await.map_err(|_| E::from(Error::WriterGone))?;
        rx.await.map_err(|_| E::from(Error::WriterGone))?
    }

    pub(super) fn submit_blocking<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnMut(&mut Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job = Box::new(Typed {
            f,
            out: None,
            reply: Some(Reply::Blocking(tx)),
        });
        self.queue()
            .blocking_send(job)
            .map_err(|_| E::from(Error::WriterGone))?;
        rx.recv().map_err(|_| E::from(Error::WriterGone))?
    }

    pub(super) fn bulk<R, E>(&self, durable: bool, f: impl FnOnce(&mut Tx) -> Result<R, E>) -> Result<R, E>
    where
        E: From<Error>,
    {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut txn = self.db.begin_write().map_err(Error::from)?;
        if !durable {
            txn.set_durability(redb::Durability::None).map_err(Error::from)?;
        }
        let (r, done) = {
            let mut tx = Tx::open(&txn)?;
            let r = f(&mut tx)?;
            tx.flush()?;
            (
                r,
                Committed {
                    last_seq: tx.last_seq,
                    touched: std::mem::take(&mut tx.touched),
                    catalog_changed: tx.catalog_changed,
                    holds_changed: tx.holds_changed,
                },
            )
        };
        txn.commit().map_err(Error::from)?;
        Notify {
            committed: self.committed.clone(),
            changes: self.changes.clone(),
            catalog: self.catalog.clone(),
            holds: self.holds.clone(),
        }
        .tell(done);
        Ok(r)
    }
}

impl Drop for Handle {
    /// Closes the queue and waits for the writer to finish what was queued, so that the file
    /// is closed when the last `Store` is gone and can be opened again at once.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a commit changed, told to followers once it is durable.
struct Committed {
    last_seq: Option<u64>,
    touched: Vec<CustomerRow>,
    catalog_changed: bool,
    holds_changed: bool,
}

struct Notify {
    committed: watch::Sender<u64>,
    changes: broadcast::Sender<Arc<Vec<CustomerRow>>>,
    catalog: watch::Sender<u64>,
    holds: watch::Sender<u64>,
}

impl Notify {
    fn tell(&self, done: Committed) {
        if let Some(seq) = done.last_seq {
            self.committed.send_replace(seq);
        }
        if !done.touched.is_empty() {
            // No follower listening is fine: followers rebuild from redb when they start.
            let _ = self.changes.send(Arc::new(done.touched));
        }
        if done.catalog_changed {
            self.catalog.send_modify(|n| *n += 1);
        }
        if done.holds_changed {
            self.holds.send_modify(|n| *n += 1);
        }
    }
}

fn run(db: Arc<redb::Database>, lock: Arc<Mutex<()>>, notify: Notify, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    // Answered jobs are dropped on another thread: freeing a group's messages is work the
    // writer, the one serial part of ingest, need not do.
    let (reaper, dead) = std::sync::mpsc::channel::<Vec<Box<dyn Job>>>();
    let _ = std::thread::Builder::new().name("dangol-reaper".into()).spawn(move || {
        for group in dead {
            drop(group)
        }
    });
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let done = apply_group(&db, &notify, group);
        let _ = reaper.send(done);
    }
}

/// Applies a group, retrying without each job that fails, then commits and answers all.
/// Returns the answered jobs.
fn apply_group(db: &redb::Database, notify: &Notify, mut group: Vec<Box<dyn Job>>) -> Vec<Box<dyn Job>> {
    let mut done = Vec::with_capacity(group.len());
    loop {
        let attempt = (|| -> Result<Result<Committed, usize>, Error> {
            let txn = db.begin_write()?;
            let done = {
                let mut tx = Tx::open(&txn)?;
                for (i, job) in group.iter_mut().enumerate() {
                    if !job.apply(&mut tx) {
                        return Ok(Err(i)); // dropping txn aborts it
                    }
                }
                tx.flush()?;
                Committed {
                    last_seq: tx.last_seq,
                    touched: std::mem::take(&mut tx.touched),
                    catalog_changed: tx.catalog_changed,
                    holds_changed: tx.holds_changed,
                }
            };
            txn.commit()?;
            Ok(Ok(done))
        })();
        match attempt {
            Ok(Ok(committed)) => {
                notify.tell(committed);
                for job in &mut group {
                    job.complete(Ok(()));
                }
                done.append(&mut group);
                return done;
            }
            Ok(Err(failed)) => {
                let mut job = group.remove(failed);
                job.complete(Ok(()));
                done.push(job);
                if group.is_empty() {
                    return done;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = group.len(), "write transaction failed");
                for job in &mut group {
                    job.complete(Err(e.clone()));
                }
                done.append(&mut group);
                return done;
            }
        }
    }
}
