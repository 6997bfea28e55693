//! The template files: a file of each kind in our own columns, with an example row, for an owner
//! who fills in a spreadsheet by hand. Served as UTF-8 with a byte-order mark, so that Excel opens
//! the Korean in it right.

use super::Kind;

/// The byte-order mark that tells Excel a CSV file is UTF-8.
pub const BOM: &str = "\u{feff}";

const CUSTOMERS: &str = "user_id,email,name,phone,created_at,birthday,city,country,tags,email_consent,sms_consent,kakao_consent\r\n\
u1001,minjun@example.com,김민준,010-1234-5678,2026-11-03 14:22:10,1990-05-17,서울,KR,\"vip, 재구매\",yes,yes,no\r\n\
,seoyeon@example.com,이서연,010-2345-6789,2026.11.04,,부산,KR,,yes,no,no\r\n";

const ORDERS: &str = "order_id,user_id,email,buyer_name,buyer_phone,created_at,status,total,shipping,discount,coupon,product_id,sku,product_name,price,quantity,category\r\n\
A-1001,u1001,minjun@example.com,김민준,010-1234-5678,2026-11-03 14:22:10,paid,\"61,000원\",3000,\"2,000\",WELCOME,P001,LS-01,린넨 오버핏 셔츠,\"29,000\",2,상의\r\n\
A-1001,,,,,,,,,,,P003,,제주 유기농 녹차 50g,\"2,000\",1,식품\r\n\
A-1002,,seoyeon@example.com,이서연,010-2345-6789,2026.11.04,paid,,,,,P002,,와이드 코튼 팬츠,\"45,000원\",1,하의\r\n";

const PRODUCTS: &str = "id,name,sku,category,brand,price,sale_price,currency,image_url,url,in_stock,description,tags\r\n\
P001,린넨 오버핏 셔츠,LS-01,상의,단골,\"39,000\",\"29,000\",KRW,https://shop.example.kr/img/p001.jpg,https://shop.example.kr/p/P001,yes,시원한 린넨 소재의 오버핏 셔츠,\"여름, 린넨\"\r\n";

/// The template of `kind`, without the byte-order mark.
pub fn template(kind: Kind) -> &'static str {
    match kind {
        Kind::Customers => CUSTOMERS,
        Kind::Orders => ORDERS,
        Kind::Products => PRODUCTS,
    }
}

/// The file name a template downloads as, e.g. "dangol-orders-template.csv".
pub fn file_name(kind: Kind) -> String {
    format!("dangol-{kind}-template.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_reads_without_an_error() {
        for (kind, items) in [(Kind::Customers, 2), (Kind::Orders, 2), (Kind::Products, 1)] {
            let bytes = format!("{BOM}{}", template(kind));
            let parsed = super::super::parse(kind, bytes.as_bytes(), chrono_tz::Asia::Seoul).unwrap();
            assert_eq!(parsed.errors, [], "{kind}");
            let orders = parsed
                .items
                .iter()
                .filter(|i| i.value["type"] != "identify" || kind == Kind::Customers)
                .count();
            assert_eq!(orders, items, "{kind}");
        }
        let orders = super::super::parse(Kind::Orders, ORDERS.as_bytes(), chrono_tz::Asia::Seoul).unwrap();
        let first = orders
            .items
            .iter()
            .find(|i| i.value["event"] == "Order Completed")
            .unwrap();
        assert_eq!(first.value["properties"]["total"], 61000);
        assert_eq!(first.value["properties"]["products"].as_array().unwrap().len(), 2);
        let buyer = &orders.items[0].value;
        assert_eq!(
            (buyer["type"].as_str(), buyer["traits"]["phone"].as_str()),
            (Some("identify"), Some("010-1234-5678"))
        );
    }
}
