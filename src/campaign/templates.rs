//! The eight ready-made remarketing campaigns of TasOn and ifdo, as drafts to adjust: each is a
//! `CampaignInput` with a Korean message, a delay or schedule and the events that cancel it. The
//! interest-based one comes in its two forms (N days after each interest, or collected over the
//! last N days), so the list has nine entries.

use serde::Serialize;
use serde_json::json;

use super::CampaignInput;

/// A ready-made campaign: its key, names and the input it starts from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Template {
    pub key: &'static str,
    pub name_ko: &'static str,
    pub name_en: &'static str,
    pub about: &'static str,
    pub input: CampaignInput,
}

fn input(v: serde_json::Value) -> CampaignInput {
    serde_json::from_value(v).expect("the ready-made campaigns are valid inputs")
}

/// A shop's email: one column of `parts` as wide as a phone's mail app allows, in the fonts
/// Korean mail readers have.
fn shop_email(parts: &[String]) -> String {
    format!(
        "<div style=\"max-width:600px;margin:0 auto;padding:16px;font-family:'Apple SD Gothic Neo','Malgun Gothic',sans-serif;font-size:15px;line-height:1.6;color:#222\">{}</div>",
        parts.concat()
    )
}

fn para(text: &str) -> String {
    format!("<p style=\"margin:0 0 12px\">{text}</p>")
}

/// The products of `list` as cards under a heading, left out whole when there are none.
fn cards(list: &str, heading: &str, button: &str) -> String {
    format!(
        "{{% if {list} %}}<h3 style=\"font-size:16px;margin:20px 0 8px\">{heading}</h3>{{{{ product_cards({list}, \"{button}\") }}}}{{% endif %}}"
    )
}

/// A button to `url` (a variable), left out when it is empty.
fn button(url: &str, label: &str) -> String {
    format!(
        "{{% if {url} %}}<p style=\"text-align:center;margin:24px 0\"><a href=\"{{{{ {url} }}}}\" style=\"display:inline-block;padding:12px 28px;background:#222;color:#fff;text-decoration:none;border-radius:6px\">{label}</a></p>{{% endif %}}"
    )
}

/// Every ready-made campaign.
pub fn all() -> Vec<Template> {
    let email = |subject: &str, text: &str, html: String| {
        json!({
            "subject": subject,
            "text": text,
            "html": html,
        })
    };
    vec![
        Template {
            key: "first_purchase",
            name_ko: "첫 구매 유도",
            name_en: "First-purchase nudge",
            about: "3 days after sign-up, to members who have not ordered yet (cancelled by an order).",
            input: input(json!({
                "name": "첫 구매 유도",
                "template": "first_purchase",
                "channel": "email",
                "when": {"kind": "trigger", "event": "Signed Up", "delay": {"amount": 3, "unit": "days"}, "cancel_on": ["Order Completed"]},
                "content": email(
                    "{{ customer.name }}님, 첫 주문을 기다리고 있어요",
                    "{{ customer.name }}님, 가입해 주셔서 고맙습니다.\n{% if coupon.discount %}첫 구매에 쓰실 수 있는 쿠폰을 드려요: {{ coupon.code }} ({{ coupon.discount }})\n{% endif %}{% if recommendations %}\n많이 찾는 상품:\n{{ product_lines(recommendations) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님, 가입해 주셔서 고맙습니다."),
                        "{% if coupon.discount %}<div style=\"margin:16px 0;padding:16px;border:2px dashed #222;border-radius:8px;text-align:center\">첫 구매에 쓰실 수 있는 쿠폰을 드려요<div style=\"font-size:20px;font-weight:bold;letter-spacing:1px;margin-top:6px\">{{ coupon.code }}</div><div>{{ coupon.discount }}</div></div>{% endif %}".into(),
                        cards("recommendations", "많이 찾는 상품", "보러 가기"),
                        button("shop.url", "쇼핑몰로 가기"),
                    ])
                ),
                "recommend": {"strategy": "bestsellers", "limit": 4},
            })),
        },
        Template {
            key: "win_back",
            name_ko: "휴면 고객 재방문 유도",
            name_en: "Win-back",
            about: "Every day at 10:00, to customers who ordered before and have not visited in 60 days.",
            input: input(json!({
                "name": "휴면 고객 재방문 유도",
                "template": "win_back",
                "channel": "email",
                "audience": {"rule": {"all": [
                    {"attr": "orders_count", "op": ">=", "value": 1},
                    {"attr": "last_seen_at", "op": "not_within_days", "value": 60}
                ]}},
                "when": {"kind": "daily", "time": "10:00"},
                "content": email(
                    "{{ customer.name }}님, 오랜만이에요",
                    "{{ customer.name }}님, 그동안 새로 들어온 상품을 골라 봤어요.{% if recommendations %}\n{{ product_lines(recommendations) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님, 그동안 새로 들어온 상품을 골라 봤어요."),
                        cards("recommendations", "골라 본 상품", "보러 가기"),
                        button("shop.url", "쇼핑몰로 가기"),
                    ])
                ),
                "recommend": {"strategy": "for_you", "limit": 4},
            })),
        },
        Template {
            key: "many_views",
            name_ko: "여러 번 본 상품 구매 유도",
            name_en: "Viewed many times",
            about: "An hour after someone viewed the same product a third time (cancelled by an order).",
            input: input(json!({
                "name": "여러 번 본 상품 구매 유도",
                "template": "many_views",
                "channel": "email",
                "when": {"kind": "trigger", "event": "Product Viewed", "min_count": 3, "delay": {"amount": 1, "unit": "hours"}, "cancel_on": ["Order Completed"]},
                "content": email(
                    "{{ product.name }}, 아직 고민 중이세요?",
                    "{{ customer.name }}님이 여러 번 보신 {{ product.name }} ({{ product.price_text }})\n{{ product.url }}{% if recommendations %}\n\n함께 많이 사는 상품:\n{{ product_lines(recommendations) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님이 여러 번 보신 상품이에요."),
                        "{% if product.id %}{{ product_cards([product], \"지금 보러 가기\") }}{% endif %}".into(),
                        cards("recommendations", "함께 많이 사는 상품", "보러 가기"),
                    ])
                ),
                "recommend": {"strategy": "bought_together", "limit": 4},
            })),
        },
        Template {
            key: "cart_abandonment",
            name_ko: "장바구니 이탈",
            name_en: "Cart abandonment",
            about: "An hour after a product is added to the cart, unless an order came first.",
            input: input(json!({
                "name": "장바구니 이탈",
                "template": "cart_abandonment",
                "channel": "email",
                "when": {"kind": "trigger", "event": "Product Added", "delay": {"amount": 1, "unit": "hours"}, "cancel_on": ["Order Completed"]},
                "content": email(
                    "{{ customer.name }}님, 장바구니에 상품이 남아 있어요",
                    "{{ customer.name }}님, 장바구니에 담아 두신 상품이에요.{% if cart %}\n{{ product_lines(cart) }}{% endif %}{% if recommendations %}\n\n함께 보면 좋은 상품:\n{{ product_lines(recommendations) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님, 장바구니에 담아 두신 상품이에요."),
                        "{% if cart %}{{ product_cards(cart, \"주문 이어 하기\") }}{% endif %}".into(),
                        cards("recommendations", "함께 보면 좋은 상품", "보러 가기"),
                    ])
                ),
                "recommend": {"strategy": "for_you", "limit": 4},
            })),
        },
        Template {
            key: "checkout_abandonment",
            name_ko: "주문서 이탈",
            name_en: "Checkout abandonment",
            about: "30 minutes after checkout started, unless the order was completed.",
            input: input(json!({
                "name": "주문서 이탈",
                "template": "checkout_abandonment",
                "channel": "email",
                "when": {"kind": "trigger", "event": "Checkout Started", "delay": {"amount": 30, "unit": "minutes"}, "cancel_on": ["Order Completed"]},
                "content": email(
                    "{{ customer.name }}님, 주문을 마저 끝내시겠어요?",
                    "{{ customer.name }}님, 주문서 작성 중에 멈추셨어요.{% if cart %}\n{{ product_lines(cart) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님, 주문서 작성 중에 멈추셨어요."),
                        "{% if cart %}{{ product_cards(cart, \"주문 마저 하기\") }}{% endif %}".into(),
                        button("shop.url", "쇼핑몰로 가기"),
                    ])
                ),
            })),
        },
        Template {
            key: "repeat_purchase",
            name_ko: "재구매 유도",
            name_en: "Repeat purchase",
            about: "30 days after an order of 50,000원 or more, unless they ordered again.",
            input: input(json!({
                "name": "재구매 유도",
                "template": "repeat_purchase",
                "channel": "email",
                "repeat": "daily",
                "when": {"kind": "trigger", "event": "Order Completed", "where": [{"property": "total", "op": ">=", "value": 50000}], "delay": {"amount": 30, "unit": "days"}, "cancel_on": ["Order Completed"]},
                "content": email(
                    "{{ customer.name }}님, 다시 만나요",
                    "{{ customer.name }}님, 지난번 주문은 마음에 드셨나요?{% if recommendations %}\n{{ product_lines(recommendations) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님, 지난번 주문은 마음에 드셨나요?"),
                        cards("recommendations", "이번에 어울릴 상품", "보러 가기"),
                        button("shop.url", "쇼핑몰로 가기"),
                    ])
                ),
                "recommend": {"strategy": "for_you", "limit": 4},
            })),
        },
        Template {
            key: "review_request",
            name_ko: "리뷰 작성 요청",
            name_en: "Review request",
            about: "7 days after an order, asking for a review.",
            input: input(json!({
                "name": "리뷰 작성 요청",
                "template": "review_request",
                "channel": "email",
                "repeat": "daily",
                "when": {"kind": "trigger", "event": "Order Completed", "delay": {"amount": 7, "unit": "days"}},
                "content": email(
                    "{{ customer.name }}님, 상품은 마음에 드셨나요?",
                    "{{ customer.name }}님, 받아 보신 상품의 후기를 남겨 주세요.\n{{ shop.url }}",
                    shop_email(&[
                        para("{{ customer.name }}님, 받아 보신 상품의 후기를 남겨 주세요."),
                        button("shop.url", "후기 쓰러 가기"),
                    ])
                ),
            })),
        },
        Template {
            key: "interest",
            name_ko: "관심사 기반 전환 유도",
            name_en: "Interest-based",
            about: "A day after someone viewed a product of the chosen categories, unless they ordered (set the category in the trigger).",
            input: input(json!({
                "name": "관심사 기반 전환 유도",
                "template": "interest",
                "channel": "email",
                "when": {"kind": "trigger", "event": "Product Viewed", "where": [{"property": "category", "op": "starts_with", "value": "리빙"}], "delay": {"amount": 1, "unit": "days"}, "cancel_on": ["Order Completed"]},
                "content": email(
                    "{{ customer.name }}님이 관심 있어 하신 상품",
                    "{{ customer.name }}님, {{ product.name }}와 함께 많이 보는 상품이에요.{% if recommendations %}\n{{ product_lines(recommendations) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님, {{ product.name }}와 함께 많이 보는 상품이에요."),
                        cards("recommendations", "함께 많이 보는 상품", "보러 가기"),
                    ])
                ),
                "recommend": {"strategy": "bought_together", "limit": 4},
            })),
        },
        Template {
            key: "interest_recent",
            name_ko: "관심사 기반 전환 유도 (최근 N일 모아서)",
            name_en: "Interest-based, collected over N days",
            about: "The interest-based campaign's other form: every day at 10:00, to those who viewed, carted or checked out the chosen category in the last 7 days and did not buy it.",
            input: input(json!({
                "name": "관심사 기반 전환 유도 (최근 7일)",
                "template": "interest_recent",
                "channel": "email",
                "audience": {"rule": {"all": [
                    {"any": [
                        {"attr": "viewed", "op": "category", "value": "리빙", "days": 7},
                        {"attr": "carted", "op": "category", "value": "리빙", "days": 7},
                        {"attr": "checkout", "op": "category", "value": "리빙", "days": 7}
                    ]},
                    {"not": {"attr": "purchased", "op": "category", "value": "리빙", "days": 7}}
                ]}},
                "when": {"kind": "daily", "time": "10:00"},
                "content": email(
                    "{{ customer.name }}님이 요즘 보신 상품",
                    "{{ customer.name }}님, 최근 관심 있게 보신 상품과 함께 많이 보는 상품이에요.{% if recommendations %}\n{{ product_lines(recommendations) }}{% endif %}",
                    shop_email(&[
                        para("{{ customer.name }}님, 최근 관심 있게 보신 상품과 함께 많이 보는 상품이에요."),
                        cards("recommendations", "함께 많이 보는 상품", "보러 가기"),
                    ])
                ),
                "recommend": {"strategy": "for_you", "limit": 4},
            })),
        },
    ]
}

/// The law's notices, made once per shop as informational email campaigns (active from the
/// first start; their texts may be edited like any campaign's):
/// - `consent_result`: the result of a consent given or withdrawn (정보통신망법 §50⑧), sent for
///   every change that did not come from an import;
/// - `consent_reconfirm`: every two years from the consent date, what the person agreed to and
///   how to refuse (시행령 §62-3); silence keeps the consent.
pub fn system() -> Vec<Template> {
    vec![
        Template {
            key: CONSENT_RESULT,
            name_ko: "수신동의 처리 결과 안내",
            name_en: "Consent result notice",
            about: "Sent after each consent given or withdrawn (not for imports), as the law asks.",
            input: input(json!({
                "name": "수신동의 처리 결과 안내",
                "template": CONSENT_RESULT,
                "channel": "email",
                "purpose": "informational",
                "repeat": "each",
                "when": {"kind": "trigger", "event": "Consent Changed", "delay": {"amount": 0, "unit": "minutes"}},
                "content": {
                    "subject": "[{{ shop.name }}] 광고성 정보 수신 설정 처리 결과 안내",
                    "text": "{{ customer.name }}님, 요청하신 광고성 정보 수신 설정을 아래와 같이 처리했습니다.\n{% for c in consent_changes %}- {{ c.channel }}: 수신 {{ c.result }} ({{ c.date }}, 처리 완료)\n{% endfor %}\n전송자: {{ shop.name }} {{ shop.contact }}\n이 메일은 정보통신망법 제50조 제8항에 따라 보내 드리는 안내입니다."
                },
                "fallbacks": {"shop.name": "쇼핑몰"}
            })),
        },
        Template {
            key: CONSENT_RECONFIRM,
            name_ko: "수신동의 여부 확인 안내 (2년)",
            name_en: "Consent reconfirmation (every 2 years)",
            about: "Every day at 10:00, to those whose ad consent is two years old: what they agreed to and how to refuse.",
            input: input(json!({
                "name": "수신동의 여부 확인 안내 (2년)",
                "template": CONSENT_RECONFIRM,
                "channel": "email",
                "purpose": "informational",
                "repeat": "each",
                "when": {"kind": "daily", "time": "10:00"},
                "content": {
                    "subject": "[{{ shop.name }}] 광고성 정보 수신동의 여부 확인 안내",
                    "text": "{{ customer.name }}님은 아래와 같이 광고성 정보 수신에 동의하셨습니다.\n{% for c in consents %}- {{ c.channel }}: {{ c.date }} 동의\n{% endfor %}\n동의를 유지하시려면 아무것도 하지 않으셔도 됩니다.\n수신을 원하지 않으시면 여기에서 모든 광고 수신을 거부하실 수 있습니다: {{ unsubscribe_url }}\n전송자: {{ shop.name }} {{ shop.contact }}\n이 메일은 정보통신망법 시행령 제62조의3에 따라 2년마다 보내 드리는 안내입니다."
                },
                "fallbacks": {"shop.name": "쇼핑몰"}
            })),
        },
    ]
}

/// The key of the consent result notice.
pub const CONSENT_RESULT: &str = "consent_result";
/// The key of the two-yearly reconfirmation.
pub const CONSENT_RECONFIRM: &str = "consent_reconfirm";

/// A ready-made campaign by key.
pub fn get(key: &str) -> Option<Template> {
    all().into_iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_a_valid_campaign() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let read = store.read().unwrap();
        let all = all();
        assert_eq!(all.len(), 9, "eight campaigns, the interest-based one in two forms");
        for t in all.into_iter().chain(system()) {
            t.input.check(&read).unwrap_or_else(|e| panic!("{}: {e}", t.key));
            assert_eq!(t.input.template.as_deref(), Some(t.key));
        }
    }
}
