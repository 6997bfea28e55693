//! Experiments (CONTRACT §9): a campaign's (or an on-site message's) variants with their weights
//! and a hold-out that gets nothing. A person's arm is a hash of (experiment, customer), recorded
//! at their first assignment and kept (a merge keeps the earlier assigned self's arm), so it is the
//! same on every occurrence and across restarts. Everyone assigned is measured, reached or not
//! (intention to treat): each arm's tallies (assigned, exposed, converted, revenue and its sum of
//! squares) are kept as assignments, sends and goals are written, in all and per shop-local day,
//! so a report of a million assigned people reads a few rows. `stats` holds the statistics;
//! `report` the experiment block of a report.

pub mod report;
pub mod stats;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::store::ExperimentKey;
use crate::store::{self, Tx};

/// The kind of a campaign's experiment key (an on-site message's will be 2).
pub const CAMPAIGN: u8 = 1;

/// The name of the hold-out arm in reports.
pub const HOLDOUT: &str = "holdout";
/// The most a hold-out may take (CONTRACT §9).
pub const MAX_HOLDOUT: u32 = 50;
/// Assignment times kept per person (a daily campaign assigns its people each day).
const KEEP_TIMES: usize = 60;

/// An experiment as it runs: its variants (keys and weights, in percent of the people not held
/// out), the hold-out's percent, and the goal that counts as a conversion within its window after
/// an assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    pub keys: Vec<String>,
    pub weights: Vec<u32>,
    pub holdout_percent: u32,
    pub goal: String,
    pub window_ms: i64,
    /// The shop's time zone, for the days of the report's chart.
    pub tz: String,
}

impl Design {
    fn zone(&self) -> Tz {
        self.tz.parse().unwrap_or(chrono_tz::UTC)
    }

    /// How many arms: the variants, and the hold-out when there is one (the last arm).
    pub fn arms(&self) -> usize {
        self.keys.len() + usize::from(self.holdout_percent > 0)
    }

    /// The hold-out's arm, when there is one.
    pub fn holdout(&self) -> Option<u8> {
        (self.holdout_percent > 0).then_some(self.keys.len() as u8)
    }

    /// The arm the others are compared with: the hold-out when there is one, else the first
    /// variant.
    pub fn control(&self) -> usize {
        self.holdout().map_or(0, usize::from)
    }

    /// An arm's name in reports.
    pub fn key_of(&self, arm: usize) -> &str {
        self.keys.get(arm).map_or(HOLDOUT, String::as_str)
    }

    /// Each arm's expected share of the people assigned.
    pub fn shares(&self) -> Vec<f64> {
        let held = f64::from(self.holdout_percent) / 100.0;
        let total: f64 = self.weights.iter().map(|&w| f64::from(w)).sum();
        let mut shares: Vec<f64> = self
            .weights
            .iter()
            .map(|&w| (1.0 - held) * f64::from(w) / total.max(1.0))
            .collect();
        if self.holdout_percent > 0 {
            shares.push(held);
        }
        shares
    }

    /// The arm a customer falls in: a uniform draw from the hash of (experiment, customer), the
    /// first `holdout_percent` of it held out, the rest cut by the weights.
    pub fn arm_of(&self, key: ExperimentKey, customer: u64) -> u8 {
        let u = draw(key, customer);
        let shares = self.shares();
        // The hold-out (the last share, when there is one) takes the bottom of the draw, the
        // variants the rest in their order.
        let held = self.holdout().map_or(0.0, |h| shares[usize::from(h)]);
        if u < held {
            return self.keys.len() as u8;
        }
        let mut upto = held;
        for (i, share) in shares.iter().take(self.keys.len()).enumerate() {
            upto += share;
            if u < upto {
                return i as u8;
            }
        }
        self.keys.len().saturating_sub(1) as u8
    }
}

/// A uniform number in [0, 1) from SHA-256 of the experiment and the customer: the same on every
/// machine and in every version (std's hashers promise neither).
fn draw(key: ExperimentKey, customer: u64) -> f64 {
    let digest = Sha256::digest(format!("dangol-experiment:{}:{}:{customer}", key.0, key.1).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// Checks variants (key, weight) and a hold-out as a body gives them; the error names the field
/// (`variants[1].key`, `holdout_percent`).
pub fn check(variants: &[(&str, u32)], holdout_percent: u32) -> Result<(), (String, String)> {
    if holdout_percent > MAX_HOLDOUT {
        return Err((
            "holdout_percent".into(),
            format!("{holdout_percent} is over {MAX_HOLDOUT}: at most half may be held out"),
        ));
    }
    if variants.is_empty() {
        return Ok(());
    }
    if variants.len() > 8 {
        return Err(("variants".into(), "at most 8 variants".into()));
    }
    for (i, (key, weight)) in variants.iter().enumerate() {
        let key = key.trim();
        if key.is_empty() || key.chars().count() > 32 {
            return Err((format!("variants[{i}].key"), "a key of 1 to 32 characters".into()));
        }
        if key == HOLDOUT {
            return Err((format!("variants[{i}].key"), format!("{HOLDOUT:?} names the hold-out")));
        }
        if variants[..i].iter().any(|(k, _)| k.trim() == key) {
            return Err((
                format!("variants[{i}].key"),
                format!("{key:?} is the key of another variant"),
            ));
        }
        if *weight == 0 || *weight > 100 {
            return Err((format!("variants[{i}].weight"), "a weight of 1 to 100".into()));
        }
    }
    let sum: u32 = variants.iter().map(|(_, w)| *w).sum(); // at most 8 × 100
    if sum != 100 {
        return Err(("variants".into(), format!("the weights add to {sum}, not 100")));
    }
    Ok(())
}

/// A person's place in an experiment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub arm: u8,
    /// When they were assigned (each occurrence that reached their arm's turn), oldest first.
    pub at: Vec<i64>,
    /// A message of the experiment was sent to them (or an on-site message shown).
    #[serde(default)]
    pub exposed: bool,
    /// Their first goal within the window after an assignment.
    #[serde(default)]
    pub converted_at: Option<i64>,
    /// What their goals within the windows were worth.
    #[serde(default)]
    pub revenue: f64,
}

/// One arm's running tallies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmTally {
    pub assigned: u64,
    #[serde(default)]
    pub exposed: u64,
    #[serde(default)]
    pub converted: u64,
    #[serde(default)]
    pub revenue: f64,
    /// The sum of each person's revenue squared (for the spread of revenue per person).
    #[serde(default)]
    pub revenue_sq: f64,
}

impl ArmTally {
    /// One person's part in their arm's tallies.
    fn of(a: &Assignment) -> ArmTally {
        ArmTally {
            assigned: 1,
            exposed: u64::from(a.exposed),
            converted: u64::from(a.converted_at.is_some()),
            revenue: a.revenue,
            revenue_sq: a.revenue * a.revenue,
        }
    }

    fn add(&mut self, o: &ArmTally, sign: i64) {
        let n = |a: u64, b: u64| (a as i64 + sign * b as i64).max(0) as u64;
        self.assigned = n(self.assigned, o.assigned);
        self.exposed = n(self.exposed, o.exposed);
        self.converted = n(self.converted, o.converted);
        self.revenue += sign as f64 * o.revenue;
        self.revenue_sq += sign as f64 * o.revenue_sq;
    }
}

/// Per arm, what one shop-local day added: people assigned, people who converted for the first
/// time (the report's chart of each arm's rate over days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmDay {
    pub assigned: u64,
    pub converted: u64,
}

fn change_tally(
    tx: &mut Tx,
    key: ExperimentKey,
    arms: usize,
    arm: u8,
    f: impl FnOnce(&mut ArmTally),
) -> Result<(), store::Error> {
    let mut t: Vec<ArmTally> = tx.experiment_tallies(key)?;
    t.resize(t.len().max(arms).max(usize::from(arm) + 1), ArmTally::default());
    f(&mut t[usize::from(arm)]);
    tx.put_experiment_tallies(key, &t)
}

fn change_day(
    tx: &mut Tx,
    key: ExperimentKey,
    at: i64,
    tz: Tz,
    arms: usize,
    arm: u8,
    f: impl FnOnce(&mut ArmDay),
) -> Result<(), store::Error> {
    let day = crate::analysis::local_day(at, tz);
    let mut d: Vec<ArmDay> = tx.experiment_day(key, day)?;
    d.resize(d.len().max(arms).max(usize::from(arm) + 1), ArmDay::default());
    f(&mut d[usize::from(arm)]);
    tx.put_experiment_day(key, day, &d)
}

/// Writes an experiment's design (at a launch or a change; the arms of those assigned stay).
pub fn define(tx: &mut Tx, key: ExperimentKey, design: &Design) -> Result<(), store::Error> {
    tx.put_experiment(key, design)
}

/// Assignment times in order, each once, the latest [`KEEP_TIMES`].
fn keep_latest(at: &mut Vec<i64>) {
    at.sort_unstable();
    at.dedup();
    if at.len() > KEEP_TIMES {
        at.drain(..at.len() - KEEP_TIMES);
    }
}

/// Assigns a customer at `at` (an occurrence's send time): their recorded arm, or at their first
/// assignment the arm of the hash, recorded and counted. Returns the arm.
pub fn assign(tx: &mut Tx, key: ExperimentKey, design: &Design, customer: u64, at: i64) -> Result<u8, store::Error> {
    if let Some(mut a) = tx.assignment::<Assignment>(customer, key)? {
        if !a.at.contains(&at) {
            a.at.push(at);
            keep_latest(&mut a.at);
            tx.put_assignment(customer, key, &a)?;
        }
        return Ok(a.arm);
    }
    let arm = design.arm_of(key, customer);
    tx.put_assignment(
        customer,
        key,
        &Assignment {
            arm,
            at: vec![at],
            ..Default::default()
        },
    )?;
    let arms = design.arms();
    change_tally(tx, key, arms, arm, |t| t.assigned += 1)?;
    change_day(tx, key, at, design.zone(), arms, arm, |d| d.assigned += 1)?;
    Ok(arm)
}

/// Notes that a customer's message of the experiment went out (counted once per person).
pub fn expose(tx: &mut Tx, key: ExperimentKey, customer: u64) -> Result<(), store::Error> {
    let Some(mut a) = tx.assignment::<Assignment>(customer, key)? else {
        return Ok(());
    };
    if a.exposed {
        return Ok(());
    }
    a.exposed = true;
    tx.put_assignment(customer, key, &a)?;
    change_tally(tx, key, 0, a.arm, |t| t.exposed += 1)
}

/// A goal event (`Order Completed` with the order's worth, or any event with 0) of `customer` at
/// `at`: it counts in every experiment they are assigned in whose goal it is, when it came within
/// the window after one of their assignments (whatever message came last).
pub fn goal(tx: &mut Tx, customer: u64, event: &str, amount: f64, at: i64) -> Result<(), store::Error> {
    if !tx.any_experiment()? {
        return Ok(());
    }
    let assigned = tx.assignments_of::<Assignment>(customer)?;
    for (key, mut a) in assigned {
        let Some(design) = tx.experiment::<Design>(key)? else {
            continue;
        };
        if design.goal != event || !a.at.iter().any(|&s| s <= at && at - s <= design.window_ms) {
            continue;
        }
        let first = a.converted_at.is_none();
        let before = a.revenue;
        a.converted_at.get_or_insert(at);
        a.revenue += amount;
        let after = a.revenue;
        tx.put_assignment(customer, key, &a)?;
        let arms = design.arms();
        change_tally(tx, key, arms, a.arm, |t| {
            t.converted += u64::from(first);
            t.revenue += amount;
            t.revenue_sq += after * after - before * before;
        })?;
        if first {
            change_day(tx, key, at, design.zone(), arms, a.arm, |d| d.converted += 1)?;
        }
    }
    Ok(())
}

/// A merge: `gone`'s assignments become `keep`'s. Where both were assigned in one experiment, the
/// two people are one now: the earlier assigned self's arm stays, with both selves' times, and
/// the tallies count the one person (what they did, together, in that arm).
pub fn merge(tx: &mut Tx, gone: u64, keep: u64) -> Result<(), store::Error> {
    for (key, g) in tx.assignments_of::<Assignment>(gone)? {
        tx.remove_assignment(gone, key)?;
        let Some(k) = tx.assignment::<Assignment>(keep, key)? else {
            tx.put_assignment(keep, key, &g)?;
            continue;
        };
        let tz = tx.experiment::<Design>(key)?.map_or(chrono_tz::UTC, |d| d.zone());
        let first = if g.at.first() < k.at.first() { &g } else { &k };
        let mut at: Vec<i64> = g.at.iter().chain(&k.at).copied().collect();
        keep_latest(&mut at);
        let one = Assignment {
            arm: first.arm,
            at,
            exposed: g.exposed || k.exposed,
            converted_at: match (g.converted_at, k.converted_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            revenue: g.revenue + k.revenue,
        };
        let mut t: Vec<ArmTally> = tx.experiment_tallies(key)?;
        let arms = t.len().max(usize::from(g.arm.max(k.arm).max(one.arm)) + 1);
        t.resize(arms, ArmTally::default());
        t[usize::from(g.arm)].add(&ArmTally::of(&g), -1);
        t[usize::from(k.arm)].add(&ArmTally::of(&k), -1);
        t[usize::from(one.arm)].add(&ArmTally::of(&one), 1);
        tx.put_experiment_tallies(key, &t)?;
        // The days: both selves' parts out, the one person's in.
        for (a, sign) in [(&g, -1i64), (&k, -1), (&one, 1)] {
            let step = |n: u64| (n as i64 + sign).max(0) as u64;
            if let Some(&first_at) = a.at.first() {
                change_day(tx, key, first_at, tz, arms, a.arm, |d| d.assigned = step(d.assigned))?;
            }
            if let Some(c) = a.converted_at {
                change_day(tx, key, c, tz, arms, a.arm, |d| d.converted = step(d.converted))?;
            }
        }
        tx.put_assignment(keep, key, &one)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(weights: &[u32], holdout: u32) -> Design {
        Design {
            keys: (0..weights.len())
                .map(|i| ((b'a' + i as u8) as char).to_string())
                .collect(),
            weights: weights.to_vec(),
            holdout_percent: holdout,
            goal: "Order Completed".into(),
            window_ms: 86_400_000,
            tz: "Asia/Seoul".into(),
        }
    }

    #[test]
    fn arms_follow_the_weights_and_never_change() {
        let d = design(&[90, 10], 20);
        let mut n = [0u32; 3];
        for c in 0..100_000u64 {
            let arm = d.arm_of((CAMPAIGN, 7), c);
            assert_eq!(arm, d.arm_of((CAMPAIGN, 7), c));
            n[usize::from(arm)] += 1;
        }
        // 72 %, 8 %, 20 % of 100,000, each within five standard deviations.
        for (got, want) in n.iter().zip([72_000.0f64, 8_000.0, 20_000.0]) {
            let sd = (want * (1.0 - want / 100_000.0)).sqrt();
            assert!((f64::from(*got) - want).abs() < 5.0 * sd, "{n:?}");
        }
        // Another experiment draws anew: the same people are not in the same arms.
        let same = (0..1000u64)
            .filter(|&c| d.arm_of((CAMPAIGN, 7), c) == d.arm_of((CAMPAIGN, 8), c))
            .count();
        assert!(same < 800, "{same}");
        // Pinned: a person's draw is the same in every version (computed with Python's hashlib:
        // sha256(b"dangol-experiment:1:1:1"), the first 8 bytes big-endian >> 11, over 2^53).
        assert_eq!(draw((CAMPAIGN, 1), 1), 0.4863845203847891);
        assert_eq!(draw((CAMPAIGN, 3), 42), 0.5515183771553929);
        for (got, want) in d.shares().iter().zip([0.72, 0.08, 0.2]) {
            assert!((got - want).abs() < 1e-12, "{:?}", d.shares());
        }
    }

    #[test]
    fn bad_variants_are_named() {
        assert_eq!(check(&[("a", 50), ("b", 50)], 10), Ok(()));
        assert_eq!(check(&[], 0), Ok(()));
        assert_eq!(check(&[("a", 50), ("b", 40)], 0).unwrap_err().0, "variants");
        assert_eq!(check(&[("a", 50), ("a", 50)], 0).unwrap_err().0, "variants[1].key");
        assert_eq!(check(&[("a", 100)], 51).unwrap_err().0, "holdout_percent");
        assert_eq!(check(&[("a", 0), ("b", 100)], 0).unwrap_err().0, "variants[0].weight");
        assert_eq!(check(&[("holdout", 100)], 0).unwrap_err().0, "variants[0].key");
        assert_eq!(
            check(&[("a", u32::MAX), ("b", 101)], 0).unwrap_err().0,
            "variants[0].weight"
        );
    }
}
