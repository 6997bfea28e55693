//! What an event says of products: its product lines (`properties.products[]`, else the
//! properties themselves), the catalogue id each names, and the interest counts a touch of a
//! product adds to its customer, the product and each level of its category. The writer (`track`,
//! `order`) and the readers of the event log (recent touches, trending, segment conditions,
//! campaign triggers) all read lines through [`products_of`].

use serde_json::{Map, Value};

use super::{category_levels, id_text, product_id_of};
use crate::store::records::OrderLine;
use crate::store::{self, Touch, Tx};
use crate::value::number;

/// An event's product lines: each object of `properties.products[]`, or else the properties
/// themselves (a `Product Viewed` names one product). Lines that are not objects are passed over
/// (the tracking API refuses them; older events may hold anything).
pub fn products_of(props: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    match props.get("products").and_then(Value::as_array) {
        Some(items) => items.iter().filter_map(Value::as_object).collect(),
        None => vec![props],
    }
}

/// The same for properties held as a JSON value (an event as stored).
pub fn products_of_value(props: &Value) -> Vec<&Map<String, Value>> {
    props.as_object().map(products_of).unwrap_or_default()
}

fn num(props: &Map<String, Value>, key: &str) -> Option<f64> {
    props.get(key).and_then(number)
}

/// A line's product properties, as the event sent them.
pub type LineProps<'a> = &'a Map<String, Value>;

/// The products of an event as order lines: the catalogue id each names (SKUs resolved), and the
/// line's category or else its catalogue product's.
pub fn lines_of<'a>(
    tx: &mut Tx,
    props: &'a Map<String, Value>,
) -> Result<Vec<(OrderLine, LineProps<'a>)>, store::Error> {
    let items = products_of(props);
    let mut out = Vec::with_capacity(items.len());
    for p in items {
        if let Some(id) = product_id_of(tx, p)? {
            // A line without a category is in its catalogue product's category.
            let category = match id_text(p, "category") {
                Some(c) => Some(c),
                None => tx.product_category(&id)?,
            };
            let line = OrderLine {
                product_id: id,
                sku: id_text(p, "sku"),
                name: id_text(p, "name"),
                category,
                price: num(p, "price").unwrap_or(0.0),
                quantity: num(p, "quantity").unwrap_or(1.0),
            };
            out.push((line, p));
        }
    }
    Ok(out)
}

/// Counts one touch of a product and of each level of its category.
pub fn touch(
    tx: &mut Tx,
    customer: u64,
    kind: Touch,
    product_id: &str,
    category: Option<&str>,
    at: i64,
) -> Result<(), store::Error> {
    let first = tx.bump_interest(customer, kind, &format!("p:{product_id}"), at)?;
    tx.bump_product_stats(product_id, kind, first)?;
    tx.bump_product_day(product_id, kind, at);
    if let Some(c) = category {
        for level in category_levels(c) {
            tx.bump_interest(customer, kind, &format!("c:{level}"), at)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_event_s_products_are_its_product_list_or_itself() {
        let order = json!({"order_id": "o1", "products": [{"product_id": "p1"}, 7, {"sku": "S-2"}]});
        let lines = products_of_value(&order);
        assert_eq!(lines.len(), 2, "the number is not a line");
        assert_eq!(lines[0]["product_id"], "p1");
        assert_eq!(lines[1]["sku"], "S-2");
        let view = json!({"product_id": "p9", "name": "향초"});
        assert_eq!(products_of_value(&view), vec![view.as_object().unwrap()]);
        assert!(products_of_value(&json!("not an object")).is_empty());
    }
}
