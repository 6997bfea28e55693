//! The mapping step: a file in another shop's format (Cafe24, 스마트스토어, 고도몰, Sixshop, a
//! spreadsheet of one's own) is read by saying which of its columns holds each field we need.
//!
//! A [`Mapping`] names, for each of our fields, the file's header that holds it. [`guess`] fills one
//! in from the header names, Korean and English; [`check`] says what is wrong with one, naming the
//! field; [`key`] is what a mapping is remembered under (the kind and the set of headers), so the
//! next export of the same shop is read the same way. Pure, like the rest of `import`.

use std::collections::BTreeMap;

use super::sheet::Sheet;
use super::{Error, Kind, Mapping, cell};

/// A field the mapping step offers: our name and the headers we take it to be, best first.
pub struct Target {
    pub name: &'static str,
    pub guesses: &'static [&'static str],
}

const fn t(name: &'static str, guesses: &'static [&'static str]) -> Target {
    Target { name, guesses }
}

// Where the Korean header names come from. Cafe24: the member download's default columns
// (이름, 이메일, 휴대폰번호, 회원 가입일; Cafe24's notice "회원정보 다운로드 시 부하 개선 안내",
// 2014) and the order export's 주문번호, 주문일시, 주문자 이메일, 결제금액 (the names Cafe24
// owners quote; the export's columns are chosen per shop). 스마트스토어: the order sheet of
// 발주/발송 관리 (상품주문번호, 주문번호, 구매자명, 구매자ID, 주문상태, 결제일, 상품번호, 상품명,
// 수량, 상품가격, 상품별 총 주문금액, 구매자연락처, 주문일시), as listed by the public parser
// heedu-yoon/excelParser (SmartStore.cs); newer sheets write "최종 상품별 총 주문금액". 고도몰: the
// order list's columns in Godomall 5's OrderAdminGrid (주문일시, 주문번호, 주문자, 총 주문금액,
// 결제상태). Sixshop publishes no column list we could find: its exports are matched by the
// common names above (주문번호, 주문일, 주문자 이메일, 결제금액, 상품명, 수량), and the owner picks
// the rest. 스마트스토어's 구매자ID is masked ("abc****"), so it is never guessed as a member id.

const CUSTOMERS: &[Target] = &[
    t(
        "user_id",
        &[
            "user_id",
            "id",
            "customer_id",
            "Customer ID",
            "아이디",
            "회원아이디",
            "회원 ID",
            "고객 ID",
        ],
    ),
    t("email", &["email", "e-mail", "이메일", "이메일 주소", "메일"]),
    t(
        "phone",
        &[
            "phone",
            "mobile",
            "휴대폰번호",
            "휴대폰",
            "휴대전화",
            "휴대전화번호",
            "핸드폰",
            "연락처",
            "전화번호",
        ],
    ),
    t("name", &["name", "full_name", "이름", "회원명", "고객명", "성명"]),
    t(
        "created_at",
        &[
            "created_at",
            "signed_up_at",
            "회원 가입일",
            "가입일",
            "가입일시",
            "회원가입일시",
        ],
    ),
    t(
        "birthday",
        &["birthday", "birthdate", "date_of_birth", "생년월일", "생일"],
    ),
    t("city", &["city", "도시", "시/도"]),
    t("country", &["country", "country_code", "국가"]),
    t("tags", &["tags", "태그"]),
    t(
        "email_consent",
        &[
            "email_consent",
            "이메일 수신여부",
            "이메일 수신동의",
            "뉴스메일 수신여부",
            "메일 수신여부",
        ],
    ),
    t(
        "sms_consent",
        &["sms_consent", "SMS 수신여부", "SMS 수신동의", "문자 수신여부"],
    ),
    t(
        "kakao_consent",
        &["kakao_consent", "카카오톡 수신여부", "알림톡 수신여부"],
    ),
];

const ORDERS: &[Target] = &[
    t("order_id", &["order_id", "주문번호", "주문 번호"]),
    t(
        "user_id",
        &[
            "user_id",
            "customer_id",
            "회원아이디",
            "주문자 아이디",
            "주문자ID",
            "회원 ID",
        ],
    ),
    t("email", &["email", "주문자 이메일", "구매자 이메일", "이메일"]),
    t(
        "phone",
        &[
            "phone",
            "주문자 휴대전화",
            "주문자 휴대폰",
            "주문자 휴대폰 번호",
            "주문자 연락처",
            "구매자연락처",
            "휴대폰번호",
            "연락처",
        ],
    ),
    t("name", &["주문자명", "주문자 이름", "구매자명", "주문자"]),
    t(
        "created_at",
        &[
            "created_at",
            "order_date",
            "주문일시",
            "주문일",
            "결제일",
            "결제일시",
            "주문 일시",
        ],
    ),
    t("status", &["status", "주문상태", "결제상태"]),
    t(
        "total",
        &[
            "total",
            "결제금액",
            "총 결제금액",
            "실결제금액",
            "총 주문금액",
            "주문금액",
        ],
    ),
    t(
        "line_total",
        &[
            "line_total",
            "최종 상품별 총 주문금액",
            "상품별 총 주문금액",
            "상품구매금액",
        ],
    ),
    t("product_id", &["product_id", "상품번호", "상품코드"]),
    t("sku", &["sku", "판매자 상품코드", "자체상품코드", "옵션관리코드"]),
    t(
        "product_name",
        &["product_name", "상품명", "상품명(한국어 쇼핑몰)", "주문상품"],
    ),
    t("price", &["price", "상품가격", "판매가", "상품 판매가", "상품단가"]),
    t("quantity", &["quantity", "qty", "수량", "주문수량", "구매수량"]),
    t("category", &["category", "카테고리"]),
    t("discount", &["discount", "할인금액", "총 할인금액"]),
    t("coupon", &["coupon", "쿠폰", "쿠폰명"]),
    t("shipping", &["shipping", "배송비", "총 배송비", "배송비 합계"]),
    t("refunded_amount", &["refunded_amount", "환불금액", "총 환불금액"]),
    t("currency", &["currency", "통화"]),
];

const PRODUCTS: &[Target] = &[
    t("id", &["id", "product_id", "상품번호", "상품코드"]),
    t("name", &["name", "product_name", "상품명"]),
    t("sku", &["sku", "자체상품코드", "판매자 상품코드"]),
    t("category", &["category", "카테고리", "분류", "상품분류"]),
    t("brand", &["brand", "브랜드", "제조사"]),
    t("price", &["price", "판매가", "정상가", "소비자가"]),
    t("sale_price", &["sale_price", "할인가", "할인판매가"]),
    t("image_url", &["image_url", "대표이미지", "대표 이미지", "이미지"]),
    t("url", &["url", "상품 URL", "상품URL"]),
    t("inventory", &["inventory", "stock", "재고", "재고수량"]),
    t("in_stock", &["in_stock", "품절여부"]),
    t("description", &["description", "상품설명", "상품 설명"]),
    t("tags", &["tags", "태그", "검색어"]),
];

/// The fields a file of `kind` can be mapped to, in the order the mapping step shows them.
pub fn targets(kind: Kind) -> &'static [Target] {
    match kind {
        Kind::Customers => CUSTOMERS,
        Kind::Orders => ORDERS,
        Kind::Products => PRODUCTS,
    }
}

/// What a mapping must name: each entry is met by any one of its fields.
fn required(kind: Kind) -> &'static [&'static [&'static str]] {
    match kind {
        Kind::Customers => &[&["user_id", "email", "phone"]],
        Kind::Orders => &[&["order_id"], &["user_id", "email", "phone"], &["created_at"]],
        Kind::Products => &[&["id"], &["name"]],
    }
}

/// A header reduced for guessing: letters and digits only, lower case ("주문자 이메일" and
/// "주문자이메일", "Order_ID" and "order id" meet).
/// Whether two headers are the same column, case and spacing aside (as a mapping is remembered).
pub fn same_header(a: &str, b: &str) -> bool {
    squash(a) == squash(b)
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Guesses a mapping from the header names: each field, in order, takes the first header not
/// already taken that one of its guesses names.
pub fn guess(kind: Kind, headers: &[String]) -> Mapping {
    let squashed: Vec<String> = headers.iter().map(|h| squash(h)).collect();
    let mut taken = vec![false; headers.len()];
    let mut mapping = Mapping::new();
    for target in targets(kind) {
        let found = target.guesses.iter().find_map(|g| {
            let g = squash(g);
            (0..headers.len()).find(|&i| !taken[i] && squashed[i] == g)
        });
        if let Some(i) = found {
            taken[i] = true;
            mapping.insert(target.name.to_string(), headers[i].clone());
        }
    }
    mapping
}

/// The mapping without its empty choices (a select left at "none").
pub fn tidy(mapping: &Mapping) -> Mapping {
    mapping
        .iter()
        .filter(|(_, header)| !header.trim().is_empty())
        .map(|(field, header)| (field.trim().to_string(), header.trim().to_string()))
        .collect()
}

fn bad(field: &str, message: String) -> Error {
    Error::BadMapping {
        field: format!("mapping.{field}"),
        message,
    }
}

/// What does not fit in a mapping, for its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misfit {
    /// The field is not one of the kind's.
    NotAField,
    /// It names a column the file does not have.
    NoColumn(String),
    /// It names a column already given to the field `other`.
    Taken { column: String, other: String },
    /// A required field has no column: any one of these would do.
    Required(&'static [&'static str]),
}

/// The first thing that does not fit in a mapping for a file of `kind` with `headers`: the field
/// it is about and why (`check` words it for the API; the console words it in its language).
pub fn misfit(kind: Kind, headers: &[String], mapping: &Mapping) -> Option<(String, Misfit)> {
    let mut used: BTreeMap<&str, &str> = BTreeMap::new();
    for (field, header) in mapping {
        let why = if !targets(kind).iter().any(|t| t.name == field) {
            Misfit::NotAField
        } else if !headers.iter().any(|h| h == header) {
            Misfit::NoColumn(header.clone())
        } else if let Some(other) = used.insert(header.as_str(), field.as_str()) {
            Misfit::Taken {
                column: header.clone(),
                other: other.to_string(),
            }
        } else {
            continue;
        };
        return Some((field.clone(), why));
    }
    required(kind)
        .iter()
        .find(|any_of| !any_of.iter().any(|f| mapping.contains_key(*f)))
        .map(|any_of| (any_of[0].to_string(), Misfit::Required(any_of)))
}

/// Checks a mapping against a file's headers: every field is one of ours, every header is in the
/// file and given to one field only, and what a file of `kind` needs is there.
pub fn check(kind: Kind, headers: &[String], mapping: &Mapping) -> Result<(), Error> {
    let Some((field, why)) = misfit(kind, headers, mapping) else {
        return Ok(());
    };
    let message = match why {
        Misfit::NotAField => {
            let names: Vec<&str> = targets(kind).iter().map(|t| t.name).collect();
            format!("is not a field of a {kind} file; the fields are {}", names.join(", "))
        }
        Misfit::NoColumn(header) => format!(
            "names the column \"{header}\", which the file does not have; its columns are {}",
            headers.join(", ")
        ),
        Misfit::Taken { column, other } => format!("names the column \"{column}\", already given to `{other}`"),
        Misfit::Required([_]) => "is required: choose the column that holds it".to_string(),
        Misfit::Required(any_of) => format!(
            "or `{}` is required: choose the column that holds one",
            any_of[1..].join("` or `")
        ),
    };
    Err(bad(&field, message))
}

/// What a mapping is remembered under: the kind and the file's headers as a set (order, case and
/// spacing aside), so this month's export of the same shop finds last month's mapping.
pub fn key(kind: Kind, headers: &[String]) -> String {
    let mut set: Vec<String> = headers.iter().map(|h| squash(h)).filter(|h| !h.is_empty()).collect();
    set.sort();
    set.dedup();
    format!("{kind}:{:016x}", cell::stable_hash(set.join("\u{1f}").as_bytes()))
}

/// The start of a file, for the mapping step: its headers and its first data rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preview {
    pub headers: Vec<String>,
    /// The first rows, each as many cells as there are headers.
    pub rows: Vec<Vec<String>>,
    /// Data rows in the file.
    pub total_rows: usize,
}

/// A file's headers, its first row read alone.
pub fn headers(csv: &[u8]) -> Result<Vec<String>, Error> {
    Sheet::headers(csv)
}

/// Reads a file's headers and its first `rows` data rows.
pub fn preview(input: impl std::io::Read, rows: usize) -> Result<Preview, Error> {
    let sheet = Sheet::read(input)?;
    let width = sheet.headers.len();
    let sample = sheet
        .records
        .iter()
        .take(rows)
        .map(|r| {
            (0..width)
                .map(|i| r.cells.get(i).unwrap_or("").trim().to_string())
                .collect()
        })
        .collect();
    Ok(Preview {
        total_rows: sheet.records.len(),
        headers: sheet.headers,
        rows: sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found in review: a remembered mapping is found by the headers' set with case and spacing
    /// aside, so it must name this file's columns the same way.
    #[test]
    fn a_header_spelt_otherwise_is_the_same_column_and_keeps_the_key() {
        assert!(same_header("주문자이메일", "주문자 이메일"));
        assert!(same_header("Order ID", "order_id"));
        assert!(!same_header("주문번호", "상품주문번호"));
        assert_eq!(
            key(Kind::Orders, &headers(&["주문자 이메일", "주문번호"])),
            key(Kind::Orders, &headers(&["주문번호", "주문자이메일"]))
        );
    }

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cafe24_and_smartstore_headers_are_guessed() {
        let cafe24 = headers(&[
            "주문번호",
            "주문일시",
            "주문자명",
            "주문자 이메일",
            "주문자 휴대전화",
            "상품명(한국어 쇼핑몰)",
            "수량",
            "결제금액",
            "주문상태",
        ]);
        let m = guess(Kind::Orders, &cafe24);
        assert_eq!(m["order_id"], "주문번호");
        assert_eq!(m["created_at"], "주문일시");
        assert_eq!(m["email"], "주문자 이메일");
        assert_eq!(m["phone"], "주문자 휴대전화");
        assert_eq!(m["name"], "주문자명");
        assert_eq!(m["total"], "결제금액");
        assert_eq!(m["product_name"], "상품명(한국어 쇼핑몰)");
        assert!(check(Kind::Orders, &cafe24, &m).is_ok());

        let smartstore = headers(&[
            "상품주문번호",
            "주문번호",
            "구매자명",
            "구매자ID",
            "주문상태",
            "결제일",
            "상품번호",
            "상품명",
            "수량",
            "상품가격",
            "최종 상품별 총 주문금액",
            "구매자연락처",
        ]);
        let m = guess(Kind::Orders, &smartstore);
        assert_eq!(m["order_id"], "주문번호", "the order, not the product order");
        assert_eq!(m["created_at"], "결제일");
        assert_eq!(m["line_total"], "최종 상품별 총 주문금액");
        assert_eq!(m["phone"], "구매자연락처");
        assert!(!m.contains_key("user_id"), "the masked 구매자ID is not a member id");
        assert!(!m.contains_key("total"));
        assert!(check(Kind::Orders, &smartstore, &m).is_ok());
    }

    #[test]
    fn a_bad_mapping_names_its_field() {
        let h = headers(&["주문번호", "주문일시", "이메일"]);
        let field = |m: &[(&str, &str)]| {
            let m: Mapping = m.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            match check(Kind::Orders, &h, &m) {
                Err(Error::BadMapping { field, message }) => (field, message),
                other => panic!("{other:?}"),
            }
        };
        let (f, m) = field(&[("order_id", "주문번호"), ("email", "이메일")]);
        assert_eq!(
            (f.as_str(), m.as_str()),
            ("mapping.created_at", "is required: choose the column that holds it")
        );
        let (f, m) = field(&[("order_id", "주문번호"), ("created_at", "주문일시")]);
        assert_eq!(f, "mapping.user_id");
        assert!(m.contains("`email` or `phone`"), "{m}");
        let (f, m) = field(&[("order_id", "주문번호"), ("created_at", "결제일"), ("email", "이메일")]);
        assert_eq!(f, "mapping.created_at");
        assert!(m.contains("\"결제일\", which the file does not have"), "{m}");
        let (f, _) = field(&[("order_id", "주문번호"), ("total", "주문번호")]);
        assert_eq!(f, "mapping.total");
        // What the console words in its language.
        let taken: Mapping = [("order_id", "주문번호"), ("total", "주문번호")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            misfit(Kind::Orders, &h, &taken),
            Some((
                "total".to_string(),
                Misfit::Taken {
                    column: "주문번호".into(),
                    other: "order_id".into()
                }
            ))
        );
        let (f, _) = field(&[("amount", "주문번호")]);
        assert_eq!(f, "mapping.amount");
    }

    #[test]
    fn the_key_is_the_set_of_headers() {
        let a = key(Kind::Orders, &headers(&["주문번호", "주문자 이메일"]));
        assert_eq!(a, key(Kind::Orders, &headers(&["주문자이메일", " 주문번호 "])));
        assert_ne!(a, key(Kind::Customers, &headers(&["주문번호", "주문자 이메일"])));
        assert_ne!(a, key(Kind::Orders, &headers(&["주문번호", "이메일"])));
    }
}
