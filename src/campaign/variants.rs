//! A campaign's A/B variants and hold-out (CONTRACT §9): what each variant changes of the
//! campaign's content and coupon, the experiment they make, and their checks.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{CampaignError, Definition, bad};
use crate::experiment::{self, Design};
use crate::store::ReadTx;

/// The key of a campaign's one arm when it has a hold-out and no variants.
pub const ONLY: &str = "a";

/// What a variant changes of the campaign's content: each field given replaces the campaign's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VariantContent {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub template_code: Option<String>,
}

/// One variant: its key, its share of the people not held out (the weights add to 100) and
/// what it sends otherwise than the campaign's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Variant {
    pub key: String,
    pub weight: u32,
    #[serde(default)]
    pub content: VariantContent,
    /// A coupon of its own instead of the campaign's.
    #[serde(default)]
    pub coupon_id: Option<u64>,
}

impl Definition {
    /// Whether the campaign is an experiment: variants, or a hold-out.
    pub fn is_experiment(&self) -> bool {
        !self.variants.is_empty() || self.holdout_percent > 0
    }

    /// The experiment the campaign runs, if it runs one.
    pub fn design(&self, tz: chrono_tz::Tz) -> Option<Design> {
        if !self.is_experiment() {
            return None;
        }
        let (keys, weights) = if self.variants.is_empty() {
            (vec![ONLY.to_string()], vec![100])
        } else {
            self.variants
                .iter()
                .map(|v| (v.key.trim().to_string(), v.weight))
                .unzip()
        };
        Some(Design {
            keys,
            weights,
            holdout_percent: self.holdout_percent,
            goal: self.goal.event.clone(),
            window_ms: self.window_ms(),
            tz: tz.name().to_string(),
        })
    }

    /// The campaign as the people of variant `arm` get it (itself for the hold-out, no variant
    /// or a campaign without variants).
    pub fn for_arm(&self, arm: Option<u8>) -> Cow<'_, Definition> {
        let Some(v) = arm.and_then(|a| self.variants.get(usize::from(a))) else {
            return Cow::Borrowed(self);
        };
        let mut d = self.clone();
        let c = &v.content;
        if let Some(s) = &c.subject {
            d.content.subject = Some(s.clone());
        }
        if let Some(t) = &c.text {
            d.content.text = t.clone();
        }
        if let Some(h) = &c.html {
            d.content.html = Some(h.clone());
        }
        if let Some(t) = &c.template_code {
            d.content.template_code = Some(t.clone());
        }
        if v.coupon_id.is_some() {
            d.coupon_id = v.coupon_id;
        }
        Cow::Owned(d)
    }

    /// Checks the variants and the hold-out; each variant's content as it will be sent.
    pub(super) fn variants_check(&self, read: &ReadTx) -> Result<(), CampaignError> {
        let pairs: Vec<(&str, u32)> = self.variants.iter().map(|v| (v.key.as_str(), v.weight)).collect();
        experiment::check(&pairs, self.holdout_percent).map_err(|(field, message)| bad(field, message))?;
        for i in 0..self.variants.len() {
            let mut d = self.for_arm(Some(i as u8)).into_owned();
            d.variants.clear();
            d.content_check(read).map_err(|e| match e {
                CampaignError::Field { field, message } => bad(format!("variants[{i}].{field}"), message),
                e => e,
            })?;
        }
        Ok(())
    }
}
