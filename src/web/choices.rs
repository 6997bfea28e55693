//! What the console's forms share: the options of a select, a radio group or a set of
//! checkboxes; a wrong field named where it sits on the form; the shop's segments and coupons to
//! choose from.

use crate::app::AppState;
use crate::coupon::CouponRecord;
use crate::i18n::Catalog;
use crate::segment::saved::SegmentRecord;
use crate::store;

/// An option of a select, a radio group or a set of checkboxes.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Options from (value, label) pairs, the one that is `current` selected.
pub fn opts(items: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Opt> {
    checked(items, &[current])
}

/// Options from (value, label) pairs, those in `chosen` selected (a set of checkboxes).
pub fn checked<S: AsRef<str>>(items: impl IntoIterator<Item = (String, String)>, chosen: &[S]) -> Vec<Opt> {
    items
        .into_iter()
        .map(|(value, label)| Opt {
            selected: chosen.iter().any(|c| c.as_ref() == value),
            value,
            label,
        })
        .collect()
}

/// (value, label) pairs, each label the catalog's `{prefix}{value}`.
pub fn labelled(t: &Catalog, prefix: &str, values: &[&str]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|v| (v.to_string(), t.get(&format!("{prefix}{v}")).to_string()))
        .collect()
}

/// A wrong field: as the API names it, where it sits on the form, and what is wrong.
pub struct FieldError {
    pub field: String,
    pub slot: &'static str,
    pub message: String,
}

impl FieldError {
    /// `slot_of` is the form's map from the API's field names to its places.
    pub fn at(field: String, message: String, slot_of: fn(&str) -> &'static str) -> FieldError {
        FieldError {
            slot: slot_of(&field),
            field,
            message,
        }
    }
}

/// The shop's segments and coupons as (id, name), for a form to offer.
pub async fn segments_and_coupons(
    st: &AppState,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), store::Error> {
    st.store
        .call(|s| {
            let read = s.read()?;
            let segments = read
                .segments::<SegmentRecord>()?
                .into_iter()
                .map(|(id, r)| (id.to_string(), r.name))
                .collect();
            let coupons = read
                .coupons::<CouponRecord>()?
                .into_iter()
                .map(|(id, c)| (id.to_string(), c.name))
                .collect();
            Ok((segments, coupons))
        })
        .await
}
