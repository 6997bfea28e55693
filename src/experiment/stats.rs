//! The statistics of A/B experiments: a campaign's variants and its hold-out, each compared with one
//! arm chosen as the control. Everything here is a pure function of per-arm tallies (people assigned,
//! people converted, revenue sums), so reports, pages and jobs can call it freely and tests can pin
//! every number against scipy and statsmodels.
//!
//! Conventions shared by every function:
//! - A conversion count is a `(converted, n)` pair. The type cannot forbid `converted > n`, so such a
//!   `converted` is clamped to `n` (everyone converted). No function panics, whatever it is given.
//! - A statistic that does not exist for the input (no one assigned, one person only) is `None`.
//! - Results are plain `f64`s; callers round them for display.
//! - Tail probabilities of the normal, t and chi-squared distributions come from `statrs`, never
//!   from code of ours. Its normal CDF (0.19.1) is good to about 1e-10 relative, far below what a
//!   report shows.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};
use statrs::function::gamma::ln_gamma;

/// One arm's tallies.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// People assigned to the arm (for a hold-out: held out).
    pub assigned: u64,
    /// Assigned people who converted. Counted above `assigned`, it is read as `assigned`.
    pub converted: u64,
    /// Sum over assigned people of each one's revenue; people who bought nothing add 0.
    pub revenue: f64,
    /// Sum over assigned people of the square of each one's revenue (not of each order's).
    pub revenue_sq: f64,
}

/// The two-sided 95 % quantile of the standard normal, `scipy.stats.norm.ppf(0.975)`.
pub const Z95: f64 = 1.959963984540054;

/// The 80 % quantile of the standard normal, `scipy.stats.norm.ppf(0.8)`: 80 % power in `mde_rel`.
const Z80: f64 = 0.8416212335729143;

/// A difference is significant below this two-sided p-value.
const ALPHA: f64 = 0.05;
/// An arm beats the control when its chance to beat it is at least this.
const CHANCE_TO_WIN: f64 = 0.95;
/// An arm loses to the control when its chance to beat it is at most this.
const CHANCE_TO_LOSE: f64 = 0.05;
/// Below this many people in its smallest arm an experiment is too small to judge.
const MIN_ARM_ASSIGNED: u64 = 100;
/// Below this many conversions in all arms together an experiment is too small to judge.
const MIN_TOTAL_CONVERSIONS: u64 = 10;

/// `chance_to_beat` sums the exact series while the smallest of the two posteriors' four Beta
/// parameters is at most this, and uses the normal approximation above it. The series has that many
/// terms, so the exact path costs at most about 10,000 multiply-divides (tens of microseconds).
/// Above it the approximation is off by at most 6e-6 for arms of equal size, and by at most 1.3e-3
/// (6e-4 where the chance is within 1–10 % or 90–99 %) for arms of sizes 1:2 to 1:99: measured
/// against the exact sum at the threshold, for control rates from 1 % to 99 % and true differences
/// from −5 to +5 standard errors. The error shrinks as one over the square root of the parameter.
const EXACT_CHANCE_MAX_PARAMETER: f64 = 10_000.0;

/// The running sum of the exact series is rescaled by this when it grows past it, so that it never
/// overflows; the scale is kept as a logarithm.
const RESCALE: f64 = 1e280;

/// The conversion rate `converted / n`; `None` when no one was assigned.
pub fn rate(converted: u64, n: u64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    Some(converted.min(n) as f64 / n as f64)
}

/// Wilson's score interval at 95 % for a conversion rate, as `(low, high)`; `None` when no one was
/// assigned. Unlike the plain normal interval it stays inside [0, 1] and is sensible at 0 or n
/// conversions, which small campaigns often show.
pub fn wilson(converted: u64, n: u64) -> Option<(f64, f64)> {
    let p = rate(converted, n)?;
    let n = n as f64;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half_width = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0 or n conversions the bound is 0 or 1 exactly; the two terms differ by rounding only.
    let low = if p == 0.0 { 0.0 } else { (centre - half_width).max(0.0) };
    let high = if p == 1.0 { 1.0 } else { (centre + half_width).min(1.0) };
    Some((low, high))
}

/// The two-sided p-value of the two-proportion z-test with pooled variance, comparing an arm's
/// conversion rate with the control's. Each argument is `(converted, n)`. `None` when either arm has
/// no one assigned; 1.0 when the pooled rate is 0 or 1 (no one or everyone converted: no evidence
/// of a difference, and the statistic would divide by zero).
pub fn two_proportion_p(control: (u64, u64), arm: (u64, u64)) -> Option<f64> {
    let control_rate = rate(control.0, control.1)?;
    let arm_rate = rate(arm.0, arm.1)?;
    let (nc, nt) = (control.1 as f64, arm.1 as f64);
    let converted = control.0.min(control.1) as f64 + arm.0.min(arm.1) as f64;
    let pooled = converted / (nc + nt);
    if pooled <= 0.0 || pooled >= 1.0 {
        return Some(1.0);
    }
    let standard_error = (pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nt)).sqrt();
    Some(two_sided_normal_p((arm_rate - control_rate) / standard_error))
}

/// The two-sided p-value of a standard normal statistic.
fn two_sided_normal_p(z: f64) -> f64 {
    (2.0 * Normal::standard().sf(z.abs())).min(1.0)
}

/// The chance that the arm's true conversion rate is above the control's: P(rate_arm > rate_control)
/// with independent Beta(1 + converted, 1 + not converted) posteriors, that is a uniform prior.
/// Each argument is `(converted, n)`; an arm with no one assigned keeps the uniform prior.
///
/// While the smallest of the four Beta parameters is at most `EXACT_CHANCE_MAX_PARAMETER` (10,000)
/// it is exact (Evan Miller's closed form); above, it uses normal approximations of the two Betas,
/// off by at most about 1e-3 there (see the constant).
pub fn chance_to_beat(control: (u64, u64), arm: (u64, u64)) -> f64 {
    let control = Posterior::of(control);
    let arm = Posterior::of(arm);
    let chance = if control.smallest_parameter().min(arm.smallest_parameter()) > EXACT_CHANCE_MAX_PARAMETER {
        chance_by_normal_approximation(control, arm)
    } else {
        chance_exact(control, arm)
    };
    chance.clamp(0.0, 1.0)
}

/// A Beta(alpha, beta) posterior of a conversion rate.
#[derive(Debug, Clone, Copy)]
struct Posterior {
    alpha: f64,
    beta: f64,
}

impl Posterior {
    /// The posterior after `converted` of `n` converted, from a uniform prior.
    fn of((converted, n): (u64, u64)) -> Posterior {
        let converted = converted.min(n);
        Posterior {
            alpha: converted as f64 + 1.0,
            beta: (n - converted) as f64 + 1.0,
        }
    }

    fn smallest_parameter(self) -> f64 {
        self.alpha.min(self.beta)
    }

    /// The posterior of 1 − rate, the rate of not converting.
    fn flipped(self) -> Posterior {
        Posterior {
            alpha: self.beta,
            beta: self.alpha,
        }
    }

    fn mean(self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    fn variance(self) -> f64 {
        let sum = self.alpha + self.beta;
        self.alpha * self.beta / (sum * sum * (sum + 1.0))
    }
}

/// P(arm > control) exactly. Evan Miller's sum runs over the first parameter of the posterior that is
/// to be larger; by symmetry (P(X > Y) = 1 − P(Y > X), and 1 − X is Beta(beta, alpha)) it can run
/// over whichever of the four parameters is smallest, so we pick that one.
fn chance_exact(control: Posterior, arm: Posterior) -> f64 {
    let smallest = control.smallest_parameter().min(arm.smallest_parameter());
    if smallest == arm.alpha {
        chance_second_is_larger(control, arm)
    } else if smallest == control.alpha {
        1.0 - chance_second_is_larger(arm, control)
    } else if smallest == control.beta {
        // arm > control exactly when 1 − control > 1 − arm.
        chance_second_is_larger(arm.flipped(), control.flipped())
    } else {
        1.0 - chance_second_is_larger(control.flipped(), arm.flipped())
    }
}

/// P(B > A) for A ~ Beta(a, b) and B ~ Beta(c, d), with c a whole number (Evan Miller, "Formulas for
/// Bayesian A/B testing"):
///
/// sum over i = 0 .. c − 1 of B(a + i, b + d) / ((d + i) B(1 + i, d) B(a, b)).
///
/// The first term is B(a, b + d) / B(a, b), taken through ln-gamma; each next term is the previous
/// one times (a + i)(d + i) / ((a + b + d + i)(1 + i)), so the loop only multiplies and divides.
/// The caller keeps c at most `EXACT_CHANCE_MAX_PARAMETER`, which bounds the loop.
fn chance_second_is_larger(first: Posterior, second: Posterior) -> f64 {
    let (a, b) = (first.alpha, first.beta);
    let (c, d) = (second.alpha, second.beta);
    let ln_first_term = ln_gamma(b + d) - ln_gamma(a + b + d) - ln_gamma(b) + ln_gamma(a + b);
    let mut term = 1.0; // relative to the first term and to e^ln_scale
    let mut sum = 0.0;
    let mut ln_scale = 0.0;
    let mut i = 0.0;
    while i < c {
        sum += term;
        term *= (a + i) * (d + i) / ((a + b + d + i) * (1.0 + i));
        if sum > RESCALE {
            sum /= RESCALE;
            term /= RESCALE;
            ln_scale += RESCALE.ln();
        }
        i += 1.0;
    }
    (ln_first_term + ln_scale + sum.ln()).exp()
}

/// P(arm > control) with each Beta replaced by the normal of the same mean and variance, so the
/// difference is normal too. Cheap at any size; accurate when both posteriors are narrow.
fn chance_by_normal_approximation(control: Posterior, arm: Posterior) -> f64 {
    let spread = (control.variance() + arm.variance()).sqrt();
    Normal::standard().cdf((arm.mean() - control.mean()) / spread)
}

/// The unpooled Wald 95 % interval of the absolute lift, arm rate − control rate, as `(low, high)`;
/// `None` when either arm has no one assigned. Each argument is `(converted, n)`.
pub fn lift_ci(control: (u64, u64), arm: (u64, u64)) -> Option<(f64, f64)> {
    let control_rate = rate(control.0, control.1)?;
    let arm_rate = rate(arm.0, arm.1)?;
    let variance = control_rate * (1.0 - control_rate) / control.1 as f64 + arm_rate * (1.0 - arm_rate) / arm.1 as f64;
    let difference = arm_rate - control_rate;
    let half_width = Z95 * variance.sqrt();
    Some((difference - half_width, difference + half_width))
}

/// The two-sided p-value of Welch's t-test of revenue per assigned person, arm against control, with
/// Welch–Satterthwaite degrees of freedom.
///
/// `None` when either arm has fewer than 2 people or a revenue sum that is not finite. A variance
/// that rounding (or inconsistent sums) makes negative counts as 0. When both variances are 0 the
/// test cannot be formed; then the answer is 1.0 if the means are equal and 0.0 if they differ,
/// since two constant samples with different values differ for certain.
pub fn welch_p(control: &Tally, arm: &Tally) -> Option<f64> {
    let control = RevenueSample::of(control)?;
    let arm = RevenueSample::of(arm)?;
    // The squared standard errors of the two means.
    let control_se2 = control.variance / control.n;
    let arm_se2 = arm.variance / arm.n;
    let se2 = control_se2 + arm_se2;
    if se2 == 0.0 {
        return Some(if control.mean == arm.mean { 1.0 } else { 0.0 });
    }
    let t = (arm.mean - control.mean) / se2.sqrt();
    let freedom = se2 * se2 / (control_se2 * control_se2 / (control.n - 1.0) + arm_se2 * arm_se2 / (arm.n - 1.0));
    let distribution = StudentsT::new(0.0, 1.0, freedom).ok()?;
    let p = 2.0 * distribution.sf(t.abs());
    p.is_finite().then_some(p.min(1.0))
}

/// An arm's revenue per assigned person, as mean and sample variance.
struct RevenueSample {
    n: f64,
    mean: f64,
    variance: f64,
}

impl RevenueSample {
    /// `None` for fewer than 2 people or sums that are not finite.
    fn of(tally: &Tally) -> Option<RevenueSample> {
        if tally.assigned < 2 || !tally.revenue.is_finite() || !tally.revenue_sq.is_finite() {
            return None;
        }
        let n = tally.assigned as f64;
        let mean = tally.revenue / n;
        let variance = ((tally.revenue_sq - tally.revenue * mean) / (n - 1.0)).max(0.0);
        Some(RevenueSample { n, mean, variance })
    }
}

/// The p-value of the sample ratio mismatch (SRM) check: Pearson's chi-squared goodness of fit of the
/// arms' assigned counts against their planned shares, with arms − 1 degrees of freedom. A tiny
/// value (say below 0.001) means assignment is broken and the experiment's results cannot be trusted.
///
/// `weights` are the planned shares in the same order as `assigned`, any positive numbers (they are
/// normalised). `None` when there are fewer than 2 arms, no one is assigned, or the weights do not
/// fit: a different number of them, or one that is not a positive finite number.
pub fn srm_p(assigned: &[u64], weights: &[f64]) -> Option<f64> {
    if assigned.len() < 2 || assigned.len() != weights.len() {
        return None;
    }
    if weights.iter().any(|weight| !(weight.is_finite() && *weight > 0.0)) {
        return None;
    }
    let weight_sum: f64 = weights.iter().sum();
    let total: f64 = assigned.iter().map(|&n| n as f64).sum();
    if total == 0.0 || !weight_sum.is_finite() {
        return None;
    }
    let chi_squared: f64 = assigned
        .iter()
        .zip(weights)
        .map(|(&observed, &weight)| {
            let expected = total * weight / weight_sum;
            (observed as f64 - expected).powi(2) / expected
        })
        .sum();
    let distribution = ChiSquared::new((assigned.len() - 1) as f64).ok()?;
    let p = distribution.sf(chi_squared);
    p.is_finite().then_some(p)
}

/// The minimum detectable effect, relative to the control's rate: the smallest true lift that a
/// two-sided test at 5 % would find with 80 % power at the current sizes,
/// (z 0.975 + z 0.8) · sqrt(p (1 − p) (1 / n_c + 1 / n_t)) / p,
/// with p and n_c the control's rate and size and n_t the smallest other arm's size. The quantiles
/// are used at full precision (1.959964… and 0.841621…).
///
/// `None` when the control's rate is 0 (no relative effect exists) or either size is 0.
pub fn mde_rel(control: (u64, u64), smallest_other_n: u64) -> Option<f64> {
    let p = rate(control.0, control.1)?;
    if p == 0.0 || smallest_other_n == 0 {
        return None;
    }
    let spread = (p * (1.0 - p) * (1.0 / control.1 as f64 + 1.0 / smallest_other_n as f64)).sqrt();
    Some((Z95 + Z80) * spread / p)
}

/// What an experiment's conversions say so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Arm `arm` (an index into the tallies; it may be the control) is best, with `chance` its
    /// chance to beat the arm(s) it was compared with.
    Winner { arm: usize, chance: f64 },
    /// The experiment is big enough to judge, but no arm is clearly best yet.
    NoDifferenceYet,
    /// Too few people or conversions to judge at all.
    TooSmall,
}

/// The experiment's verdict on conversion rate, decided conservatively in the manner of GrowthBook's
/// and Klaviyo's results pages: a winner only when the frequentist test and the Bayesian chance agree.
/// The rule, in order:
///
/// 1. `TooSmall` when the smallest arm has fewer than 100 people assigned, or all arms together have
///    fewer than 10 conversions. Also when there are fewer than 2 arms or `control` is not an index
///    into `tallies`.
/// 2. `Winner { arm }` for an arm other than the control whose difference from the control has a
///    two-proportion p-value below 0.05 and whose `chance_to_beat` the control is at least 0.95, with
///    `chance` that chance. When several arms qualify, the one with the highest conversion rate wins
///    (the first of them on a tie).
/// 3. `Winner { arm: control }` when every other arm differs from the control with p below 0.05 and
///    has a chance to beat it of at most 0.05. Its `chance` is the smallest of 1 − those chances.
/// 4. `NoDifferenceYet` otherwise.
///
/// There is no correction for comparing several arms; requiring both tests keeps it conservative.
pub fn verdict(tallies: &[Tally], control: usize) -> Verdict {
    if tallies.len() < 2 || control >= tallies.len() || too_small(tallies) {
        return Verdict::TooSmall;
    }
    winning_arm(tallies, control)
        .or_else(|| winning_control(tallies, control))
        .unwrap_or(Verdict::NoDifferenceYet)
}

/// Step 1 of `verdict`: too few people in the smallest arm, or too few conversions in all arms.
fn too_small(tallies: &[Tally]) -> bool {
    let smallest_arm = tallies.iter().map(|tally| tally.assigned).min().unwrap_or(0);
    let conversions = tallies.iter().fold(0u64, |sum, tally| {
        sum.saturating_add(tally.converted.min(tally.assigned))
    });
    smallest_arm < MIN_ARM_ASSIGNED || conversions < MIN_TOTAL_CONVERSIONS
}

/// Step 2 of `verdict`: the best arm that beats the control by both tests, if any.
fn winning_arm(tallies: &[Tally], control: usize) -> Option<Verdict> {
    let control_counts = counts(&tallies[control]);
    let mut best: Option<(usize, f64, f64)> = None; // (arm, rate, chance)
    for (arm, tally) in tallies.iter().enumerate().filter(|&(arm, _)| arm != control) {
        let arm_counts = counts(tally);
        let chance = chance_to_beat(control_counts, arm_counts);
        if !significant(control_counts, arm_counts) || chance < CHANCE_TO_WIN {
            continue;
        }
        let arm_rate = rate(arm_counts.0, arm_counts.1).unwrap_or(0.0);
        if best.is_none_or(|(_, best_rate, _)| arm_rate > best_rate) {
            best = Some((arm, arm_rate, chance));
        }
    }
    best.map(|(arm, _, chance)| Verdict::Winner { arm, chance })
}

/// Step 3 of `verdict`: the control, when every other arm loses to it by both tests.
fn winning_control(tallies: &[Tally], control: usize) -> Option<Verdict> {
    let control_counts = counts(&tallies[control]);
    let mut control_chance: f64 = 1.0;
    for (_, tally) in tallies.iter().enumerate().filter(|&(arm, _)| arm != control) {
        let arm_counts = counts(tally);
        let chance = chance_to_beat(control_counts, arm_counts);
        if !significant(control_counts, arm_counts) || chance > CHANCE_TO_LOSE {
            return None;
        }
        control_chance = control_chance.min(1.0 - chance);
    }
    Some(Verdict::Winner {
        arm: control,
        chance: control_chance,
    })
}

/// A tally's `(converted, n)`.
fn counts(tally: &Tally) -> (u64, u64) {
    (tally.converted, tally.assigned)
}

/// Whether the two-proportion test finds a difference at the 5 % level.
fn significant(control: (u64, u64), arm: (u64, u64)) -> bool {
    two_proportion_p(control, arm).is_some_and(|p| p < ALPHA)
}

#[cfg(test)]
mod tests {
    // Reference values: Python 3.11, scipy 1.17.1, statsmodels 0.15.0, printed with repr(). In short:
    //
    //   from scipy import stats, integrate
    //   from statsmodels.stats.proportion import (proportion_confint, proportions_ztest,
    //                                             confint_proportions_2indep)
    //   proportion_confint(x, n, method="wilson")
    //   proportions_ztest([x_arm, x_control], [n_arm, n_control])[1]
    //   confint_proportions_2indep(x_arm, n_arm, x_control, n_control, method="wald", compare="diff")
    //   def welch(n1, s1, q1, n2, s2, q2):  # n, sum and sum of squares of each arm
    //       ms = lambda n, s, q: (s / n, ((q - s * s / n) / (n - 1)) ** 0.5, n)
    //       return stats.ttest_ind_from_stats(*ms(n1, s1, q1), *ms(n2, s2, q2), equal_var=False).pvalue
    //   def srm(obs, w): return stats.chisquare(obs, f_exp=[sum(obs) * x / sum(w) for x in w]).pvalue
    //   def mde(x, nc, nt):
    //       p = x / nc; z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    //       return z * (p * (1 - p) * (1 / nc + 1 / nt)) ** 0.5 / p
    //   def chance(xc, nc, xt, nt):  # P(rate_arm > rate_control) under Beta(1 + x, 1 + n - x)
    //       c, t = stats.beta(1 + xc, 1 + nc - xc), stats.beta(1 + xt, 1 + nt - xt)
    //       lo, hi = min(c.ppf(1e-15), t.ppf(1e-15)), max(c.isf(1e-15), t.isf(1e-15))
    //       return integrate.quad(lambda x: c.pdf(x) * t.sf(x), lo, hi,
    //                             epsabs=1e-14, epsrel=1e-12, limit=500)[0]

    use super::*;

    fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
        let err = (got - want).abs() / want.abs().max(1e-300);
        assert!(
            err <= rel,
            "{what}: got {got:e}, want {want:e} (relative error {err:e} > {rel:e})"
        );
    }

    fn assert_abs(got: f64, want: f64, tolerance: f64, what: &str) {
        let err = (got - want).abs();
        assert!(
            err <= tolerance,
            "{what}: got {got:e}, want {want:e} (error {err:e} > {tolerance:e})"
        );
    }

    fn tally(assigned: u64, converted: u64) -> Tally {
        Tally {
            assigned,
            converted,
            ..Tally::default()
        }
    }

    #[test]
    fn rate_is_converted_over_assigned_and_clamped() {
        assert_eq!(rate(3, 20), Some(0.15));
        assert_eq!(rate(0, 20), Some(0.0));
        assert_eq!(rate(20, 20), Some(1.0));
        assert_eq!(rate(25, 20), Some(1.0));
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(5, 0), None);
    }

    // proportion_confint(x, n, method="wilson") for each (x, n).
    #[test]
    fn wilson_matches_statsmodels() {
        let cases = [
            (30, 500, 0.0423483564809462, 0.08436106312521979),
            (3, 20, 0.052368745896216595, 0.36041886474075696),
            (30_000, 1_000_000, 0.02966745643651886, 0.030336154520901253),
            (0, 50, 0.0, 0.07134759913335874),
            (50, 50, 0.9286524008666412, 1.0),
            (1, 1, 0.2065493143772374, 1.0),
        ];
        for (x, n, low, high) in cases {
            let (got_low, got_high) = wilson(x, n).unwrap();
            assert_abs(got_low, low, 1e-15 + 1e-12 * low, &format!("wilson({x}, {n}) low"));
            assert_abs(got_high, high, 1e-12 * high, &format!("wilson({x}, {n}) high"));
        }
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(60, 50), wilson(50, 50), "converted above n is clamped");
    }

    // proportions_ztest([x_arm, x_control], [n_arm, n_control])[1] for each case.
    #[test]
    fn two_proportion_p_matches_statsmodels() {
        let cases = [
            ((30, 1000), (45, 1000), 0.0774848651326447),
            ((12, 400), (25, 600), 0.3383153665630949),
            // No one converted in the arm.
            ((10, 500), (0, 500), 0.0014818807747203873),
            // Everyone converted in the arm.
            ((480, 500), (500, 500), 6.256235567415298e-06),
            ((30_000, 1_000_000), (30_600, 1_000_000), 0.013319145572180863),
            ((100, 2000), (150, 2000), 0.0010908351761252982),
            ((150, 2000), (90, 2000), 6.478242492632285e-05),
        ];
        for (control, arm, want) in cases {
            let got = two_proportion_p(control, arm).unwrap();
            assert_rel(got, want, 1e-9, &format!("p of {control:?} vs {arm:?}"));
            // The test is two-sided, so the order of the arms does not matter.
            assert_rel(two_proportion_p(arm, control).unwrap(), want, 1e-9, "swapped");
        }
    }

    #[test]
    fn two_proportion_p_edges() {
        assert_eq!(two_proportion_p((0, 0), (3, 20)), None, "empty control");
        assert_eq!(two_proportion_p((3, 20), (0, 0)), None, "empty arm");
        assert_eq!(two_proportion_p((0, 100), (0, 100)), Some(1.0), "pooled rate 0");
        assert_eq!(two_proportion_p((100, 100), (50, 50)), Some(1.0), "pooled rate 1");
        assert_eq!(
            two_proportion_p((30, 20), (20, 20)),
            Some(1.0),
            "clamped to everyone converting"
        );
    }

    // chance(xc, nc, xt, nt) above: quad of the control's Beta pdf times the arm's Beta sf. Its own
    // error estimate was below 1e-12 for every case, and Evan Miller's sum in mpmath at 40 digits agreed
    // to 1e-14 on the small ones.
    #[test]
    fn chance_to_beat_exact_matches_quad() {
        let cases = [
            ((3, 20), (7, 20), 0.9205415546878946),
            ((7, 20), (3, 20), 0.07945844531210385),
            // No one converted, in one or both arms.
            ((0, 100), (0, 100), 0.5),
            ((0, 50), (5, 50), 0.9866254666703776),
            // Everyone converted in the control, or in both.
            ((20, 20), (15, 20), 0.010344303027229851),
            ((20, 20), (20, 20), 0.5),
            // An empty arm keeps the uniform prior: P(U > Beta(8, 14)) = E[1 − Beta(8, 14)] = 14/22.
            ((7, 20), (0, 0), 0.6363636363636364),
            ((0, 0), (0, 0), 0.5),
            ((100, 2000), (150, 2000), 0.999460629000924),
            ((150, 2000), (90, 2000), 3.09553691350032e-05),
            ((100, 2000), (110, 2000), 0.7602789511720979),
            // Small counts among a million: ln-gamma of large numbers in the first term.
            ((50, 1_000_000), (70, 1_000_000), 0.965707359602625),
            ((5000, 100_000), (5150, 100_000), 0.9367561808123233),
            // The largest exact case: the smallest parameter is 10,000, the series has 10,000 terms.
            ((9999, 1_000_000), (10_300, 1_000_000), 0.983141483721487),
        ];
        for (control, arm, want) in cases {
            let got = chance_to_beat(control, arm);
            assert_abs(got, want, 1e-9, &format!("chance of {arm:?} to beat {control:?}"));
            // The two chances of a pair add up to 1 (ties have probability 0).
            assert_abs(chance_to_beat(arm, control), 1.0 - want, 1e-9, "swapped");
        }
    }

    // As above. These take the normal approximation; each tolerance is its measured error with room.
    #[test]
    fn chance_to_beat_approximation_matches_quad() {
        // Equal arms: the approximation is off by about 6e-7 here, and by at most 6e-6 anywhere.
        let got = chance_to_beat((30_000, 1_000_000), (30_600, 1_000_000));
        assert_abs(got, 0.9933403635262744, 2e-6, "30,000 vs 30,600 of a million");
        let got = chance_to_beat((10_000, 1_000_000), (10_300, 1_000_000));
        assert_abs(got, 0.9828417573201643, 1e-5, "just above the threshold");
        // Arms of 3,000,000 and 330,000: off by 4.5e-4, the size of error unequal arms can have.
        let got = chance_to_beat((100_000, 3_000_000), (11_200, 330_000));
        assert_abs(got, 0.9671231982661028, 6e-4, "arms of unequal size");
    }

    #[test]
    fn chance_to_beat_is_a_probability_at_extremes() {
        let counts = [0, 1, 99, 10_001, u64::MAX / 2, u64::MAX];
        for &xc in &counts {
            for &nc in &counts {
                for &xt in &counts {
                    for &nt in &counts {
                        let chance = chance_to_beat((xc, nc), (xt, nt));
                        assert!((0.0..=1.0).contains(&chance), "{xc}/{nc} vs {xt}/{nt}: {chance}");
                    }
                }
            }
        }
    }

    // confint_proportions_2indep(x_arm, n_arm, x_control, n_control, method="wald", compare="diff").
    #[test]
    fn lift_ci_matches_statsmodels() {
        let cases = [
            ((30, 1000), (45, 1000), -0.001639505536569566, 0.031639505536569565),
            ((12, 400), (25, 600), -0.011465967654331177, 0.03479930098766451),
            // No one converted in the arm.
            ((10, 500), (0, 500), -0.03227131556807215, -0.007728684431927856),
            // Everyone converted in the arm.
            ((480, 500), (500, 500), 0.022823736220315315, 0.05717626377968475),
        ];
        for (control, arm, low, high) in cases {
            let (got_low, got_high) = lift_ci(control, arm).unwrap();
            assert_rel(got_low, low, 1e-12, &format!("lift of {arm:?} over {control:?}, low"));
            assert_rel(
                got_high,
                high,
                1e-12,
                &format!("lift of {arm:?} over {control:?}, high"),
            );
        }
        assert_eq!(lift_ci((0, 0), (3, 20)), None);
        assert_eq!(lift_ci((3, 20), (0, 0)), None);
        assert_eq!(lift_ci((0, 20), (0, 30)), Some((0.0, 0.0)));
    }

    // welch(n1, s1, q1, n2, s2, q2) above, i.e. scipy.stats.ttest_ind_from_stats(..., equal_var=False).
    #[test]
    fn welch_p_matches_scipy() {
        let revenue = |assigned, revenue, revenue_sq| Tally {
            assigned,
            converted: 0,
            revenue,
            revenue_sq,
        };
        let cases = [
            // Equal sizes.
            (
                revenue(1000, 2500.0, 180_000.0),
                revenue(1000, 3100.0, 240_000.0),
                0.3456235066791955,
            ),
            // Unequal sizes.
            (
                revenue(800, 1900.0, 130_000.0),
                revenue(1200, 3400.0, 260_000.0),
                0.4514492623183636,
            ),
            // The control is constant (5, 5): only the arm's variance counts.
            (revenue(2, 10.0, 50.0), revenue(3, 3.0, 5.0), 0.020204102886728758),
        ];
        for (control, arm, want) in cases {
            let got = welch_p(&control, &arm).unwrap();
            assert_rel(got, want, 1e-9, &format!("{control:?} vs {arm:?}"));
            assert_rel(welch_p(&arm, &control).unwrap(), want, 1e-9, "swapped");
        }
    }

    #[test]
    fn welch_p_edges() {
        let revenue = |assigned, revenue, revenue_sq| Tally {
            assigned,
            converted: 0,
            revenue,
            revenue_sq,
        };
        let some = revenue(100, 250.0, 9000.0);
        assert_eq!(welch_p(&revenue(1, 5.0, 25.0), &some), None, "one person");
        assert_eq!(welch_p(&some, &revenue(0, 0.0, 0.0)), None, "no one");
        assert_eq!(welch_p(&some, &revenue(100, f64::NAN, 1.0)), None, "not finite");
        assert_eq!(welch_p(&some, &revenue(100, 1.0, f64::INFINITY)), None, "not finite");
        // Both constant: equal means give 1, different means 0.
        assert_eq!(welch_p(&revenue(10, 0.0, 0.0), &revenue(20, 0.0, 0.0)), Some(1.0));
        assert_eq!(welch_p(&revenue(10, 30.0, 90.0), &revenue(20, 60.0, 180.0)), Some(1.0));
        assert_eq!(welch_p(&revenue(10, 30.0, 90.0), &revenue(20, 0.0, 0.0)), Some(0.0));
        // A sum of squares too small for its sum is read as variance 0, not as an error.
        assert_eq!(welch_p(&revenue(10, 30.0, 1.0), &revenue(20, 60.0, 2.0)), Some(1.0));
    }

    // srm(obs, w) above, i.e. scipy.stats.chisquare(obs, f_exp=expected).
    #[test]
    fn srm_p_matches_scipy() {
        let cases: [(&[u64], &[f64], f64); 5] = [
            // A 90/10 split close to plan, and one far off it (p < 0.001: broken assignment).
            (&[9012, 988], &[90.0, 10.0], 0.6891565167793516),
            (&[8850, 1150], &[90.0, 10.0], 5.733031437583875e-07),
            (&[9000, 1000], &[0.9, 0.1], 1.0),
            (&[3400, 3300, 3300], &[1.0, 1.0, 1.0], 0.36787944117144245),
            (&[4600, 4400, 1000], &[45.0, 45.0, 10.0], 0.10836802322189587),
        ];
        for (assigned, weights, want) in cases {
            let got = srm_p(assigned, weights).unwrap();
            assert_rel(got, want, 1e-12, &format!("{assigned:?} against {weights:?}"));
        }
        assert!(srm_p(&[8850, 1150], &[90.0, 10.0]).unwrap() < 0.001);
    }

    #[test]
    fn srm_p_edges() {
        assert_eq!(srm_p(&[100], &[1.0]), None, "one arm");
        assert_eq!(srm_p(&[], &[]), None, "no arms");
        assert_eq!(srm_p(&[0, 0], &[1.0, 1.0]), None, "no one assigned");
        assert_eq!(srm_p(&[50, 50], &[1.0]), None, "weights missing");
        assert_eq!(srm_p(&[50, 50], &[1.0, 0.0]), None, "zero weight");
        assert_eq!(srm_p(&[50, 50], &[1.0, -1.0]), None, "negative weight");
        assert_eq!(srm_p(&[50, 50], &[1.0, f64::NAN]), None, "weight not a number");
        assert_eq!(srm_p(&[50, 50], &[f64::MAX, f64::MAX]), None, "weights overflow");
        // Someone in one arm only: a certain mismatch, but still an answer.
        assert!(srm_p(&[0, u64::MAX], &[1.0, 1.0]).unwrap() < 1e-300);
    }

    // mde(x, nc, nt) above.
    #[test]
    fn mde_rel_matches_formula() {
        // p = 0.05 with 1,200 people in each arm: a lift of about +50 % is needed to be seen.
        assert_rel(
            mde_rel((60, 1200), 1200).unwrap(),
            0.4985457433921062,
            1e-12,
            "5 %, 1,200 each",
        );
        assert_rel(
            mde_rel((60, 1200), 400).unwrap(),
            0.7050501517684934,
            1e-12,
            "5 %, 1,200 and 400",
        );
        assert_rel(
            mde_rel((300, 10_000), 10_000).unwrap(),
            0.22529112043929023,
            1e-12,
            "3 %, 10,000 each",
        );
        assert_eq!(mde_rel((0, 1200), 1200), None, "control rate 0");
        assert_eq!(mde_rel((0, 0), 1200), None, "empty control");
        assert_eq!(mde_rel((60, 1200), 0), None, "empty arm");
        assert_eq!(mde_rel((1200, 1200), 1200), Some(0.0), "control rate 1");
    }

    // The chances in these verdicts are the quad values of chance_to_beat_exact_matches_quad, and the
    // p-values those of two_proportion_p_matches_statsmodels (and proportions_ztest of 100/2000 vs
    // 140/2000: 0.007742021228916468, 100/2000 vs 60/2000: 0.0012488309880884186).
    #[test]
    fn verdict_too_small() {
        // The smallest arm has 99 people.
        assert_eq!(verdict(&[tally(5000, 500), tally(99, 50)], 0), Verdict::TooSmall);
        // 9 conversions in all.
        assert_eq!(verdict(&[tally(5000, 0), tally(5000, 9)], 0), Verdict::TooSmall);
        // 100 people and 10 conversions are enough to judge.
        assert_eq!(verdict(&[tally(100, 5), tally(100, 5)], 0), Verdict::NoDifferenceYet);
        // Fewer than two arms, or no such control.
        assert_eq!(verdict(&[], 0), Verdict::TooSmall);
        assert_eq!(verdict(&[tally(5000, 500)], 0), Verdict::TooSmall);
        assert_eq!(verdict(&[tally(5000, 500), tally(5000, 600)], 2), Verdict::TooSmall);
    }

    #[test]
    fn verdict_arm_wins() {
        let got = verdict(&[tally(2000, 100), tally(2000, 150)], 0);
        let Verdict::Winner { arm, chance } = got else {
            panic!("{got:?}")
        };
        assert_eq!(arm, 1);
        assert_abs(chance, 0.999460629000924, 1e-9, "chance");
        // Both arms beat the control; the higher rate wins, whatever its index.
        let got = verdict(&[tally(2000, 100), tally(2000, 140), tally(2000, 150)], 0);
        assert!(matches!(got, Verdict::Winner { arm: 2, .. }), "{got:?}");
        // A hold-out as the control, last.
        let got = verdict(&[tally(2000, 150), tally(2000, 110), tally(2000, 100)], 2);
        assert!(matches!(got, Verdict::Winner { arm: 0, .. }), "{got:?}");
    }

    #[test]
    fn verdict_control_wins() {
        let got = verdict(&[tally(2000, 150), tally(2000, 100), tally(2000, 90)], 0);
        let Verdict::Winner { arm, chance } = got else {
            panic!("{got:?}")
        };
        assert_eq!(arm, 0);
        // The weaker of the two wins: 1 − P(100/2000 beats 150/2000).
        assert_abs(chance, 1.0 - 0.000539370999075111, 1e-9, "chance");
    }

    #[test]
    fn verdict_no_difference_yet() {
        // p = 0.48, chance 0.76.
        assert_eq!(
            verdict(&[tally(2000, 100), tally(2000, 110)], 0),
            Verdict::NoDifferenceYet
        );
        // One arm is clearly worse, the other is not clearly anything: the control has not won.
        assert_eq!(
            verdict(&[tally(2000, 100), tally(2000, 60), tally(2000, 110)], 0),
            Verdict::NoDifferenceYet
        );
        // Equal rates.
        assert_eq!(
            verdict(&[tally(2000, 100), tally(2000, 100)], 1),
            Verdict::NoDifferenceYet
        );
    }

    #[test]
    fn verdict_clamps_converted() {
        // 300 "conversions" of 200 people read as 200 of 200, which beats 100 of 2,000.
        let got = verdict(&[tally(2000, 100), tally(200, 300)], 0);
        assert!(matches!(got, Verdict::Winner { arm: 1, .. }), "{got:?}");
    }
}
