//! What both edges share: the state the console (`web`) and the JSON API (`api`) are handed, the
//! request id, and the service calls both make (recommendation answers, erasing a person). The
//! edges import this; nothing below it does, and it imports no HTTP framework.

pub mod asking;
pub mod erase;
pub mod onsite;
pub mod recommend;
pub mod reports;
mod request;
pub mod segments;

use std::sync::Arc;

pub use request::{current_request_id, with_request_id};

use crate::auth::KeyRing;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The in-memory customer columns (sorted and filtered lists), followed from the store.
    pub columns: crate::customer::columns::Shared,
    /// Console imports running or finished, with their progress.
    pub imports: crate::load::ImportJobs,
    pub keys: Arc<KeyRing>,
    pub tz: chrono_tz::Tz,
    /// The job runner (the nightly analysis, segments and recommendations).
    pub jobs: Arc<crate::jobs::Runner>,
    /// Analysed days as columns, for segment rules on the analysis fields.
    pub segment_days: Arc<crate::segment::eval::AnalysisDays>,
    /// The product and customer-interest indexes (tantivy), followed from the store.
    pub search: Arc<crate::search::Search>,
    /// What customers hold of coupons, kept in memory for the coupon attributes of segments.
    pub holds: Arc<crate::coupon::Holdings>,
    /// The recommender: its model, the catalogue and popular lists in memory.
    pub recommend: Arc<crate::recommend::Engine>,
    /// The campaign scheduler and outbox.
    pub campaigns: Arc<crate::campaign::send::Sender>,
    /// The identity secret the server was given (`--identity-secret`); else the stored one.
    pub identity_secret: Option<Arc<str>>,
    /// What on-site message answers reuse for a little while (segment members, counts).
    pub onsite: Arc<onsite::Cache>,
    /// User agents read once each (device, browser, OS, bot), for the reports.
    pub agents: Arc<crate::traffic::Agents>,
    /// The web-analytics reports' tables and their follower.
    pub reports: Arc<crate::reports::Reports>,
}

impl AppState {
    /// Now on the server's one clock (the store's), in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.store.now_ms()
    }

    /// Runs `f` with what evaluating a segment rule needs: the customer columns (read-locked for
    /// the call), `read`, the shop's zone and clock, the analysis days and the indexes.
    pub fn with_env<R>(&self, read: &crate::store::ReadTx, f: impl FnOnce(&crate::segment::eval::Env) -> R) -> R {
        let cols = self.columns.read().expect("not poisoned");
        f(&crate::segment::eval::Env {
            cols: &cols,
            read,
            tz: self.tz,
            now: self.now_ms(),
            days: &self.segment_days,
            search: Some(&self.search),
            holds: Some(&self.holds),
        })
    }
}
