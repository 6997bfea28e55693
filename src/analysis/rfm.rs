//! RFM: recency, frequency and monetary scores 1–5 among the shop's buyers, and the eleven groups
//! a Shopify merchant knows, from the recency score and the combined frequency-and-money score.

use serde::Serialize;

/// The eleven RFM groups. The code is what the nightly snapshot stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmGroup {
    Champions,
    Loyal,
    Active,
    New,
    Promising,
    NeedsAttention,
    AtRisk,
    AlmostLost,
    PreviouslyLoyal,
    Dormant,
    Prospects,
}

impl RfmGroup {
    pub const ALL: [RfmGroup; 11] = [
        RfmGroup::Champions,
        RfmGroup::Loyal,
        RfmGroup::Active,
        RfmGroup::New,
        RfmGroup::Promising,
        RfmGroup::NeedsAttention,
        RfmGroup::AtRisk,
        RfmGroup::AlmostLost,
        RfmGroup::PreviouslyLoyal,
        RfmGroup::Dormant,
        RfmGroup::Prospects,
    ];

    /// 1..=11 in the order of [`RfmGroup::ALL`]; 0 means "not analysed".
    pub fn code(self) -> u8 {
        RfmGroup::ALL.iter().position(|g| *g == self).expect("listed") as u8 + 1
    }

    pub fn from_code(code: u8) -> Option<RfmGroup> {
        RfmGroup::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// The snake_case name used by the API and segment rules (`at_risk`).
    pub fn as_str(self) -> &'static str {
        match self {
            RfmGroup::Champions => "champions",
            RfmGroup::Loyal => "loyal",
            RfmGroup::Active => "active",
            RfmGroup::New => "new",
            RfmGroup::Promising => "promising",
            RfmGroup::NeedsAttention => "needs_attention",
            RfmGroup::AtRisk => "at_risk",
            RfmGroup::AlmostLost => "almost_lost",
            RfmGroup::PreviouslyLoyal => "previously_loyal",
            RfmGroup::Dormant => "dormant",
            RfmGroup::Prospects => "prospects",
        }
    }

    pub fn parse(s: &str) -> Option<RfmGroup> {
        RfmGroup::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The group of a buyer with recency score `r` and combined frequency-and-money score `fm`
    /// (both 1–5). The map (rows: R, columns: FM 1..5):
    ///
    /// ```text
    /// R5: New            New            Active           Champions        Champions
    /// R4: Promising      Promising      Active           Loyal            Loyal
    /// R3: Needs attn.    Needs attn.    Needs attn.      At risk          At risk
    /// R2: Almost lost    Almost lost    At risk          At risk          Previously loyal
    /// R1: Dormant        Dormant        At risk          At risk          Previously loyal
    /// ```
    ///
    /// R3 is the middle fifth of buyers by recency; in a shop where most buyers ordered once long
    /// ago that is already months, so a strong history there is "at risk", not "loyal".
    pub fn of_scores(r: u8, fm: u8) -> RfmGroup {
        match (r, fm) {
            (5, 4) | (5, 5..) => RfmGroup::Champions,
            (5, 3) | (4, 3) => RfmGroup::Active,
            (5, _) => RfmGroup::New,
            (4, 4) | (4, 5..) => RfmGroup::Loyal,
            (4, _) => RfmGroup::Promising,
            (3, 4) | (3, 5..) => RfmGroup::AtRisk,
            (3, _) => RfmGroup::NeedsAttention,
            (..=2, 5..) => RfmGroup::PreviouslyLoyal,
            (..=2, 3) | (..=2, 4) => RfmGroup::AtRisk,
            (2, _) => RfmGroup::AlmostLost,
            _ => RfmGroup::Dormant,
        }
    }
}

/// The combined frequency-and-money score: the mean of F and M, rounded up.
pub fn fm_score(f: u8, m: u8) -> u8 {
    (f + m).div_ceil(2)
}

/// Scores values 1–5 by quintile: a value's score is 1 + ⌊5 × the share of buyers with a strictly
/// worse value⌋ (at most 5). Equal values share a score, so a shop where most buyers ordered once
/// gives all of them F = 1 rather than splitting them at random.
pub struct Quintiles {
    sorted: Vec<f64>,
    higher_is_better: bool,
}

impl Quintiles {
    pub fn new(mut values: Vec<f64>, higher_is_better: bool) -> Quintiles {
        values.sort_by(f64::total_cmp);
        Quintiles {
            sorted: values,
            higher_is_better,
        }
    }

    pub fn score(&self, v: f64) -> u8 {
        let n = self.sorted.len();
        if n == 0 {
            return 0;
        }
        let worse = if self.higher_is_better {
            self.sorted.partition_point(|&x| x < v)
        } else {
            n - self.sorted.partition_point(|&x| x <= v)
        };
        (1 + 5 * worse / n).min(5) as u8
    }

    /// The smallest value that reaches each score 2..=5 (higher is better) or the largest (lower
    /// is better), for the page that explains the scores.
    pub fn thresholds(&self) -> Vec<Option<f64>> {
        (2..=5u8)
            .map(|s| {
                let mut best: Option<f64> = None;
                for &v in &self.sorted {
                    if self.score(v) >= s {
                        best = Some(match best {
                            None => v,
                            Some(b) if self.higher_is_better => b.min(v),
                            Some(b) => b.max(v),
                        });
                        if self.higher_is_better {
                            break;
                        }
                    }
                }
                best
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_of_the_grid_has_a_group_and_every_buyer_group_is_reached() {
        let mut seen = std::collections::HashSet::new();
        for r in 1..=5 {
            for fm in 1..=5 {
                seen.insert(RfmGroup::of_scores(r, fm));
            }
        }
        assert_eq!(seen.len(), 10, "all but Prospects");
        assert!(!seen.contains(&RfmGroup::Prospects));
        assert_eq!(RfmGroup::of_scores(5, 5), RfmGroup::Champions);
        assert_eq!(RfmGroup::of_scores(1, 1), RfmGroup::Dormant);
        assert_eq!(RfmGroup::of_scores(1, 5), RfmGroup::PreviouslyLoyal);
        assert_eq!(RfmGroup::of_scores(2, 4), RfmGroup::AtRisk);
        for g in RfmGroup::ALL {
            assert_eq!(RfmGroup::from_code(g.code()), Some(g));
            assert_eq!(RfmGroup::parse(g.as_str()), Some(g));
        }
    }

    #[test]
    fn quintiles_share_scores_on_ties_and_respect_direction() {
        // Frequency: 60% bought once, 20% twice, 20% five times.
        let f = Quintiles::new(vec![1., 1., 1., 1., 1., 1., 2., 2., 5., 5.], true);
        assert_eq!(f.score(1.), 1);
        assert_eq!(f.score(2.), 4);
        assert_eq!(f.score(5.), 5);
        // Recency in days: fewer is better.
        let r = Quintiles::new((1..=10).map(f64::from).collect(), false);
        assert_eq!(r.score(1.), 5);
        assert_eq!(r.score(10.), 1);
        assert_eq!(r.score(5.), 3);
        assert_eq!(fm_score(1, 2), 2);
        assert_eq!(fm_score(4, 5), 5);
    }
}
