//! Orders: our columns, Shopify's order export or a mapped file, one row per order line. Rows
//! sharing an order id make one `Order Completed` message, plus an `Order Refunded` one when money
//! went back; a buyer's name or mobile number, when the file has them, an `identify` before it.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::cell::{self, Amount, format_timestamp};
use super::sheet::{Columns, Field, Row, Sheet};
use super::{Error, Item, Kind, Mapping, Parsed, RowError, context, set_identity};

const ORDER_ID: Field = Field::new("order_id", &["order_id", "Name", "Id"]);
const USER_ID: Field = Field::new("user_id", &["user_id", "customer_id"]);
const EMAIL: Field = Field::new("email", &["email"]);
/// The buyer's mobile number (a mapped file's 주문자 휴대전화, 구매자연락처). Our own column is
/// `buyer_phone`, so that Shopify's `Phone` column keeps meaning what it meant.
const PHONE: Field = Field::new("phone", &["buyer_phone"]);
/// The buyer's name (a mapped file's 주문자명 or 구매자명).
const NAME: Field = Field::new("name", &["buyer_name"]);
const CREATED_AT: Field = Field::new("created_at", &["created_at", "Created at", "order_date"]);
const STATUS: Field = Field::new("status", &["status", "Financial Status"]);
const CURRENCY: Field = Field::new("currency", &["currency"]);
const TOTAL: Field = Field::new("total", &["total"]);
const SUBTOTAL: Field = Field::new("subtotal", &["subtotal"]);
const SHIPPING: Field = Field::new("shipping", &["shipping"]);
const TAX: Field = Field::new("tax", &["tax", "Taxes"]);
const DISCOUNT: Field = Field::new("discount", &["discount", "Discount Amount"]);
const COUPON: Field = Field::new("coupon", &["coupon", "Discount Code"]);
const REFUNDED: Field = Field::new("refunded_amount", &["refunded_amount", "Refunded Amount"]);
const PRODUCT_ID: Field = Field::new("product_id", &["product_id"]);
const SKU: Field = Field::new("sku", &["sku", "Lineitem sku"]);
const PRODUCT_NAME: Field = Field::new("product_name", &["product_name", "Lineitem name"]);
const PRICE: Field = Field::new("price", &["price", "Lineitem price"]);
/// What a line came to (스마트스토어's 상품별 총 주문금액): the order's total is their sum when the
/// file gives no total of its own.
const LINE_TOTAL: Field = Field::new("line_total", &["line_total"]);
const QUANTITY: Field = Field::new("quantity", &["quantity", "Lineitem quantity", "qty"]);
const CATEGORY: Field = Field::new("category", &["category"]);

const FIELDS: &[&Field] = &[
    &ORDER_ID,
    &USER_ID,
    &EMAIL,
    &PHONE,
    &NAME,
    &CREATED_AT,
    &STATUS,
    &CURRENCY,
    &TOTAL,
    &SUBTOTAL,
    &SHIPPING,
    &TAX,
    &DISCOUNT,
    &COUPON,
    &REFUNDED,
    &PRODUCT_ID,
    &SKU,
    &PRODUCT_NAME,
    &PRICE,
    &LINE_TOTAL,
    &QUANTITY,
    &CATEGORY,
];

/// States of orders that never completed; they are skipped and counted.
const NOT_COMPLETED: &[&str] = &["pending", "voided", "expired", "cancelled", "canceled", "failed"];

/// Korean shops' order states that mean one of ours (Cafe24, 스마트스토어 and 고도몰 write these);
/// any other state is kept as written ("배송완료", "구매확정").
const KOREAN_STATES: &[(&str, &str)] = &[
    ("입금전", "pending"),
    ("입금대기", "pending"),
    ("결제대기", "pending"),
    ("미입금", "pending"),
    ("취소", "cancelled"),
    ("주문취소", "cancelled"),
    ("취소완료", "cancelled"),
    ("결제취소", "cancelled"),
    ("입금전취소", "cancelled"),
    ("환불", "refunded"),
    ("환불완료", "refunded"),
    ("반품완료", "refunded"),
];

/// Order-level fields as one row gives them. Shopify fills most only on an order's first row.
#[derive(Default)]
struct OrderFields {
    user_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    created_at: Option<DateTime<Utc>>,
    status: Option<String>,
    currency: Option<String>,
    total: Option<Amount>,
    subtotal: Option<Amount>,
    shipping: Option<Amount>,
    tax: Option<Amount>,
    discount: Option<Amount>,
    coupon: Option<String>,
    refunded: Option<Amount>,
}

impl OrderFields {
    fn read(r: &mut Row<'_>, tz: chrono_tz::Tz) -> OrderFields {
        let amount = Amount::parse_non_negative;
        OrderFields {
            user_id: r.text(&USER_ID),
            email: r.parse(&EMAIL, cell::parse_email),
            phone: r.text(&PHONE),
            name: r.text(&NAME),
            created_at: r.parse(&CREATED_AT, |s| cell::parse_timestamp(s, tz)),
            status: r.get(&STATUS).map(|s| {
                let squashed: String = s.split_whitespace().collect();
                match KOREAN_STATES.iter().find(|(korean, _)| *korean == squashed) {
                    Some((_, ours)) => ours.to_string(),
                    None => s
                        .to_lowercase()
                        .split([' ', '-', '_'])
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join("_"),
                }
            }),
            currency: r.parse(&CURRENCY, cell::parse_currency),
            total: r.parse(&TOTAL, amount),
            subtotal: r.parse(&SUBTOTAL, amount),
            shipping: r.parse(&SHIPPING, amount),
            tax: r.parse(&TAX, amount),
            // Some shops write discounts as negative amounts; both mean money off.
            discount: r.parse(&DISCOUNT, Amount::parse).map(Amount::abs),
            coupon: r.text(&COUPON),
            refunded: r.parse(&REFUNDED, amount),
        }
    }

    /// Fills fields still empty from a later row of the same order.
    fn merge(&mut self, later: OrderFields) {
        fn first<T>(slot: &mut Option<T>, later: Option<T>) {
            if slot.is_none() {
                *slot = later;
            }
        }
        first(&mut self.user_id, later.user_id);
        first(&mut self.email, later.email);
        first(&mut self.phone, later.phone);
        first(&mut self.name, later.name);
        first(&mut self.created_at, later.created_at);
        first(&mut self.status, later.status);
        first(&mut self.currency, later.currency);
        first(&mut self.total, later.total);
        first(&mut self.subtotal, later.subtotal);
        first(&mut self.shipping, later.shipping);
        first(&mut self.tax, later.tax);
        first(&mut self.discount, later.discount);
        first(&mut self.coupon, later.coupon);
        first(&mut self.refunded, later.refunded);
    }
}

/// One order line.
struct Line {
    product_id: Option<String>,
    sku: Option<String>,
    name: Option<String>,
    price: Option<Amount>,
    /// What the line came to, when the file says.
    total: Option<Amount>,
    quantity: i64,
    category: Option<String>,
}

impl Line {
    /// Reads a row's line, if it has one. A line with quantity 0 (removed when the order was
    /// edited) is dropped.
    fn read(r: &mut Row<'_>) -> Option<Line> {
        let quantity = r.parse(&QUANTITY, |s| match Amount::parse_whole(s)? {
            q if q < 0 => Err("must not be negative".to_string()),
            q => Ok(q),
        });
        let quantity = quantity.unwrap_or(1);
        let total = r.parse(&LINE_TOTAL, Amount::parse_non_negative);
        let line = Line {
            sku: r.text(&SKU),
            // A SKU stays a SKU: the store maps it to the catalogue's product id.
            product_id: r.text(&PRODUCT_ID),
            name: r.text(&PRODUCT_NAME),
            // A file with only the line's total gives its unit price by division.
            price: r
                .parse(&PRICE, Amount::parse_non_negative)
                .or_else(|| total.map(|t| t.per(quantity))),
            total,
            quantity,
            category: r.text(&CATEGORY),
        };
        let has_line = [
            &PRODUCT_ID,
            &SKU,
            &PRODUCT_NAME,
            &PRICE,
            &LINE_TOTAL,
            &QUANTITY,
            &CATEGORY,
        ]
        .iter()
        .any(|f| r.get(f).is_some());
        if !has_line {
            return None;
        }
        if line.product_id.is_none() && line.sku.is_none() && line.name.is_none() {
            let field = if r.has(&PRODUCT_ID) {
                &PRODUCT_ID
            } else if r.has(&SKU) {
                &SKU
            } else {
                &PRODUCT_NAME
            };
            r.fail(field, "is empty: an order line needs a product_id, sku or product_name");
            return None;
        }
        (line.quantity > 0).then_some(line)
    }

    fn to_json(&self) -> Value {
        let mut product = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                product.insert(key.to_string(), value);
            }
        };
        put("product_id", self.product_id.clone().map(Value::from));
        put("sku", self.sku.clone().map(Value::from));
        put("name", self.name.clone().map(Value::from));
        put("price", self.price.map(Amount::to_json));
        put("quantity", Some(self.quantity.into()));
        put("category", self.category.clone().map(Value::from));
        Value::Object(product)
    }
}

/// An order being assembled from its rows.
struct Group {
    order_id: String,
    first_row: usize,
    fields: OrderFields,
    lines: Vec<Line>,
    errors: Vec<RowError>,
}

pub(super) fn parse(sheet: &Sheet, tz: chrono_tz::Tz, mapping: Option<&Mapping>) -> Result<Parsed, Error> {
    let cols = Columns::resolve(sheet, FIELDS, mapping);
    if !cols.found_any() {
        return Err(Error::UnknownFormat {
            kind: Kind::Orders,
            headers: sheet.headers.clone(),
        });
    }
    let missing = cols.missing(&[&[&ORDER_ID], &[&USER_ID, &EMAIL, &PHONE], &[&CREATED_AT]]);
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            kind: Kind::Orders,
            columns: missing,
        });
    }
    // Shopify's `Subtotal` is after discounts; ours is before.
    let subtotal_after_discount = sheet.has_key("financial status") || sheet.has_key("lineitem name");

    let mut parsed = Parsed::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for record in &sheet.records {
        parsed.rows += 1;
        let mut r = cols.row(record);
        let order_id = r.text(&ORDER_ID);
        let fields = OrderFields::read(&mut r, tz);
        let line = Line::read(&mut r);
        let Some(order_id) = order_id else {
            r.fail(&ORDER_ID, "is empty");
            parsed.errors.append(&mut r.errors);
            continue;
        };
        let index = *by_id.entry(order_id.clone()).or_insert_with(|| {
            groups.push(Group {
                order_id,
                first_row: record.row,
                fields: OrderFields::default(),
                lines: Vec::new(),
                errors: Vec::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[index];
        group.fields.merge(fields);
        group.lines.extend(line);
        group.errors.append(&mut r.errors);
    }

    for mut group in groups {
        // An order that never completed is left out, whatever else is wrong with it.
        if group
            .fields
            .status
            .as_deref()
            .is_some_and(|s| NOT_COMPLETED.contains(&s))
        {
            parsed.skipped += 1;
            continue;
        }
        let order_error = |column: &str, message: String| RowError {
            row: group.first_row,
            column: Some(column.to_string()),
            message,
        };
        let fields = &group.fields;
        if fields.user_id.is_none()
            && fields.email.is_none()
            && fields.phone.is_none()
            && !group
                .errors
                .iter()
                .any(|e| e.column.as_deref() == Some(cols.header(&EMAIL)))
        {
            let (user, email) = (cols.header(&USER_ID), cols.header(&EMAIL));
            let column = if cols.has(&USER_ID) { user } else { email };
            let message = if cols.has(&PHONE) {
                format!(
                    "order {} has neither `{user}` nor `{email}` nor `{}`",
                    group.order_id,
                    cols.header(&PHONE)
                )
            } else {
                format!("order {} has neither `{user}` nor `{email}`", group.order_id)
            };
            group.errors.push(order_error(column, message));
        }
        if fields.created_at.is_none()
            && !group
                .errors
                .iter()
                .any(|e| e.column.as_deref() == Some(cols.header(&CREATED_AT)))
        {
            let column = cols.header(&CREATED_AT);
            group.errors.push(order_error(column, format!("`{column}` is empty")));
        }
        if !group.errors.is_empty() {
            parsed.errors.append(&mut group.errors);
            continue;
        }
        parsed.items.extend(messages(&group, subtotal_after_discount));
    }
    Ok(parsed)
}

/// Builds an order's `Order Completed` message and, if money went back, its `Order Refunded`.
fn messages(group: &Group, subtotal_after_discount: bool) -> Vec<Item> {
    let fields = &group.fields;
    let Some(created_at) = fields.created_at else {
        return Vec::new();
    };
    let currency = fields.currency.clone().unwrap_or_else(|| "KRW".into());
    let discount = fields.discount.unwrap_or(Amount::ZERO);
    let shipping = fields.shipping.unwrap_or(Amount::ZERO);
    let tax = fields.tax.unwrap_or(Amount::ZERO);
    let total = fields.total.unwrap_or_else(|| {
        let lines = group
            .lines
            .iter()
            .filter_map(|l| l.total.or_else(|| l.price.map(|p| p.times(l.quantity))));
        lines
            .fold(Amount::ZERO, Amount::add)
            .sub(discount)
            .add(shipping)
            .add(tax)
    });
    let revenue = match fields.subtotal {
        Some(subtotal) if subtotal_after_discount => subtotal,
        Some(subtotal) => subtotal.sub(discount),
        None => total.sub(shipping).sub(tax),
    };

    let mut properties = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            properties.insert(key.to_string(), value);
        }
    };
    put("order_id", Some(group.order_id.clone().into()));
    put("total", Some(total.to_json()));
    put("revenue", Some(revenue.to_json()));
    put("discount", fields.discount.map(Amount::to_json));
    put("coupon", fields.coupon.clone().map(Value::from));
    put("currency", Some(currency.clone().into()));
    put("shipping", fields.shipping.map(Amount::to_json));
    put("tax", fields.tax.map(Amount::to_json));
    put("email", fields.email.clone().map(Value::from));
    put("status", fields.status.clone().map(Value::from));
    if !group.lines.is_empty() {
        put("products", Some(group.lines.iter().map(Line::to_json).collect()));
    }

    let track = |event: &str, properties: Value, at: DateTime<Utc>, message_id: String| {
        let mut message = Map::new();
        message.insert("type".into(), "track".into());
        message.insert("event".into(), event.into());
        set_identity(
            &mut message,
            fields.user_id.as_deref(),
            fields.email.as_deref(),
            fields.phone.as_deref(),
        );
        message.insert("properties".into(), properties);
        message.insert("timestamp".into(), format_timestamp(at).into());
        message.insert("messageId".into(), message_id.into());
        message.insert("context".into(), context(fields.email.as_deref()));
        Item {
            row: group.first_row,
            value: Value::Object(message),
        }
    };
    let mut items = Vec::new();
    // The buyer's name and number, as the file gives them, on the buyer's profile.
    let mut traits = Map::new();
    if let Some(name) = &fields.name {
        traits.insert("name".into(), name.clone().into());
    }
    if let Some(phone) = &fields.phone {
        traits.insert("phone".into(), phone.clone().into());
    }
    if !traits.is_empty() {
        let mut message = Map::new();
        message.insert("type".into(), "identify".into());
        set_identity(
            &mut message,
            fields.user_id.as_deref(),
            fields.email.as_deref(),
            fields.phone.as_deref(),
        );
        if let Some(email) = &fields.email {
            traits.insert("email".into(), email.clone().into());
        }
        message.insert("traits".into(), Value::Object(traits));
        message.insert("timestamp".into(), format_timestamp(created_at).into());
        message.insert("messageId".into(), format!("import-buyer-{}", group.order_id).into());
        message.insert("context".into(), context(None));
        items.push(Item {
            row: group.first_row,
            value: Value::Object(message),
        });
    }
    items.push(track(
        "Order Completed",
        Value::Object(properties),
        created_at,
        format!("import-order-{}", group.order_id),
    ));

    let refunded = fields
        .refunded
        .filter(|amount| amount.is_positive())
        .or_else(|| (fields.status.as_deref() == Some("refunded")).then_some(total));
    if let Some(refunded) = refunded.filter(|amount| amount.is_positive()) {
        items.push(track(
            "Order Refunded",
            json!({"order_id": group.order_id, "total": refunded.to_json(), "currency": currency}),
            created_at + TimeDelta::milliseconds(1),
            format!("import-refund-{}", group.order_id),
        ));
    }
    items
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::import::{Error, Kind, Parsed, parse};

    fn orders(csv: &str) -> Parsed {
        parse(Kind::Orders, csv.as_bytes(), chrono_tz::Asia::Seoul).unwrap()
    }

    const LIBRARY: &str = "dangol-import";

    #[test]
    fn our_columns_multi_line_order() {
        let parsed = orders(
            "order_id,user_id,email,created_at,status,currency,total,subtotal,shipping,tax,discount,coupon,refunded_amount,product_id,sku,product_name,price,quantity,category\n\
             A-1,u1,kim@example.com,2024-03-01 12:34:56,paid,,,,\"3,000\",,\"2,000\",SPRING,,P1,LS-01,린넨 셔츠,\"29,000\",2,상의\n\
             A-1,,,,,,,,,,,,,P2,,양말,\"5,000\",1,\n\
             A-2,,lee@example.com,2024-03-02,refunded,KRW,10000,10000,0,0,,,,P2,,양말,\"5,000\",2,\n",
        );
        assert_eq!(parsed.errors, []);
        assert_eq!(parsed.rows, 3);
        let values: Vec<_> = parsed.items.iter().map(|i| (i.row, i.value.clone())).collect();
        assert_eq!(
            values,
            [
                (
                    2,
                    json!({"type": "track", "event": "Order Completed", "userId": "u1",
                    "properties": {"order_id": "A-1", "total": 64000, "revenue": 61000, "discount": 2000,
                                   "coupon": "SPRING", "currency": "KRW", "shipping": 3000,
                                   "email": "kim@example.com", "status": "paid",
                                   "products": [
                                       {"product_id": "P1", "sku": "LS-01", "name": "린넨 셔츠", "price": 29000, "quantity": 2, "category": "상의"},
                                       {"product_id": "P2", "name": "양말", "price": 5000, "quantity": 1}]},
                    "timestamp": "2024-03-01T03:34:56.000Z", "messageId": "import-order-A-1",
                    "context": {"library": {"name": LIBRARY, "version": "1"}, "traits": {"email": "kim@example.com"}}})
                ),
                (
                    4,
                    json!({"type": "track", "event": "Order Completed", "anonymousId": "import-email:lee@example.com",
                    "properties": {"order_id": "A-2", "total": 10000, "revenue": 10000, "currency": "KRW",
                                   "shipping": 0, "tax": 0, "email": "lee@example.com", "status": "refunded",
                                   "products": [{"product_id": "P2", "name": "양말", "price": 5000, "quantity": 2}]},
                    "timestamp": "2024-03-01T15:00:00.000Z", "messageId": "import-order-A-2",
                    "context": {"library": {"name": LIBRARY, "version": "1"}, "traits": {"email": "lee@example.com"}}})
                ),
                (
                    4,
                    json!({"type": "track", "event": "Order Refunded", "anonymousId": "import-email:lee@example.com",
                    "properties": {"order_id": "A-2", "total": 10000, "currency": "KRW"},
                    "timestamp": "2024-03-01T15:00:00.001Z", "messageId": "import-refund-A-2",
                    "context": {"library": {"name": LIBRARY, "version": "1"}, "traits": {"email": "lee@example.com"}}})
                ),
            ]
        );
    }

    #[test]
    fn shopify_export() {
        let header = "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,\
            Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,\
            Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,\
            Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,Billing City,Billing Zip,\
            Billing Country,Billing Phone,Shipping Name,Shipping City,Shipping Country,Notes,Note Attributes,\
            Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,Employee,\
            Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,Phone,\
            Receipt Number,Duties,Billing Province Name,Shipping Province Name,Payment ID,Payment Terms Name,\
            Next Payment Due At,Payment References";
        let rows = [
            "#1001,minjun@example.com,partially_refunded,2024-03-01 12:35:10 +0900,fulfilled,2024-03-02 09:00:00 +0900,yes,KRW,\
             53000,3000,0,56000,WELCOME10,5000,택배,2024-03-01 12:34:56 +0900,2,린넨 셔츠 - M,29000,39000,LS-M,true,\
             true,fulfilled,김민준,테헤란로 1,서울,06234,KR,'+821011112222,김민준,서울,KR,,,,KakaoPay,,5000,담골,0,,,,\
             5012345678901,,Low,web,0,,,'+821011112222,,,,,,,,",
            "#1001,minjun@example.com,,,,,,,,,,,,,,2024-03-01 12:34:56 +0900,1,양말,5000,,SOCK-1,true,true,fulfilled,\
             ,,,,,,,,,,,,,,,,,,,,5012345678901,,,,0,,,,,,,,,,,",
            "#1002,guest@example.com,voided,,,,no,KRW,10000,0,0,10000,,0,,2024-03-03 10:00:00 +0900,1,양말,10000,,SOCK-1,\
             true,true,,,,,,,,,,,,,,,,0,,,,,,5012345678902,,,,,,,,,,,,,,",
        ];
        let csv = format!("{header}\n{}\n", rows.join("\n"));
        let parsed = orders(&csv);
        assert_eq!(parsed.errors, []);
        assert_eq!((parsed.rows, parsed.skipped, parsed.items.len()), (3, 1, 2));
        let order = &parsed.items[0].value;
        assert_eq!(order["anonymousId"], "import-email:minjun@example.com");
        assert_eq!(order["timestamp"], "2024-03-01T03:34:56.000Z");
        assert_eq!(order["messageId"], "import-order-#1001");
        assert_eq!(
            order["properties"],
            json!({"order_id": "#1001", "total": 56000, "revenue": 53000, "discount": 5000, "coupon": "WELCOME10",
                   "currency": "KRW", "shipping": 3000, "tax": 0, "email": "minjun@example.com",
                   "status": "partially_refunded",
                   "products": [
                       {"sku": "LS-M", "name": "린넨 셔츠 - M", "price": 29000, "quantity": 2},
                       {"sku": "SOCK-1", "name": "양말", "price": 5000, "quantity": 1}]})
        );
        let refund = &parsed.items[1].value;
        assert_eq!(refund["event"], "Order Refunded");
        assert_eq!(
            refund["properties"],
            json!({"order_id": "#1001", "total": 5000, "currency": "KRW"})
        );
        assert_eq!(refund["timestamp"], "2024-03-01T03:34:56.001Z");
        assert_eq!(parsed.items[1].row, 2);
    }

    #[test]
    fn row_and_order_errors() {
        let parsed = orders(
            "order_id,customer_id,email,created_at,price,quantity,product_name,total\n\
             O1,c1,,2024-03-01,abc,1,셔츠,\n\
             O1,,,,1000,1.5,셔츠,\n\
             ,c2,,2024-03-01,1000,1,셔츠,\n\
             O3,,,2024-03-01,1000,1,셔츠,\n\
             O4,c4,,,1000,1,셔츠,\n\
             O5,c5,,2024-03-01 25:00,1000,1,,\n\
             O6,c6,,2024-03-01,,,,\"1,000\"\n",
        );
        let errors: Vec<_> = parsed
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_deref().unwrap_or(""), e.message.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (2, "price", "`price` must be a number, got \"abc\""),
                (3, "quantity", "`quantity` must be a whole number, got \"1.5\""),
                (4, "order_id", "`order_id` is empty"),
                (5, "customer_id", "order O3 has neither `customer_id` nor `email`"),
                (6, "created_at", "`created_at` is empty"),
                (
                    7,
                    "created_at",
                    "`created_at` must be a date and time like 2024-03-01 12:34:56, 2024-03-01 12:34:56 +0900 or 2024-03-01, got \"2024-03-01 25:00\""
                ),
                (
                    7,
                    "product_name",
                    "`product_name` is empty: an order line needs a product_id, sku or product_name"
                ),
            ]
        );
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(
            parsed.items[0].value["properties"],
            json!({"order_id": "O6", "total": 1000, "revenue": 1000, "currency": "KRW"})
        );
        assert_eq!(parsed.items[0].row, 8);
    }

    #[test]
    fn missing_columns_are_named() {
        let err = parse(Kind::Orders, "order_id,total\n1,100\n".as_bytes(), chrono_tz::UTC).unwrap_err();
        let Error::MissingColumns { columns, .. } = &err else {
            panic!("{err}")
        };
        let names: Vec<_> = columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["user_id or email or phone", "created_at"]);
        assert!(
            err.to_string()
                .contains("`created_at` (accepted headers: created_at, Created at, order_date)"),
            "{err}"
        );
    }
}
