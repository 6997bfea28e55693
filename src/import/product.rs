//! Products: our columns, or Shopify's product export, whose rows of one `Handle` (variants and
//! extra images) merge into one product.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::cell::{self, Amount};
use super::sheet::{Columns, Field, Row, Sheet};
use super::{Error, Item, Mapping, Parsed, RowError};

const ID: Field = Field::new("id", &["id", "product_id", "Handle"]);
const NAME: Field = Field::new("name", &["name", "product_name", "Title"]);
const SKU: Field = Field::new("sku", &["sku", "Variant SKU"]);
const CATEGORY: Field = Field::new("category", &["category", "Type"]);
/// Shopify's standard taxonomy ("Apparel & Accessories > Clothing > Shirts"), the category
/// when `Type` is empty, written as our category path ("Apparel & Accessories/Clothing/Shirts").
const TAXONOMY: Field = Field::new("product_category", &["Product Category"]);
const BRAND: Field = Field::new("brand", &["brand", "Vendor"]);
const PRICE: Field = Field::new("price", &["price", "Variant Price"]);
const COMPARE_AT: Field = Field::new("compare_at_price", &["compare_at_price", "Variant Compare At Price"]);
const SALE_PRICE: Field = Field::new("sale_price", &["sale_price"]);
const CURRENCY: Field = Field::new("currency", &["currency"]);
const IMAGE_URL: Field = Field::new("image_url", &["image_url", "Image Src"]);
const URL: Field = Field::new("url", &["url"]);
const IN_STOCK: Field = Field::new("in_stock", &["in_stock"]);
const INVENTORY: Field = Field::new("inventory", &["Variant Inventory Qty", "inventory", "stock"]);
const INVENTORY_TRACKER: Field = Field::new("inventory_tracker", &["Variant Inventory Tracker"]);
const INVENTORY_POLICY: Field = Field::new("inventory_policy", &["Variant Inventory Policy"]);
const HIDDEN: Field = Field::new("hidden", &["hidden"]);
const PUBLISHED: Field = Field::new("published", &["Published"]);
const STATUS: Field = Field::new("status", &["Status"]);
const DESCRIPTION: Field = Field::new("description", &["description", "Body (HTML)"]);
const TAGS: Field = Field::new("tags", &["tags"]);

const FIELDS: &[&Field] = &[
    &ID,
    &NAME,
    &SKU,
    &CATEGORY,
    &TAXONOMY,
    &BRAND,
    &PRICE,
    &COMPARE_AT,
    &SALE_PRICE,
    &CURRENCY,
    &IMAGE_URL,
    &URL,
    &IN_STOCK,
    &INVENTORY,
    &INVENTORY_TRACKER,
    &INVENTORY_POLICY,
    &HIDDEN,
    &PUBLISHED,
    &STATUS,
    &DESCRIPTION,
    &TAGS,
];

/// What one row says about its product. Shopify leaves product fields empty on variant and
/// image rows, so every field is optional here.
#[derive(Default)]
struct ProductRow {
    name: Option<String>,
    sku: Option<String>,
    category: Option<String>,
    taxonomy: Option<String>,
    brand: Option<String>,
    /// The row's price, compare-at price and sale price, which belong together.
    prices: Option<(Amount, Option<Amount>, Option<Amount>)>,
    currency: Option<String>,
    image_url: Option<String>,
    url: Option<String>,
    in_stock: Option<bool>,
    hidden: Option<bool>,
    description: Option<String>,
    tags: Option<Vec<String>>,
}

impl ProductRow {
    fn read(r: &mut Row<'_>) -> ProductRow {
        let price = r.parse(&PRICE, Amount::parse_non_negative);
        let compare_at = r.parse(&COMPARE_AT, Amount::parse_non_negative);
        let sale_price = r.parse(&SALE_PRICE, Amount::parse_non_negative);
        let prices = match (price, sale_price) {
            (Some(price), _) => Some((price, compare_at, sale_price)),
            (None, Some(_)) if r.get(&PRICE).is_none() => {
                r.fail(&PRICE, "is empty but `sale_price` is set");
                None
            }
            _ => None,
        };
        ProductRow {
            name: r.text(&NAME),
            sku: r.text(&SKU),
            category: r.text(&CATEGORY),
            taxonomy: r.get(&TAXONOMY).map(category_path),
            brand: r.text(&BRAND),
            prices,
            currency: r.parse(&CURRENCY, cell::parse_currency),
            image_url: r.text(&IMAGE_URL),
            url: r.text(&URL),
            in_stock: in_stock(r, price.is_some()),
            hidden: hidden(r),
            description: r.get(&DESCRIPTION).map(cell::strip_html).filter(|d| !d.is_empty()),
            tags: r.get(&TAGS).map(cell::split_tags).filter(|t| !t.is_empty()),
        }
    }

    /// Folds a later row of the same product in: the first value of each field wins, and the
    /// product is in stock if any variant is.
    fn merge(&mut self, later: ProductRow) {
        fn first<T>(slot: &mut Option<T>, later: Option<T>) {
            if slot.is_none() {
                *slot = later;
            }
        }
        first(&mut self.name, later.name);
        first(&mut self.sku, later.sku);
        first(&mut self.category, later.category);
        first(&mut self.taxonomy, later.taxonomy);
        first(&mut self.brand, later.brand);
        first(&mut self.prices, later.prices);
        first(&mut self.currency, later.currency);
        first(&mut self.image_url, later.image_url);
        first(&mut self.url, later.url);
        first(&mut self.hidden, later.hidden);
        first(&mut self.description, later.description);
        first(&mut self.tags, later.tags);
        self.in_stock = match (self.in_stock, later.in_stock) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, None) => None,
        };
    }

    fn into_json(self, id: String) -> Value {
        let mut product = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                product.insert(key.to_string(), value);
            }
        };
        put("id", Some(id.into()));
        put("name", self.name.map(Value::from));
        put("sku", self.sku.map(Value::from));
        put("category", self.category.or(self.taxonomy).map(Value::from));
        put("brand", self.brand.map(Value::from));
        if let Some((price, compare_at, sale_price)) = self.prices {
            // Shopify's compare-at price is the regular price of a product on sale.
            let (price, sale_price) = match (compare_at, sale_price) {
                (Some(compare_at), None) if compare_at > price => (compare_at, Some(price)),
                _ => (price, sale_price),
            };
            put("price", Some(price.to_json()));
            put("sale_price", sale_price.map(Amount::to_json));
        }
        put("currency", Some(self.currency.unwrap_or_else(|| "KRW".into()).into()));
        put("image_url", self.image_url.map(Value::from));
        put("url", self.url.map(Value::from));
        put("in_stock", self.in_stock.map(Value::from));
        put("hidden", self.hidden.map(Value::from));
        put("description", self.description.map(Value::from));
        put("tags", self.tags.map(Value::from));
        Value::Object(product)
    }
}

/// Reads stock: our `in_stock` flag, else Shopify's inventory. An untracked Shopify variant
/// (empty `Variant Inventory Tracker`) or one sold when out of stock (policy "continue") counts
/// as in stock.
fn in_stock(r: &mut Row<'_>, is_variant: bool) -> Option<bool> {
    if let Some(flag) = r.parse(&IN_STOCK, cell::parse_flag) {
        return Some(flag);
    }
    if is_variant && r.has(&INVENTORY_TRACKER) && r.get(&INVENTORY_TRACKER).is_none() {
        return Some(true);
    }
    let sells_out_of_stock = r
        .get(&INVENTORY_POLICY)
        .is_some_and(|p| p.eq_ignore_ascii_case("continue"));
    r.parse(&INVENTORY, Amount::parse_whole)
        .map(|quantity| quantity > 0 || sells_out_of_stock)
}

/// Turns a taxonomy written "A > B > C" into the catalogue's category path "A/B/C".
fn category_path(taxonomy: &str) -> String {
    let steps: Vec<&str> = taxonomy.split('>').map(str::trim).filter(|s| !s.is_empty()).collect();
    steps.join("/")
}

/// Reads visibility: our `hidden` flag, else Shopify's `Published` and `Status`.
fn hidden(r: &mut Row<'_>) -> Option<bool> {
    if let Some(flag) = r.parse(&HIDDEN, cell::parse_flag) {
        return Some(flag);
    }
    let published = r.parse(&PUBLISHED, cell::parse_flag);
    let status = r.get(&STATUS).map(str::to_ascii_lowercase);
    let status_hides = match status.as_deref() {
        Some("draft" | "archived" | "unlisted") => Some(true),
        Some("active") => Some(false),
        Some(_) => {
            r.fail(&STATUS, "must be active, draft, archived or unlisted");
            None
        }
        None => None,
    };
    match (published.map(|p| !p), status_hides) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), _) | (_, Some(false)) => Some(false),
        (None, None) => None,
    }
}

/// A product being assembled from its rows.
struct Group {
    id: String,
    first_row: usize,
    product: ProductRow,
    failed: bool,
}

pub(super) fn parse(sheet: &Sheet, mapping: Option<&Mapping>) -> Result<Parsed, Error> {
    let cols = Columns::resolve(sheet, FIELDS, mapping);
    if !cols.found_any() {
        return Err(Error::UnknownFormat {
            kind: super::Kind::Products,
            headers: sheet.headers.clone(),
        });
    }
    let missing = cols.missing(&[&[&ID], &[&NAME]]);
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            kind: super::Kind::Products,
            columns: missing,
        });
    }
    // Shopify's export (and tools copying it) spread a product over rows sharing a handle;
    // ours is a row per product.
    let merge_rows = sheet.has_key("handle");

    let mut parsed = Parsed::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for record in &sheet.records {
        parsed.rows += 1;
        let mut r = cols.row(record);
        let id = r.text(&ID);
        let product = ProductRow::read(&mut r);
        let Some(id) = id else {
            r.fail(&ID, "is empty");
            parsed.errors.append(&mut r.errors);
            continue;
        };
        let failed = !r.errors.is_empty();
        parsed.errors.append(&mut r.errors);
        match by_id.get(&id) {
            Some(&index) if merge_rows => {
                let group = &mut groups[index];
                group.failed |= failed;
                group.product.merge(product);
            }
            Some(&index) => {
                let first = groups[index].first_row;
                r.fail(&ID, format!("\"{id}\" is already used in row {first}"));
                parsed.errors.append(&mut r.errors);
            }
            None => {
                by_id.insert(id.clone(), groups.len());
                groups.push(Group {
                    id,
                    first_row: record.row,
                    product,
                    failed,
                });
            }
        }
    }

    for group in groups {
        if group.product.name.is_none() {
            parsed.errors.push(RowError {
                row: group.first_row,
                column: Some(cols.header(&NAME).to_string()),
                message: format!("`{}` is empty", cols.header(&NAME)),
            });
            continue;
        }
        if group.failed {
            continue;
        }
        parsed.items.push(Item {
            row: group.first_row,
            value: group.product.into_json(group.id),
        });
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::import::{Error, Kind, parse};

    fn products(csv: &str) -> crate::import::Parsed {
        parse(Kind::Products, csv.as_bytes(), chrono_tz::Asia::Seoul).unwrap()
    }

    #[test]
    fn our_columns() {
        let parsed = products(
            "id,name,sku,category,brand,price,sale_price,currency,image_url,url,in_stock,hidden,description,tags\n\
             P1,린넨 셔츠,LS-01,상의,담골,\"39,000\",\"29,000\",,https://x/1.jpg,https://x/p/1,yes,0,<p>시원한 <b>린넨</b></p>,\"여름; 린넨, 셔츠\"\n\
             P2,Mug,,Kitchen,,$12.50,,usd,,,n,,,\n",
        );
        assert_eq!(parsed.errors, []);
        assert_eq!(parsed.rows, 2);
        assert_eq!(
            parsed.items[0].value,
            json!({"id": "P1", "name": "린넨 셔츠", "sku": "LS-01", "category": "상의", "brand": "담골",
                   "price": 39000, "sale_price": 29000, "currency": "KRW", "image_url": "https://x/1.jpg",
                   "url": "https://x/p/1", "in_stock": true, "hidden": false, "description": "시원한 린넨",
                   "tags": ["여름", "린넨", "셔츠"]})
        );
        assert_eq!(
            parsed.items[1].value,
            json!({"id": "P2", "name": "Mug", "category": "Kitchen", "price": 12.5, "currency": "USD", "in_stock": false})
        );
        assert_eq!(parsed.items[1].row, 3);
    }

    #[test]
    fn row_errors_name_the_column() {
        let parsed = products(
            "Product_ID,Name,Price,In Stock\n\
             P1,셔츠,abc,yes\n\
             ,바지,1000,\n\
             P3,,1000,maybe\n\
             P1,중복,1000,\n\
             P5,양말,\"1,000\",\n",
        );
        let errors: Vec<_> = parsed
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_deref(), e.message.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (2, Some("Price"), "`Price` must be a number, got \"abc\""),
                (3, Some("Product_ID"), "`Product_ID` is empty"),
                (
                    4,
                    Some("In Stock"),
                    "`In Stock` must be true or false (or yes/no, y/n, 1/0), got \"maybe\""
                ),
                (4, Some("Name"), "`Name` is empty"),
                (5, Some("Product_ID"), "`Product_ID` \"P1\" is already used in row 2"),
            ]
        );
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(parsed.items[0].value["id"], "P5");
        assert_eq!(parsed.rows, 5);
    }

    #[test]
    fn shopify_export_with_variants() {
        let parsed = products(
            "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,\
             Variant SKU,Variant Grams,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,\
             Variant Fulfillment Service,Variant Price,Variant Compare At Price,Variant Requires Shipping,\
             Variant Taxable,Variant Barcode,Image Src,Image Position,Image Alt Text,Gift Card,Status\n\
             linen-shirt,린넨 셔츠,<p>시원한 린넨</p>,담골,Apparel & Accessories > Clothing > Shirts,셔츠,\"여름, 린넨\",TRUE,Size,S,\
             LS-S,200,shopify,0,deny,manual,29000.00,39000.00,TRUE,TRUE,,,,,FALSE,active\n\
             linen-shirt,,,,,,,,,M,LS-M,200,shopify,3,deny,manual,29000.00,39000.00,TRUE,TRUE,,,,,,\n\
             linen-shirt,,,,,,,,,,,,,,,,,,,,,https://cdn.shopify.com/a.jpg,1,,,\n\
             old-mug,Old Mug,,Acme,Home & Garden > Kitchen > Mugs,,,FALSE,Title,Default Title,\
             MUG-1,300,shopify,5,deny,manual,9000,,TRUE,TRUE,,https://cdn.shopify.com/m.jpg,1,,FALSE,draft\n\
             gift,Gift Card,,Acme,,,,TRUE,Title,Default Title,,0,,0,deny,manual,10000,,FALSE,FALSE,,,,,TRUE,active\n",
        );
        assert_eq!(parsed.errors, []);
        assert_eq!(parsed.rows, 5);
        let values: Vec<_> = parsed.items.iter().map(|i| (i.row, i.value.clone())).collect();
        assert_eq!(
            values,
            [
                (
                    2,
                    json!({"id": "linen-shirt", "name": "린넨 셔츠", "sku": "LS-S", "category": "셔츠", "brand": "담골",
                           "price": 39000, "sale_price": 29000, "currency": "KRW",
                           "image_url": "https://cdn.shopify.com/a.jpg", "in_stock": true, "hidden": false,
                           "description": "시원한 린넨", "tags": ["여름", "린넨"]})
                ),
                (
                    5,
                    json!({"id": "old-mug", "name": "Old Mug", "sku": "MUG-1", "category": "Home & Garden/Kitchen/Mugs", "brand": "Acme",
                           "price": 9000, "currency": "KRW", "image_url": "https://cdn.shopify.com/m.jpg",
                           "in_stock": true, "hidden": true})
                ),
                (
                    6,
                    json!({"id": "gift", "name": "Gift Card", "brand": "Acme", "price": 10000, "currency": "KRW",
                           "in_stock": true, "hidden": false})
                ),
            ]
        );
    }

    #[test]
    fn a_bad_variant_row_fails_its_product() {
        let parsed = products("Handle,Title,Variant Price\nshirt,Shirt,1000\nshirt,,x\nmug,Mug,500\n");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].row, 3);
        assert_eq!(parsed.errors[0].column.as_deref(), Some("Variant Price"));
        assert_eq!(parsed.items.len(), 1);
        assert_eq!(parsed.items[0].value["id"], "mug");
    }

    #[test]
    fn file_level_errors() {
        let err = parse(Kind::Products, "sku,price\nA,1\n".as_bytes(), chrono_tz::UTC).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the products file is missing required column(s): `id` (accepted headers: id, product_id, Handle); \
             `name` (accepted headers: name, product_name, Title)"
        );
        let err = parse(Kind::Products, "foo,bar\n1,2\n".as_bytes(), chrono_tz::UTC).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnknownFormat {
                    kind: Kind::Products,
                    ..
                }
            ),
            "{err}"
        );
        let orders = "Name,Email,Financial Status,Total,Lineitem name,Id\n#1,a@b.co,paid,1,x,9\n";
        let err = parse(Kind::Products, orders.as_bytes(), chrono_tz::UTC).unwrap_err();
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
}
