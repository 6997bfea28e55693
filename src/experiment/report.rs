//! The experiment block of a report (CONTRACT §9): per arm the people assigned, exposed and
//! converted, the rate with Wilson's interval, revenue per assigned person, and against the
//! control the lift with its interval, the z-test's p-value, the chance to beat it and Welch's
//! p-value for revenue per person; the sample-ratio check, the smallest lift the sizes can see and
//! a verdict; and each arm's cumulative rate over days. Read from the tallies: a few rows however
//! many people were assigned.

use serde::Serialize;

use super::stats::{self, Tally, Verdict};
use super::{ArmDay, ArmTally, Design, ExperimentKey};
use crate::store::{self, ReadTx};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Lift {
    /// The rate's difference from the control's.
    pub abs: f64,
    /// `abs` over the control's rate (null when that is 0).
    pub rel: Option<f64>,
    /// The unpooled (Wald) 95 % interval of `abs`.
    pub ci95: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ArmReport {
    pub key: String,
    /// Everyone the arm was given to, reached or not (intention to treat).
    pub assigned: u64,
    /// Those a message was sent to (none in the hold-out).
    pub exposed: u64,
    /// Those who reached the goal within the window after an assignment.
    pub converted: u64,
    /// `converted / assigned` (0 when nobody was assigned).
    pub conversion_rate: f64,
    /// Wilson's 95 % interval of the rate.
    pub ci95: Option<[f64; 2]>,
    pub revenue: f64,
    pub revenue_per_assigned: f64,
    /// Against the control (null for the control): the two-proportion z-test's two-sided p-value.
    pub p_value: Option<f64>,
    /// P(this arm's rate > the control's) under Beta(1 + converted, 1 + not) posteriors.
    pub chance_to_beat_control: Option<f64>,
    pub lift: Option<Lift>,
    /// Welch's t-test of revenue per assigned person against the control's (two-sided).
    pub revenue_p_value: Option<f64>,
}

/// Each arm's cumulative rate at the end of a day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayPoint {
    /// YYYY-MM-DD, shop time.
    pub day: String,
    /// Per arm, in the order of `arms`: assigned and converted so far, the rate and its interval.
    pub arms: Vec<DayArm>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayArm {
    pub assigned: u64,
    pub converted: u64,
    pub conversion_rate: f64,
    pub ci95: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExperimentReport {
    /// The variants in their order, then the hold-out when there is one.
    pub arms: Vec<ArmReport>,
    /// The arm the others are compared with: the hold-out, else the first variant.
    pub control: String,
    /// Pearson's χ² of the assigned counts against the weights; below 0.001 the split is broken.
    pub srm_p_value: Option<f64>,
    /// The smallest relative lift the current sizes detect (α 0.05, power 0.8).
    pub mde_rel: Option<f64>,
    /// `winner`, `no_difference_yet` or `too_small`.
    pub verdict: String,
    /// With `winner`: the arm that won and its chance of being better.
    pub winner: Option<String>,
    pub winner_chance: Option<f64>,
    pub days: Vec<DayPoint>,
}

fn pair(p: Option<(f64, f64)>) -> Option<[f64; 2]> {
    p.map(|(a, b)| [a, b])
}

/// The experiment block of `key`'s report, or None when it has no experiment.
pub fn report(read: &ReadTx, key: ExperimentKey) -> Result<Option<ExperimentReport>, store::Error> {
    let Some(design) = read.experiment::<Design>(key)? else {
        return Ok(None);
    };
    let mut tallies: Vec<ArmTally> = read.experiment_tallies(key)?;
    tallies.resize(tallies.len().max(design.arms()), ArmTally::default());
    let days: Vec<(i32, Vec<ArmDay>)> = read.experiment_days(key)?;
    Ok(Some(of(&design, &tallies, &days)))
}

/// The block from an experiment's design, tallies and days.
pub fn of(design: &Design, tallies: &[ArmTally], days: &[(i32, Vec<ArmDay>)]) -> ExperimentReport {
    let control = design.control();
    let t: Vec<Tally> = tallies
        .iter()
        .map(|a| Tally {
            assigned: a.assigned,
            converted: a.converted,
            revenue: a.revenue,
            revenue_sq: a.revenue_sq,
        })
        .collect();
    let c = (t[control].converted, t[control].assigned);
    let arms = tallies
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let me = (a.converted, a.assigned);
            let vs = i != control;
            ArmReport {
                key: design.key_of(i).to_string(),
                assigned: a.assigned,
                exposed: a.exposed,
                converted: a.converted,
                conversion_rate: stats::rate(a.converted, a.assigned).unwrap_or(0.0),
                ci95: pair(stats::wilson(a.converted, a.assigned)),
                revenue: a.revenue,
                revenue_per_assigned: if a.assigned > 0 {
                    a.revenue / a.assigned as f64
                } else {
                    0.0
                },
                p_value: vs.then(|| stats::two_proportion_p(c, me)).flatten(),
                chance_to_beat_control: (vs && a.assigned > 0 && c.1 > 0).then(|| stats::chance_to_beat(c, me)),
                lift: match (vs, stats::rate(c.0, c.1), stats::rate(me.0, me.1)) {
                    (true, Some(pc), Some(pt)) => Some(Lift {
                        abs: pt - pc,
                        rel: (pc > 0.0).then(|| (pt - pc) / pc),
                        ci95: pair(stats::lift_ci(c, me)),
                    }),
                    _ => None,
                },
                revenue_p_value: vs.then(|| stats::welch_p(&t[control], &t[i])).flatten(),
            }
        })
        .collect();
    let assigned: Vec<u64> = tallies.iter().map(|a| a.assigned).collect();
    let smallest_other = (0..tallies.len())
        .filter(|&i| i != control)
        .map(|i| tallies[i].assigned)
        .min();
    let (verdict, winner, winner_chance) = match stats::verdict(&t, control) {
        Verdict::Winner { arm, chance } => ("winner", Some(design.key_of(arm).to_string()), Some(chance)),
        Verdict::NoDifferenceYet => ("no_difference_yet", None, None),
        Verdict::TooSmall => ("too_small", None, None),
    };
    // The days: each arm's cumulative counts at each day's end.
    let mut sums = vec![(0u64, 0u64); tallies.len()];
    let days = days
        .iter()
        .map(|(day, arms)| {
            for (i, d) in arms.iter().enumerate().take(sums.len()) {
                sums[i].0 += d.assigned;
                sums[i].1 += d.converted;
            }
            DayPoint {
                day: crate::analysis::day_date(*day).to_string(),
                arms: sums
                    .iter()
                    .map(|&(n, x)| DayArm {
                        assigned: n,
                        converted: x,
                        conversion_rate: stats::rate(x, n).unwrap_or(0.0),
                        ci95: pair(stats::wilson(x, n)),
                    })
                    .collect(),
            }
        })
        .collect();
    ExperimentReport {
        arms,
        control: design.key_of(control).to_string(),
        srm_p_value: stats::srm_p(&assigned, &design.shares()),
        mde_rel: smallest_other.and_then(|n| stats::mde_rel(c, n)),
        verdict: verdict.into(),
        winner,
        winner_chance,
        days,
    }
}
