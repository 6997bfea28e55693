//! The import history and the remembered column mappings. Every import, from the console, the
//! API or the CLI, is kept with when, who, the file's name, its kind, its counts and its first
//! errors; a mapping an owner chose is kept under the file's kind and header set
//! (`import::mapping::key`) and offered again for the next file with the same headers.

use serde::{Deserialize, Serialize};

use crate::import::{Kind, Mapping, RowError, mapping};
use crate::store::{self, ReadTx, Tx};

/// The row errors an import's history entry keeps (the count is kept whole).
pub const KEPT_ERRORS: usize = 50;

/// How an import reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Console,
    Api,
    Cli,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Console => "console",
            Via::Api => "api",
            Via::Cli => "cli",
        }
    }
}

/// Who imports what: for the history.
#[derive(Debug, Clone)]
pub struct Source {
    pub via: Via,
    /// The console user, the API key's name, or the CLI's user.
    pub who: String,
    /// The file's name as uploaded (the API's `file_name=`, the CLI's path).
    pub file_name: Option<String>,
}

/// One import as the history keeps it (`imports-1`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRecord {
    /// When it finished, unix millis.
    pub at: i64,
    pub via: Via,
    pub who: String,
    #[serde(default)]
    pub file_name: Option<String>,
    /// products, customers or orders.
    pub kind: String,
    /// Read through a column mapping (chosen now, or remembered for its headers).
    #[serde(default)]
    pub mapped: bool,
    #[serde(default)]
    pub strict: bool,
    #[serde(default)]
    pub rows: usize,
    #[serde(default)]
    pub imported: usize,
    #[serde(default)]
    pub duplicates: usize,
    #[serde(default)]
    pub skipped: usize,
    /// Nothing written: strict and errors.
    #[serde(default)]
    pub rejected: bool,
    /// Every rejected row, counted.
    #[serde(default)]
    pub error_count: usize,
    /// The first [`KEPT_ERRORS`] of them.
    #[serde(default)]
    pub errors: Vec<RowError>,
    /// Why nothing in the file was read (not CSV, a column missing, a mapping that does not fit).
    #[serde(default)]
    pub failed: Option<String>,
}

/// A column mapping as remembered (`import-mappings-1`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedMapping {
    pub kind: String,
    /// The headers of the file it was chosen for, as written.
    pub headers: Vec<String>,
    pub fields: Mapping,
    pub saved_at: i64,
    #[serde(default)]
    pub by: String,
}

/// Keeps an import in the history; returns its id.
pub fn add(tx: &mut Tx, rec: &ImportRecord) -> Result<u64, store::Error> {
    tx.add_import(rec)
}

/// The latest imports, newest first.
pub fn list(read: &ReadTx, before: Option<u64>, limit: usize) -> Result<Vec<(u64, ImportRecord)>, store::Error> {
    read.imports(before, limit)
}

pub fn get(read: &ReadTx, id: u64) -> Result<Option<ImportRecord>, store::Error> {
    read.import(id)
}

/// The mapping remembered for a file of `kind` with these headers, its columns named as this file
/// spells them (it is found by the headers' set, case and spacing aside: "주문자이메일" finds the
/// mapping made for "주문자 이메일").
pub fn remembered(read: &ReadTx, kind: Kind, headers: &[String]) -> Result<Option<SavedMapping>, store::Error> {
    Ok(read
        .import_mapping::<SavedMapping>(&mapping::key(kind, headers))?
        .map(|mut saved| {
            for header in saved.fields.values_mut() {
                if let Some(here) = headers.iter().find(|h| mapping::same_header(h, header)) {
                    header.clone_from(here);
                }
            }
            saved
        }))
}

/// Remembers `fields` for files of `kind` with these headers.
pub fn remember(
    tx: &mut Tx,
    kind: Kind,
    headers: &[String],
    fields: &Mapping,
    by: &str,
    now: i64,
) -> Result<(), store::Error> {
    let rec = SavedMapping {
        kind: kind.as_str().to_string(),
        headers: headers.to_vec(),
        fields: fields.clone(),
        saved_at: now,
        by: by.to_string(),
    };
    tx.put_import_mapping(&mapping::key(kind, headers), &rec)
}
