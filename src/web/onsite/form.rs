//! The message form as typed, read into the API's `MessageInput`, and written back from one: the
//! same input whether a message comes from the console or `POST /api/v1/messages`.

use std::collections::BTreeMap;

use chrono::TimeZone;
use chrono_tz::Tz;

use crate::i18n::Catalog;
use crate::onsite::{
    Content, Device, Display, Frequency, Hours, Kind, Measure, Membership, MessageInput, Position, Range,
    RecommendSlot, SocialProof, StopAfter, Target, Trigger, UrlMatch, UrlRule, Visitor,
};

/// One URL rule row of the form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UrlRow {
    /// `include` or `exclude`.
    pub mode: String,
    pub matching: String,
    pub value: String,
}

/// The form as typed: every field a string (a set of checkboxes a list), shown back as it was
/// when something is wrong.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub csrf: String,
    pub name: String,
    /// The ready-made message it started from (kept, hidden).
    pub template: String,
    pub kind: String,
    pub title: String,
    pub subtitle: String,
    pub html: String,
    pub image_url: String,
    pub button_text: String,
    pub button_url: String,
    pub show_price: bool,
    pub show_regular_price: bool,
    pub backdrop: bool,
    pub close_button: bool,
    pub background: String,
    pub color: String,
    pub border: String,
    pub accent: String,
    pub position: String,
    pub auto_dismiss: String,
    /// The fallback of `{{ customer.name }}`.
    pub fallback_name: String,
    /// Empty: no cards (a recommendation message needs them).
    pub recommend_strategy: String,
    pub recommend_limit: String,
    pub review_url: String,
    pub coupon_id: String,
    /// Empty: no social proof.
    pub proof_measure: String,
    pub proof_minimum: String,
    pub segment_id: String,
    /// A live rule in the segment rule language, as JSON.
    pub rule: String,
    pub urls: Vec<UrlRow>,
    pub devices: Vec<String>,
    pub visitor: String,
    pub member: String,
    pub cart_value_min: String,
    pub cart_value_max: String,
    pub cart_items_min: String,
    pub cart_items_max: String,
    /// The triggers chosen (`arrival`, `delay`, …) and their numbers.
    pub triggers: Vec<String>,
    pub delay_seconds: String,
    pub scroll_percent: String,
    pub page_views: String,
    pub event: String,
    /// `datetime-local` values in the shop's zone.
    pub starts_at: String,
    pub ends_at: String,
    pub weekdays: Vec<String>,
    pub hours_from: String,
    pub hours_to: String,
    /// `page`, `visit`, `days` or `once`, and the days of `days`.
    pub frequency: String,
    pub frequency_days: String,
    pub max_views: String,
    pub stop_after: Vec<String>,
    pub priority: String,
    pub dont_show_days: String,
    pub attribution_days: String,
    /// The preview: a customer (id, user id, anonymous id or email), the page, its product, the
    /// device.
    pub preview_customer: String,
    pub preview_url: String,
    pub preview_product: String,
    pub preview_device: String,
    /// The message being changed, for the preview (empty: a new one).
    pub message_id: String,
}

/// A stored instant as a `datetime-local` value in the shop's zone.
fn local_input(rfc3339: &Option<String>, tz: Tz) -> String {
    rfc3339
        .as_deref()
        .and_then(crate::value::parse_time)
        .and_then(|ms| tz.timestamp_millis_opt(ms).single())
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

fn some<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The snake_case name serde gives a unit variant.
fn name_of(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// A number as typed (group separators and spaces allowed); None when empty.
pub fn number<T: std::str::FromStr>(s: &str) -> Result<Option<T>, ()> {
    let s: String = s.chars().filter(|c| !c.is_whitespace() && *c != ',').collect();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| ())
}

impl Draft {
    pub fn from_input(i: &MessageInput, tz: Tz) -> Draft {
        let c = &i.content;
        let t = &i.target;
        let d = &i.display;
        let mut draft = Draft {
            name: i.name.clone(),
            template: i.template.clone().unwrap_or_default(),
            kind: i.kind.as_str().to_string(),
            title: c.title.clone(),
            subtitle: c.subtitle.clone(),
            html: c.html.clone().unwrap_or_default(),
            image_url: c.image_url.clone().unwrap_or_default(),
            button_text: c.button_text.clone().unwrap_or_default(),
            button_url: c.button_url.clone().unwrap_or_default(),
            show_price: c.show_price,
            show_regular_price: c.show_regular_price,
            backdrop: c.backdrop,
            close_button: c.close_button,
            background: c.background.clone().unwrap_or_default(),
            color: c.color.clone().unwrap_or_default(),
            border: c.border.clone().unwrap_or_default(),
            accent: c.accent.clone().unwrap_or_default(),
            position: name_of(c.position),
            auto_dismiss: some(c.auto_dismiss_seconds),
            fallback_name: i.fallbacks.get("customer.name").cloned().unwrap_or_default(),
            recommend_strategy: i.recommend.as_ref().map(|r| r.strategy.clone()).unwrap_or_default(),
            recommend_limit: i.recommend.as_ref().map_or("4".into(), |r| r.limit.to_string()),
            review_url: i
                .recommend
                .as_ref()
                .and_then(|r| r.review_url.clone())
                .unwrap_or_default(),
            coupon_id: some(i.coupon_id),
            proof_measure: i.social_proof.as_ref().map(|p| name_of(p.measure)).unwrap_or_default(),
            proof_minimum: i.social_proof.as_ref().map_or("3".into(), |p| p.minimum.to_string()),
            segment_id: some(t.segment_id),
            rule: t
                .rule
                .as_ref()
                .map(|r| serde_json::to_string_pretty(r).unwrap_or_default())
                .unwrap_or_default(),
            urls: t
                .urls
                .iter()
                .map(|u| UrlRow {
                    mode: if u.exclude { "exclude" } else { "include" }.into(),
                    matching: name_of(u.matching),
                    value: u.value.clone(),
                })
                .collect(),
            devices: t.devices.iter().map(|d| name_of(*d)).collect(),
            visitor: name_of(t.visitor),
            member: name_of(t.member),
            cart_value_min: some(t.cart_value.and_then(|r| r.min)),
            cart_value_max: some(t.cart_value.and_then(|r| r.max)),
            cart_items_min: some(t.cart_items.and_then(|r| r.min)),
            cart_items_max: some(t.cart_items.and_then(|r| r.max)),
            delay_seconds: "5".into(),
            scroll_percent: "50".into(),
            page_views: "2".into(),
            event: "Product Added".into(),
            starts_at: local_input(&d.starts_at, tz),
            ends_at: local_input(&d.ends_at, tz),
            weekdays: d.weekdays.iter().map(u32::to_string).collect(),
            hours_from: some(d.hours.map(|h| h.from)),
            hours_to: some(d.hours.map(|h| h.to)),
            frequency: match d.frequency {
                Frequency::Page => "page",
                Frequency::Visit => "visit",
                Frequency::Days { .. } => "days",
                Frequency::Once => "once",
            }
            .into(),
            frequency_days: match d.frequency {
                Frequency::Days { days } => days.to_string(),
                _ => "7".into(),
            },
            max_views: some(d.max_views),
            stop_after: d.stop_after.iter().map(|s| name_of(*s)).collect(),
            priority: d.priority.to_string(),
            dont_show_days: d.dont_show_days.to_string(),
            attribution_days: i.attribution_days.to_string(),
            ..Draft::default()
        };
        // Two triggers of one kind race; the earlier one (the smaller number) is the one that fires.
        let earliest = |now: &str, n: u32, had: bool| match now.parse::<u32>() {
            Ok(m) if had && m < n => m.to_string(),
            _ => n.to_string(),
        };
        for trigger in &i.triggers {
            let had = |name: &str| draft.triggers.iter().any(|t| t == name);
            let name = match trigger {
                Trigger::Arrival => "arrival",
                Trigger::Delay { seconds } => {
                    draft.delay_seconds = earliest(&draft.delay_seconds, *seconds, had("delay"));
                    "delay"
                }
                Trigger::Scroll { percent } => {
                    draft.scroll_percent = earliest(&draft.scroll_percent, *percent, had("scroll"));
                    "scroll"
                }
                Trigger::ExitIntent => "exit_intent",
                Trigger::PageViews { count } => {
                    draft.page_views = earliest(&draft.page_views, *count, had("page_views"));
                    "page_views"
                }
                Trigger::Event { event } => {
                    // Several events are one field, comma separated.
                    if draft.triggers.iter().any(|t| t == "event") {
                        draft.event = format!("{}, {event}", draft.event);
                    } else {
                        draft.event = event.clone();
                    }
                    "event"
                }
            };
            if !draft.triggers.iter().any(|t| t == name) {
                draft.triggers.push(name.into());
            }
        }
        draft
    }

    /// A new message's form: a modal with the API's defaults.
    pub fn blank(tz: Tz) -> Draft {
        let input: MessageInput =
            serde_json::from_value(serde_json::json!({"name": "", "kind": "modal"})).expect("the defaults are valid");
        Draft::from_input(&input, tz)
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Draft {
        let mut d = Draft::default();
        let mut url_modes = Vec::new();
        let mut url_matches = Vec::new();
        let mut url_values = Vec::new();
        for (k, v) in pairs {
            // Browsers send a textarea's line breaks as CRLF.
            let v = v.replace("\r\n", "\n");
            let slot = match k.as_str() {
                "csrf" => &mut d.csrf,
                "name" => &mut d.name,
                "template" => &mut d.template,
                "kind" => &mut d.kind,
                "title" => &mut d.title,
                "subtitle" => &mut d.subtitle,
                "html" => &mut d.html,
                "image_url" => &mut d.image_url,
                "button_text" => &mut d.button_text,
                "button_url" => &mut d.button_url,
                "background" => &mut d.background,
                "color" => &mut d.color,
                "border" => &mut d.border,
                "accent" => &mut d.accent,
                "position" => &mut d.position,
                "auto_dismiss" => &mut d.auto_dismiss,
                "fallback_name" => &mut d.fallback_name,
                "recommend_strategy" => &mut d.recommend_strategy,
                "recommend_limit" => &mut d.recommend_limit,
                "review_url" => &mut d.review_url,
                "coupon_id" => &mut d.coupon_id,
                "proof_measure" => &mut d.proof_measure,
                "proof_minimum" => &mut d.proof_minimum,
                "segment_id" => &mut d.segment_id,
                "rule" => &mut d.rule,
                "visitor" => &mut d.visitor,
                "member" => &mut d.member,
                "cart_value_min" => &mut d.cart_value_min,
                "cart_value_max" => &mut d.cart_value_max,
                "cart_items_min" => &mut d.cart_items_min,
                "cart_items_max" => &mut d.cart_items_max,
                "delay_seconds" => &mut d.delay_seconds,
                "scroll_percent" => &mut d.scroll_percent,
                "page_views" => &mut d.page_views,
                "event" => &mut d.event,
                "starts_at" => &mut d.starts_at,
                "ends_at" => &mut d.ends_at,
                "hours_from" => &mut d.hours_from,
                "hours_to" => &mut d.hours_to,
                "frequency" => &mut d.frequency,
                "frequency_days" => &mut d.frequency_days,
                "max_views" => &mut d.max_views,
                "priority" => &mut d.priority,
                "dont_show_days" => &mut d.dont_show_days,
                "attribution_days" => &mut d.attribution_days,
                "preview_customer" => &mut d.preview_customer,
                "preview_url" => &mut d.preview_url,
                "preview_product" => &mut d.preview_product,
                "preview_device" => &mut d.preview_device,
                "message_id" => &mut d.message_id,
                "show_price" => {
                    d.show_price = true;
                    continue;
                }
                "show_regular_price" => {
                    d.show_regular_price = true;
                    continue;
                }
                "backdrop" => {
                    d.backdrop = true;
                    continue;
                }
                "close_button" => {
                    d.close_button = true;
                    continue;
                }
                "device" => {
                    d.devices.push(v);
                    continue;
                }
                "trigger" => {
                    d.triggers.push(v);
                    continue;
                }
                "weekday" => {
                    d.weekdays.push(v);
                    continue;
                }
                "stop_after" => {
                    d.stop_after.push(v);
                    continue;
                }
                "url_mode" => {
                    url_modes.push(v);
                    continue;
                }
                "url_match" => {
                    url_matches.push(v);
                    continue;
                }
                "url_value" => {
                    url_values.push(v);
                    continue;
                }
                _ => continue,
            };
            *slot = v;
        }
        d.urls = url_values
            .into_iter()
            .enumerate()
            .map(|(i, value)| UrlRow {
                mode: url_modes.get(i).cloned().unwrap_or_default(),
                matching: url_matches.get(i).cloned().unwrap_or_default(),
                value,
            })
            .filter(|r| !r.value.trim().is_empty())
            .collect();
        d
    }

    /// The API's input, or the first field that cannot be read, named as the API names it.
    /// `fallbacks` are the message's other fallbacks, kept as they were.
    pub fn input(
        &self,
        tz: Tz,
        t: &Catalog,
        mut fallbacks: BTreeMap<String, String>,
    ) -> Result<MessageInput, (String, String)> {
        let wrong = |field: &str| (field.to_string(), t.get("messages.error.number").to_string());
        let num = |field: &str, s: &str| number::<f64>(s).map_err(|_| wrong(field));
        let whole = |field: &str, s: &str| number::<u32>(s).map_err(|_| wrong(field));
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == self.kind)
            .ok_or_else(|| ("kind".to_string(), t.get("messages.error.kind").to_string()))?;
        let position: Position = parse_name(&self.position).unwrap_or_default();
        let content = Content {
            title: self.title.clone(),
            subtitle: self.subtitle.clone(),
            html: opt(&self.html).map(|_| self.html.clone()),
            image_url: opt(&self.image_url),
            button_text: opt(&self.button_text),
            button_url: opt(&self.button_url),
            show_price: self.show_price,
            show_regular_price: self.show_regular_price,
            background: opt(&self.background),
            color: opt(&self.color),
            border: opt(&self.border),
            accent: opt(&self.accent),
            backdrop: self.backdrop,
            position,
            auto_dismiss_seconds: whole("content.auto_dismiss_seconds", &self.auto_dismiss)?,
            close_button: self.close_button,
        };
        match opt(&self.fallback_name) {
            Some(name) => fallbacks.insert("customer.name".into(), name),
            None => fallbacks.remove("customer.name"),
        };
        let recommend = match opt(&self.recommend_strategy) {
            Some(strategy) => Some(RecommendSlot {
                strategy,
                limit: number::<usize>(&self.recommend_limit)
                    .map_err(|_| wrong("recommend.limit"))?
                    .unwrap_or(4),
                review_url: opt(&self.review_url),
            }),
            None => None,
        };
        let coupon_id = number::<u64>(&self.coupon_id).map_err(|_| wrong("coupon_id"))?;
        let social_proof = match parse_name::<Measure>(&self.proof_measure) {
            Some(measure) => Some(SocialProof {
                measure,
                minimum: whole("social_proof.minimum", &self.proof_minimum)?.unwrap_or(3),
            }),
            None => None,
        };
        let rule = match opt(&self.rule) {
            None => None,
            Some(s) => Some(serde_json::from_str(&s).map_err(|e| {
                (
                    "target.rule".to_string(),
                    format!("{} ({e})", t.get("messages.error.json")),
                )
            })?),
        };
        let range = |field: &str, min: &str, max: &str| -> Result<Option<Range>, (String, String)> {
            let (min, max) = (num(field, min)?, num(field, max)?);
            Ok((min.is_some() || max.is_some()).then_some(Range { min, max }))
        };
        let mut urls = Vec::new();
        for row in &self.urls {
            urls.push(UrlRule {
                matching: parse_name(&row.matching).unwrap_or(UrlMatch::Contains),
                value: row.value.trim().to_string(),
                exclude: row.mode == "exclude",
            });
        }
        let target = Target {
            segment_id: number::<u64>(&self.segment_id).map_err(|_| wrong("target.segment_id"))?,
            rule,
            urls,
            devices: self.devices.iter().filter_map(|d| parse_name::<Device>(d)).collect(),
            visitor: parse_name(&self.visitor).unwrap_or(Visitor::Any),
            member: parse_name(&self.member).unwrap_or(Membership::Any),
            cart_value: range("target.cart_value", &self.cart_value_min, &self.cart_value_max)?,
            cart_items: range("target.cart_items", &self.cart_items_min, &self.cart_items_max)?,
        };
        let mut triggers = Vec::new();
        for name in &self.triggers {
            let required = |field: &str, s: &str| -> Result<u32, (String, String)> {
                whole(field, s)?.ok_or_else(|| wrong(field))
            };
            triggers.push(match name.as_str() {
                "arrival" => Trigger::Arrival,
                "delay" => Trigger::Delay {
                    seconds: required("triggers.delay.seconds", &self.delay_seconds)?,
                },
                "scroll" => Trigger::Scroll {
                    percent: required("triggers.scroll.percent", &self.scroll_percent)?,
                },
                "exit_intent" => Trigger::ExitIntent,
                "page_views" => Trigger::PageViews {
                    count: required("triggers.page_views.count", &self.page_views)?,
                },
                "event" => {
                    let mut names = self.event.split(',').map(str::trim).filter(|e| !e.is_empty());
                    let first = names.next().unwrap_or_default().to_string();
                    let more: Vec<Trigger> = names.map(|e| Trigger::Event { event: e.to_string() }).collect();
                    triggers.push(Trigger::Event { event: first });
                    triggers.extend(more);
                    continue;
                }
                _ => continue,
            });
        }
        let time = |field: &str, s: &str| -> Result<Option<String>, (String, String)> {
            match opt(s) {
                None => Ok(None),
                Some(s) => super::super::coupons::local_to_rfc3339(&s, tz)
                    .map(Some)
                    .ok_or_else(|| (field.to_string(), t.get("messages.error.time").to_string())),
            }
        };
        let hours = match (
            whole("display.hours", &self.hours_from)?,
            whole("display.hours", &self.hours_to)?,
        ) {
            (None, None) => None,
            (from, to) => Some(Hours {
                from: from.unwrap_or(0),
                to: to.unwrap_or(24),
            }),
        };
        let display = Display {
            starts_at: time("display.starts_at", &self.starts_at)?,
            ends_at: time("display.ends_at", &self.ends_at)?,
            weekdays: self.weekdays.iter().filter_map(|w| w.parse().ok()).collect(),
            hours,
            frequency: match self.frequency.as_str() {
                "page" => Frequency::Page,
                "days" => Frequency::Days {
                    days: whole("display.frequency.days", &self.frequency_days)?.unwrap_or(7),
                },
                "once" => Frequency::Once,
                _ => Frequency::Visit,
            },
            max_views: whole("display.max_views", &self.max_views)?,
            stop_after: self
                .stop_after
                .iter()
                .filter_map(|s| parse_name::<StopAfter>(s))
                .collect(),
            priority: number::<i32>(&self.priority)
                .map_err(|_| wrong("display.priority"))?
                .unwrap_or(0),
            dont_show_days: whole("display.dont_show_days", &self.dont_show_days)?.unwrap_or(7),
        };
        Ok(MessageInput {
            name: self.name.trim().to_string(),
            kind,
            template: opt(&self.template),
            content,
            fallbacks,
            recommend,
            coupon_id,
            social_proof,
            target,
            triggers,
            display,
            attribution_days: whole("attribution_days", &self.attribution_days)?.unwrap_or(1),
        })
    }
}

/// Where on the form a field the API names sits (the id of its message is `error-SLOT`).
pub fn slot(field: &str) -> &'static str {
    let parts = [
        ("content.title", "title"),
        ("content.subtitle", "subtitle"),
        ("content.html", "html"),
        ("content.image_url", "image_url"),
        ("content.button", "button"),
        ("content.auto_dismiss_seconds", "auto_dismiss"),
        ("content.", "look"),
        ("fallbacks", "title"),
        ("recommend", "recommend"),
        ("coupon_id", "coupon_id"),
        ("social_proof", "proof"),
        ("target.segment_id", "segment_id"),
        ("target.rule", "rule"),
        ("target.urls", "urls"),
        ("target.cart", "cart"),
        ("target.", "target"),
        ("triggers", "triggers"),
        ("display.starts_at", "schedule"),
        ("display.ends_at", "schedule"),
        ("display.weekdays", "schedule"),
        ("display.hours", "schedule"),
        ("display.", "frequency"),
        ("attribution_days", "frequency"),
        ("name", "name"),
        ("kind", "kind"),
    ];
    parts
        .iter()
        .find(|(prefix, _)| field.starts_with(prefix))
        .map_or("form", |(_, slot)| slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn every_ready_made_message_fills_the_form_and_reads_back_the_same() {
        let tz = chrono_tz::Asia::Seoul;
        let t = Catalog::for_lang(Lang::En);
        for tpl in crate::onsite::templates::all() {
            let d = Draft::from_input(&tpl.input, tz);
            let back = d.input(tz, t, BTreeMap::new()).unwrap();
            let mut want = serde_json::to_value(&tpl.input).unwrap();
            // The form keeps the fallbacks it does not show when saving; a template's are all
            // the customer's name.
            want["fallbacks"] = serde_json::to_value(&back.fallbacks).unwrap();
            assert_eq!(serde_json::to_value(&back).unwrap(), want, "{}", tpl.key);
        }
    }

    #[test]
    fn several_event_triggers_are_one_field() {
        let tz = chrono_tz::Asia::Seoul;
        let t = Catalog::for_lang(Lang::En);
        let mut input = crate::onsite::templates::find("recently_viewed").unwrap().input;
        input.triggers = vec![
            Trigger::Event {
                event: "Product Added".into(),
            },
            Trigger::Arrival,
            Trigger::Event {
                event: "Checkout Started".into(),
            },
        ];
        let d = Draft::from_input(&input, tz);
        assert_eq!(d.event, "Product Added, Checkout Started");
        let back = d.input(tz, t, BTreeMap::new()).unwrap();
        let mut events: Vec<String> = back
            .triggers
            .iter()
            .filter_map(|t| match t {
                Trigger::Event { event } => Some(event.clone()),
                _ => None,
            })
            .collect();
        events.sort();
        assert_eq!(events, ["Checkout Started", "Product Added"]);
        assert!(back.triggers.contains(&Trigger::Arrival));
        // Two delays race: the shorter one is the one that fires, and the one kept.
        input.triggers = vec![Trigger::Delay { seconds: 10 }, Trigger::Delay { seconds: 3 }];
        assert_eq!(Draft::from_input(&input, tz).delay_seconds, "3");
    }

    #[test]
    fn a_form_value_that_cannot_be_read_names_the_api_field() {
        let tz = chrono_tz::Asia::Seoul;
        let t = Catalog::for_lang(Lang::En);
        let mut d = Draft::blank(tz);
        d.name = "x".into();
        d.triggers = vec!["delay".into()];
        d.delay_seconds = "soon".into();
        assert_eq!(d.input(tz, t, BTreeMap::new()).unwrap_err().0, "triggers.delay.seconds");
        d.delay_seconds = "3".into();
        d.rule = "{not json".into();
        assert_eq!(d.input(tz, t, BTreeMap::new()).unwrap_err().0, "target.rule");
        assert_eq!(slot("target.urls[0].value"), "urls");
        assert_eq!(slot("display.frequency.days"), "frequency");
        assert_eq!(slot("content.background"), "look");
    }
}
