//! The segment rule language (CONTRACT §4): parsed from JSON into a typed tree, so that a wrong
//! rule is refused up front with the JSON path of the wrong part and what was expected there, and
//! the evaluator never meets an ill-typed condition.
//!
//! Beyond the contract, the analysis fields: `rfm_segment`, `churn_risk`, `spend_tier` (which the
//! contract has), `predicted_clv` and `probability_alive`, each with an optional `days_ago: N` that
//! reads the dated snapshot of N days before ("was a Champion 30 days ago").

use serde_json::{Map, Value};

use crate::analysis::{Level, RfmGroup};

/// A rule: a group or a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Cond(Condition),
}

/// When something happened, relative to today (shop time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recency {
    /// In the last N days, today included.
    Within(u32),
    /// Not in the last N days (never counts as not within).
    NotWithin(u32),
}

/// A comparison of a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Eq(f64),
    Ge(f64),
    Le(f64),
    Between(f64, f64),
}

impl Cmp {
    pub fn matches(self, v: f64) -> bool {
        match self {
            Cmp::Eq(x) => (v - x).abs() < 1e-9,
            Cmp::Ge(x) => v >= x,
            Cmp::Le(x) => v <= x,
            Cmp::Between(lo, hi) => v >= lo && v <= hi,
        }
    }
}

/// A kind of touch of a product or category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchKind {
    Viewed,
    Carted,
    Checkout,
    Purchased,
}

/// What a touch condition names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Product(String),
    Category(String),
}

/// A comparison of a stored trait.
#[derive(Debug, Clone, PartialEq)]
pub enum TraitTest {
    Eq(Value),
    Ne(Value),
    Contains(String),
    Ge(f64),
    Le(f64),
    Exists,
}

/// One condition, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    SignedUp(Recency),
    LastSeen(Recency),
    LastOrder(Recency),
    OrdersCount {
        cmp: Cmp,
        days: Option<u32>,
    },
    TotalSpent {
        cmp: Cmp,
        days: Option<u32>,
    },
    AvailableCoupons(Cmp),
    CouponCode(String),
    /// These customers by id (a message to one person, from their page).
    Customers(Vec<u64>),
    TagsHas(String),
    TagsHasAny(Vec<String>),
    City(Vec<String>),
    Country(Vec<String>),
    Consent {
        channel: crate::customer::columns::Channel,
        granted: bool,
    },
    Touch {
        kind: TouchKind,
        item: Item,
        min_count: u32,
        days: Option<u32>,
    },
    Interest {
        text: String,
        days: Option<u32>,
    },
    Event {
        name: String,
        cmp: Cmp,
        days: Option<u32>,
    },
    Trait {
        name: String,
        test: TraitTest,
    },
    RfmSegment {
        groups: Vec<RfmGroup>,
        days_ago: u32,
    },
    SpendTier {
        tiers: Vec<Level>,
        days_ago: u32,
    },
    ChurnRisk {
        levels: Vec<Level>,
        days_ago: u32,
    },
    PredictedClv {
        cmp: Cmp,
        days_ago: u32,
    },
    ProbabilityAlive {
        cmp: Cmp,
        days_ago: u32,
    },
}

/// A rule that cannot be used: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {expected}")]
pub struct RuleError {
    /// JSON path of the wrong part, from `$` (the rule itself): `$.all[1].not.value`.
    pub path: String,
    pub expected: String,
}

/// Deepest nesting accepted: deeper rules are refused rather than risk the stack.
pub const MAX_DEPTH: usize = 32;
/// Most conditions in one rule.
pub const MAX_CONDITIONS: usize = 200;

impl Rule {
    /// Parses a rule, naming the first wrong part.
    pub fn parse(v: &Value) -> Result<Rule, RuleError> {
        let mut count = 0;
        parse_rule(v, "$", 0, &mut count)
    }

    /// The conditions of the rule, depth first.
    pub fn conditions(&self) -> Vec<&Condition> {
        let mut out = Vec::new();
        fn walk<'a>(r: &'a Rule, out: &mut Vec<&'a Condition>) {
            match r {
                Rule::All(v) | Rule::Any(v) => v.iter().for_each(|r| walk(r, out)),
                Rule::Not(r) => walk(r, out),
                Rule::Cond(c) => out.push(c),
            }
        }
        walk(self, &mut out);
        out
    }
}

fn err(path: &str, expected: impl Into<String>) -> RuleError {
    RuleError {
        path: path.to_string(),
        expected: expected.into(),
    }
}

fn parse_rule(v: &Value, path: &str, depth: usize, count: &mut usize) -> Result<Rule, RuleError> {
    if depth > MAX_DEPTH {
        return Err(err(path, format!("at most {MAX_DEPTH} levels of nesting")));
    }
    let Some(obj) = v.as_object() else {
        return Err(err(
            path,
            "an object: a group {\"all\": [...]}, {\"any\": [...]}, {\"not\": RULE} or a condition {\"attr\", \"op\", \"value\"}",
        ));
    };
    for group in ["all", "any", "not"] {
        if let Some(inner) = obj.get(group) {
            if obj.len() != 1 {
                let other = obj.keys().find(|k| *k != group).expect("more than one key");
                return Err(err(
                    &format!("{path}.{other}"),
                    format!("nothing beside \"{group}\" in a group"),
                ));
            }
            let here = format!("{path}.{group}");
            if group == "not" {
                return Ok(Rule::Not(Box::new(parse_rule(inner, &here, depth + 1, count)?)));
            }
            let Some(list) = inner.as_array() else {
                return Err(err(&here, "a list of rules"));
            };
            if list.is_empty() {
                return Err(err(&here, "at least one rule"));
            }
            let rules = list
                .iter()
                .enumerate()
                .map(|(i, r)| parse_rule(r, &format!("{here}[{i}]"), depth + 1, count))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if group == "all" {
                Rule::All(rules)
            } else {
                Rule::Any(rules)
            });
        }
    }
    *count += 1;
    if *count > MAX_CONDITIONS {
        return Err(err(path, format!("at most {MAX_CONDITIONS} conditions in a rule")));
    }
    parse_condition(obj, path).map(Rule::Cond)
}

/// The parts of a condition object, each taken once; what is left over is an error.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    path: &'a str,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn need(&mut self, key: &'static str, what: &str) -> Result<&'a Value, RuleError> {
        self.get(key).ok_or_else(|| err(&self.at(key), what))
    }

    fn string(&mut self, key: &'static str) -> Result<String, RuleError> {
        match self.need(key, "a string")? {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err(err(&self.at(key), "a non-empty string")),
        }
    }

    fn count(&mut self, key: &'static str, what: &str) -> Result<Option<u32>, RuleError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n <= 36_500 => Ok(Some(n as u32)),
                _ => Err(err(&self.at(key), what)),
            },
        }
    }

    fn days(&mut self) -> Result<Option<u32>, RuleError> {
        match self.count("days", "a whole number of days from 1 to 36500")? {
            Some(0) => Err(err(&self.at("days"), "a whole number of days from 1 to 36500")),
            d => Ok(d),
        }
    }

    fn days_ago(&mut self) -> Result<u32, RuleError> {
        Ok(self
            .count("days_ago", "a whole number of days from 0 to 36500")?
            .unwrap_or(0))
    }

    /// No `days` on an attribute that has no window.
    fn no_days(&mut self, attr: &str) -> Result<(), RuleError> {
        if self.get("days").is_some() {
            return Err(err(
                &self.at("days"),
                format!("no \"days\": `{attr}` has no time window"),
            ));
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), RuleError> {
        match self.obj.keys().find(|k| !self.used.contains(&k.as_str())) {
            Some(k) => Err(err(&self.at(k), "not a part of this condition")),
            None => Ok(()),
        }
    }
}

fn number(v: &Value, path: &str) -> Result<f64, RuleError> {
    v.as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| err(path, "a number"))
}

/// `=`, `>=`, `<=` with a number, or `between` with `[lo, hi]`.
fn cmp(op: &str, f: &mut Fields, allowed: &str) -> Result<Cmp, RuleError> {
    let value = f.need("value", "a number, or [lo, hi] for between")?;
    let at = f.at("value");
    Ok(match op {
        "=" => Cmp::Eq(number(value, &at)?),
        ">=" => Cmp::Ge(number(value, &at)?),
        "<=" => Cmp::Le(number(value, &at)?),
        "between" => match value.as_array().map(Vec::as_slice) {
            Some([lo, hi]) => {
                let (lo, hi) = (number(lo, &format!("{at}[0]"))?, number(hi, &format!("{at}[1]"))?);
                if lo > hi {
                    return Err(err(&at, "[lo, hi] with lo ≤ hi"));
                }
                Cmp::Between(lo, hi)
            }
            _ => return Err(err(&at, "[lo, hi]: two numbers")),
        },
        _ => return Err(err(&f.at("op"), format!("one of {allowed}"))),
    })
}

/// At most this many ids in a `customer_id in [...]` condition: it names people, it is not a list.
pub const MAX_CUSTOMER_IDS: usize = 1_000;

/// A string or a list of strings (for `in` / `has_any`).
fn strings(v: &Value, path: &str) -> Result<Vec<String>, RuleError> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if list.is_empty() {
        return Err(err(path, "at least one string"));
    }
    list.iter()
        .enumerate()
        .map(|(i, s)| match s {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ if v.is_array() => Err(err(&format!("{path}[{i}]"), "a non-empty string")),
            _ => Err(err(path, "a non-empty string, or a list of them")),
        })
        .collect()
}

fn enum_values<T>(v: &Value, path: &str, parse: fn(&str) -> Option<T>, names: &str) -> Result<Vec<T>, RuleError> {
    let list = strings(v, path)?;
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            parse(s).ok_or_else(|| {
                let at = if v.is_array() {
                    format!("{path}[{i}]")
                } else {
                    path.to_string()
                };
                err(&at, format!("one of {names}"))
            })
        })
        .collect()
}

fn recency(op: &str, f: &mut Fields) -> Result<Recency, RuleError> {
    let n = match f.need("value", "a whole number of days")?.as_u64() {
        Some(n) if (1..=36_500).contains(&n) => n as u32,
        _ => return Err(err(&f.at("value"), "a whole number of days from 1 to 36500")),
    };
    match op {
        "within_days" => Ok(Recency::Within(n)),
        "not_within_days" => Ok(Recency::NotWithin(n)),
        _ => Err(err(&f.at("op"), "one of within_days, not_within_days")),
    }
}

const ATTRS: &str = "signed_up_at, last_seen_at, last_order_at, orders_count, total_spent, available_coupons, \
coupon_codes, tags, city, country, spend_tier, email_consent, sms_consent, kakao_consent, viewed, carted, \
checkout, purchased, interest, event, trait.NAME, rfm_segment, churn_risk, predicted_clv, probability_alive";

fn parse_condition(obj: &Map<String, Value>, path: &str) -> Result<Condition, RuleError> {
    let mut f = Fields {
        obj,
        path,
        used: Vec::new(),
    };
    let attr = match f.need("attr", &format!("one of {ATTRS}"))? {
        Value::String(s) => s.as_str(),
        _ => return Err(err(&f.at("attr"), format!("one of {ATTRS}"))),
    };
    let op = match f.need("op", "an operator")? {
        Value::String(s) => s.as_str(),
        _ => return Err(err(&f.at("op"), "an operator (a string)")),
    };
    use crate::customer::columns::Channel;
    let cond = match attr {
        "signed_up_at" | "last_seen_at" | "last_order_at" => {
            f.no_days(attr)?;
            let r = recency(op, &mut f)?;
            match attr {
                "signed_up_at" => Condition::SignedUp(r),
                "last_seen_at" => Condition::LastSeen(r),
                _ => Condition::LastOrder(r),
            }
        }
        "orders_count" | "total_spent" => {
            let days = f.days()?;
            let cmp = cmp(op, &mut f, "=, >=, <=, between")?;
            if attr == "orders_count" {
                Condition::OrdersCount { cmp, days }
            } else {
                Condition::TotalSpent { cmp, days }
            }
        }
        "available_coupons" => {
            f.no_days(attr)?;
            Condition::AvailableCoupons(cmp(op, &mut f, "=, >=, <=, between")?)
        }
        "coupon_codes" => {
            f.no_days(attr)?;
            if op != "contains" {
                return Err(err(&f.at("op"), "contains"));
            }
            Condition::CouponCode(f.string("value")?)
        }
        "customer_id" => {
            f.no_days(attr)?;
            if op != "in" {
                return Err(err(&f.at("op"), "in"));
            }
            let at = f.at("value");
            let v = f.need("value", "a list of customer ids")?;
            let ids: Vec<u64> = match v {
                Value::Array(list) if !list.is_empty() && list.len() <= MAX_CUSTOMER_IDS => list
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        id.as_u64()
                            .ok_or_else(|| err(&format!("{at}[{i}]"), "a customer id (a positive whole number)"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(err(&at, "a list of 1 to 1,000 customer ids")),
            };
            Condition::Customers(ids)
        }
        "tags" => {
            f.no_days(attr)?;
            let v = f.need("value", "a tag")?;
            let at = f.at("value");
            match op {
                "has" => match v {
                    Value::String(s) if !s.trim().is_empty() => Condition::TagsHas(s.trim().to_string()),
                    _ => return Err(err(&at, "a tag (a non-empty string)")),
                },
                "has_any" => Condition::TagsHasAny(strings(v, &at)?),
                _ => return Err(err(&f.at("op"), "one of has, has_any")),
            }
        }
        "city" | "country" => {
            f.no_days(attr)?;
            let v = f.need("value", "a string, or a list for in")?;
            let at = f.at("value");
            let values = match op {
                "=" => match v {
                    Value::String(s) if !s.trim().is_empty() => vec![s.trim().to_string()],
                    _ => return Err(err(&at, "a non-empty string")),
                },
                "in" => strings(v, &at)?,
                _ => return Err(err(&f.at("op"), "one of =, in")),
            };
            if attr == "city" {
                Condition::City(values)
            } else {
                Condition::Country(values)
            }
        }
        "email_consent" | "sms_consent" | "kakao_consent" => {
            f.no_days(attr)?;
            if op != "=" {
                return Err(err(&f.at("op"), "="));
            }
            let granted = f
                .need("value", "true or false")?
                .as_bool()
                .ok_or_else(|| err(&f.at("value"), "true or false"))?;
            let channel = match attr {
                "email_consent" => Channel::Email,
                "sms_consent" => Channel::Sms,
                _ => Channel::Kakao,
            };
            Condition::Consent { channel, granted }
        }
        "viewed" | "carted" | "checkout" | "purchased" => {
            let days = f.days()?;
            let name = f.string("value")?;
            let item = match op {
                "product" => Item::Product(name),
                "category" => Item::Category(name),
                _ => return Err(err(&f.at("op"), "one of product, category")),
            };
            let min_count = match f.count("min_count", "a whole number of times, at least 1")? {
                None => 1,
                Some(0) => return Err(err(&f.at("min_count"), "a whole number of times, at least 1")),
                Some(n) => n,
            };
            let kind = match attr {
                "viewed" => TouchKind::Viewed,
                "carted" => TouchKind::Carted,
                "checkout" => TouchKind::Checkout,
                _ => TouchKind::Purchased,
            };
            Condition::Touch {
                kind,
                item,
                min_count,
                days,
            }
        }
        "interest" => {
            let days = f.days()?;
            if op != "matches" {
                return Err(err(&f.at("op"), "matches"));
            }
            Condition::Interest {
                text: f.string("value")?,
                days,
            }
        }
        "event" => {
            let days = f.days()?;
            let name = f.string("name")?;
            Condition::Event {
                name,
                cmp: cmp(op, &mut f, "=, >=, <=, between")?,
                days,
            }
        }
        "spend_tier" | "churn_risk" => {
            f.no_days(attr)?;
            let days_ago = f.days_ago()?;
            if op != "=" && op != "in" {
                return Err(err(&f.at("op"), "one of =, in"));
            }
            let v = f.need("value", "low, medium or high")?;
            let levels = enum_values(v, &f.at("value"), Level::parse, "low, medium, high")?;
            if attr == "spend_tier" {
                Condition::SpendTier {
                    tiers: levels,
                    days_ago,
                }
            } else {
                Condition::ChurnRisk { levels, days_ago }
            }
        }
        "rfm_segment" => {
            f.no_days(attr)?;
            let days_ago = f.days_ago()?;
            if op != "=" && op != "in" {
                return Err(err(&f.at("op"), "one of =, in"));
            }
            let names: Vec<&str> = RfmGroup::ALL.iter().map(|g| g.as_str()).collect();
            let v = f.need("value", "an RFM group")?;
            let groups = enum_values(v, &f.at("value"), RfmGroup::parse, &names.join(", "))?;
            Condition::RfmSegment { groups, days_ago }
        }
        "predicted_clv" | "probability_alive" => {
            f.no_days(attr)?;
            let days_ago = f.days_ago()?;
            let cmp = cmp(op, &mut f, "=, >=, <=, between")?;
            if attr == "predicted_clv" {
                Condition::PredictedClv { cmp, days_ago }
            } else {
                Condition::ProbabilityAlive { cmp, days_ago }
            }
        }
        _ if attr.starts_with("trait.") && attr.len() > "trait.".len() => {
            f.no_days(attr)?;
            let name = attr["trait.".len()..].to_string();
            let test = match op {
                "exists" => {
                    f.get("value");
                    TraitTest::Exists
                }
                "=" => TraitTest::Eq(f.need("value", "a value")?.clone()),
                "!=" => TraitTest::Ne(f.need("value", "a value")?.clone()),
                "contains" => TraitTest::Contains(f.string("value")?),
                ">=" | "<=" => {
                    let n = number(f.need("value", "a number")?, &f.at("value"))?;
                    if op == ">=" { TraitTest::Ge(n) } else { TraitTest::Le(n) }
                }
                _ => return Err(err(&f.at("op"), "one of =, !=, contains, >=, <=, exists")),
            };
            Condition::Trait { name, test }
        }
        _ => return Err(err(&f.at("attr"), format!("one of {ATTRS}"))),
    };
    f.finish()?;
    Ok(cond)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bad(rule: Value) -> RuleError {
        Rule::parse(&rule).expect_err("refused")
    }

    #[test]
    fn the_sixshop_example_parses() {
        let rule = Rule::parse(&json!({"all": [
            {"attr": "signed_up_at", "op": "within_days", "value": 7},
            {"not": {"attr": "orders_count", "op": ">=", "value": 1, "days": 7}}
        ]}))
        .unwrap();
        assert_eq!(
            rule,
            Rule::All(vec![
                Rule::Cond(Condition::SignedUp(Recency::Within(7))),
                Rule::Not(Box::new(Rule::Cond(Condition::OrdersCount {
                    cmp: Cmp::Ge(1.0),
                    days: Some(7)
                })))
            ])
        );
        assert_eq!(rule.conditions().len(), 2);
    }

    #[test]
    fn every_attribute_of_the_contract_parses() {
        let conds = [
            json!({"attr": "last_seen_at", "op": "not_within_days", "value": 30}),
            json!({"attr": "last_order_at", "op": "within_days", "value": 90}),
            json!({"attr": "total_spent", "op": "between", "value": [10000, 50000], "days": 30}),
            json!({"attr": "available_coupons", "op": ">=", "value": 1}),
            json!({"attr": "coupon_codes", "op": "contains", "value": "WELCOME10"}),
            json!({"attr": "tags", "op": "has", "value": "vip"}),
            json!({"attr": "tags", "op": "has_any", "value": ["vip", "lapsed"]}),
            json!({"attr": "city", "op": "in", "value": ["서울", "부산"]}),
            json!({"attr": "country", "op": "=", "value": "KR"}),
            json!({"attr": "spend_tier", "op": "=", "value": "high"}),
            json!({"attr": "sms_consent", "op": "=", "value": true}),
            json!({"attr": "viewed", "op": "category", "value": "향수", "min_count": 2, "days": 14}),
            json!({"attr": "purchased", "op": "product", "value": "P0001"}),
            json!({"attr": "interest", "op": "matches", "value": "초콜릿", "days": 30}),
            json!({"attr": "event", "name": "Coupon Used", "op": "between", "value": [1, 3], "days": 7}),
            json!({"attr": "trait.plan", "op": "!=", "value": "free"}),
            json!({"attr": "trait.age", "op": ">=", "value": 30}),
            json!({"attr": "trait.nickname", "op": "exists"}),
            json!({"attr": "rfm_segment", "op": "=", "value": "champions", "days_ago": 30}),
            json!({"attr": "churn_risk", "op": "in", "value": ["medium", "high"]}),
            json!({"attr": "predicted_clv", "op": ">=", "value": 100000}),
            json!({"attr": "probability_alive", "op": "<=", "value": 0.3, "days_ago": 7}),
        ];
        for c in conds {
            Rule::parse(&c).unwrap_or_else(|e| panic!("{c}: {e}"));
        }
    }

    #[test]
    fn a_wrong_part_is_named_by_its_json_path() {
        let e = bad(json!({"all": [
            {"attr": "tags", "op": "has", "value": "vip"},
            {"any": [{"not": {"attr": "orders_count", "op": ">", "value": 1}}]}
        ]}));
        assert_eq!(e.path, "$.all[1].any[0].not.op");
        assert!(e.expected.contains(">="), "{e}");

        let e = bad(json!({"all": [{"attr": "total_spent", "op": "between", "value": [5, "x"]}]}));
        assert_eq!(e.path, "$.all[0].value[1]");
        let e = bad(json!({"attr": "total_spent", "op": "between", "value": [9, 5]}));
        assert_eq!(
            (e.path.as_str(), e.expected.as_str()),
            ("$.value", "[lo, hi] with lo ≤ hi")
        );
        let e = bad(json!({"attr": "nope", "op": "=", "value": 1}));
        assert_eq!(e.path, "$.attr");
        assert!(e.expected.contains("rfm_segment"));
        let e = bad(json!({"attr": "tags", "op": "has", "value": "vip", "days": 3}));
        assert_eq!(e.path, "$.days");
        let e = bad(json!({"attr": "tags", "op": "has", "value": "vip", "colour": "red"}));
        assert_eq!(e.path, "$.colour");
        let e = bad(json!({"attr": "event", "op": ">=", "value": 1}));
        assert_eq!(e.path, "$.name");
        let e = bad(json!({"attr": "rfm_segment", "op": "in", "value": ["champions", "heroes"]}));
        assert_eq!(e.path, "$.value[1]");
        let e = bad(json!({"attr": "viewed", "op": "category", "value": "향수", "min_count": 0}));
        assert_eq!(e.path, "$.min_count");
        let e = bad(json!({"all": []}));
        assert_eq!(e.path, "$.all");
        let e = bad(json!({"all": [], "any": []}));
        assert_eq!(e.path, "$.any");
        let e = bad(json!([1, 2]));
        assert_eq!(e.path, "$");
        let e = bad(json!({"attr": "signed_up_at", "op": "within_days", "value": 0}));
        assert_eq!(e.path, "$.value");
        let e = bad(json!({"attr": "email_consent", "op": "=", "value": "yes"}));
        assert_eq!(e.path, "$.value");
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let mut rule = json!({"attr": "tags", "op": "has", "value": "x"});
        for _ in 0..40 {
            rule = json!({ "not": rule });
        }
        assert!(bad(rule).expected.contains("nesting"));
        let many: Vec<Value> = (0..201)
            .map(|_| json!({"attr": "tags", "op": "has", "value": "x"}))
            .collect();
        assert!(bad(json!({ "any": many })).expected.contains("conditions"));
    }

    #[test]
    fn numbers_compare_as_the_operators_say() {
        assert!(Cmp::Ge(1.0).matches(1.0) && !Cmp::Ge(1.0).matches(0.5));
        assert!(Cmp::Between(2.0, 4.0).matches(4.0) && !Cmp::Between(2.0, 4.0).matches(4.5));
        assert!(Cmp::Eq(3.0).matches(3.0) && Cmp::Le(3.0).matches(-1.0));
    }
}
