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

/// The leading fields of a row encoded by [`encode_compact`], read one at a time and the rest left
/// unread: for scans that want a few fields of a million rows, where decoding whole rows costs
/// more than reading the table. Each read names the table in its error, as [`decode`] does.
pub struct Leading<'a> {
    table: &'static str,
    rest: &'a [u8],
    fields: u32,
}

impl<'a> Leading<'a> {
    pub fn new(table: &'static str, bytes: &'a [u8]) -> Result<Leading<'a>, Error> {
        let mut rest = bytes;
        let fields = rmp::decode::read_array_len(&mut rest).map_err(|e| Self::error(table, e))?;
        Ok(Leading { table, rest, fields })
    }

    fn error(table: &'static str, e: impl std::fmt::Display) -> Error {
        Error::Decode {
            table,
            key: String::new(),
            reason: e.to_string(),
        }
    }

    /// Steps to the next field; an error when the row has no more.
    fn next(&mut self) -> Result<&mut &'a [u8], Error> {
        if self.fields == 0 {
            return Err(Self::error(self.table, "fewer fields than read"));
        }
        self.fields -= 1;
        Ok(&mut self.rest)
    }

    pub fn u32(&mut self) -> Result<u32, Error> {
        let table = self.table;
        rmp::decode::read_int(self.next()?).map_err(|e| Self::error(table, e))
    }

    pub fn i64(&mut self) -> Result<i64, Error> {
        let table = self.table;
        rmp::decode::read_int(self.next()?).map_err(|e| Self::error(table, e))
    }

    pub fn bool(&mut self) -> Result<bool, Error> {
        let table = self.table;
        rmp::decode::read_bool(self.next()?).map_err(|e| Self::error(table, e))
    }

    pub fn f64(&mut self) -> Result<f64, Error> {
        let table = self.table;
        rmp::decode::read_f64(self.next()?).map_err(|e| Self::error(table, e))
    }

    /// A list of three-number lists.
    pub fn u32_triples(&mut self) -> Result<Vec<(u32, u32, u32)>, Error> {
        let table = self.table;
        let rest = self.next()?;
        let n = rmp::decode::read_array_len(rest).map_err(|e| Self::error(table, e))?;
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let len = rmp::decode::read_array_len(rest).map_err(|e| Self::error(table, e))?;
            if len != 3 {
                return Err(Self::error(table, format!("a list of {len} where three were expected")));
            }
            let mut int = || rmp::decode::read_int(rest).map_err(|e| Self::error(table, e));
            out.push((int()?, int()?, int()?));
        }
        Ok(out)
    }

    /// A list of numbers.
    pub fn u32s(&mut self) -> Result<Vec<u32>, Error> {
        let table = self.table;
        let rest = self.next()?;
        let n = rmp::decode::read_array_len(rest).map_err(|e| Self::error(table, e))?;
        (0..n)
            .map(|_| rmp::decode::read_int(rest).map_err(|e| Self::error(table, e)))
            .collect()
    }
}
