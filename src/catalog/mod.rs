//! The product catalogue: bulk upsert from the API and imports, products first seen in
//! e-commerce events, and reads. Called by `track` (inside the writer) and by `api`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, HasCode};
use crate::store::records::ProductRecord;
use crate::store::{self, ReadTx, Tx};

mod lines;
pub use lines::{LineProps, lines_of, products_of, products_of_value, touch};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("product {0:?} not found")]
    NotFound(String),
    #[error("`{field}` {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl HasCode for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound(_) => ErrorCode::ProductNotFound,
            Error::Invalid { .. } => ErrorCode::InvalidField,
            Error::Store(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A product as the API and imports send it. Absent fields keep their stored value on update.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductInput {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    /// A path like "향수/여성향수".
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub sale_price: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub in_stock: Option<bool>,
    #[serde(default)]
    pub hidden: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Any other field is kept as it is (e.g. `name_en`).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ProductInput {
    /// Checks the fields; `at` is where the product sits in the request (`[3]`).
    pub fn validate(&self, at: &str) -> Result<(), Error> {
        let bad = |f: &str, m: &str| Error::Invalid {
            field: format!("{at}{f}"),
            message: m.to_string(),
        };
        if self.id.trim().is_empty() {
            return Err(bad("id", "is required"));
        }
        if self.id.len() > 256 {
            return Err(bad("id", "is longer than 256 bytes"));
        }
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(bad("name", "must not be empty"));
        }
        for (f, v) in [("price", self.price), ("sale_price", self.sale_price)] {
            if v.is_some_and(|p| !p.is_finite() || p < 0.0) {
                return Err(bad(f, "must be a number ≥ 0"));
            }
        }
        Ok(())
    }
}

/// Inserts or updates products; returns how many were new.
pub fn upsert(tx: &mut Tx, items: &[ProductInput], source: &str, now: i64) -> Result<usize, Error> {
    let mut created = 0;
    for (i, input) in items.iter().enumerate() {
        input.validate(&format!("[{i}]."))?;
        let mut rec = match tx.product(&input.id)? {
            Some(rec) => rec,
            None => {
                created += 1;
                ProductRecord {
                    id: input.id.clone(),
                    name: input.id.clone(),
                    in_stock: true,
                    source: source.to_string(),
                    created_at: now,
                    ..Default::default()
                }
            }
        };
        let i = input.clone();
        // The catalogue API or an import confirms a product first seen in events.
        if !confirmed(&rec) {
            rec.source = source.to_string();
        }
        if let Some(v) = i.name {
            rec.name = v;
        }
        macro_rules! set {
            ($($f:ident),*) => {$( if i.$f.is_some() { rec.$f = i.$f; } )*};
        }
        set!(
            sku,
            category,
            brand,
            price,
            sale_price,
            currency,
            image_url,
            url,
            description
        );
        if let Some(v) = i.in_stock {
            rec.in_stock = v;
        }
        if let Some(v) = i.hidden {
            rec.hidden = v;
        }
        if let Some(v) = i.tags {
            rec.tags = v;
        }
        rec.extra.extend(i.extra);
        rec.updated_at = now;
        tx.put_product(&rec)?;
    }
    Ok(created)
}

/// A text or number property as an id or label: trimmed, never empty.
pub fn id_text(props: &Map<String, Value>, key: &str) -> Option<String> {
    match props.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The catalogue id an e-commerce event's product means: its `product_id`; else the product
/// that has its `sku` (or the SKU itself, for a product not in the catalogue); else its `id`.
pub fn product_id_of(tx: &Tx, props: &Map<String, Value>) -> Result<Option<String>, store::Error> {
    product_id_with(props, |sku| tx.product_id_by_sku(sku))
}

/// As [`product_id_of`], with the SKU index read through `by_sku` (a read transaction's, say).
pub fn product_id_with(
    props: &Map<String, Value>,
    by_sku: impl FnOnce(&str) -> Result<Option<String>, store::Error>,
) -> Result<Option<String>, store::Error> {
    if let Some(id) = id_text(props, "product_id") {
        return Ok(Some(id));
    }
    if let Some(sku) = id_text(props, "sku") {
        return Ok(Some(by_sku(&sku)?.unwrap_or(sku)));
    }
    Ok(id_text(props, "id"))
}

/// Where a product first seen in an event came from: anyone with the public write key can send
/// one, so it is not a product the shop has confirmed.
pub const SEEN_IN_EVENTS: &str = "event";

/// Adds a product first seen in an event to the catalogue, with its id and (at most 200
/// characters of) its name only: an event is anyone's word, so its url, image and price are not
/// taken, and the product is not recommended until the catalogue API or an import confirms it
/// ([`confirmed`]). Known products are left alone: the catalogue API is their source of truth.
pub fn observe(tx: &mut Tx, id: &str, props: &Map<String, Value>, at: i64) -> Result<(), store::Error> {
    let id = id.to_string();
    if id.len() > 256 || tx.has_product(&id)? {
        return Ok(());
    }
    let name = props
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.chars().take(200).collect());
    let rec = ProductRecord {
        name: name.unwrap_or_else(|| id.clone()),
        id,
        in_stock: true,
        source: SEEN_IN_EVENTS.into(),
        created_at: at,
        updated_at: at,
        ..Default::default()
    };
    tx.put_product(&rec)
}

/// Whether the shop confirmed a product (through the catalogue API, an import or the demo shop),
/// rather than only seeing it named in events.
pub fn confirmed(p: &ProductRecord) -> bool {
    p.source != SEEN_IN_EVENTS
}

pub fn get(read: &ReadTx, id: &str) -> Result<ProductRecord, Error> {
    read.product(id)?.ok_or_else(|| Error::NotFound(id.to_string()))
}

pub fn delete(tx: &mut Tx, id: &str) -> Result<(), Error> {
    if tx.delete_product(id)? {
        Ok(())
    } else {
        Err(Error::NotFound(id.to_string()))
    }
}

/// Every level of a category path: "향수/여성향수" → ["향수", "향수/여성향수"].
pub fn category_levels(category: &str) -> Vec<String> {
    let parts: Vec<&str> = category
        .split(['/', '>'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}
