//! Message templates (minijinja): `{{ customer.name }}`, `{{ coupon.code }}`, the recommended
//! products as a block (`{{ product_cards(recommendations) }}` in HTML, `{{ product_lines(…) }}` in
//! text), the cart, the product of interest. Every variable has a fallback, so no message says
//! "Hello ," — the campaign's own, else the defaults below.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, Value as JValue};
use serde::Serialize;

use super::Content;

/// A product as a template sees it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProductVars {
    pub id: String,
    pub name: String,
    pub price: Option<f64>,
    /// "12,900원".
    pub price_text: String,
    pub image_url: Option<String>,
    /// The product's page, through the click tracker when the message is tracked.
    pub url: Option<String>,
    pub category: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerVars {
    pub id: u64,
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub phone: String,
    pub user_id: String,
    pub city: String,
    pub orders: u32,
    pub total_spent: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CouponVars {
    pub code: String,
    pub name: String,
    /// "3,000원 할인", "10% 할인 (최대 5,000원)".
    pub discount: String,
    /// YYYY-MM-DD in shop time, or empty.
    pub expires: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ShopVars {
    pub name: String,
    pub url: String,
    pub contact: String,
}

/// A consent as the law's notices show it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsentVars {
    /// 이메일, 문자(SMS), 카카오톡, 야간 광고.
    pub channel: String,
    /// 동의 or 거부.
    pub result: String,
    /// YYYY-MM-DD, shop time.
    pub date: String,
}

/// Everything one message's templates can use.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Vars {
    pub customer: CustomerVars,
    pub coupon: Option<CouponVars>,
    pub recommendations: Vec<ProductVars>,
    pub cart: Vec<ProductVars>,
    pub product: Option<ProductVars>,
    pub shop: ShopVars,
    pub unsubscribe_url: String,
    /// The consent changes a result notice reports.
    pub consent_changes: Vec<ConsentVars>,
    /// The ad consents the person has given (the reconfirmation lists them).
    pub consents: Vec<ConsentVars>,
}

/// The fallbacks used when a campaign sets none for a variable.
pub const DEFAULT_FALLBACKS: [(&str, &str); 4] = [
    ("customer.name", "고객"),
    ("customer.first_name", "고객"),
    ("product.name", "관심 상품"),
    ("coupon.code", "쿠폰"),
];

/// The rendered parts of one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
}

/// "12,900원" (KRW, the default) or "12.90 USD".
pub fn price_text(amount: f64, currency: Option<&str>) -> String {
    match currency.unwrap_or("KRW") {
        "KRW" => format!("{}원", crate::value::group_digits(amount, 0)),
        other => format!("{} {other}", crate::value::group_digits(amount, 2)),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML body made from the text when a campaign gives none: escaped, line breaks kept.
pub fn html_of_text(text: &str) -> String {
    format!(
        "<div style=\"font-family:sans-serif;line-height:1.6\">{}</div>",
        escape(text).replace('\n', "<br>\n")
    )
}

fn products_of(v: &JValue) -> Vec<ProductVars> {
    let mut out = Vec::new();
    if let Ok(iter) = v.try_iter() {
        for item in iter {
            let get = |k: &str| {
                item.get_attr(k)
                    .ok()
                    .filter(|v| !v.is_undefined() && !v.is_none())
                    .map(|v| v.to_string())
            };
            out.push(ProductVars {
                id: get("id").unwrap_or_default(),
                name: get("name").unwrap_or_default(),
                price: None,
                price_text: get("price_text").unwrap_or_default(),
                image_url: get("image_url"),
                url: get("url"),
                category: get("category"),
            });
        }
    }
    out
}

/// `product_cards(list, button)`: the products as an HTML block of cards, two to a row (image,
/// name, price and, when `button` is given, a button with its words), each card a link to its
/// product: the tracked address stays behind the card, never printed.
fn product_cards(v: JValue, button: Option<String>) -> JValue {
    let mut html = String::from(
        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;border-collapse:collapse\">",
    );
    let products = products_of(&v);
    for row in products.chunks(2) {
        html.push_str("<tr>");
        for p in row {
            let link = p.url.as_deref().unwrap_or("#");
            html.push_str("<td style=\"padding:8px;vertical-align:top;text-align:center;width:50%\">");
            html.push_str(&format!(
                "<a href=\"{}\" style=\"display:block;text-decoration:none;color:#222;border:1px solid #eee;border-radius:8px;padding:12px\">",
                escape(link)
            ));
            if let Some(img) = &p.image_url {
                html.push_str(&format!(
                    "<img src=\"{}\" alt=\"{}\" width=\"160\" style=\"display:block;margin:0 auto 8px;max-width:100%;border-radius:4px\">",
                    escape(img),
                    escape(&p.name)
                ));
            }
            html.push_str(&format!(
                "<div style=\"font-size:14px\">{}</div><div style=\"font-weight:bold;margin-top:2px\">{}</div>",
                escape(&p.name),
                escape(&p.price_text)
            ));
            if let Some(b) = button.as_deref().filter(|b| !b.trim().is_empty()) {
                html.push_str(&format!(
                    "<div style=\"display:inline-block;margin-top:8px;padding:6px 14px;background:#222;color:#fff;border-radius:4px;font-size:13px\">{}</div>",
                    escape(b)
                ));
            }
            html.push_str("</a></td>");
        }
        if row.len() == 1 {
            html.push_str("<td style=\"width:50%\"></td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    JValue::from_safe_string(html)
}

/// `product_lines(list)`: the products as text lines, "- name price link".
fn product_lines(v: JValue) -> String {
    products_of(&v)
        .iter()
        .map(|p| {
            let mut line = format!("- {} {}", p.name, p.price_text);
            if let Some(u) = &p.url {
                line.push(' ');
                line.push_str(u);
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Steps one message's template may take (a loop's turn, an output, a call): far more than any
/// real message needs (the eight ready-made ones take under 2,000), so that nested loops cannot
/// hold a worker.
pub const FUEL: u64 = 200_000;
/// The most one part of a message may hold once rendered (an email's HTML with cards included is
/// tens of KB).
pub const MAX_RENDERED: usize = 512 * 1024;

/// Collects a rendering and stops it once it passes `MAX_RENDERED`.
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_RENDERED {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    // HTML templates escape what they insert; subject and text do not.
    env.set_auto_escape_callback(|name| {
        if name == "html" {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_function("product_cards", product_cards);
    env.add_function("product_lines", product_lines);
    env
}

/// Whether `source` is a template that compiles; the error says where it is wrong.
pub fn check_template(source: &str) -> Result<(), String> {
    let mut env = environment();
    env.add_template("check", source).map(|_| ()).map_err(|e| {
        let mut m = e.to_string();
        if let Some(line) = e.line() {
            m = format!("{m} (line {line})");
        }
        m
    })
}

/// Renders one line of text (an on-site message's title) for `vars` and `extra` values at the top
/// level (`count`), with the default fallbacks and then `fallbacks` for empty variables; not
/// escaped (the caller puts it into HTML escaped).
pub fn render_line(
    template: &str,
    vars: &Vars,
    extra: &[(&str, serde_json::Value)],
    fallbacks: &BTreeMap<String, String>,
) -> Result<String, String> {
    if !template.contains("{{") && !template.contains("{%") {
        return Ok(template.to_string());
    }
    let mut env = environment();
    env.add_template_owned("line", template.to_string())
        .map_err(|e| e.to_string())?;
    let mut ctx = serde_json::to_value(vars).map_err(|e| e.to_string())?;
    for (k, v) in extra {
        ctx[*k] = v.clone();
    }
    // The message's own fallbacks first: a variable filled is not filled again.
    let own = fallbacks.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    for (path, fallback) in own.chain(DEFAULT_FALLBACKS.iter().copied()) {
        fill(&mut ctx, path, fallback);
    }
    let mut out = Capped(Vec::new());
    env.get_template("line")
        .and_then(|t| t.render_captured_to(JValue::from_serialize(&ctx), &mut out).map(|_| ()))
        .map_err(|e| e.to_string())?;
    String::from_utf8(out.0).map_err(|e| e.to_string())
}

/// A campaign's templates, compiled once.
pub struct Renderer {
    env: Environment<'static>,
    has_subject: bool,
    has_html: bool,
    fallbacks: BTreeMap<String, String>,
}

impl Renderer {
    pub fn new(content: &Content, fallbacks: &BTreeMap<String, String>) -> Result<Renderer, String> {
        let mut env = environment();
        if let Some(s) = &content.subject {
            env.add_template_owned("subject", s.clone())
                .map_err(|e| e.to_string())?;
        }
        env.add_template_owned("text", content.text.clone())
            .map_err(|e| e.to_string())?;
        if let Some(h) = &content.html {
            env.add_template_owned("html", h.clone()).map_err(|e| e.to_string())?;
        }
        let mut all: BTreeMap<String, String> = DEFAULT_FALLBACKS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in fallbacks {
            all.insert(k.clone(), v.clone());
        }
        Ok(Renderer {
            env,
            has_subject: content.subject.is_some(),
            has_html: content.html.is_some(),
            fallbacks: all,
        })
    }

    /// Renders the message for `vars`, empty variables replaced by their fallbacks.
    pub fn render(&self, vars: &Vars) -> Result<Rendered, String> {
        let mut ctx = serde_json::to_value(vars).map_err(|e| e.to_string())?;
        for (path, fallback) in &self.fallbacks {
            fill(&mut ctx, path, fallback);
        }
        let ctx = JValue::from_serialize(&ctx);
        let run = |name: &str| -> Result<String, String> {
            let mut out = Capped(Vec::new());
            self.env
                .get_template(name)
                .and_then(|t| t.render_captured_to(&ctx, &mut out).map(|_| ()))
                .map_err(|e| match e.kind() {
                    minijinja::ErrorKind::OutOfFuel => {
                        format!("{name}: the template takes more than {FUEL} steps (a loop too many?)")
                    }
                    minijinja::ErrorKind::WriteFailure => {
                        format!("{name}: the message is longer than {} KB", MAX_RENDERED / 1024)
                    }
                    _ => format!("{name}: {e}"),
                })?;
            String::from_utf8(out.0).map_err(|e| format!("{name}: {e}"))
        };
        Ok(Rendered {
            subject: if self.has_subject {
                Some(run("subject")?.trim().to_string())
            } else {
                None
            },
            text: run("text")?,
            html: if self.has_html { Some(run("html")?) } else { None },
        })
    }
}

/// Sets `path` (dot-separated) in `v` to `fallback` when it is missing, null or blank. A missing
/// object on the way (no coupon) is made, so `{{ coupon.code }}` still shows its fallback.
fn fill(v: &mut serde_json::Value, path: &str, fallback: &str) {
    let mut at = v;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !at.is_object() {
            if at.is_null() {
                *at = serde_json::Value::Object(Default::default());
            } else {
                return;
            }
        }
        let obj = at.as_object_mut().expect("an object");
        if i + 1 == parts.len() {
            let blank = match obj.get(*part) {
                None | Some(serde_json::Value::Null) => true,
                Some(serde_json::Value::String(s)) => s.trim().is_empty(),
                _ => false,
            };
            if blank {
                obj.insert(part.to_string(), fallback.into());
            }
            return;
        }
        at = obj.entry(part.to_string()).or_insert(serde_json::Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(subject: &str, text: &str, html: Option<&str>) -> Content {
        Content {
            subject: Some(subject.into()),
            text: text.into(),
            html: html.map(str::to_string),
            template_code: None,
        }
    }

    #[test]
    fn variables_render_and_empty_ones_fall_back() {
        let c = content(
            "{{ customer.name }}님, {{ coupon.discount }}",
            "안녕하세요 {{ customer.name }}님. 코드 {{ coupon.code }}\n{{ product_lines(recommendations) }}",
            Some("<p>{{ customer.name }}</p>{{ product_cards(recommendations) }}"),
        );
        let mut fallbacks = BTreeMap::new();
        fallbacks.insert("customer.name".to_string(), "단골".to_string());
        let r = Renderer::new(&c, &fallbacks).unwrap();
        let mut vars = Vars::default();
        vars.recommendations.push(ProductVars {
            id: "p1".into(),
            name: "향초 <라벤더>".into(),
            price: Some(12900.0),
            price_text: price_text(12900.0, None),
            image_url: Some("https://shop.example/p1.jpg".into()),
            url: Some("https://shop.example/p/1".into()),
            category: None,
        });
        let out = r.render(&vars).unwrap();
        // No name: the campaign's fallback; no coupon: the default fallback.
        assert_eq!(out.subject.as_deref(), Some("단골님,"));
        assert!(
            out.text
                .starts_with("안녕하세요 단골님. 코드 쿠폰\n- 향초 <라벤더> 12,900원 https://shop.example/p/1")
        );
        let html = out.html.unwrap();
        assert!(html.starts_with("<p>단골</p><table"));
        assert!(html.contains("향초 &lt;라벤더&gt;"), "{html}");
        assert!(html.contains("src=\"https://shop.example/p1.jpg\""));
        assert!(html.contains("12,900원"));

        vars.customer.name = "김민지 <b>".into();
        vars.coupon = Some(CouponVars {
            code: "WB-ABCDEFGHJK".into(),
            discount: "3,000원 할인".into(),
            ..Default::default()
        });
        let out = r.render(&vars).unwrap();
        assert_eq!(out.subject.as_deref(), Some("김민지 <b>님, 3,000원 할인"));
        assert!(out.text.contains("코드 WB-ABCDEFGHJK"));
        // HTML escapes what it inserts.
        assert!(out.html.unwrap().starts_with("<p>김민지 &lt;b&gt;</p>"));
    }

    #[test]
    fn a_ready_made_email_shows_cards_not_links_and_leaves_an_empty_cart_out() {
        let tpl = crate::campaign::templates::get("cart_abandonment").unwrap();
        let r = Renderer::new(&tpl.input.content, &BTreeMap::new()).unwrap();
        let tracked = "https://shop.example/v1/m/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?u=https%3A%2F%2Fshop.example%2Fp%2F1&s=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        let product = ProductVars {
            id: "p1".into(),
            name: "향초 1호".into(),
            price: Some(12900.0),
            price_text: price_text(12900.0, None),
            image_url: Some("https://shop.example/p1.jpg".into()),
            url: Some(tracked.into()),
            category: None,
        };
        let mut vars = Vars::default();
        vars.customer.name = "김민지".into();
        vars.cart.push(product.clone());
        let out = r.render(&vars).unwrap();
        let html = out.html.unwrap();
        // The card: image, name, price and a button, the tracked address behind it and nowhere
        // printed as text.
        assert!(html.contains("src=\"https://shop.example/p1.jpg\""), "{html}");
        assert!(html.contains("향초 1호") && html.contains("12,900원") && html.contains("주문 이어 하기"));
        assert_eq!(html.matches(&escape(tracked)).count(), 1, "{html}");
        assert!(!html.contains(&format!(">{}", escape(tracked))));
        // No recommendations: their heading is left out with them.
        assert!(!html.contains("함께 보면 좋은 상품") && !out.text.contains("함께 보면 좋은 상품"));
        assert_eq!(
            out.text,
            format!("김민지님, 장바구니에 담아 두신 상품이에요.\n- 향초 1호 12,900원 {tracked}")
        );

        // An empty cart (the products were bought or removed): no blank line where it was.
        let mut vars = Vars::default();
        vars.customer.name = "김민지".into();
        vars.recommendations.push(product);
        let out = r.render(&vars).unwrap();
        assert_eq!(
            out.text,
            format!(
                "김민지님, 장바구니에 담아 두신 상품이에요.\n\n함께 보면 좋은 상품:\n- 향초 1호 12,900원 {tracked}"
            )
        );
        assert!(out.html.unwrap().contains("함께 보면 좋은 상품"));

        // No coupon, no product: no box or card of fallback words ("쿠폰", "관심 상품").
        for key in ["first_purchase", "many_views"] {
            let tpl = crate::campaign::templates::get(key).unwrap();
            let r = Renderer::new(&tpl.input.content, &BTreeMap::new()).unwrap();
            let out = r.render(&Vars::default()).unwrap();
            let html = out.html.unwrap();
            assert!(
                !html.contains("쿠폰을 드려요") && !out.text.contains("쿠폰을 드려요"),
                "{key}: {html}"
            );
            assert!(
                !html.contains("관심 상품") && !html.contains("href=\"#\""),
                "{key}: {html}"
            );
        }
        let tpl = crate::campaign::templates::get("first_purchase").unwrap();
        let r = Renderer::new(&tpl.input.content, &BTreeMap::new()).unwrap();
        let vars = Vars {
            coupon: Some(CouponVars {
                code: "HELLO-1234".into(),
                discount: "3,000원 할인".into(),
                ..Default::default()
            }),
            ..Vars::default()
        };
        let out = r.render(&vars).unwrap();
        assert!(out.html.unwrap().contains("HELLO-1234") && out.text.contains("HELLO-1234 (3,000원 할인)"));
    }

    #[test]
    fn a_broken_template_is_named() {
        let e = check_template("Hello {{ customer.name ").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(check_template("{% if coupon %}{{ coupon.code }}{% endif %}").is_ok());
        assert_eq!(
            html_of_text("a < b\nc"),
            "<div style=\"font-family:sans-serif;line-height:1.6\">a &lt; b<br>\nc</div>"
        );
    }
}
