//! The ready-made on-site messages: ifdo's three recommendation popups (recently viewed excluding
//! this visit, recently carted, recently purchased with a review link), ifdo's own coupon
//! reminder to members holding an unused coupon who did not buy in 7 days, a first-purchase coupon
//! for new members, a cart reminder, social proof on product pages (bought today, viewing now) and
//! an exit-intent coupon. Each is a `MessageInput` with Korean words to adjust; the coupon ones
//! need the shop's coupon chosen before they save.

use serde::Serialize;
use serde_json::json;

use super::MessageInput;

/// A ready-made message: its key, names and the input it starts from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = MessageTemplate)]
pub struct Template {
    pub key: &'static str,
    pub name_ko: &'static str,
    pub name_en: &'static str,
    /// What it does, in English (the console's catalog has both languages).
    pub about: &'static str,
    pub input: MessageInput,
}

fn input(v: serde_json::Value) -> MessageInput {
    serde_json::from_value(v).expect("the ready-made messages are valid inputs")
}

/// A recommendation popup of ifdo's: a slide-in at the bottom right with the visitor's own
/// products.
fn own_products(key: &str, name: &str, strategy: &str, title: &str, extra: serde_json::Value) -> MessageInput {
    let mut v = json!({
        "name": name,
        "template": key,
        "kind": "recommendation",
        "content": {"title": title, "position": "bottom_right", "backdrop": false},
        "fallbacks": {"customer.name": "고객"},
        "recommend": {"strategy": strategy, "limit": 4},
        "triggers": [{"on": "delay", "seconds": 3}],
        "display": {"frequency": {"every": "visit"}, "stop_after": ["click"]},
    });
    if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in extra {
            v.insert(k.clone(), x.clone());
        }
    }
    input(v)
}

/// Every ready-made message, in the order the console lists them.
pub fn all() -> Vec<Template> {
    vec![
        Template {
            key: "recently_viewed",
            name_ko: "최근 본 상품 추천",
            name_en: "Recently viewed products",
            about: "The products a returning visitor looked at in an earlier visit (none of this visit's), three seconds after arrival, once a visit.",
            input: own_products(
                "recently_viewed",
                "최근 본 상품 추천",
                "recently_viewed",
                "{{ customer.name }}님이 최근 본 상품이에요",
                json!({}),
            ),
        },
        Template {
            key: "recently_carted",
            name_ko: "장바구니 상품 추천",
            name_en: "Recently carted products",
            about: "The products the visitor carted and has not bought, on any page but the cart and checkout.",
            input: own_products(
                "recently_carted",
                "장바구니 상품 추천",
                "recently_carted",
                "장바구니에 담아 두신 상품, 잊지 않으셨죠?",
                json!({"target": {"urls": [
                    {"match": "contains", "value": "/cart", "exclude": true},
                    {"match": "contains", "value": "/order", "exclude": true},
                ]}}),
            ),
        },
        Template {
            key: "recently_purchased",
            name_ko: "구매 상품 리뷰 요청",
            name_en: "Review what they bought",
            about: "A member's recently purchased products, each with a link to write a review (set the shop's review address).",
            input: own_products(
                "recently_purchased",
                "구매 상품 리뷰 요청",
                "recently_purchased",
                "{{ customer.name }}님, 구매하신 상품은 마음에 드셨나요?",
                json!({
                    "recommend": {"strategy": "recently_purchased", "limit": 4, "review_url": "/review/write?product={id}"},
                    "content": {"title": "{{ customer.name }}님, 구매하신 상품은 마음에 드셨나요?", "subtitle": "리뷰를 남겨 주시면 다른 고객에게 큰 도움이 돼요", "position": "bottom_right", "backdrop": false},
                    "target": {"member": "member"},
                    "display": {"frequency": {"every": "days", "days": 7}, "stop_after": ["click"]},
                }),
            ),
        },
        Template {
            key: "coupon_reminder",
            name_ko: "보유 쿠폰 리마인드",
            name_en: "Unused coupon reminder",
            about: "To members who hold a coupon they can still use and have not ordered in 7 days: their code, one click away.",
            input: input(json!({
                "name": "보유 쿠폰 리마인드",
                "template": "coupon_reminder",
                "kind": "coupon",
                "content": {"title": "{{ customer.name }}님, 아직 쓰지 않은 쿠폰이 있어요", "subtitle": "{{ coupon.name }} · {{ coupon.discount }}", "position": "center"},
                "fallbacks": {"customer.name": "고객"},
                "target": {"member": "member", "rule": {"all": [
                    {"attr": "available_coupons", "op": ">=", "value": 1},
                    {"not": {"attr": "last_order_at", "op": "within_days", "value": 7}},
                ]}},
                "triggers": [{"on": "delay", "seconds": 5}],
                "display": {"frequency": {"every": "days", "days": 3}, "stop_after": ["click", "conversion"]},
            })),
        },
        Template {
            key: "first_purchase",
            name_ko: "첫 구매 쿠폰",
            name_en: "First-purchase coupon",
            about: "To members who signed up in the last 30 days and have not ordered yet.",
            input: input(json!({
                "name": "첫 구매 쿠폰",
                "template": "first_purchase",
                "kind": "coupon",
                "content": {"title": "가입을 환영해요, {{ customer.name }}님", "subtitle": "첫 구매에 쓸 수 있는 {{ coupon.discount }} 쿠폰을 드려요", "position": "center"},
                "fallbacks": {"customer.name": "고객"},
                "target": {"member": "member", "rule": {"all": [
                    {"attr": "orders_count", "op": "=", "value": 0},
                    {"attr": "signed_up_at", "op": "within_days", "value": 30},
                ]}},
                "triggers": [{"on": "arrival"}],
                "display": {"frequency": {"every": "visit"}, "stop_after": ["click", "conversion"]},
            })),
        },
        Template {
            key: "cart_reminder",
            name_ko: "장바구니 리마인드",
            name_en: "Cart reminder",
            about: "A bar at the top for visitors with something in their cart, on pages other than the cart and checkout.",
            input: input(json!({
                "name": "장바구니 리마인드",
                "template": "cart_reminder",
                "kind": "bar",
                "content": {"title": "장바구니에 담아 둔 상품이 기다리고 있어요", "button_text": "장바구니 보기", "button_url": "/cart", "position": "top"},
                "target": {"cart_items": {"min": 1}, "urls": [
                    {"match": "contains", "value": "/cart", "exclude": true},
                    {"match": "contains", "value": "/order", "exclude": true},
                ]},
                "triggers": [{"on": "page_views", "count": 2}],
                "display": {"frequency": {"every": "visit"}, "stop_after": ["click", "conversion"]},
            })),
        },
        Template {
            key: "bought_today",
            name_ko: "오늘 구매 수 (상품 페이지)",
            name_en: "Bought today (product pages)",
            about: "On a product page: how many customers bought it today, when at least 3 did. Real counts only.",
            input: input(json!({
                "name": "오늘 구매 수",
                "template": "bought_today",
                "kind": "social_proof",
                "social_proof": {"measure": "purchased_today", "minimum": 3},
                "content": {"position": "bottom_left", "backdrop": false, "auto_dismiss_seconds": 8},
                "triggers": [{"on": "delay", "seconds": 2}],
                "display": {"frequency": {"every": "page"}},
            })),
        },
        Template {
            key: "viewing_now",
            name_ko: "지금 보는 사람 수 (상품 페이지)",
            name_en: "Viewing now (product pages)",
            about: "On a product page: how many visitors viewed it in the last five minutes, when at least 3 did.",
            input: input(json!({
                "name": "지금 보는 사람 수",
                "template": "viewing_now",
                "kind": "social_proof",
                "social_proof": {"measure": "viewing_now", "minimum": 3},
                "content": {"position": "bottom_left", "backdrop": false, "auto_dismiss_seconds": 8},
                "triggers": [{"on": "delay", "seconds": 2}],
                "display": {"frequency": {"every": "page"}},
            })),
        },
        Template {
            key: "exit_intent_coupon",
            name_ko: "이탈 방지 쿠폰",
            name_en: "Exit-intent coupon",
            about: "When a visitor is about to leave (the pointer leaves the page; on phones a quick scroll up), a coupon, at most once a week.",
            input: input(json!({
                "name": "이탈 방지 쿠폰",
                "template": "exit_intent_coupon",
                "kind": "coupon",
                "content": {"title": "잠깐만요! 떠나기 전에 쿠폰 받아 가세요", "subtitle": "{{ coupon.name }} · {{ coupon.discount }}", "position": "center"},
                "target": {"urls": [{"match": "contains", "value": "/order", "exclude": true}]},
                "triggers": [{"on": "exit_intent"}],
                "display": {"frequency": {"every": "days", "days": 7}, "stop_after": ["click", "conversion"]},
            })),
        },
    ]
}

/// The ready-made message with this key.
pub fn find(key: &str) -> Option<Template> {
    all().into_iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onsite::{Kind, Lookups, check};

    struct Everything;
    impl Lookups for Everything {
        fn coupon_exists(&self, _: u64) -> Result<bool, crate::store::Error> {
            Ok(true)
        }
        fn segment_exists(&self, _: u64) -> Result<bool, crate::store::Error> {
            Ok(true)
        }
    }

    #[test]
    fn every_ready_made_message_saves_once_its_coupon_is_chosen() {
        let all = all();
        assert!(all.len() >= 8);
        let mut keys: Vec<&str> = all.iter().map(|t| t.key).collect();
        keys.dedup();
        assert_eq!(keys.len(), all.len(), "keys are unique");
        for t in all {
            let mut i = t.input.clone();
            assert_eq!(i.template.as_deref(), Some(t.key));
            if i.kind == Kind::Coupon {
                let err = check(&Everything, &i).expect_err("a coupon message needs its coupon");
                assert!(err.to_string().contains("coupon_id"), "{err}");
                i.coupon_id = Some(1);
            }
            let d = check(&Everything, &i).unwrap_or_else(|e| panic!("{}: {e}", t.key));
            assert!(d.display.dont_show_days >= 7, "{} offers 7일간 보지 않기", t.key);
        }
    }
}
