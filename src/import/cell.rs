//! Cell parsers shared by the three formats.
//!
//! Each parser returns `Err(problem)`, where `problem` completes the sentence "`column` …", for
//! example "must be a number". `sheet::Row::parse` adds the column name and the offending value.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

const NOT_A_NUMBER: &str = "must be a number";

/// A money amount or quantity in ten-thousandths, so sums and products are exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Amount(i64);

impl Amount {
    pub(super) const ZERO: Amount = Amount(0);
    const SCALE: i64 = 10_000;
    const DECIMALS: usize = 4;

    /// Parses "12000", "12,000", "₩12,000", "12,000원", "$19.99", "-3" or "KRW 5000".
    ///
    /// Commas are accepted only as thousands separators ("1,234,567"), so a decimal comma such
    /// as "12,50" is an error rather than a silent 1250.
    pub(super) fn parse(raw: &str) -> Result<Amount, String> {
        let mut s = strip_currency(raw);
        let negative = match s.strip_prefix('-') {
            Some(rest) => {
                s = strip_currency(rest);
                true
            }
            None => false,
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if (int.is_empty() && frac.is_empty()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NOT_A_NUMBER.into());
        }
        if frac.len() > Self::DECIMALS {
            return Err(format!("has more than {} decimal places", Self::DECIMALS));
        }
        let digits = ungroup(int).ok_or(NOT_A_NUMBER)?;
        let too_large = || "is too large".to_string();
        let mut value: i64 = 0;
        for d in digits.bytes().chain(frac.bytes()) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(d - b'0')))
                .ok_or_else(too_large)?;
        }
        for _ in frac.len()..Self::DECIMALS {
            value = value.checked_mul(10).ok_or_else(too_large)?;
        }
        Ok(Amount(if negative { -value } else { value }))
    }

    /// Parses a whole number such as a quantity or a stock level.
    pub(super) fn parse_whole(raw: &str) -> Result<i64, String> {
        let amount = Amount::parse(raw)?;
        if amount.0 % Self::SCALE != 0 {
            return Err("must be a whole number".into());
        }
        Ok(amount.0 / Self::SCALE)
    }

    /// Parses an amount that must not be negative.
    pub(super) fn parse_non_negative(raw: &str) -> Result<Amount, String> {
        let amount = Amount::parse(raw)?;
        if amount.0 < 0 {
            return Err("must not be negative".into());
        }
        Ok(amount)
    }

    pub(super) fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub(super) fn abs(self) -> Amount {
        Amount(self.0.saturating_abs())
    }

    pub(super) fn add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }

    pub(super) fn sub(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }

    pub(super) fn times(self, quantity: i64) -> Amount {
        Amount(self.0.saturating_mul(quantity))
    }

    /// The amount shared out over `quantity` (at least 1), as a unit price from a line's total.
    pub(super) fn per(self, quantity: i64) -> Amount {
        Amount(self.0 / quantity.max(1))
    }

    /// A JSON integer when the amount is whole, else a JSON float ("19.99").
    pub(super) fn to_json(self) -> Value {
        if self.0 % Self::SCALE == 0 {
            Value::from(self.0 / Self::SCALE)
        } else {
            Value::from(self.0 as f64 / Self::SCALE as f64)
        }
    }
}

/// Removes currency signs, a "원" suffix and a three-letter currency code around a number.
fn strip_currency(raw: &str) -> &str {
    let mut s = raw.trim();
    s = s.trim_start_matches(['₩', '￦', '$', '€', '£', '¥']).trim_start();
    s = s.strip_suffix('원').unwrap_or(s).trim_end();
    let is_code = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase());
    if let Some((code, rest)) = s.split_once(' ')
        && is_code(code)
    {
        s = rest.trim_start();
    }
    if let Some((rest, code)) = s.rsplit_once(' ')
        && is_code(code)
    {
        s = rest.trim_end();
    }
    s
}

/// Returns the digits of an integer part, checking that any commas group thousands.
fn ungroup(int: &str) -> Option<String> {
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or_default();
    let has_commas = int.contains(',');
    if !first.bytes().all(|b| b.is_ascii_digit()) || (has_commas && !(1..=3).contains(&first.len())) {
        return None;
    }
    let mut digits = first.to_string();
    for group in groups {
        if group.len() != 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push_str(group);
    }
    Some(digits)
}

/// Parses true/false, 1/0, yes/no, y/n, t/f, o/x, the Korean 예/아니오, and the consent columns of
/// Korean shops' exports: 수신/수신거부, 동의/거부 (spaces aside: "수신 거부").
pub(super) fn parse_flag(raw: &str) -> Result<bool, String> {
    let squashed: String = raw.split_whitespace().collect::<String>().to_lowercase();
    match squashed.as_str() {
        "true" | "1" | "yes" | "y" | "t" | "o" | "예" | "네" | "수신" | "수신동의" | "동의" => Ok(true),
        "false" | "0" | "no" | "n" | "f" | "x" | "아니오" | "아니요" | "수신거부" | "거부" | "미동의" | "비동의"
        | "수신안함" => Ok(false),
        _ => Err("must be true or false (or yes/no, y/n, 1/0)".into()),
    }
}

/// Checks the shape of an email address and lower-cases it.
pub(super) fn parse_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.rsplit('.').next().is_some_and(|tld| tld.chars().count() >= 2)
    }) && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || ",;<>()[]\\\"".contains(c));
    if valid {
        Ok(email)
    } else {
        Err("is not a valid email address".into())
    }
}

/// Parses an ISO 4217 code; "원" and "₩" mean KRW.
pub(super) fn parse_currency(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if matches!(s, "원" | "₩" | "￦") {
        return Ok("KRW".into());
    }
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(s.to_ascii_uppercase())
    } else {
        Err("must be a 3-letter currency code like KRW".into())
    }
}

/// Splits a cell of tags on commas or semicolons, dropping blanks and repeats.
pub(super) fn split_tags(raw: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    tags
}

/// Formats a timestamp as the tracking API stores it: RFC 3339, UTC, millis, "Z".
pub(super) fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

const NOT_A_TIMESTAMP: &str =
    "must be a date and time like 2024-03-01 12:34:56, 2024-03-01 12:34:56 +0900 or 2024-03-01";

/// Parses a timestamp. One without an offset is local time in `tz`; a bare date is midnight.
///
/// Accepted: RFC 3339, Shopify's "2024-03-01 12:34:56 +0900", "2024-03-01 12:34[:56[.123]]",
/// "2024-03-01", with `-`, `/` or `.` between date parts ("2024. 3. 1."), a trailing "Z"/"UTC",
/// and a 12-hour clock marked 오전/오후 or AM/PM as Korean spreadsheets write it.
pub(super) fn parse_timestamp(raw: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let s = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(at.to_utc());
    }
    let (date, rest) = split_date(s).ok_or(NOT_A_TIMESTAMP)?;
    let rest = rest.strip_prefix('T').unwrap_or(rest).trim();
    if rest.is_empty() {
        return local(tz, date.and_time(NaiveTime::MIN));
    }
    let (rest, offset) = split_offset(rest).ok_or(NOT_A_TIMESTAMP)?;
    let (rest, meridiem) = split_meridiem(rest);
    let mut time = NaiveTime::parse_from_str(rest, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(rest, "%H:%M"))
        .map_err(|_| NOT_A_TIMESTAMP)?;
    if let Some(pm) = meridiem {
        use chrono::Timelike;
        let hour = time.hour();
        if !(1..=12).contains(&hour) {
            return Err(NOT_A_TIMESTAMP.into());
        }
        let hour = match (pm, hour) {
            (false, 12) => 0,
            (true, h) if h < 12 => h + 12,
            (_, h) => h,
        };
        time = time.with_hour(hour).ok_or(NOT_A_TIMESTAMP)?;
    }
    let naive = date.and_time(time);
    match offset {
        Some(offset) => offset
            .from_local_datetime(&naive)
            .single()
            .map(|at| at.to_utc())
            .ok_or_else(|| NOT_A_TIMESTAMP.into()),
        None => local(tz, naive),
    }
}

fn local(tz: Tz, naive: chrono::NaiveDateTime) -> Result<DateTime<Utc>, String> {
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.to_utc())
        .ok_or_else(|| format!("is a time that does not exist in {tz}"))
}

/// Parses a calendar date such as a birthday: "1990-05-17", "1990/5/17", "1990.05.17." or
/// "19900517". A midnight time after it, as spreadsheets sometimes add, is ignored.
pub(super) fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    const NOT_A_DATE: &str = "must be a date like 1990-05-17";
    let s = raw.trim();
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|_| NOT_A_DATE.into());
    }
    let (date, rest) = split_date(s).ok_or(NOT_A_DATE)?;
    let rest = rest.strip_prefix('T').unwrap_or(rest).trim();
    if rest.chars().all(|c| matches!(c, '0' | ':' | '.')) {
        Ok(date)
    } else {
        Err(NOT_A_DATE.into())
    }
}

/// Reads "YYYY-M-D" (separators `-`, `/` or `.`, optional spaces after dots, optional final
/// dot) from the start of `s` and returns the date and the rest.
fn split_date(s: &str) -> Option<(NaiveDate, &str)> {
    fn number(s: &str, min: usize, max: usize) -> Option<(u32, &str)> {
        let len = s.bytes().take_while(u8::is_ascii_digit).count();
        if !(min..=max).contains(&len) {
            return None;
        }
        Some((s[..len].parse().ok()?, &s[len..]))
    }
    let (year, s) = number(s, 4, 4)?;
    let sep = s.chars().next().filter(|c| matches!(c, '-' | '/' | '.'))?;
    let (month, s) = number(s[1..].trim_start(), 1, 2)?;
    let s = s.strip_prefix(sep)?.trim_start();
    let (day, mut s) = number(s, 1, 2)?;
    if sep == '.' {
        s = s.strip_prefix('.').unwrap_or(s);
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some((date, s))
}

/// Splits a trailing offset ("Z", "UTC", "+0900", "+09:00", "-05") off a time.
/// Returns `None` when the suffix looks like an offset but is not a valid one.
fn split_offset(s: &str) -> Option<(&str, Option<FixedOffset>)> {
    for utc in ["Z", "UTC", "GMT"] {
        if let Some(rest) = s.strip_suffix(utc) {
            return Some((rest.trim_end(), FixedOffset::east_opt(0)));
        }
    }
    let Some(at) = s.rfind(['+', '-']) else {
        return Some((s, None));
    };
    let (rest, offset) = s.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes): (i32, i32) = match digits.len() {
        2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    if minutes >= 60 {
        return None;
    }
    let offset = FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?;
    Some((rest.trim_end(), Some(offset)))
}

/// Removes a 오전/오후 or AM/PM marker; returns whether it said afternoon.
fn split_meridiem(s: &str) -> (&str, Option<bool>) {
    for (marker, pm) in [("오전", false), ("오후", true), ("AM", false), ("PM", true)] {
        if let Some(rest) = s.strip_prefix(marker) {
            return (rest.trim_start(), Some(pm));
        }
        let upper = s.to_ascii_uppercase();
        if upper.ends_with(marker) {
            return (s[..s.len() - marker.len()].trim_end(), Some(pm));
        }
    }
    (s, None)
}

/// Turns an HTML description into plain text: tags dropped, block ends as line breaks,
/// `<script>`/`<style>` bodies dropped, common entities decoded, whitespace collapsed.
pub(super) fn strip_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let is_tag = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
        if !is_tag {
            if skip_until.is_none() {
                text.push_str(&rest[..=start]);
            }
            rest = after;
            continue;
        }
        if skip_until.is_none() {
            text.push_str(&rest[..start]);
        }
        let Some(end) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[..end].to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let closing = tag.starts_with('/');
        match skip_until {
            Some(until) if closing && name == until => skip_until = None,
            Some(_) => {}
            None if !closing && (name == "script" || name == "style") => {
                skip_until = Some(if name == "script" { "script" } else { "style" });
            }
            None => {
                let block = matches!(
                    name.as_str(),
                    "br" | "p"
                        | "div"
                        | "li"
                        | "ul"
                        | "ol"
                        | "tr"
                        | "table"
                        | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                        | "h5"
                        | "h6"
                        | "blockquote"
                        | "section"
                        | "article"
                );
                text.push(if block { '\n' } else { ' ' });
            }
        }
        rest = &after[end + 1..];
    }
    if skip_until.is_none() {
        text.push_str(rest);
    }
    decode_entities(&text)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let decoded = after.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &after[..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => {
                    let code = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => name.strip_prefix('#').and_then(|d| d.parse().ok()),
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Guesses a JSON type for a free trait column: plain numbers and true/false become JSON
/// values; anything else, including numbers with leading zeros such as zip codes and phone
/// numbers, stays a string.
pub(super) fn infer_value(raw: &str) -> Value {
    match raw.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    let unsigned = raw.strip_prefix('-').unwrap_or(raw);
    let int = unsigned.split('.').next().unwrap_or_default();
    let plain = !unsigned.is_empty()
        && unsigned.len() <= 15
        && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && unsigned.bytes().filter(|b| *b == b'.').count() <= 1
        && !int.is_empty()
        && (int == "0" || !int.starts_with('0'))
        && !unsigned.ends_with('.');
    match plain.then(|| Amount::parse(raw)) {
        Some(Ok(amount)) => amount.to_json(),
        _ => Value::String(raw.to_string()),
    }
}

/// FNV-1a, 64 bit: a hash that never changes between builds, for deterministic message ids.
pub(super) fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts() {
        let ok = |s: &str| Amount::parse(s).unwrap().to_json();
        assert_eq!(ok("12000"), json!(12000));
        assert_eq!(ok("12,000"), json!(12000));
        assert_eq!(ok("₩12,000"), json!(12000));
        assert_eq!(ok("12,000원"), json!(12000));
        assert_eq!(ok("$19.99"), json!(19.99));
        assert_eq!(ok("KRW 5,000"), json!(5000));
        assert_eq!(ok("5000 KRW"), json!(5000));
        assert_eq!(ok("-3"), json!(-3));
        assert_eq!(ok("-₩3"), json!(-3));
        assert_eq!(ok("1,234,567.5"), json!(1234567.5));
        assert_eq!(ok(".5"), json!(0.5));
        assert_eq!(ok("10.00"), json!(10));
        for bad in [
            "abc",
            "12,50",
            "1,2345",
            "1.2.3",
            "",
            "-",
            "12a",
            "1.23456",
            "99999999999999999",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad} should fail");
        }
        assert_eq!(Amount::parse("19.99").unwrap().times(3).to_json(), json!(59.97));
        assert_eq!(Amount::parse_whole("2").unwrap(), 2);
        assert!(Amount::parse_whole("2.5").is_err());
        assert!(Amount::parse_non_negative("-1").is_err());
    }

    #[test]
    fn flags_and_emails() {
        assert_eq!(parse_flag("Yes"), Ok(true));
        assert_eq!(parse_flag("N"), Ok(false));
        assert_eq!(parse_flag("TRUE"), Ok(true));
        assert!(parse_flag("maybe").is_err());
        assert_eq!(parse_email(" Kim@Example.COM ").unwrap(), "kim@example.com");
        for bad in [
            "kim",
            "kim@",
            "@example.com",
            "kim@example",
            "kim @x.com",
            "a@b@c.com",
            "a@x..com",
            "a@x.c",
        ] {
            assert!(parse_email(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn timestamps() {
        let seoul = chrono_tz::Asia::Seoul;
        let ts = |s: &str| format_timestamp(parse_timestamp(s, seoul).unwrap());
        assert_eq!(ts("2024-03-01 12:34:56 +0900"), "2024-03-01T03:34:56.000Z");
        assert_eq!(ts("2024-03-01 12:34:56 -0500"), "2024-03-01T17:34:56.000Z");
        assert_eq!(ts("2024-03-01 12:34:56+09:00"), "2024-03-01T03:34:56.000Z");
        assert_eq!(ts("2024-03-01T12:34:56.789Z"), "2024-03-01T12:34:56.789Z");
        assert_eq!(ts("2024-03-01 12:34:56 UTC"), "2024-03-01T12:34:56.000Z");
        assert_eq!(ts("2024-03-01 12:34:56"), "2024-03-01T03:34:56.000Z");
        assert_eq!(ts("2024-03-01T12:34"), "2024-03-01T03:34:00.000Z");
        assert_eq!(ts("2024-03-01"), "2024-02-29T15:00:00.000Z");
        assert_eq!(ts("2024/3/1 9:05"), "2024-03-01T00:05:00.000Z");
        assert_eq!(ts("2024. 3. 1. 오후 3:04:05"), "2024-03-01T06:04:05.000Z");
        assert_eq!(ts("2024-03-01 오전 12:10"), "2024-02-29T15:10:00.000Z");
        assert_eq!(ts("2024-03-01 3:04 PM"), "2024-03-01T06:04:00.000Z");
        let new_york = chrono_tz::America::New_York;
        let at = parse_timestamp("2024-07-01 12:00:00", new_york).unwrap();
        assert_eq!(format_timestamp(at), "2024-07-01T16:00:00.000Z");
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024-02-30",
            "2024-03-01 25:00",
            "2024-03-01 12:00 +99",
        ] {
            assert!(parse_timestamp(bad, seoul).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn dates() {
        let d = |s: &str| parse_date(s).unwrap().to_string();
        assert_eq!(d("1990-05-17"), "1990-05-17");
        assert_eq!(d("1990/5/7"), "1990-05-07");
        assert_eq!(d("1990.05.17."), "1990-05-17");
        assert_eq!(d("19900517"), "1990-05-17");
        assert_eq!(d("1990-05-17 00:00:00"), "1990-05-17");
        assert!(parse_date("05/17/1990").is_err());
        assert!(parse_date("1990-05-17 13:00").is_err());
    }

    #[test]
    fn html_tags_and_values() {
        assert_eq!(
            strip_html(
                "<p>부드러운 <b>면</b> 소재&nbsp;&amp; 넉넉한 핏</p><p>a &lt; b<br/>둘째 줄</p><script>x()</script>"
            ),
            "부드러운 면 소재 & 넉넉한 핏\na < b\n둘째 줄"
        );
        assert_eq!(strip_html("3 < 5 &#54620;"), "3 < 5 한");
        assert_eq!(split_tags("vip; 신규, vip ,,"), ["vip", "신규"]);
        assert_eq!(infer_value("12.5"), json!(12.5));
        assert_eq!(infer_value("0"), json!(0));
        assert_eq!(infer_value("02134"), json!("02134"));
        assert_eq!(infer_value("010-1234-5678"), json!("010-1234-5678"));
        assert_eq!(infer_value("FALSE"), json!(false));
        assert_eq!(infer_value("no"), json!("no"));
        assert!(crate::value::has_hangul("김") && !crate::value::has_hangul("Kim"));
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
