//! A segment rule in words, for the segment page, the campaign and coupon pages: "All of: 3 or
//! more orders · bought 향수 in the last 30 days", in Korean and English.

use crate::analysis::Level;
use crate::i18n::{self, Catalog, Lang};
use crate::segment::rule::{Cmp, Item, Recency, TouchKind, TraitTest};
use crate::segment::{Condition, Rule};
use serde_json::Value;
use std::collections::HashMap;

/// A line of a rule in words; `depth` is its nesting.
pub struct RuleLine {
    pub depth: usize,
    pub text: String,
    /// A group's heading ("All of:"), not a condition.
    pub group: bool,
}

/// A number as typed: whole numbers with separators, others with up to two decimals.
pub fn plain(v: f64) -> String {
    if v.fract() == 0.0 {
        i18n::number(v, 0)
    } else {
        let s = i18n::number(v, 2);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn cmp_text(cmp: Cmp, t: &Catalog, fmt: &dyn Fn(f64) -> String) -> String {
    match cmp {
        Cmp::Eq(x) => format!("= {}", fmt(x)),
        Cmp::Ge(x) => format!("≥ {}", fmt(x)),
        Cmp::Le(x) => format!("≤ {}", fmt(x)),
        Cmp::Between(lo, hi) => t
            .get("segments.text.between")
            .replace("{lo}", &fmt(lo))
            .replace("{hi}", &fmt(hi)),
    }
}

fn attr(t: &Catalog, name: &str) -> String {
    t.get(&format!("segments.attr.{name}")).to_string()
}

/// "orders" → "orders in the last 7 days" (or as the language puts it).
fn windowed(t: &Catalog, subject: String, days: Option<u32>) -> String {
    match days {
        None => subject,
        Some(n) => t
            .get("segments.text.window")
            .replace("{attr}", &subject)
            .replace("{n}", &n.to_string()),
    }
}

fn days_ago(t: &Catalog, subject: String, n: u32) -> String {
    if n == 0 {
        subject
    } else {
        t.get("segments.text.days_ago")
            .replace("{attr}", &subject)
            .replace("{n}", &n.to_string())
    }
}

fn one_of(t: &Catalog, values: Vec<String>) -> String {
    values.join(t.get("segments.text.or"))
}

fn quoted(s: &str) -> String {
    format!("“{s}”")
}

fn trait_value(v: &Value) -> String {
    match v {
        Value::String(s) => quoted(s),
        other => other.to_string(),
    }
}

/// One condition in words, in the staff member's language.
fn condition_text(c: &Condition, t: &Catalog, lang: Lang, names: &HashMap<String, String>) -> String {
    let money = |v: f64| i18n::money(v, None, lang);
    let is = |subject: String, value: String| {
        t.get("segments.text.is")
            .replace("{attr}", &subject)
            .replace("{value}", &value)
    };
    let recency = |name: &str, r: &Recency| {
        let (key, n) = match r {
            Recency::Within(n) => ("within", n),
            Recency::NotWithin(n) => ("not_within", n),
        };
        t.get(&format!("segments.text.{name}_{key}"))
            .replace("{n}", &n.to_string())
    };
    let level = |l: &Level| t.get(&format!("analysis.level.{}", l.as_str())).to_string();
    match c {
        Condition::SignedUp(r) => recency("signed_up", r),
        Condition::LastSeen(r) => recency("last_seen", r),
        Condition::LastOrder(r) => recency("last_order", r),
        Condition::OrdersCount { cmp, days } => format!(
            "{} {}",
            windowed(t, attr(t, "orders_count"), *days),
            cmp_text(*cmp, t, &plain)
        ),
        Condition::TotalSpent { cmp, days } => format!(
            "{} {}",
            windowed(t, attr(t, "total_spent"), *days),
            cmp_text(*cmp, t, &money)
        ),
        Condition::AvailableCoupons(cmp) => format!("{} {}", attr(t, "available_coupons"), cmp_text(*cmp, t, &plain)),
        Condition::CouponCode(code) => t.get("segments.text.coupon_code").replace("{value}", code),
        Condition::Customers(ids) => t.get("segments.text.customers").replace(
            "{value}",
            &ids.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", "),
        ),
        Condition::TagsHas(tag) => t.get("segments.text.tag_has").replace("{value}", &quoted(tag)),
        Condition::TagsHasAny(tags) => t
            .get("segments.text.tag_has_any")
            .replace("{value}", &one_of(t, tags.iter().map(|s| quoted(s)).collect())),
        Condition::City(v) => is(attr(t, "city"), one_of(t, v.clone())),
        Condition::Country(v) => is(attr(t, "country"), one_of(t, v.clone())),
        Condition::Consent { channel, granted } => {
            let name = match channel {
                crate::customer::columns::Channel::Email => "email_consent",
                crate::customer::columns::Channel::Sms => "sms_consent",
                crate::customer::columns::Channel::Kakao => "kakao_consent",
            };
            let key = if *granted { "consent_yes" } else { "consent_no" };
            t.get(&format!("segments.text.{key}")).replace("{attr}", &attr(t, name))
        }
        Condition::Touch {
            kind,
            item,
            min_count,
            days,
        } => {
            let kind = match kind {
                TouchKind::Viewed => "viewed",
                TouchKind::Carted => "carted",
                TouchKind::Checkout => "checkout",
                TouchKind::Purchased => "purchased",
            };
            let item = match item {
                Item::Product(p) => {
                    let shown = match names.get(p) {
                        Some(name) => format!("{} ({p})", quoted(name)),
                        None => quoted(p),
                    };
                    t.get("segments.text.product").replace("{value}", &shown)
                }
                Item::Category(c) => t.get("segments.text.category").replace("{value}", &quoted(c)),
            };
            let times = if *min_count > 1 {
                t.get("segments.text.times").replace("{n}", &min_count.to_string())
            } else {
                String::new()
            };
            let window = days
                .map(|n| t.get("segments.text.window_part").replace("{n}", &n.to_string()))
                .unwrap_or_default();
            t.get("segments.text.touch")
                .replace("{kind}", t.get(&format!("segments.text.touch_{kind}")))
                .replace("{item}", &item)
                .replace("{times}", &times)
                .replace("{window}", &window)
        }
        Condition::Interest { text, days } => {
            let window = days
                .map(|n| t.get("segments.text.window_part").replace("{n}", &n.to_string()))
                .unwrap_or_default();
            t.get("segments.text.interest")
                .replace("{value}", &quoted(text))
                .replace("{window}", &window)
        }
        Condition::Event { name, cmp, days } => {
            let window = days
                .map(|n| t.get("segments.text.window_part").replace("{n}", &n.to_string()))
                .unwrap_or_default();
            t.get("segments.text.event")
                .replace("{name}", &quoted(name))
                .replace("{window}", &window)
                .replace("{cmp}", &cmp_text(*cmp, t, &plain))
        }
        Condition::Trait { name, test } => {
            let subject = t.get("segments.text.trait").replace("{name}", name);
            match test {
                TraitTest::Eq(v) => format!("{subject} = {}", trait_value(v)),
                TraitTest::Ne(v) => format!("{subject} ≠ {}", trait_value(v)),
                TraitTest::Ge(x) => format!("{subject} ≥ {}", plain(*x)),
                TraitTest::Le(x) => format!("{subject} ≤ {}", plain(*x)),
                TraitTest::Contains(s) => t
                    .get("segments.text.contains")
                    .replace("{attr}", &subject)
                    .replace("{value}", &quoted(s)),
                TraitTest::Exists => t.get("segments.text.exists").replace("{attr}", &subject),
            }
        }
        Condition::RfmSegment { groups, days_ago: n } => is(
            days_ago(t, attr(t, "rfm_segment"), *n),
            one_of(
                t,
                groups
                    .iter()
                    .map(|g| t.get(&format!("analysis.group.{}", g.as_str())).to_string())
                    .collect(),
            ),
        ),
        Condition::SpendTier { tiers, days_ago: n } => is(
            days_ago(t, attr(t, "spend_tier"), *n),
            one_of(t, tiers.iter().map(level).collect()),
        ),
        Condition::ChurnRisk { levels, days_ago: n } => is(
            days_ago(t, attr(t, "churn_risk"), *n),
            one_of(t, levels.iter().map(level).collect()),
        ),
        Condition::PredictedClv { cmp, days_ago: n } => format!(
            "{} {}",
            days_ago(t, attr(t, "predicted_clv"), *n),
            cmp_text(*cmp, t, &money)
        ),
        Condition::ProbabilityAlive { cmp, days_ago: n } => format!(
            "{} {}",
            days_ago(t, attr(t, "probability_alive"), *n),
            cmp_text(*cmp, t, &i18n::percent)
        ),
    }
}

/// A rule as lines of text: a group is a heading ("All of:") with its parts one level deeper; a
/// NOT of one condition stays on one line ("NOT (orders in the last 7 days ≥ 1)").
pub fn rule_lines(rule: &Rule, t: &Catalog, lang: Lang, names: &HashMap<String, String>) -> Vec<RuleLine> {
    fn walk(r: &Rule, depth: usize, t: &Catalog, lang: Lang, names: &HashMap<String, String>, out: &mut Vec<RuleLine>) {
        let group = |key: &str, parts: &[Rule], out: &mut Vec<RuleLine>| {
            out.push(RuleLine {
                depth,
                text: t.get(key).to_string(),
                group: true,
            });
            parts.iter().for_each(|p| walk(p, depth + 1, t, lang, names, out));
        };
        match r {
            Rule::All(parts) => group("segments.text.all", parts, out),
            Rule::Any(parts) => group("segments.text.any", parts, out),
            Rule::Not(inner) => match inner.as_ref() {
                Rule::Cond(c) => out.push(RuleLine {
                    depth,
                    text: t
                        .get("segments.text.not_one")
                        .replace("{value}", &condition_text(c, t, lang, names)),
                    group: false,
                }),
                other => group("segments.text.not", std::slice::from_ref(other), out),
            },
            Rule::Cond(c) => out.push(RuleLine {
                depth,
                text: condition_text(c, t, lang, names),
                group: false,
            }),
        }
    }
    let mut out = Vec::new();
    walk(rule, 0, t, lang, names, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(rule: Value, lang: Lang) -> Vec<(usize, String)> {
        let rule = Rule::parse(&rule).unwrap();
        let names = HashMap::from([("P1".to_string(), "플라워 향수".to_string())]);
        rule_lines(&rule, Catalog::for_lang(lang), lang, &names)
            .into_iter()
            .map(|l| (l.depth, l.text))
            .collect()
    }

    #[test]
    fn a_rule_reads_as_nested_text_in_both_languages() {
        let rule = json!({"all": [
            {"attr": "signed_up_at", "op": "within_days", "value": 7},
            {"not": {"attr": "orders_count", "op": ">=", "value": 1, "days": 7}},
            {"any": [
                {"attr": "tags", "op": "has", "value": "vip"},
                {"attr": "viewed", "op": "product", "value": "P1", "min_count": 2, "days": 14},
                {"attr": "rfm_segment", "op": "in", "value": ["champions", "loyal"], "days_ago": 30},
                {"not": {"any": [{"attr": "total_spent", "op": "between", "value": [10000, 50000]}]}}
            ]}
        ]});
        let en = words(rule.clone(), Lang::En);
        let texts: Vec<&str> = en.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            texts,
            [
                "All of:",
                "signed up in the last 7 days",
                "NOT (orders in the last 7 days ≥ 1)",
                "Any of:",
                "has the tag “vip”",
                "viewed the product “플라워 향수” (P1) at least 2 times in the last 14 days",
                "RFM group 30 days ago is Champions or Loyal",
                "NOT:",
                "Any of:",
                "total spent between ₩10,000 and ₩50,000",
            ]
        );
        let depths: Vec<usize> = en.iter().map(|(d, _)| *d).collect();
        assert_eq!(depths, [0, 1, 1, 1, 2, 2, 2, 2, 3, 4]);
        let ko = words(rule, Lang::Ko);
        assert_eq!(ko[1].1, "최근 7일 안에 가입");
        assert_eq!(ko[2].1, "(최근 7일 주문 수 ≥ 1) 아님");
        assert_eq!(ko[5].1, "최근 14일 상품 “플라워 향수” (P1) 조회 2회 이상");
        assert_eq!(ko[9].1, "총 구매액 10,000원~50,000원");
        for lang in [Lang::Ko, Lang::En] {
            assert!(
                words(json!({"attr": "trait.plan", "op": "exists"}), lang)[0]
                    .1
                    .contains("plan")
            );
        }
    }

    #[test]
    fn every_condition_has_words() {
        let conds = [
            json!({"attr": "last_seen_at", "op": "not_within_days", "value": 30}),
            json!({"attr": "last_order_at", "op": "within_days", "value": 90}),
            json!({"attr": "available_coupons", "op": ">=", "value": 1}),
            json!({"attr": "coupon_codes", "op": "contains", "value": "WELCOME10"}),
            json!({"attr": "tags", "op": "has_any", "value": ["vip", "lapsed"]}),
            json!({"attr": "city", "op": "in", "value": ["서울", "부산"]}),
            json!({"attr": "country", "op": "=", "value": "KR"}),
            json!({"attr": "spend_tier", "op": "=", "value": "high"}),
            json!({"attr": "sms_consent", "op": "=", "value": false}),
            json!({"attr": "carted", "op": "category", "value": "향수"}),
            json!({"attr": "interest", "op": "matches", "value": "초콜릿", "days": 30}),
            json!({"attr": "event", "name": "Coupon Used", "op": "between", "value": [1, 3], "days": 7}),
            json!({"attr": "trait.plan", "op": "!=", "value": "free"}),
            json!({"attr": "trait.age", "op": ">=", "value": 30}),
            json!({"attr": "churn_risk", "op": "in", "value": ["medium", "high"]}),
            json!({"attr": "predicted_clv", "op": ">=", "value": 100000}),
            json!({"attr": "probability_alive", "op": "<=", "value": 0.3, "days_ago": 7}),
        ];
        for lang in [Lang::Ko, Lang::En] {
            for c in &conds {
                let text = &words(c.clone(), lang)[0].1;
                assert!(!text.contains('?') && !text.contains('{'), "{c}: {text}");
            }
        }
        assert_eq!(
            words(conds[16].clone(), Lang::En)[0].1,
            "probability still active 7 days ago ≤ 30.0%"
        );
    }
}
