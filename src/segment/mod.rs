//! Segments: the rule language (CONTRACT §4), its evaluation on the customer columns, saved
//! segments and their nightly membership.

pub mod eval;
pub mod rule;
pub mod saved;

pub use rule::{Condition, Rule, RuleError};

use crate::store;

/// How many people a rule selects now, and a few of them (the most recently seen first).
#[derive(Debug, Clone)]
pub struct Preview {
    pub count: u64,
    pub sample: Vec<u64>,
}

/// Evaluates `rule` in `env` and picks a sample of `sample` members.
pub fn preview(rule: &Rule, env: &eval::Env, sample: usize) -> Result<Preview, store::Error> {
    let cols = env.cols;
    let members = eval::evaluate(rule, env)?;
    let mut rows: Vec<u32> = members.iter().collect();
    let key = |r: &u32| (std::cmp::Reverse(cols.last_seen[*r as usize]), cols.ids[*r as usize]);
    if rows.len() > sample && sample > 0 {
        rows.select_nth_unstable_by_key(sample - 1, key);
        rows.truncate(sample);
    }
    rows.sort_unstable_by_key(key);
    rows.truncate(sample);
    Ok(Preview {
        count: members.len(),
        sample: rows.into_iter().map(|r| cols.ids[r as usize]).collect(),
    })
}

/// Everyone `rule` selects in `env`, as customer ids (the console's "now" member list; the
/// nightly recompute keeps the same set per date).
pub fn members_now(rule: &Rule, env: &eval::Env) -> Result<roaring::RoaringTreemap, store::Error> {
    let rows = eval::evaluate(rule, env)?;
    Ok(rows.iter().map(|r| env.cols.ids[r as usize]).collect())
}
