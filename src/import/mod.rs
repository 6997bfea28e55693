//! CSV import: turns a products, customers or orders file into product objects and Segment
//! messages (CONTRACT §2), ready for the store.
//!
//! This module owns the file formats: our own columns and Shopify's product, customer and order
//! exports, told apart by their header names, and any other file read through a column mapping
//! (`mapping.rs`: which column is the email, the order id, the amount, the date). It is pure: it reads the bytes it is given and
//! returns values, touching neither the store nor the clock, so `api/`, `web/` and the CLI can
//! call it and then decide whether to apply the valid rows or nothing. Customers become
//! `identify` messages, orders `Order Completed` (and `Order Refunded`) `track` messages, and
//! products the objects `POST /api/v1/products` takes.

use std::fmt;
use std::str::FromStr;

use crate::error::{ErrorCode, HasCode};
use crate::store;

mod cell;
mod customer;
pub mod mapping;
mod order;
mod product;
mod sheet;
pub mod template;

/// A column mapping: our field → the file's header that holds it (see `mapping.rs`).
pub type Mapping = std::collections::BTreeMap<String, String>;

#[cfg(test)]
mod tests;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Products,
    Customers,
    Orders,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Products => "products",
            Kind::Customers => "customers",
            Kind::Orders => "orders",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "products" => Ok(Kind::Products),
            "customers" => Ok(Kind::Customers),
            "orders" => Ok(Kind::Orders),
            _ => Err(Error::UnknownKind(s.to_string())),
        }
    }
}

/// A problem with one row; the row yields no item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row number a spreadsheet shows: the header is row 1, the first data row is row 2.
    pub row: usize,
    /// The column's header as the file writes it, when one column is to blame.
    pub column: Option<String>,
    /// A sentence naming the column and what is wrong, e.g. "`price` must be a number, got "abc"".
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}: {}", self.row, self.message)
    }
}

/// The outcome of reading a file.
#[derive(Debug, Default, serde::Serialize)]
pub struct Parsed {
    /// Product objects or Segment messages, in file order.
    pub items: Vec<Item>,
    /// Row problems, sorted by row.
    pub errors: Vec<RowError>,
    /// Data rows read, blank rows not counted.
    pub rows: usize,
    /// Orders left out on purpose (pending, voided or expired payments); not errors.
    pub skipped: usize,
}

/// One product object (Products) or Segment message (Customers, Orders).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    /// The row it came from; for a product or order spread over rows, its first row.
    pub row: usize,
    pub value: serde_json::Value,
}

/// A required column the header row lacks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MissingColumn {
    /// Our name for it, e.g. "order_id", or "user_id or email" when either will do.
    pub name: String,
    /// The headers that would satisfy it, e.g. ["order_id", "Name", "Id"].
    pub accepted: Vec<String>,
}

impl fmt::Display for MissingColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` (accepted headers: {})", self.name, self.accepted.join(", "))
    }
}

/// A problem with the file as a whole; nothing in it was read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown import kind \"{0}\": expected products, customers or orders")]
    UnknownKind(String),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is not UTF-8 text (line {line}); save it as \"CSV UTF-8\" rather than CP949/EUC-KR or UTF-16")]
    NotUtf8 { line: usize },
    #[error("the file is not valid CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the file is empty: it needs a header row")]
    Empty,
    #[error("expected a file of {expected}, but this looks like a file of {found}")]
    WrongKind { expected: Kind, found: Kind },
    #[error("no known column for a file of {kind}; the header row is: {}", headers.join(", "))]
    UnknownFormat { kind: Kind, headers: Vec<String> },
    #[error(
        "the {kind} file is missing required column(s): {}",
        columns.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    MissingColumns { kind: Kind, columns: Vec<MissingColumn> },
    /// A column mapping that does not fit the file; `field` is `mapping.FIELD`.
    #[error("`{field}` {message}")]
    BadMapping { field: String, message: String },
    /// Writing the parsed rows failed. `parse` never returns this; `load::import` does, so an
    /// import has one error type from upload to commit.
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl HasCode for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::UnknownKind(_) | Error::BadMapping { .. } => ErrorCode::InvalidField,
            Error::Io(_)
            | Error::NotUtf8 { .. }
            | Error::Csv(_)
            | Error::Empty
            | Error::WrongKind { .. }
            | Error::UnknownFormat { .. }
            | Error::MissingColumns { .. } => ErrorCode::InvalidCsv,
            Error::Store(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Error::MissingColumns { columns, .. } => columns.first().map(|c| c.name.as_str()),
            Error::BadMapping { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// Reads a CSV file of the given kind.
///
/// `tz` is the shop's time zone, used for timestamps without an offset. Row problems land in
/// [`Parsed::errors`] and their rows yield no item; only file-level problems are an `Err`.
pub fn parse(kind: Kind, input: impl std::io::Read, tz: chrono_tz::Tz) -> Result<Parsed, Error> {
    parse_with(kind, input, tz, None)
}

/// Reads a CSV file of the given kind, through `mapping` when one is given (checked against the
/// file's headers first: a mapping that does not fit is `Error::BadMapping`, naming the field).
pub fn parse_with(
    kind: Kind,
    input: impl std::io::Read,
    tz: chrono_tz::Tz,
    mapping: Option<&Mapping>,
) -> Result<Parsed, Error> {
    let sheet = sheet::Sheet::read(input)?;
    match mapping {
        Some(mapping) => mapping::check(kind, &sheet.headers, mapping)?,
        None => check_kind(kind, &sheet)?,
    }
    let mut parsed = match kind {
        Kind::Products => product::parse(&sheet, mapping),
        Kind::Customers => customer::parse(&sheet, tz, mapping),
        Kind::Orders => order::parse(&sheet, tz, mapping),
    }
    .map_err(|error| match (error, guess_kind(&sheet)) {
        (Error::MissingColumns { .. }, Some((found, _))) if found != kind => Error::WrongKind { expected: kind, found },
        (error, _) => error,
    })?;
    parsed.errors.sort_by_key(|e| e.row);
    Ok(parsed)
}

impl Error {
    /// Whether the file is in no format we know by its headers, so that a column mapping would
    /// read it (the mapping step offers itself for these).
    pub fn needs_mapping(&self) -> bool {
        matches!(
            self,
            Error::UnknownFormat { .. } | Error::MissingColumns { .. } | Error::WrongKind { .. }
        )
    }
}

/// Headers only one kind of file has, used to catch a file uploaded as the wrong kind.
const SIGNATURES: &[(Kind, &[&str])] = &[
    (
        Kind::Products,
        &[
            "handle",
            "variant price",
            "variant sku",
            "body (html)",
            "sale price",
            "in stock",
            "image src",
        ],
    ),
    (
        Kind::Customers,
        &[
            "accepts email marketing",
            "accepts sms marketing",
            "total spent",
            "total orders",
            "default address city",
            "email consent",
            "sms consent",
            "kakao consent",
            "birthday",
        ],
    ),
    (
        Kind::Orders,
        &[
            "order id",
            "financial status",
            "lineitem name",
            "lineitem quantity",
            "lineitem price",
            "refunded amount",
        ],
    ),
];

/// The kind whose signature headers the sheet has most of, with their count.
fn guess_kind(sheet: &sheet::Sheet) -> Option<(Kind, usize)> {
    SIGNATURES
        .iter()
        .map(|(kind, keys)| (*kind, keys.iter().filter(|k| sheet.has_key(k)).count()))
        .filter(|(_, hits)| *hits > 0)
        .max_by_key(|(_, hits)| *hits)
}

/// Refuses a file that clearly is another kind, such as a Shopify orders export (whose `Name`
/// and `Id` columns would otherwise pass for a product's) uploaded as products.
fn check_kind(kind: Kind, sheet: &sheet::Sheet) -> Result<(), Error> {
    let own = SIGNATURES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(0, |(_, keys)| keys.iter().filter(|k| sheet.has_key(k)).count());
    match guess_kind(sheet) {
        Some((found, _)) if found != kind && own == 0 => Err(Error::WrongKind { expected: kind, found }),
        _ => Ok(()),
    }
}

/// Builds the `context` every imported message carries.
fn context(email: Option<&str>) -> serde_json::Value {
    let mut context = serde_json::json!({"library": {"name": "dangol-import", "version": "1"}});
    if let Some(email) = email {
        context["traits"] = serde_json::json!({"email": email});
    }
    context
}

/// Sets `userId`, or, for a guest, `anonymousId` "import-email:EMAIL" (CONTRACT §2: a guest
/// order with an email lands on the customer with that email), or, with neither, "import-phone:
/// DIGITS", so that the rows of one mobile number (a 스마트스토어 buyer has no email) are one person.
fn set_identity(
    message: &mut serde_json::Map<String, serde_json::Value>,
    user_id: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
) {
    match (user_id, email, phone.and_then(phone_key)) {
        (Some(user_id), _, _) => {
            message.insert("userId".into(), user_id.into());
        }
        (None, Some(email), _) => {
            message.insert("anonymousId".into(), format!("import-email:{email}").into());
        }
        (None, None, Some(phone)) => {
            message.insert("anonymousId".into(), format!("import-phone:{phone}").into());
        }
        (None, None, None) => {}
    }
}

/// A mobile number as one key: its digits, "+82 10-1234-5678" as "01012345678". None when it
/// has too few digits to be a number.
fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.strip_prefix("82") {
        Some(rest) if phone.trim_start().starts_with('+') || digits.len() >= 11 && rest.starts_with('1') => {
            format!("0{rest}")
        }
        _ => digits,
    };
    (digits.len() >= 7).then_some(digits)
}
