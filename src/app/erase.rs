//! Erasing a person on request (privacy), as one commit: the profile, events, interests, consent
//! log and identity keys (`customer::erase`), their rows of the nightly analysis, and what was
//! sent to them (the outbox keeps its rows, without the address), what on-site messages they
//! saw (the messages' counts keep their numbers) and their places in experiments (the arms'
//! tallies keep their numbers). Orders are kept for the accounts, detached from the person.

use crate::customer::{self, Erased};
use crate::store::Store;

/// Erases customer `id` (or the customer it was merged into) at `now`.
pub async fn person(store: &Store, id: u64, now: i64) -> Result<Erased, customer::Error> {
    store
        .write(move |tx| -> Result<_, customer::Error> {
            let erased = customer::erase(tx, id, now)?;
            crate::analysis::erase(tx, erased.customer_id)?;
            crate::campaign::send::forget(tx, erased.customer_id)?;
            tx.delete_onsite_seen_of(erased.customer_id)?;
            tx.delete_assignments_of(erased.customer_id)?;
            Ok(erased)
        })
        .await
}
