//! Parsing and validating one Segment message (identify, track, page, screen, group, alias).
//! Every error names the field it is about, with the path the client sent it under.

use serde_json::{Map, Value};

use crate::error::{ErrorCode, HasCode};
use crate::store::records::EventKind;
pub use crate::value::{is_email, normalize_email, number, parse_time, type_name};

/// A validated message, ready to apply.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: EventKind,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub previous_id: Option<String>,
    pub group_id: Option<String>,
    pub event: Option<String>,
    pub name: Option<String>,
    pub message_id: Option<String>,
    pub timestamp: Option<i64>,
    pub sent_at: Option<i64>,
    pub properties: Map<String, Value>,
    pub traits: Map<String, Value>,
    pub context: Map<String, Value>,
    /// The `userHash` that proves `userId` (top level, or `context.userHash`); not stored.
    pub user_hash: Option<String>,
}

/// What is wrong with one message, and where.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub code: ErrorCode,
    pub field: String,
    pub message: String,
}

impl HasCode for FieldError {
    fn code(&self) -> ErrorCode {
        self.code
    }
    fn field(&self) -> Option<&str> {
        Some(&self.field)
    }
}

fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

fn invalid(prefix: &str, field: &str, what: impl std::fmt::Display) -> FieldError {
    let field = path(prefix, field);
    FieldError {
        code: ErrorCode::InvalidField,
        message: format!("`{field}` {what}"),
        field,
    }
}

fn missing(prefix: &str, field: &str, what: impl std::fmt::Display) -> FieldError {
    let field = path(prefix, field);
    FieldError {
        code: ErrorCode::MissingField,
        message: format!("`{field}` is required {what}"),
        field,
    }
}

/// Longest id (userId, anonymousId, messageId, …) accepted.
const MAX_ID: usize = 512;

/// An id may be a string or a number (Segment clients send numbers as they are).
fn id_field(obj: &Map<String, Value>, key: &str, prefix: &str) -> Result<Option<String>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_ID => {
            Err(invalid(prefix, key, format!("is longer than {MAX_ID} bytes")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(invalid(
            prefix,
            key,
            format!("must be a string, got {}", type_name(other)),
        )),
    }
}

fn text_field(obj: &Map<String, Value>, key: &str, prefix: &str) -> Result<Option<String>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(
            prefix,
            key,
            format!("must be a string, got {}", type_name(other)),
        )),
    }
}

/// Takes an object field out of the message (no copy).
fn object_field(obj: &mut Map<String, Value>, key: &str, prefix: &str) -> Result<Map<String, Value>, FieldError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(invalid(
            prefix,
            key,
            format!("must be an object, got {}", type_name(&other)),
        )),
    }
}

fn time_field(obj: &Map<String, Value>, key: &str, prefix: &str) -> Result<Option<i64>, FieldError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_time(s)
            .map(Some)
            .ok_or_else(|| invalid(prefix, key, format!("is not an ISO-8601 date-time: {s:?}"))),
        Some(other) => Err(invalid(
            prefix,
            key,
            format!("must be an ISO-8601 date-time string, got {}", type_name(other)),
        )),
    }
}

/// Properties the E-commerce Spec defines as numbers.
const NUMERIC: [&str; 8] = [
    "price", "quantity", "total", "revenue", "discount", "shipping", "tax", "value",
];

fn check_numbers(props: &Map<String, Value>, prefix: &str) -> Result<(), FieldError> {
    for key in NUMERIC {
        if let Some(v) = props.get(key)
            && !v.is_null()
            && number(v).is_none()
        {
            return Err(invalid(prefix, key, format!("must be a number, got {}", type_name(v))));
        }
    }
    Ok(())
}

impl Message {
    /// Validates a message. `kind` is the route's type for single-message endpoints, or `None`
    /// to read it from the message's `type` (batch items). `prefix` is where the message sits in
    /// the request (`batch[3]`), so that errors name the field as the client sent it.
    pub fn parse(value: Value, kind: Option<EventKind>, prefix: &str) -> Result<Message, FieldError> {
        let Value::Object(mut obj) = value else {
            return Err(FieldError {
                code: ErrorCode::InvalidField,
                field: prefix.to_string(),
                message: format!(
                    "`{}` must be a JSON object, got {}",
                    if prefix.is_empty() { "body" } else { prefix },
                    type_name(&value)
                ),
            });
        };
        let kind = match kind {
            Some(k) => k,
            None => match obj.get("type") {
                Some(Value::String(t)) => EventKind::parse(t).ok_or_else(|| {
                    invalid(
                        prefix,
                        "type",
                        format!("must be one of identify, track, page, screen, group, alias; got {t:?}"),
                    )
                })?,
                None | Some(Value::Null) => {
                    return Err(missing(prefix, "type", "on each batch item"));
                }
                Some(other) => {
                    return Err(invalid(
                        prefix,
                        "type",
                        format!("must be a string, got {}", type_name(other)),
                    ));
                }
            },
        };
        let obj = &mut obj;
        let user_id = id_field(obj, "userId", prefix)?;
        let anonymous_id = id_field(obj, "anonymousId", prefix)?;
        let previous_id = id_field(obj, "previousId", prefix)?;
        let group_id = id_field(obj, "groupId", prefix)?;
        let message_id = id_field(obj, "messageId", prefix)?;
        if user_id.is_none() && anonymous_id.is_none() {
            return Err(missing(prefix, "userId", "(or `anonymousId`)"));
        }
        let timestamp = match time_field(obj, "timestamp", prefix)? {
            Some(t) => Some(t),
            None => time_field(obj, "originalTimestamp", prefix)?,
        };
        let sent_at = time_field(obj, "sentAt", prefix)?;
        let properties = object_field(obj, "properties", prefix)?;
        let traits = object_field(obj, "traits", prefix)?;
        let mut context = object_field(obj, "context", prefix)?;
        let user_hash = match text_field(obj, "userHash", prefix)? {
            Some(h) => Some(h),
            None if context.contains_key("userHash") => {
                let h = text_field(&context, "userHash", &path(prefix, "context"))?;
                context.remove("userHash");
                h
            }
            None => None,
        };
        let event = text_field(obj, "event", prefix)?;
        let name = text_field(obj, "name", prefix)?;
        match kind {
            EventKind::Track if event.as_deref().is_none_or(|e| e.trim().is_empty()) => {
                return Err(missing(prefix, "event", "on a track message"));
            }
            EventKind::Alias if previous_id.is_none() => {
                return Err(missing(prefix, "previousId", "on an alias message"));
            }
            EventKind::Alias if user_id.is_none() => {
                return Err(missing(prefix, "userId", "on an alias message"));
            }
            EventKind::Group if group_id.is_none() => {
                return Err(missing(prefix, "groupId", "on a group message"));
            }
            _ => {}
        }
        let msg = Message {
            kind,
            user_id,
            anonymous_id,
            previous_id,
            group_id,
            event,
            name,
            message_id,
            timestamp,
            sent_at,
            properties,
            traits,
            context,
            user_hash,
        };
        msg.check_ecommerce(prefix)?;
        msg.check_traits(prefix)?;
        Ok(msg)
    }

    fn check_ecommerce(&self, prefix: &str) -> Result<(), FieldError> {
        if self.kind != EventKind::Track {
            return Ok(());
        }
        let props_path = path(prefix, "properties");
        check_numbers(&self.properties, &props_path)?;
        match self.properties.get("products") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{props_path}.products[{i}]");
                    let Value::Object(p) = item else {
                        return Err(FieldError {
                            code: ErrorCode::InvalidField,
                            message: format!("`{item_path}` must be an object, got {}", type_name(item)),
                            field: item_path,
                        });
                    };
                    check_numbers(p, &item_path)?;
                }
            }
            Some(other) => {
                return Err(invalid(
                    &props_path,
                    "products",
                    format!("must be an array, got {}", type_name(other)),
                ));
            }
        }
        let event = self.event.as_deref().unwrap_or_default();
        if matches!(
            event,
            "Order Completed" | "Order Refunded" | "Order Updated" | "Order Cancelled"
        ) && self.properties.get("order_id").is_none_or(|v| v.is_null())
        {
            return Err(missing(&props_path, "order_id", format!("on an `{event}` event")));
        }
        if let Some(v) = self.properties.get("order_id")
            && !matches!(v, Value::String(_) | Value::Number(_))
        {
            return Err(invalid(
                &props_path,
                "order_id",
                format!("must be a string, got {}", type_name(v)),
            ));
        }
        Ok(())
    }

    fn check_traits(&self, prefix: &str) -> Result<(), FieldError> {
        let traits_path = path(prefix, "traits");
        if let Some(v) = self.traits.get("email") {
            match v {
                Value::Null => {}
                Value::String(s) if s.trim().is_empty() || is_email(s) => {}
                Value::String(_) => {
                    return Err(invalid(&traits_path, "email", "is not a valid email address"));
                }
                other => {
                    return Err(invalid(
                        &traits_path,
                        "email",
                        format!("must be a string, got {}", type_name(other)),
                    ));
                }
            }
        }
        for key in ["email_consent", "sms_consent", "kakao_consent"] {
            if let Some(v) = self.traits.get(key)
                && !matches!(v, Value::Bool(_) | Value::Null)
            {
                return Err(invalid(
                    &traits_path,
                    key,
                    format!("must be a boolean, got {}", type_name(v)),
                ));
            }
        }
        if let Some(v) = self.traits.get("tags")
            && !matches!(v, Value::Array(_) | Value::String(_) | Value::Null)
        {
            return Err(invalid(
                &traits_path,
                "tags",
                format!("must be a list of strings, got {}", type_name(v)),
            ));
        }
        Ok(())
    }

    /// The email this message ties the person to, normalised, and the field it came from:
    /// identify traits, an order's `email` property, or `context.traits.email`.
    pub fn email(&self) -> Option<(&'static str, String)> {
        let from = |m: &Map<String, Value>| m.get("email").and_then(Value::as_str).map(str::to_string);
        let ctx_traits = self.context.get("traits").and_then(Value::as_object);
        let (field, email) = from(&self.traits)
            .map(|e| ("traits.email", e))
            .or_else(|| from(&self.properties).map(|e| ("properties.email", e)))
            .or_else(|| ctx_traits.and_then(from).map(|e| ("context.traits.email", e)))?;
        is_email(&email).then(|| (field, normalize_email(&email)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_field_with_its_batch_path() {
        let err = Message::parse(json!({"type":"track","event":"x"}), None, "batch[2]").unwrap_err();
        assert_eq!(err.field, "batch[2].userId");
        assert_eq!(err.code, ErrorCode::MissingField);
        let err = Message::parse(
            json!({"type":"track","userId":"u","event":"x","timestamp":"yesterday"}),
            None,
            "",
        )
        .unwrap_err();
        assert_eq!(err.field, "timestamp");
        let err = Message::parse(
            json!({"type":"track","userId":"u","event":"Order Completed","properties":{"order_id":"1","products":[{"price":"abc"}]}}),
            None,
            "",
        )
        .unwrap_err();
        assert_eq!(err.field, "properties.products[0].price");
        let err = Message::parse(json!({"type":"identify","userId":{"a":1}}), None, "").unwrap_err();
        assert_eq!(err.field, "userId");
        assert!(err.message.contains("must be a string"));
    }

    #[test]
    fn accepts_numbers_as_ids_and_numeric_strings() {
        let m = Message::parse(
            json!({"userId": 42, "event":"Product Viewed","properties":{"price":"12,000"}}),
            Some(EventKind::Track),
            "",
        )
        .unwrap();
        assert_eq!(m.user_id.as_deref(), Some("42"));
        assert_eq!(number(&m.properties["price"]), Some(12000.0));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("2024-01-01T00:00:00Z"), Some(1704067200000));
        assert_eq!(parse_time("2024-01-01T09:00:00+09:00"), Some(1704067200000));
        assert_eq!(parse_time("2024-01-01T00:00:00.5"), Some(1704067200500));
        assert_eq!(parse_time("01/01/2024"), None);
    }
}
