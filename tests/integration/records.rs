//! Golden bytes: every kind of stored record, as an older build wrote it, still decodes. A data
//! dir is a promise to every later version (atuin keeps such fixtures for the same reason).
//!
//! `tests/data/records/NAME.json` is what a record held; `NAME.msgpack` are the bytes the build
//! of that day stored for it, written once and never again: a change that cannot read them is a
//! change of the stored format and needs a migration. `DANGOL_WRITE_GOLDEN=1 cargo test records`
//! writes the bytes of a new fixture (a `.json` without its `.msgpack`) and leaves the others.

use std::path::{Path, PathBuf};

use dangol::store::codec;
use dangol::store::records::{self, EventRecord, NewEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/records")
}

/// How a table stores its values.
#[derive(Clone, Copy)]
enum Codec {
    /// A MessagePack map with field names (`codec::encode`).
    Named,
    /// Positional (`codec::encode_compact`), for the tables of many small rows.
    Compact,
}

/// The sample `name` as `T`, checked against the bytes stored for it.
fn golden<T: Serialize + DeserializeOwned>(name: &str, how: Codec) {
    golden_with::<T, T>(name, how, |t| match how {
        Codec::Named => codec::encode(t),
        Codec::Compact => codec::encode_compact(t),
    })
}

/// As [`golden`], with the bytes written from the sample by `write` (a table written through a
/// type of its own, as the event log is).
fn golden_with<T: DeserializeOwned, R: Serialize + DeserializeOwned>(
    name: &str,
    how: Codec,
    write: impl Fn(&T) -> Vec<u8>,
) {
    let json: Value = serde_json::from_slice(&std::fs::read(dir().join(format!("{name}.json"))).unwrap()).unwrap();
    let bytes_path = dir().join(format!("{name}.msgpack"));
    if !bytes_path.exists() {
        assert!(
            std::env::var_os("DANGOL_WRITE_GOLDEN").is_some(),
            "{name}.msgpack is missing: DANGOL_WRITE_GOLDEN=1 writes it"
        );
        let sample: T = serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{name}.json: {e}"));
        std::fs::write(&bytes_path, write(&sample)).unwrap();
    }
    let bytes = std::fs::read(&bytes_path).unwrap();
    let decoded: R = match how {
        Codec::Named => codec::decode("golden", name, &bytes),
        Codec::Compact => codec::decode_compact("golden", name, &bytes),
    }
    .unwrap_or_else(|e| panic!("{name}: the stored bytes no longer decode: {e}"));
    let now = serde_json::to_value(&decoded).unwrap();
    if let Some(lost) = lost(&json, &now, name) {
        panic!("{name}: the stored bytes decode to something else: {lost}");
    }
}

/// Where `now` no longer holds what `was` held (fields added since are fine).
fn lost(was: &Value, now: &Value, path: &str) -> Option<String> {
    match (was, now) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| match b.get(k) {
            Some(w) => lost(v, w, &format!("{path}.{k}")),
            None if v.is_null() => None,
            None => Some(format!("{path}.{k} is gone")),
        }),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| lost(v, w, &format!("{path}[{i}]"))),
        // f32 fields read back with the float's own rounding.
        (Value::Number(a), Value::Number(b)) if close(a.as_f64(), b.as_f64()) => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path} was {a}, is {b}")),
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if (a - b).abs() <= 1e-6 * a.abs().max(1.0))
}

/// The event log is written through `NewEvent`, which leaves out empty fields.
fn new_event(e: &EventRecord) -> Vec<u8> {
    let empty = serde_json::Map::new();
    let map = |v: &Value| v.as_object().unwrap_or(&empty).clone();
    let (properties, traits, context) = (map(&e.properties), map(&e.traits), map(&e.context));
    codec::encode(&NewEvent {
        kind: e.kind,
        customer: e.customer,
        event: e.event.as_deref(),
        name: e.name.as_deref(),
        user_id: e.user_id.as_deref(),
        anonymous_id: e.anonymous_id.as_deref(),
        previous_id: e.previous_id.as_deref(),
        group_id: e.group_id.as_deref(),
        message_id: &e.message_id,
        timestamp: e.timestamp,
        received_at: e.received_at,
        sent_at: e.sent_at,
        properties: &properties,
        traits: &traits,
        context: &context,
    })
}

#[test]
fn the_event_log_and_profiles_decode() {
    golden_with::<EventRecord, EventRecord>("event", Codec::Named, new_event);
    golden_with::<EventRecord, EventRecord>("event_minimal", Codec::Named, new_event);
    golden::<records::CustomerRecord>("customer", Codec::Named);
    golden::<records::ConsentChange>("consent_change", Codec::Named);
    golden::<records::Rollup>("rollup", Codec::Named);
}

#[test]
fn the_catalogue_and_orders_decode() {
    golden::<records::ProductRecord>("product", Codec::Named);
    golden::<records::ProductStats>("product_stats", Codec::Named);
    golden::<records::OrderRecord>("order", Codec::Named);
}

#[test]
fn keys_users_and_sessions_decode() {
    golden::<records::ApiKeyRecord>("api_key", Codec::Named);
    golden::<records::UserRecord>("user", Codec::Named);
    golden::<records::SessionRecord>("session", Codec::Named);
    golden::<records::LoginFailures>("login_failures", Codec::Named);
    golden::<dangol::jobs::JobRecord>("job", Codec::Named);
}

#[test]
fn analysis_segments_and_coupons_decode() {
    golden::<dangol::analysis::AnalysisChunk>("analysis_chunk", Codec::Compact);
    golden::<dangol::analysis::AnalysisRun>("analysis_run", Codec::Named);
    golden::<dangol::analysis::AnalysisChange>("analysis_change", Codec::Named);
    golden::<dangol::segment::saved::SegmentRecord>("segment", Codec::Named);
    golden::<dangol::segment::saved::SegmentDay>("segment_day", Codec::Named);
    golden::<dangol::coupon::CouponRecord>("coupon", Codec::Named);
    golden::<dangol::coupon::CodeRecord>("coupon_code", Codec::Named);
    golden::<dangol::coupon::Hold>("coupon_hold", Codec::Named);
    golden::<dangol::coupon::Redemption>("coupon_redemption", Codec::Named);
}

#[test]
fn campaigns_their_outbox_and_the_messaging_settings_decode() {
    golden::<dangol::campaign::CampaignRecord>("campaign", Codec::Named);
    golden::<dangol::campaign::CampaignRecord>("campaign_daily", Codec::Named);
    golden::<dangol::campaign::send::OutboxRow>("outbox_row", Codec::Named);
    golden::<dangol::campaign::send::Recipient>("recipient", Codec::Named);
    golden::<dangol::campaign::send::Delivered>("delivered", Codec::Named);
    golden::<dangol::campaign::send::Triggered>("triggered", Codec::Named);
    golden::<dangol::campaign::settings::Settings>("messaging_settings", Codec::Named);
    golden::<dangol::campaign::settings::Settings>("messaging_settings_presets", Codec::Named);
}

#[test]
fn the_import_history_and_mappings_decode() {
    golden::<dangol::load::history::ImportRecord>("import", Codec::Named);
    golden::<dangol::load::history::SavedMapping>("import_mapping", Codec::Named);
}

#[test]
fn on_site_messages_decode() {
    golden::<dangol::onsite::MessageRecord>("onsite_message", Codec::Named);
    golden::<dangol::onsite::seen::Seen>("onsite_seen", Codec::Named);
    golden::<dangol::onsite::seen::Counts>("onsite_counts", Codec::Named);
    golden::<dangol::onsite::Settings>("onsite_settings", Codec::Named);
}

#[test]
fn experiments_decode() {
    golden::<dangol::campaign::CampaignRecord>("campaign_experiment", Codec::Named);
    golden::<dangol::campaign::send::OutboxRow>("outbox_row_arm", Codec::Named);
    golden::<dangol::experiment::Design>("experiment_design", Codec::Named);
    golden::<dangol::experiment::Assignment>("experiment_assignment", Codec::Named);
    golden::<Vec<dangol::experiment::ArmTally>>("experiment_tallies", Codec::Named);
    golden::<Vec<dangol::experiment::ArmDay>>("experiment_day", Codec::Named);
}

#[test]
fn a_changed_value_is_caught() {
    let was = serde_json::json!({"a": 1, "b": {"c": [1, 2]}, "gone": null});
    assert_eq!(
        lost(&was, &serde_json::json!({"a": 1.0, "b": {"c": [1, 2]}, "new": 3}), "x"),
        None
    );
    assert!(lost(&was, &serde_json::json!({"a": 1, "b": {"c": [1, 3]}}), "x").is_some());
    assert!(lost(&was, &serde_json::json!({"b": {"c": [1, 2]}}), "x").is_some());
    assert_eq!(
        lost(&serde_json::json!(0.4), &serde_json::json!(0.4000000059604645), "f32"),
        None
    );
}
