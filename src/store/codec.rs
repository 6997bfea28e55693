//! Encoding and decoding of stored values in one place, so that a bad record becomes
//! `Error::Decode` naming its table and key rather than a panic.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::Error;

/// Encodes a record as a MessagePack map with named fields, so that fields match by name.
pub fn encode<V: Serialize>(value: &V) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("records always encode")
}

pub fn decode<V: DeserializeOwned>(table: &'static str, key: impl std::fmt::Display, bytes: &[u8]) -> Result<V, Error> {
    rmp_serde::from_slice(bytes).map_err(|e| Error::Decode {
        table,
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// [`decode`] into a type that may borrow from `bytes` (its strings, say).
pub fn decode_borrowed<'de, V: Deserialize<'de>>(
    table: &'static str,
    key: impl std::fmt::Display,
    bytes: &'de [u8],
) -> Result<V, Error> {
    rmp_serde::from_slice(bytes).map_err(|e| Error::Decode {
        table,
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// Encodes bulk rows positionally (MessagePack arrays, no field names): for tables that hold a
/// million small rows a night. New fields go at the end with `#[serde(default)]`.
pub fn encode_compact<V: Serialize>(value: &V) -> Vec<u8> {
    rmp_serde::to_vec(value).expect("records always encode")
}

/// The twin of [`encode_compact`].
pub fn decode_compact<V: DeserializeOwned>(table: &'static str, key: &str, bytes: &[u8]) -> Result<V, Error> {
    decode(table, key, bytes)
}
