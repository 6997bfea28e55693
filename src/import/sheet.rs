//! Reading a CSV file into header names and rows, and looking up cells by field.

use std::collections::HashMap;
use std::io::Read;

use csv::StringRecord;

use super::{Error, Mapping, MissingColumn, RowError};

/// A column we understand: its canonical name and the headers accepted for it, best first.
///
/// Aliases are written as a user sees them ("Variant SKU"); matching ignores case, surrounding
/// spaces, and the difference between spaces, `_` and `-`.
pub(super) struct Field {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
}

impl Field {
    pub const fn new(name: &'static str, aliases: &'static [&'static str]) -> Field {
        Field { name, aliases }
    }
}

/// A decoded CSV file: its header row and its non-blank data rows.
pub(super) struct Sheet {
    /// Header cells as written (trimmed, without a BOM).
    pub headers: Vec<String>,
    /// Header cells normalised for matching.
    pub keys: Vec<String>,
    pub records: Vec<Record>,
}

pub(super) struct Record {
    /// The row number a spreadsheet shows: the header is row 1.
    pub row: usize,
    pub cells: StringRecord,
}

impl Sheet {
    /// Reads the whole input, checks it is UTF-8 (dropping a BOM), sniffs the delimiter
    /// (comma, semicolon or tab, or Excel's `sep=` line) and splits it into rows.
    pub fn read(mut input: impl Read) -> Result<Sheet, Error> {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes)?;
        let (text, mut reader) = reader_of(&bytes)?;
        let mut record = StringRecord::new();
        let mut headers: Option<Vec<String>> = None;
        let mut records = Vec::new();
        let mut row = 0;
        while reader.read_record(&mut record)? {
            let start = record.position().map_or(0, |p| p.byte() as usize);
            row += 1 + blank_lines_before(text, start);
            if headers.is_none() {
                headers = Some(header_cells(&record));
            } else if record.iter().any(|cell| !cell.trim().is_empty()) {
                records.push(Record {
                    row,
                    cells: record.clone(),
                });
            }
        }
        let headers = headers
            .filter(|h| h.iter().any(|h| !h.is_empty()))
            .ok_or(Error::Empty)?;
        let keys = headers.iter().map(|h| normalize(h)).collect();
        Ok(Sheet { headers, keys, records })
    }

    /// A file's headers alone, its first row read and the rest left: what the mapping step and
    /// a remembered mapping need of a file, without parsing all of it.
    pub fn headers(bytes: &[u8]) -> Result<Vec<String>, Error> {
        let (_, mut reader) = reader_of(bytes)?;
        let mut record = StringRecord::new();
        if !reader.read_record(&mut record)? {
            return Err(Error::Empty);
        }
        Some(header_cells(&record))
            .filter(|h| h.iter().any(|h| !h.is_empty()))
            .ok_or(Error::Empty)
    }

    pub fn has_key(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// The file as text (UTF-8, a byte order mark dropped) and a reader of its records, with the
/// delimiter it says or uses.
fn reader_of(bytes: &[u8]) -> Result<(&str, csv::Reader<&[u8]>), Error> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::NotUtf8 { line: 1 });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count(),
    })?;
    let (text, delimiter) = delimiter(text);
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    Ok((text, reader))
}

fn header_cells(record: &StringRecord) -> Vec<String> {
    record
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').trim().to_string())
        .collect()
}

/// Normalises a header for matching: lower case, `_`/`-` as spaces, single spaces.
pub(super) fn normalize(header: &str) -> String {
    header
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Picks the delimiter: an Excel `sep=X` first line wins (and is dropped), else whichever of
/// comma, semicolon and tab occurs most in the header line outside quotes (comma on a tie).
fn delimiter(text: &str) -> (&str, u8) {
    let first_line = text.split('\n').next().unwrap_or_default().trim_end_matches('\r');
    if let Some(sep) = first_line
        .strip_prefix("sep=")
        .or_else(|| first_line.strip_prefix("SEP="))
        && let [byte] = sep.as_bytes()
    {
        return (text.split_once('\n').map_or("", |(_, rest)| rest), *byte);
    }
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in first_line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(entry) = counts.iter_mut().find(|(d, _)| *d == byte) {
            entry.1 += 1;
        }
    }
    let best = counts
        .iter()
        .fold(counts[0], |best, c| if c.1 > best.1 { *c } else { best });
    (text, best.0)
}

/// Counts the blank lines the CSV reader skipped before the record starting at `start`.
///
/// The reader places a record's start just after the previous record's first terminator byte,
/// so the skipped lines lead the record's text, after the `\n` finishing a previous `\r\n`.
fn blank_lines_before(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = start;
    if at > 0 && bytes[at - 1] == b'\r' && bytes.get(at) == Some(&b'\n') {
        at += 1;
    }
    let mut lines = 0;
    while let Some(byte) = bytes.get(at) {
        match byte {
            b'\n' => lines += 1,
            b'\r' if bytes.get(at + 1) != Some(&b'\n') => lines += 1,
            b'\r' => {}
            _ => break,
        }
        at += 1;
    }
    lines
}

/// The fields of one format, resolved against a sheet's header row.
pub(super) struct Columns<'s> {
    sheet: &'s Sheet,
    found: HashMap<&'static str, usize>,
    used: Vec<bool>,
}

impl<'s> Columns<'s> {
    /// Finds each field's column: with a mapping, the column it names (a field it leaves out is
    /// not read); else the first alias, in the field's order, that the header has.
    pub fn resolve(sheet: &'s Sheet, fields: &[&Field], mapping: Option<&Mapping>) -> Columns<'s> {
        let mut found = HashMap::new();
        let mut used = vec![false; sheet.keys.len()];
        for field in fields {
            let index = match mapping {
                Some(mapping) => mapping
                    .get(field.name)
                    .and_then(|header| sheet.headers.iter().position(|h| h == header)),
                None => field.aliases.iter().find_map(|alias| {
                    let alias = normalize(alias);
                    sheet.keys.iter().position(|k| *k == alias)
                }),
            };
            if let Some(index) = index {
                found.insert(field.name, index);
                used[index] = true;
            }
        }
        Columns { sheet, found, used }
    }

    pub fn has(&self, field: &Field) -> bool {
        self.found.contains_key(field.name)
    }

    pub fn found_any(&self) -> bool {
        !self.found.is_empty()
    }

    /// The header of a field's column as the file writes it, or the field's own name.
    pub fn header(&self, field: &Field) -> &'s str {
        match self.found.get(field.name) {
            Some(index) => &self.sheet.headers[*index],
            None => field.name,
        }
    }

    /// Lists the requirements not met. Each requirement is met by a column for any one of its
    /// fields.
    pub fn missing(&self, required: &[&[&Field]]) -> Vec<MissingColumn> {
        required
            .iter()
            .filter(|any_of| !any_of.iter().any(|f| self.has(f)))
            .map(|any_of| MissingColumn {
                name: any_of.iter().map(|f| f.name).collect::<Vec<_>>().join(" or "),
                accepted: any_of
                    .iter()
                    .flat_map(|f| f.aliases.iter().map(|a| a.to_string()))
                    .collect(),
            })
            .collect()
    }

    pub fn row<'a>(&'a self, record: &'a Record) -> Row<'a> {
        Row {
            cols: self,
            cells: &record.cells,
            row: record.row,
            errors: Vec::new(),
        }
    }
}

/// One data row being read; parse failures collect in `errors`.
pub(super) struct Row<'a> {
    cols: &'a Columns<'a>,
    cells: &'a StringRecord,
    pub row: usize,
    pub errors: Vec<RowError>,
}

impl<'a> Row<'a> {
    /// Whether the file has a column for the field.
    pub fn has(&self, field: &Field) -> bool {
        self.cols.has(field)
    }

    /// The trimmed, non-empty cell of a field.
    pub fn get(&self, field: &Field) -> Option<&'a str> {
        let index = *self.cols.found.get(field.name)?;
        clean(self.cells.get(index)?)
    }

    pub fn text(&self, field: &Field) -> Option<String> {
        self.get(field).map(str::to_string)
    }

    /// Parses a field's cell; on failure records "`column` problem, got "value"".
    pub fn parse<T>(&mut self, field: &Field, parser: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let value = self.get(field)?;
        match parser(value) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                self.fail(field, format!("{problem}, got {}", quote(value)));
                None
            }
        }
    }

    /// Records "`column` problem" against a field's column.
    pub fn fail(&mut self, field: &Field, problem: impl std::fmt::Display) {
        let column = self.cols.header(field);
        self.errors.push(RowError {
            row: self.row,
            column: Some(column.to_string()),
            message: format!("`{column}` {problem}"),
        });
    }

    /// The cells of columns no field claimed, as (header, value), skipping empty ones.
    pub fn others(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let sheet = self.cols.sheet;
        let used = &self.cols.used;
        let cells = self.cells;
        sheet.headers.iter().enumerate().filter_map(move |(index, header)| {
            if used[index] || header.is_empty() {
                return None;
            }
            Some((header.as_str(), clean(cells.get(index)?)?))
        })
    }
}

/// Trims a cell and drops the apostrophe spreadsheets put before numbers they should keep as
/// text (Shopify writes phones and zips as "'+821012345678").
fn clean(cell: &str) -> Option<&str> {
    let cell = cell.trim();
    let cell = match cell.strip_prefix('\'') {
        Some(rest) if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)) => rest,
        _ => cell,
    };
    (!cell.is_empty()).then_some(cell)
}

/// Quotes a value for an error message, shortening long ones.
fn quote(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() > MAX {
        format!("\"{}…\"", value.chars().take(MAX).collect::<String>())
    } else {
        format!("\"{value}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_numbers_follow_the_spreadsheet() {
        let csv = "a,b\n1,\"two\nlines\"\n\n3,x\r\n,\n4,y\n";
        let sheet = Sheet::read(csv.as_bytes()).unwrap();
        let rows: Vec<_> = sheet.records.iter().map(|r| (r.row, r.cells[0].to_string())).collect();
        assert_eq!(rows, [(2, "1".into()), (4, "3".into()), (6, "4".into())]);
        let csv = "a,b\r\n1,x\r\n\r\n\r\n2,y\r\n3,z";
        let sheet = Sheet::read(csv.as_bytes()).unwrap();
        let rows: Vec<_> = sheet.records.iter().map(|r| r.row).collect();
        assert_eq!(rows, [2, 5, 6]);
    }

    #[test]
    fn bom_delimiters_and_sep_line() {
        let sheet = Sheet::read("\u{feff}Name;Price\n셔츠;12,000\n".as_bytes()).unwrap();
        assert_eq!(sheet.headers, ["Name", "Price"]);
        assert_eq!(&sheet.records[0].cells[1], "12,000");
        let sheet = Sheet::read("sep=|\nA|B\n1|2\n".as_bytes()).unwrap();
        assert_eq!(sheet.headers, ["A", "B"]);
        assert_eq!(sheet.records[0].row, 2);
        let sheet = Sheet::read("a\tb\n1\t2\n".as_bytes()).unwrap();
        assert_eq!(sheet.keys, ["a", "b"]);
    }

    #[test]
    fn encoding_errors() {
        assert!(matches!(
            Sheet::read(&b"a,b\n1,\xB1\xE8\n"[..]),
            Err(Error::NotUtf8 { line: 2 })
        ));
        assert!(matches!(
            Sheet::read(&b"\xFF\xFEa\x00"[..]),
            Err(Error::NotUtf8 { line: 1 })
        ));
        assert!(matches!(Sheet::read(&b""[..]), Err(Error::Empty)));
        assert!(matches!(Sheet::read(&b"\n\n"[..]), Err(Error::Empty)));
    }

    #[test]
    fn clean_cells() {
        assert_eq!(clean("  '+821012345678 "), Some("+821012345678"));
        assert_eq!(clean("'90s jacket"), Some("'90s jacket"));
        assert_eq!(clean("   "), None);
        assert_eq!(normalize(" Customer_ID "), "customer id");
    }
}
