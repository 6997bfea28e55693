//! Recommendation answers as the storefront, the JSON API and the console show them: the engine's
//! picks turned into product cards from the catalogue as it is now. Both edges call these, so the
//! console and the storefront never disagree.

use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::recommend::{Pick, Request, Source, Strategy};
use crate::store::ReadTx;

/// The most a list may hold.
pub const MAX_LIMIT: usize = 50;
/// A list's length when the request does not say.
pub const DEFAULT_LIMIT: usize = 10;
/// The window of bestsellers and most viewed when the request does not say.
pub const DEFAULT_DAYS: u32 = 30;

/// A recommended product as the storefront shows it: the catalogue's current name, price, sale
/// price, image and URL, with the score and where it came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductCard {
    /// The product's id (CONTRACT §5 names it `id`).
    #[serde(rename = "id")]
    pub product_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sale_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub score: f32,
    /// The strategy's own source, or the fallback step: `recently_viewed`, `recently_carted`,
    /// `recently_purchased`, `cross_sell`, `bought_together`, `category_bestsellers`,
    /// `bestsellers`, `most_viewed`, `newest`.
    #[schema(value_type = String)]
    pub source: Source,
    /// For bought-together: the (weighted) orders holding both products.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support: Option<f32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendResponse {
    #[schema(value_type = String)]
    pub strategy: Strategy,
    pub items: Vec<ProductCard>,
}

/// Product cards for picks, from the catalogue as it is now.
fn cards(read: &ReadTx, picks: Vec<(String, Pick)>) -> Result<Vec<ProductCard>, crate::store::Error> {
    let mut out = Vec::with_capacity(picks.len());
    for (id, pick) in picks {
        let Some(p) = read.product(&id)? else { continue };
        out.push(ProductCard {
            product_id: p.id,
            name: p.name,
            price: p.price,
            sale_price: p.sale_price,
            currency: p.currency,
            image_url: crate::value::web_url(p.image_url.as_deref()),
            url: crate::value::web_url(p.url.as_deref()),
            category: p.category,
            score: (pick.score * 1000.0).round() / 1000.0,
            source: pick.source,
            support: None,
        });
    }
    Ok(out)
}

/// What the engine recommends for `customer` (None: a visitor the store does not know). The
/// console's customer page shows the same answer, so the two never disagree.
pub fn answer(
    st: &AppState,
    read: &ReadTx,
    customer: Option<u64>,
    req: &Request,
) -> Result<RecommendResponse, crate::store::Error> {
    let now = st.now_ms();
    st.recommend.fresh(read, *st.store.catalog_changes().borrow(), now)?;
    let history = match customer {
        Some(id) => st.recommend.history(read, id, now)?,
        None => Default::default(),
    };
    let picks = st.recommend.recommend(req, &history, now);
    Ok(RecommendResponse {
        strategy: req.strategy,
        items: cards(read, picks)?,
    })
}

/// The products bought together with `product` (then the fallback), each bought-together card
/// with the (weighted) orders holding both. The console's product page shows the same answer.
pub fn related_answer(
    st: &AppState,
    read: &ReadTx,
    product: &str,
    limit: usize,
) -> Result<RecommendResponse, crate::store::Error> {
    let req = Request {
        strategy: Strategy::BoughtTogether,
        product: Some(product.to_string()),
        category: None,
        days: DEFAULT_DAYS,
        limit,
    };
    let mut out = answer(st, read, None, &req)?;
    let support: std::collections::HashMap<String, f32> = st
        .recommend
        .related(product, MAX_LIMIT * 2)
        .into_iter()
        .map(|(p, _, co)| (p, co))
        .collect();
    for card in &mut out.items {
        if card.source == Source::BoughtTogether {
            card.support = support.get(&card.product_id).copied();
        }
    }
    Ok(out)
}
