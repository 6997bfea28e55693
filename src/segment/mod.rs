//! Segments: the rule language (CONTRACT §4) and, as issue #6 lands, its evaluation on the
//! customer columns, saved segments and their nightly membership.

pub mod rule;

pub use rule::{Condition, Rule, RuleError};
