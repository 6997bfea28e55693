//! Encoding and decoding of stored values in one place, so that a bad record becomes
//! `Error::Decode` naming its table and key rather than a panic.

use serde::{Serialize, de::DeserializeOwned};

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
