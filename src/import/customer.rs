//! Customers: our columns, Shopify's customer export or a mapped file, one `identify` message
//! per row.

use serde_json::{Map, Value};

use super::cell::{self, format_timestamp};
use super::sheet::{Columns, Field, Sheet};
use super::{Error, Item, Kind, Mapping, Parsed, RowError, context, set_identity};

const USER_ID: Field = Field::new("user_id", &["user_id", "id", "customer_id", "Customer ID"]);
const EMAIL: Field = Field::new("email", &["email", "e-mail"]);
const NAME: Field = Field::new("name", &["name", "full_name"]);
const FIRST_NAME: Field = Field::new("first_name", &["First Name"]);
const LAST_NAME: Field = Field::new("last_name", &["Last Name"]);
const PHONE: Field = Field::new("phone", &["phone", "mobile"]);
const ADDRESS_PHONE: Field = Field::new("address_phone", &["Default Address Phone"]);
const CREATED_AT: Field = Field::new("created_at", &["created_at", "signed_up_at"]);
const BIRTHDAY: Field = Field::new("birthday", &["birthday", "birthdate", "date_of_birth"]);
const CITY: Field = Field::new("city", &["city", "Default Address City"]);
const COUNTRY: Field = Field::new("country", &["country", "Default Address Country Code", "country_code"]);
const TAGS: Field = Field::new("tags", &["tags"]);
const EMAIL_CONSENT: Field = Field::new(
    "email_consent",
    &["email_consent", "Accepts Email Marketing", "Accepts Marketing"],
);
const SMS_CONSENT: Field = Field::new("sms_consent", &["sms_consent", "Accepts SMS Marketing"]);
const KAKAO_CONSENT: Field = Field::new("kakao_consent", &["kakao_consent"]);

const FIELDS: &[&Field] = &[
    &USER_ID,
    &EMAIL,
    &NAME,
    &FIRST_NAME,
    &LAST_NAME,
    &PHONE,
    &ADDRESS_PHONE,
    &CREATED_AT,
    &BIRTHDAY,
    &CITY,
    &COUNTRY,
    &TAGS,
    &EMAIL_CONSENT,
    &SMS_CONSENT,
    &KAKAO_CONSENT,
];

/// Traits with a meaning (CONTRACT §2); a free column whose name collides gets a `_raw` suffix.
const KNOWN_TRAITS: &[&str] = &[
    "email",
    "name",
    "phone",
    "created_at",
    "birthday",
    "address",
    "tags",
    "email_consent",
    "sms_consent",
    "kakao_consent",
];

pub(super) fn parse(sheet: &Sheet, tz: chrono_tz::Tz, mapping: Option<&Mapping>) -> Result<Parsed, Error> {
    let cols = Columns::resolve(sheet, FIELDS, mapping);
    if !cols.found_any() {
        return Err(Error::UnknownFormat {
            kind: Kind::Customers,
            headers: sheet.headers.clone(),
        });
    }
    let missing = cols.missing(&[&[&USER_ID, &EMAIL, &PHONE]]);
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            kind: Kind::Customers,
            columns: missing,
        });
    }

    let mut parsed = Parsed::default();
    for record in &sheet.records {
        parsed.rows += 1;
        let mut r = cols.row(record);
        let user_id = r.text(&USER_ID);
        let email = r.parse(&EMAIL, cell::parse_email);
        let phone = r.get(&PHONE).or_else(|| r.get(&ADDRESS_PHONE));
        if user_id.is_none() && email.is_none() && r.get(&EMAIL).is_none() && phone.is_none() {
            let (user_column, email_column) = (cols.header(&USER_ID), cols.header(&EMAIL));
            let message = if cols.has(&PHONE) {
                format!(
                    "the row has neither `{user_column}` nor `{email_column}` nor `{}`",
                    cols.header(&PHONE)
                )
            } else {
                format!("the row has neither `{user_column}` nor `{email_column}`")
            };
            r.errors.push(RowError {
                row: record.row,
                column: Some(if cols.has(&USER_ID) { user_column } else { email_column }.to_string()),
                message,
            });
        }

        let mut traits = Map::new();
        for (header, value) in r.others() {
            let mut key = header.to_lowercase().split_whitespace().collect::<Vec<_>>().join("_");
            if KNOWN_TRAITS.contains(&key.as_str()) {
                key.push_str("_raw");
            }
            traits.insert(key, cell::infer_value(value));
        }
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                traits.insert(key.to_string(), value);
            }
        };
        let name = r
            .text(&NAME)
            .or_else(|| crate::value::full_name(r.get(&FIRST_NAME), r.get(&LAST_NAME)));
        let created_at = r.parse(&CREATED_AT, |s| cell::parse_timestamp(s, tz));
        put("email", email.clone().map(Value::from));
        put("name", name.map(Value::from));
        put("phone", phone.map(Value::from));
        put("created_at", created_at.map(|at| format_timestamp(at).into()));
        put(
            "birthday",
            r.parse(&BIRTHDAY, cell::parse_date).map(|d| d.to_string().into()),
        );
        let mut address = Map::new();
        if let Some(city) = r.get(&CITY) {
            address.insert("city".into(), city.into());
        }
        if let Some(country) = r.get(&COUNTRY) {
            let is_code = country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic());
            let country = if is_code {
                country.to_ascii_uppercase()
            } else {
                country.to_string()
            };
            address.insert("country".into(), country.into());
        }
        put("address", (!address.is_empty()).then_some(Value::Object(address)));
        put(
            "tags",
            r.get(&TAGS)
                .map(cell::split_tags)
                .filter(|t| !t.is_empty())
                .map(Value::from),
        );
        for (key, field) in [
            ("email_consent", &EMAIL_CONSENT),
            ("sms_consent", &SMS_CONSENT),
            ("kakao_consent", &KAKAO_CONSENT),
        ] {
            let consent = r.parse(field, cell::parse_flag);
            put(key, consent.map(Value::from));
        }

        if !r.errors.is_empty() {
            parsed.errors.append(&mut r.errors);
            continue;
        }
        let mut message = Map::new();
        message.insert("type".into(), "identify".into());
        set_identity(&mut message, user_id.as_deref(), email.as_deref(), phone);
        message.insert("traits".into(), Value::Object(traits));
        if let Some(at) = created_at {
            message.insert("timestamp".into(), format_timestamp(at).into());
        }
        message.insert("context".into(), context(None));
        message.insert(
            "messageId".into(),
            message_id(user_id.as_deref().or(email.as_deref()).or(phone), &message).into(),
        );
        parsed.items.push(Item {
            row: record.row,
            value: Value::Object(message),
        });
    }
    Ok(parsed)
}

/// `import-customer-<user id or email>-<hash of the message>`. The same row imported twice
/// is stored once (CONTRACT §2: `messageId` is idempotent), while a changed row imported later
/// gets a new id, so the update is not dropped as a resend.
fn message_id(key: Option<&str>, message: &Map<String, Value>) -> String {
    let body = serde_json::to_vec(message).unwrap_or_default();
    format!(
        "import-customer-{}-{:016x}",
        key.unwrap_or_default(),
        cell::stable_hash(&body)
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::import::{Error, Kind, Parsed, parse};

    fn customers(csv: &str) -> Parsed {
        parse(Kind::Customers, csv.as_bytes(), chrono_tz::Asia::Seoul).unwrap()
    }

    /// The message without its hashed id, which the test checks separately.
    fn without_id(value: &serde_json::Value) -> serde_json::Value {
        let mut value = value.clone();
        let id = value.as_object_mut().unwrap().remove("messageId").unwrap();
        assert!(id.as_str().unwrap().starts_with("import-customer-"), "{id}");
        value
    }

    #[test]
    fn our_columns() {
        let parsed = customers(
            "user_id,email,name,phone,created_at,birthday,city,country,tags,email_consent,sms_consent,kakao_consent,등급,Zip Code\n\
             u1,Minjun@Example.com,김민준,010-1234-5678,2024-03-01 12:00:00,1990-05-17,서울,kr,\"vip, 재구매\",yes,no,1,골드,04524\n\
             ,guest@example.com,,,,,,,,,,,,\n",
        );
        assert_eq!(parsed.errors, []);
        assert_eq!(
            without_id(&parsed.items[0].value),
            json!({"type": "identify", "userId": "u1", "timestamp": "2024-03-01T03:00:00.000Z",
                   "traits": {"email": "minjun@example.com", "name": "김민준", "phone": "010-1234-5678",
                              "created_at": "2024-03-01T03:00:00.000Z", "birthday": "1990-05-17",
                              "address": {"city": "서울", "country": "KR"}, "tags": ["vip", "재구매"],
                              "email_consent": true, "sms_consent": false, "kakao_consent": true,
                              "등급": "골드", "zip_code": "04524"},
                   "context": {"library": {"name": "dangol-import", "version": "1"}}})
        );
        assert_eq!(
            without_id(&parsed.items[1].value),
            json!({"type": "identify", "anonymousId": "import-email:guest@example.com",
                   "traits": {"email": "guest@example.com"},
                   "context": {"library": {"name": "dangol-import", "version": "1"}}})
        );
    }

    #[test]
    fn message_ids_are_stable_and_follow_the_data() {
        let csv = "id,email,name\nu1,a@example.com,Kim\nu1,a@example.com,Kim\nu1,a@example.com,Lee\n";
        let ids: Vec<_> = customers(csv)
            .items
            .iter()
            .map(|i| i.value["messageId"].clone())
            .collect();
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
        assert_eq!(
            ids,
            customers(csv)
                .items
                .iter()
                .map(|i| i.value["messageId"].clone())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn shopify_export() {
        let parsed = customers(
            "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,\
             Default Address Address1,Default Address Address2,Default Address City,Default Address Province Code,\
             Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,\
             Total Spent,Total Orders,Note,Tax Exempt,Tags\n\
             '7012345678901,민준,김,minjun@example.com,yes,,테헤란로 1,,서울,,KR,'06234,'+821011112222,,no,125000.00,3,단골,no,\"vip, 서울\"\n\
             7012345678902,Jane,Doe,jane@example.com,no,Acme,1 Main St,Apt 2,Seoul,,KR,,,'+821033334444,yes,0.00,0,,no,\n",
        );
        assert_eq!(parsed.errors, []);
        assert_eq!(
            without_id(&parsed.items[0].value)["traits"],
            json!({"name": "김민준", "email": "minjun@example.com", "email_consent": true, "sms_consent": false,
                   "phone": "+821011112222", "address": {"city": "서울", "country": "KR"}, "tags": ["vip", "서울"],
                   "default_address_address1": "테헤란로 1", "default_address_zip": "06234",
                   "total_spent": 125000, "total_orders": 3, "note": "단골", "tax_exempt": "no"})
        );
        assert_eq!(parsed.items[0].value["userId"], "7012345678901");
        let jane = &parsed.items[1].value["traits"];
        assert_eq!(jane["name"], "Jane Doe");
        assert_eq!(jane["phone"], "+821033334444");
        assert_eq!(jane["default_address_company"], "Acme");
        assert_eq!(jane["total_spent"], 0);
    }

    #[test]
    fn row_errors() {
        let parsed = customers(
            "customer_id,email,birthday,created_at,sms_consent\n\
             c1,not-an-email,1990-02-30,2024-03-01,\n\
             ,,,,\n\
             c3,,,어제,\n\
             ,,1990-01-01,,\n\
             c5,,,,maybe\n",
        );
        let errors: Vec<_> = parsed
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_deref().unwrap_or(""), e.message.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (2, "email", "`email` is not a valid email address, got \"not-an-email\""),
                (
                    2,
                    "birthday",
                    "`birthday` must be a date like 1990-05-17, got \"1990-02-30\""
                ),
                (
                    4,
                    "created_at",
                    "`created_at` must be a date and time like 2024-03-01 12:34:56, 2024-03-01 12:34:56 +0900 or 2024-03-01, got \"어제\""
                ),
                (5, "customer_id", "the row has neither `customer_id` nor `email`"),
                (
                    6,
                    "sms_consent",
                    "`sms_consent` must be true or false (or yes/no, y/n, 1/0), got \"maybe\""
                ),
            ]
        );
        assert_eq!(parsed.rows, 4);
        assert_eq!(parsed.items.len(), 0);
    }

    #[test]
    fn needs_an_id_or_email_column() {
        let err = parse(Kind::Customers, "name,city\n김민준,서울\n".as_bytes(), chrono_tz::UTC).unwrap_err();
        assert!(
            matches!(&err, Error::MissingColumns { columns, .. } if columns[0].name == "user_id or email or phone"),
            "{err}"
        );
        assert!(
            err.to_string().contains(
                "`user_id or email or phone` (accepted headers: user_id, id, customer_id, Customer ID, email, e-mail, phone, mobile)"
            ),
            "{err}"
        );
    }
}
