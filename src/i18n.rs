//! Label catalogues, one per language (`static/i18n/{ko,en}.toml`, embedded), and formatting of
//! numbers, money and times for a language and the shop's time zone.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::TimeZone;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ko" => Some(Lang::Ko),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language a person chose (the `dangol_lang` cookie), else the first of ko/en their
    /// browser lists in Accept-Language, else Korean.
    pub fn negotiate(chosen: Option<&str>, accept: &str) -> Lang {
        if let Some(l) = chosen.and_then(Lang::parse) {
            return l;
        }
        for part in accept.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if tag.starts_with("ko") {
                return Lang::Ko;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Ko
    }
}

/// A language's labels, flattened to `section.key`.
pub struct Catalog {
    labels: HashMap<String, String>,
}

impl Catalog {
    /// The label for `key`. A key missing from the catalogue shows as "?" and is logged (a test
    /// checks that both catalogues have the same keys, and page tests see every label used).
    pub fn get(&self, key: &str) -> &str {
        match self.labels.get(key) {
            Some(label) => label,
            None => {
                tracing::warn!(key, "missing label");
                "?"
            }
        }
    }

    fn load(source: &str) -> Catalog {
        fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::Table(t) => flatten(&key, t, out),
                    toml::Value::String(s) => {
                        out.insert(key, s.clone());
                    }
                    other => {
                        out.insert(key, other.to_string());
                    }
                }
            }
        }
        let table: toml::Table = source.parse().expect("the embedded label catalogues are valid TOML");
        let mut labels = HashMap::new();
        flatten("", &table, &mut labels);
        Catalog { labels }
    }

    pub fn for_lang(lang: Lang) -> &'static Catalog {
        static KO: OnceLock<Catalog> = OnceLock::new();
        static EN: OnceLock<Catalog> = OnceLock::new();
        match lang {
            Lang::Ko => KO.get_or_init(|| Catalog::load(include_str!("../static/i18n/ko.toml"))),
            Lang::En => EN.get_or_init(|| Catalog::load(include_str!("../static/i18n/en.toml"))),
        }
    }

    /// The label for `key` if the catalogue has one, for labels that only some values have (a
    /// job's description, say); the caller falls back to its own text.
    pub fn find(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.labels.keys().map(String::as_str)
    }
}

pub use crate::value::group_digits as number;

/// An event as a person reads it: the Segment e-commerce spec's events and the message kinds
/// by the catalogue's `[events]` ("Product Viewed" → "상품 조회", `page` → "페이지뷰"); an event
/// the shop named itself stays as it was named.
pub fn event_name(t: &Catalog, name: &str) -> String {
    let key: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    t.find(&format!("events.{key}"))
        .map_or_else(|| name.to_string(), str::to_string)
}

/// Where a record or a consent came from, as a person reads it (`import` → "가져오기"); a source
/// we do not know stays as it was given.
pub fn source_name(t: &Catalog, source: &str) -> String {
    t.find(&format!("sources.{source}"))
        .map_or_else(|| source.to_string(), str::to_string)
}

/// Money in the shop's currency: KRW without decimals ("12,000원" in Korean, "₩12,000" in
/// English); other currencies with two decimals and their code.
pub fn money(amount: f64, currency: Option<&str>, lang: Lang) -> String {
    match currency.unwrap_or("KRW") {
        "KRW" => match lang {
            Lang::Ko => format!("{}원", number(amount, 0)),
            Lang::En => format!("₩{}", number(amount, 0)),
        },
        "USD" => format!("${}", number(amount, 2)),
        other => format!("{} {}", number(amount, 2), other),
    }
}

/// A share (0–1) as a percentage with one decimal: 0.1234 → "12.3%".
pub fn percent(share: f64) -> String {
    format!("{}%", number(share * 100.0, 1))
}

/// A change in a count, signed: "+12", "−3" (a minus sign, not a hyphen), "0"; "—" when there
/// is nothing to compare with.
pub fn change(n: Option<i64>) -> String {
    match n {
        None => "—".into(),
        Some(0) => "0".into(),
        Some(n) if n > 0 => format!("+{}", number(n as f64, 0)),
        Some(n) => format!("−{}", number(n.unsigned_abs() as f64, 0)),
    }
}

/// A duration in milliseconds, short: "850 ms", "12.3 s", "4 min 05 s".
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
    }
}

/// A time in the shop's time zone: "2026-11-22 19:05".
pub fn datetime(ms: i64, tz: chrono_tz::Tz) -> String {
    match tz.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => String::new(),
    }
}

pub fn date(ms: i64, tz: chrono_tz::Tz) -> String {
    match tz.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_named_in_the_staff_member_s_language() {
        let ko = Catalog::for_lang(Lang::Ko);
        assert_eq!(event_name(ko, "Product Viewed"), "상품 조회");
        assert_eq!(event_name(ko, "page"), "페이지뷰");
        assert_eq!(event_name(ko, "Wishlist Shared"), "Wishlist Shared", "the shop's own");
        assert_eq!(
            event_name(Catalog::for_lang(Lang::En), "Order Completed"),
            "Order completed"
        );
    }

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let mut ko: Vec<&str> = Catalog::for_lang(Lang::Ko).keys().collect();
        let mut en: Vec<&str> = Catalog::for_lang(Lang::En).keys().collect();
        ko.sort();
        en.sort();
        assert_eq!(ko, en);
        assert_eq!(Catalog::for_lang(Lang::Ko).get("nav.customers"), "고객");
    }

    #[test]
    fn formats() {
        assert_eq!(number(1234567.0, 0), "1,234,567");
        assert_eq!(number(-1234.5, 2), "-1,234.50");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(money(59000.0, Some("KRW"), Lang::Ko), "59,000원");
        assert_eq!(money(59000.0, None, Lang::En), "₩59,000");
        assert_eq!(money(12.5, Some("USD"), Lang::En), "$12.50");
        assert_eq!(datetime(1_704_067_200_000, chrono_tz::Asia::Seoul), "2024-01-01 09:00");
        assert_eq!(percent(0.1234), "12.3%");
        assert_eq!(change(Some(1234)), "+1,234");
        assert_eq!(change(Some(-3)), "−3");
        assert_eq!(change(Some(0)), "0");
        assert_eq!(change(None), "—");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
    }
}
