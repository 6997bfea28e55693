//! Reading loosely typed input: ISO-8601 times, numbers that may arrive as strings, email
//! addresses, people's names. A leaf: used by `track`, `customer`, `catalog`, `order`, `import` and `api`.

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

/// Parses an ISO-8601 / RFC 3339 date-time; one without an offset is taken as UTC.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    None
}

/// A money or count property: a number, or a string holding one.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', "").parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A light check of an address's shape: something@domain.tld, no spaces.
pub fn is_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

pub fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase()
}

/// True if the text contains Hangul (syllables or jamo).
pub fn has_hangul(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}'))
}

/// Joins first and last names. Korean names read family name first with no space ("김" + "민준"
/// → "김민준"); others read "First Last".
pub fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    fn clean(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    match (clean(first), clean(last)) {
        (Some(first), Some(last)) => {
            let korean = (has_hangul(first) || has_hangul(last))
                && !first.contains(char::is_whitespace)
                && !last.contains(char::is_whitespace);
            Some(if korean {
                format!("{last}{first}")
            } else {
                format!("{first} {last}")
            })
        }
        (one, other) => one.or(other).map(str::to_string),
    }
}

/// What to call someone by: a Korean full name without its family name ("김민준" → "민준"),
/// else the first word ("Jane Doe" → "Jane").
pub fn given_name(full: &str) -> String {
    let full = full.trim();
    if has_hangul(full) && !full.contains(char::is_whitespace) && full.chars().count() >= 3 {
        return full.chars().skip(1).collect();
    }
    full.split_whitespace().next().unwrap_or("").to_string()
}

/// 1234567 → "1,234,567".
pub fn group_digits(n: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, n.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if n < 0.0 && n.abs() >= 0.5 / 10f64.powi(decimals as i32) {
        format!("-{out}")
    } else {
        out
    }
}

/// A link target from shop data, only when it is a web address: a `javascript:` or `data:` URL in
/// a catalogue must not become a link or an image in the console, a storefront card or an email.
pub fn web_url(url: Option<&str>) -> Option<String> {
    url.map(str::trim)
        .filter(|u| {
            let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
            lower.starts_with("https://") || lower.starts_with("http://")
        })
        .map(str::to_string)
}

/// A text cell for a CSV file a person opens in a spreadsheet: a cell that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return would be read as a formula (`=HYPERLINK(…)` from a name
/// anyone can type), so it is prefixed with `'` (OWASP, CSV injection).
pub fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn cells_a_spreadsheet_would_run_are_quoted() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_cell(formula), format!("'{formula}"));
        }
        assert_eq!(csv_cell("김지우"), "김지우");
        assert_eq!(csv_cell("a=b"), "a=b");
        assert_eq!(csv_cell(""), "");
    }
}
