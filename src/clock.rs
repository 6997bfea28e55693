//! The server's one clock. Every time dangol records or decides by (an event's receipt, a job's due
//! time, a campaign's send, a session's expiry, an import's consent date) is read from the [`Clock`]
//! the store was opened with, so a server started at a chosen instant (`DANGOL_NOW`) lives entirely
//! at that instant. It is a leaf: the store carries it, the domain reads it through the store or is
//! handed `now`, and the composition root (`app::AppState`) is what chooses it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// The machine's clock, or one that started at a chosen instant and runs at the machine's pace
/// from there. Clones share their time: moving one moves all.
#[derive(Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the machine's clock; `None` for the machine's clock itself.
    shift_ms: Option<Arc<AtomicI64>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.shift_ms {
            None => f.write_str("Clock::system"),
            Some(_) => write!(f, "Clock::starting_at(now {})", self.now()),
        }
    }
}

impl Clock {
    /// The machine's clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that reads `at` now and runs on from there; it can be moved with [`Clock::set`].
    pub fn starting_at(at: DateTime<Utc>) -> Clock {
        Clock {
            shift_ms: Some(Arc::new(AtomicI64::new(at.timestamp_millis() - wall_ms()))),
        }
    }

    /// Now, in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        wall_ms() + self.shift_ms.as_ref().map_or(0, |s| s.load(Ordering::SeqCst))
    }

    /// Now, as a UTC instant.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.now_ms()).unwrap_or_default()
    }

    /// Whether [`Clock::set`] can move this clock (one made with [`Clock::starting_at`]).
    pub fn is_settable(&self) -> bool {
        self.shift_ms.is_some()
    }

    /// From now on the clock reads `at` (unix millis) and runs on from there. The machine's clock
    /// cannot be moved: `false`.
    pub fn set(&self, at: i64) -> bool {
        match &self.shift_ms {
            Some(shift) => {
                shift.store(at - wall_ms(), Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}

fn wall_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_clock_reads_its_instant_and_clones_move_together() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z").unwrap().to_utc();
        let clock = Clock::starting_at(at);
        let other = clock.clone();
        assert!((clock.now_ms() - at.timestamp_millis()).abs() < 1_000);
        assert!(other.set(at.timestamp_millis() + 86_400_000));
        assert!((clock.now_ms() - at.timestamp_millis() - 86_400_000).abs() < 1_000);
        assert!(!Clock::system().set(0));
        assert!((Clock::system().now_ms() - wall_ms()).abs() < 1_000);
    }
}
