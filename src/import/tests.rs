//! Tests of the module as a whole, including the sample files in `tests/data/import/`.

use serde_json::json;

use super::{Error, Kind, Parsed, parse};

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/import/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse_sample(kind: Kind, name: &str) -> Parsed {
    let parsed = parse(kind, sample(name).as_slice(), chrono_tz::Asia::Seoul).unwrap();
    assert_eq!(parsed.errors, [], "{name}");
    parsed
}

#[test]
fn kinds_round_trip() {
    for kind in [Kind::Products, Kind::Customers, Kind::Orders] {
        assert_eq!(kind.as_str().parse::<Kind>().unwrap(), kind);
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(" Orders ".parse::<Kind>().unwrap(), Kind::Orders);
    let err = "coupons".parse::<Kind>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown import kind \"coupons\": expected products, customers or orders"
    );
}

#[test]
fn sample_products() {
    let parsed = parse_sample(Kind::Products, "products.csv");
    assert_eq!((parsed.rows, parsed.items.len()), (5, 5));
    let names: Vec<_> = parsed.items.iter().map(|i| i.value["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "린넨 오버핏 셔츠",
            "와이드 코튼 팬츠",
            "제주 유기농 녹차 50g",
            "수제 도자기 머그",
            "한정판 에코백"
        ]
    );
    assert_eq!(
        parsed.items[0].value,
        json!({"id": "P001", "name": "린넨 오버핏 셔츠", "sku": "LS-01", "category": "상의", "brand": "담골",
               "price": 39000, "sale_price": 29000, "currency": "KRW",
               "image_url": "https://shop.example.kr/img/p001.jpg", "url": "https://shop.example.kr/p/P001",
               "in_stock": true, "hidden": false, "description": "시원한 린넨 소재의 오버핏 셔츠",
               "tags": ["여름", "린넨", "셔츠"]})
    );
    assert_eq!(parsed.items[2].value["price"], 12000);
    assert_eq!(parsed.items[3].value["price"], 28000);
    assert_eq!(parsed.items[4].value["hidden"], true);
    assert_eq!(parsed.items[4].value["in_stock"], false);
}

#[test]
fn sample_shopify_customers() {
    let parsed = parse_sample(Kind::Customers, "customers_shopify.csv");
    assert_eq!(parsed.items.len(), 3);
    let minjun = &parsed.items[0].value;
    assert_eq!(minjun["userId"], "7012345678901");
    assert_eq!(minjun["traits"]["name"], "김민준");
    assert_eq!(minjun["traits"]["address"], json!({"city": "서울", "country": "KR"}));
    assert_eq!(minjun["traits"]["tags"], json!(["vip", "재구매"]));
    assert_eq!(minjun["traits"]["sms_consent"], true);
    assert_eq!(minjun["traits"]["default_address_zip"], "06236");
    assert_eq!(parsed.items[1].value["traits"]["name"], "이서연");
    assert_eq!(parsed.items[1].value["traits"]["email_consent"], false);
    assert_eq!(parsed.items[2].value["traits"]["name"], "Jane Doe");
    assert_eq!(parsed.items[2].row, 4);
}

#[test]
fn sample_shopify_orders() {
    let parsed = parse_sample(Kind::Orders, "orders_shopify.csv");
    assert_eq!((parsed.rows, parsed.skipped), (7, 1));
    let summary: Vec<_> = parsed
        .items
        .iter()
        .map(|i| {
            let v = &i.value;
            (
                i.row,
                v["event"].as_str().unwrap(),
                v["messageId"].as_str().unwrap(),
                v["properties"]["total"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (2, "Order Completed", "import-order-#1001", json!(89400)),
            (5, "Order Completed", "import-order-#1002", json!(39000)),
            (5, "Order Refunded", "import-refund-#1002", json!(39000)),
            (6, "Order Completed", "import-order-#1003", json!(63000)),
            (6, "Order Refunded", "import-refund-#1003", json!(15000)),
        ]
    );
    let first = &parsed.items[0].value;
    assert_eq!(first["properties"]["revenue"], 86400);
    assert_eq!(first["properties"]["products"].as_array().unwrap().len(), 3);
    assert_eq!(
        first["properties"]["products"][1],
        json!({"sku": "MG-04", "name": "수제 도자기 머그", "price": 25200, "quantity": 2})
    );
    assert_eq!(first["context"]["traits"]["email"], "minjun.kim@example.com");
}

#[test]
fn bom_and_korean_headers_survive() {
    let csv = "\u{feff}\u{feff}Email,이름,등급\nkim@example.com,김민준,골드\n";
    let err = parse(Kind::Customers, csv.as_bytes(), chrono_tz::UTC);
    // A doubled BOM (a file saved twice by a careless tool) still reads.
    let parsed = err.unwrap();
    assert_eq!(parsed.errors, []);
    assert_eq!(
        parsed.items[0].value["traits"],
        json!({"email": "kim@example.com", "이름": "김민준", "등급": "골드"})
    );
}

#[test]
fn semicolon_files_read() {
    let csv = "id;name;price\nP1;셔츠;\"12,000\"\n";
    let parsed = parse(Kind::Products, csv.as_bytes(), chrono_tz::UTC).unwrap();
    assert_eq!(parsed.items[0].value["price"], 12000);
}

#[test]
fn file_level_errors() {
    let err = parse(Kind::Orders, &b"order_id,email\n1,\xB1\xE8@x.kr\n"[..], chrono_tz::UTC).unwrap_err();
    assert!(matches!(err, Error::NotUtf8 { line: 2 }), "{err}");
    let err = parse(Kind::Orders, "".as_bytes(), chrono_tz::UTC).unwrap_err();
    assert!(matches!(err, Error::Empty), "{err}");
    let customers = String::from_utf8(sample("customers_shopify.csv")).unwrap();
    let err = parse(Kind::Orders, customers.as_bytes(), chrono_tz::UTC).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongKind {
                expected: Kind::Orders,
                found: Kind::Customers
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "expected a file of orders, but this looks like a file of customers"
    );
}

#[test]
fn an_orders_file_is_not_taken_for_products() {
    // Our orders columns `product_id` and `product_name` would pass for a product's id and name.
    let csv = "order_id,email,created_at,product_id,product_name\nA-1,a@example.com,2024-03-01,P1,셔츠\n";
    let err = parse(Kind::Products, csv.as_bytes(), chrono_tz::UTC).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongKind {
                expected: Kind::Products,
                found: Kind::Orders
            }
        ),
        "{err}"
    );
}

#[test]
fn error_codes() {
    use crate::error::{ErrorCode, HasCode};
    let err = parse(Kind::Orders, "order_id,total\n1,100\n".as_bytes(), chrono_tz::UTC).unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        (ErrorCode::InvalidCsv, Some("user_id or email or phone"))
    );
    let mapping: super::Mapping = [("order_id".to_string(), "order_id".to_string())].into();
    let err = super::parse_with(
        Kind::Orders,
        "order_id,total\n1,100\n".as_bytes(),
        chrono_tz::UTC,
        Some(&mapping),
    )
    .unwrap_err();
    assert_eq!(
        (err.code(), err.field()),
        (ErrorCode::InvalidField, Some("mapping.user_id"))
    );
    let err = Error::from(crate::store::Error::WriterGone);
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (ErrorCode::Internal, "the writer has stopped")
    );
}
