//! Recommendations in the console: the customer page's card (a strategy switcher over the
//! list) and the product page's bought-together card. Both show what the JSON API answers
//! (`api::recommend::answer` and `related_answer`, so the console and the storefront never
//! disagree), in words: the product as the catalogue has it now, the score and where each item
//! came from, the strategy itself or a step of the fallback chain.

use super::web_url;
use crate::app::AppState;
use crate::app::recommend::{self, DEFAULT_DAYS, DEFAULT_LIMIT, ProductCard};
use crate::i18n::{self, Catalog, Lang};
use crate::recommend::{Request, Strategy};
use crate::store::{self, ReadTx};

/// One recommended product, ready to show.
pub struct Recommended {
    pub id: String,
    pub name: String,
    /// A thumbnail, only when the catalogue's image is a web address.
    pub image: Option<String>,
    /// The price before the sale, struck through, when there is a sale price.
    pub was: Option<String>,
    pub price: String,
    pub score: String,
    /// The source's name (`bought_together`, …), for styles and tests.
    pub source: &'static str,
    pub source_label: &'static str,
    /// The strategy's own answer; false when a step of the fallback chain filled the place.
    pub own: bool,
    /// For bought-together on a product page: "bought together in N orders".
    pub support: Option<String>,
}

/// A link of the strategy switcher.
pub struct StrategyLink {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// The strategy a customer page's `?rec=` names; anything else (or nothing) is "for you", the
/// list a storefront shows by default.
pub fn strategy(rec: Option<&str>) -> Strategy {
    rec.and_then(Strategy::parse).unwrap_or(Strategy::ForYou)
}

/// The switcher of a customer's card: every strategy in words, each a link back to the page
/// (and down to the card) with `?rec=`.
pub fn strategy_links(customer: u64, current: Strategy, t: &'static Catalog) -> Vec<StrategyLink> {
    Strategy::ALL
        .iter()
        .map(|s| StrategyLink {
            key: s.as_str(),
            label: t.get(&format!("recommend.strategy.{}", s.as_str())),
            href: format!("/customers/{customer}?rec={}#customer-recommendations", s.as_str()),
            current: *s == current,
        })
        .collect()
}

/// What `strategy` recommends for a customer, as the API would answer it.
pub fn for_customer(
    st: &AppState,
    read: &ReadTx,
    customer: u64,
    strategy: Strategy,
    t: &'static Catalog,
    lang: Lang,
) -> Result<Vec<Recommended>, store::Error> {
    let req = Request {
        strategy,
        product: None,
        category: None,
        days: DEFAULT_DAYS,
        limit: DEFAULT_LIMIT,
    };
    let answer = recommend::answer(st, read, Some(customer), &req)?;
    Ok(shown(answer.items, strategy, t, lang))
}

/// What is bought with a product (then the fallback), with the orders holding both.
pub fn related(
    st: &AppState,
    read: &ReadTx,
    product: &str,
    t: &'static Catalog,
    lang: Lang,
) -> Result<Vec<Recommended>, store::Error> {
    let answer = recommend::related_answer(st, read, product, DEFAULT_LIMIT)?;
    Ok(shown(answer.items, Strategy::BoughtTogether, t, lang))
}

/// Cards in words: prices in the product's currency, the score to three decimals, the source
/// as a label, and whether it is the strategy's own.
fn shown(cards: Vec<ProductCard>, strategy: Strategy, t: &'static Catalog, lang: Lang) -> Vec<Recommended> {
    cards
        .into_iter()
        .map(|c| {
            let currency = c.currency.as_deref();
            let money = |a: f64| i18n::money(a, currency, lang);
            let (was, price) = match (c.price, c.sale_price) {
                (Some(p), Some(s)) => (Some(money(p)), money(s)),
                (None, Some(s)) => (None, money(s)),
                (Some(p), None) => (None, money(p)),
                (None, None) => (None, "—".into()),
            };
            Recommended {
                image: web_url(c.image_url.as_deref()),
                was,
                price,
                score: i18n::number(f64::from(c.score), 3),
                source: c.source.as_str(),
                source_label: t.get(&format!("recommend.source.{}", c.source.as_str())),
                own: strategy.owns(c.source),
                support: c.support.map(|n| support(n, t)),
                name: c.name,
                id: c.product_id,
            }
        })
        .collect()
}

/// "bought together in 3 orders": the weighted count to one decimal (a visit's cart counts 0.3
/// of an order), whole numbers without one.
fn support(orders: f32, t: &Catalog) -> String {
    let n = (f64::from(orders) * 10.0).round() / 10.0;
    if n == 1.0 {
        return t.get("recommend.support_one").to_string();
    }
    let shown = if n.fract() == 0.0 {
        i18n::number(n, 0)
    } else {
        i18n::number(n, 1)
    };
    t.get("recommend.support").replace("{n}", &shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::Source;

    #[test]
    fn support_reads_as_orders_in_both_languages() {
        let en = Catalog::for_lang(Lang::En);
        let ko = Catalog::for_lang(Lang::Ko);
        assert_eq!(support(3.0, en), "bought together in 3 orders");
        assert_eq!(support(1.0000001, en), "bought together in 1 order");
        assert_eq!(support(1.3, en), "bought together in 1.3 orders");
        assert_eq!(support(2.6, ko), "2.6건의 주문에서 함께 구매");
        assert_eq!(support(1.0, ko), "1건의 주문에서 함께 구매");
    }

    #[test]
    fn every_strategy_and_source_has_words_in_both_languages() {
        for lang in [Lang::En, Lang::Ko] {
            let t = Catalog::for_lang(lang);
            for link in strategy_links(7, Strategy::CrossSell, t) {
                assert!(
                    t.find(&format!("recommend.strategy.{}", link.key)).is_some(),
                    "{}",
                    link.key
                );
                assert_eq!(link.current, link.key == "cross_sell");
                assert!(link.href.starts_with("/customers/7?rec="));
            }
        }
        for lang in [Lang::En, Lang::Ko] {
            let t = Catalog::for_lang(lang);
            for s in Source::ALL {
                assert!(t.find(&format!("recommend.source.{}", s.as_str())).is_some(), "{s:?}");
            }
        }
        assert_eq!(strategy(Some("most_viewed")), Strategy::MostViewed);
        assert_eq!(strategy(Some("<script>")), Strategy::ForYou);
        assert_eq!(strategy(None), Strategy::ForYou);
    }
}
