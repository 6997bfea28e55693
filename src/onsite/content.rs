//! A message's HTML as the script puts it into a shadow root: its own styles, the title and
//! subtitle (templates, escaped), the shop's sanitised HTML, product cards, the coupon, a button,
//! the close button and "7일간 보지 않기". The script wires the elements marked `data-dangol-*`.

use std::collections::BTreeMap;

use crate::campaign::render::{Vars, price_text, render_line};
use crate::i18n::{Catalog, Lang};

use super::{Definition, Kind, Position};

/// What a shop's HTML may not hold, by what a message would then run or send: `None` when safe.
pub fn unsafe_part(html: &str) -> Option<&'static str> {
    static CHECKS: std::sync::OnceLock<Vec<(regex::Regex, &'static str)>> = std::sync::OnceLock::new();
    let checks = CHECKS.get_or_init(|| {
        [
            (r"(?i)<\s*script\b", "a script"),
            (
                r"(?i)<\s*(iframe|frame|frameset|object|embed|applet)\b",
                "a frame or embedded object",
            ),
            (r"(?i)<\s*(form|input|button|textarea|select)\b", "a form"),
            (r"(?i)<\s*(style|link|meta|base)\b", "a style sheet or page-level tag"),
            (r"(?i)[\s/\x22\x27]on[a-z]+\s*=", "an event handler (on…=)"),
            (r"(?i)(javascript|vbscript)\s*:", "a javascript: link"),
            (r"(?i)\bsrcdoc\s*=", "an inline document"),
        ]
        .into_iter()
        .map(|(p, what)| (regex::Regex::new(p).expect("a valid pattern"), what))
        .collect()
    });
    checks.iter().find(|(re, _)| re.is_match(html)).map(|(_, what)| *what)
}

/// The shop's HTML with only what a message may show: text, formatting, links (http(s), with
/// `rel="noopener noreferrer"`) and images. What `unsafe_part` lets through is cleaned again
/// here, by a real HTML parser.
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string()
}

pub fn escape(s: &str) -> String {
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

/// A product card as a message shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Card {
    pub id: String,
    pub name: String,
    pub price: Option<f64>,
    pub sale_price: Option<f64>,
    pub currency: Option<String>,
    pub image_url: Option<String>,
    pub url: Option<String>,
    /// Recently purchased, with a review link: where to write it.
    pub review_url: Option<String>,
}

/// A coupon as a message shows it: its code only when the visitor already holds one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CouponView {
    pub id: u64,
    pub name: String,
    /// "3,000원 할인".
    pub discount: String,
    pub code: Option<String>,
}

/// What one showing of a message has to say, beyond its definition.
#[derive(Debug, Default)]
pub struct Parts<'a> {
    pub vars: Vars,
    pub cards: Vec<Card>,
    pub coupon: Option<CouponView>,
    /// Social proof: the count.
    pub count: Option<u64>,
    pub lang: Option<Lang>,
    pub fallbacks: Option<&'a BTreeMap<String, String>>,
}

/// The default title of a social-proof message, by what it counts.
fn proof_title(d: &Definition, t: &Catalog) -> String {
    match d.social_proof.as_ref().map(|s| s.measure) {
        Some(super::Measure::ViewingNow) => t.get("onsite.viewing_now").to_string(),
        _ => t.get("onsite.purchased_today").to_string(),
    }
}

fn position_class(p: Position) -> &'static str {
    match p {
        Position::Center => "center",
        Position::Top => "top",
        Position::Bottom => "bottom",
        Position::TopLeft => "top-left",
        Position::TopRight => "top-right",
        Position::BottomLeft => "bottom-left",
        Position::BottomRight => "bottom-right",
    }
}

/// Where a message sits when its definition does not say: a bar at the bottom, a slide-in at the
/// bottom right, the rest in the middle.
pub fn position(d: &Definition) -> Position {
    match (d.kind, d.content.position) {
        (Kind::Bar, Position::Center) => Position::Bottom,
        (Kind::SlideIn | Kind::SocialProof, Position::Center) => Position::BottomRight,
        (_, p) => p,
    }
}

/// The message's HTML.
pub fn render(d: &Definition, parts: &Parts) -> Result<String, String> {
    let t = Catalog::for_lang(parts.lang.unwrap_or(Lang::Ko));
    let empty = BTreeMap::new();
    let fallbacks = parts.fallbacks.unwrap_or(&empty);
    let extra = [("count", serde_json::json!(parts.count.unwrap_or(0)))];
    let title_template = if d.content.title.trim().is_empty() && d.kind == Kind::SocialProof {
        proof_title(d, t)
    } else {
        d.content.title.clone()
    };
    let title = render_line(&title_template, &parts.vars, &extra, fallbacks)?;
    let subtitle = render_line(&d.content.subtitle, &parts.vars, &extra, fallbacks)?;
    let c = &d.content;
    let pos = position(d);
    let mut h = String::with_capacity(2048);
    h.push_str("<style>");
    h.push_str(&style(c));
    h.push_str("</style>");
    let boxed = matches!(d.kind, Kind::Recommendation | Kind::Coupon) && pos == Position::Center;
    if (d.kind == Kind::Modal || boxed) && c.backdrop {
        h.push_str("<div class=\"backdrop\" data-dangol-close></div>");
    }
    h.push_str(&format!(
        "<div class=\"box k-{} p-{}\" role=\"dialog\" aria-label=\"{}\">",
        d.kind.as_str().replace('_', "-"),
        position_class(pos),
        escape(&title)
    ));
    if c.close_button {
        h.push_str(&format!(
            "<button type=\"button\" class=\"x\" data-dangol-close aria-label=\"{}\">×</button>",
            escape(t.get("onsite.close"))
        ));
    }
    if let Some(img) = &c.image_url {
        h.push_str(&format!("<img class=\"hero\" src=\"{}\" alt=\"\">", escape(img)));
    }
    if !title.trim().is_empty() {
        h.push_str(&format!("<div class=\"title\">{}</div>", escape(title.trim())));
    }
    if !subtitle.trim().is_empty() {
        h.push_str(&format!("<div class=\"sub\">{}</div>", escape(subtitle.trim())));
    }
    if let Some(html) = &c.html {
        h.push_str(&format!("<div class=\"html\">{html}</div>"));
    }
    if !parts.cards.is_empty() {
        h.push_str("<div class=\"cards\">");
        for card in &parts.cards {
            h.push_str(&card_html(card, c, t));
        }
        h.push_str("</div>");
    }
    if let Some(coupon) = &parts.coupon {
        h.push_str(&format!(
            "<div class=\"coupon\"><div class=\"discount\">{}</div><div class=\"coupon-name\">{}</div>",
            escape(&coupon.discount),
            escape(&coupon.name)
        ));
        match &coupon.code {
            Some(code) => h.push_str(&format!("<code class=\"code\">{}</code>", escape(code))),
            None => h.push_str(&format!(
                "<button type=\"button\" class=\"btn\" data-dangol-reveal>{}</button><code class=\"code\" hidden></code>",
                escape(t.get("onsite.reveal"))
            )),
        }
        h.push_str("</div>");
    }
    if let (Some(text), Some(url)) = (&c.button_text, &c.button_url) {
        h.push_str(&format!(
            "<a class=\"btn\" href=\"{}\" data-dangol-click>{}</a>",
            escape(url),
            escape(text)
        ));
    }
    if d.display.dont_show_days > 0 {
        let label = t
            .get("onsite.dont_show")
            .replace("{days}", &d.display.dont_show_days.to_string());
        h.push_str(&format!(
            "<button type=\"button\" class=\"snooze\" data-dangol-snooze=\"{}\">{}</button>",
            d.display.dont_show_days,
            escape(&label)
        ));
    }
    h.push_str("</div>");
    Ok(h)
}

fn card_html(card: &Card, c: &super::Content, t: &Catalog) -> String {
    let mut h = format!(
        "<a class=\"card\" href=\"{}\" data-dangol-click data-product=\"{}\">",
        escape(card.url.as_deref().unwrap_or("#")),
        escape(&card.id)
    );
    if let Some(img) = &card.image_url {
        h.push_str(&format!("<img src=\"{}\" alt=\"\" loading=\"lazy\">", escape(img)));
    }
    h.push_str(&format!("<span class=\"name\">{}</span>", escape(&card.name)));
    if c.show_price {
        let currency = card.currency.as_deref();
        let now = card.sale_price.or(card.price);
        if let Some(now) = now {
            h.push_str("<span class=\"price\">");
            if c.show_regular_price
                && let (Some(sale), Some(regular)) = (card.sale_price, card.price)
                && sale < regular
            {
                h.push_str(&format!("<s>{}</s> ", escape(&price_text(regular, currency))));
            }
            h.push_str(&escape(&price_text(now, currency)));
            h.push_str("</span>");
        }
    }
    h.push_str("</a>");
    if let Some(review) = &card.review_url {
        h.push_str(&format!(
            "<a class=\"review\" href=\"{}\" data-dangol-click data-product=\"{}\">{}</a>",
            escape(review),
            escape(&card.id),
            escape(t.get("onsite.review"))
        ));
    }
    h
}

/// The message's styles, in its shadow root: nothing of the shop's page reaches in, nothing
/// leaks out. Everything is fixed on the screen, so the page never shifts.
fn style(c: &super::Content) -> String {
    let bg = c.background.as_deref().unwrap_or("#ffffff");
    let fg = c.color.as_deref().unwrap_or("#222222");
    let border = c.border.as_deref().unwrap_or("#e3e3e3");
    let accent = c.accent.as_deref().unwrap_or("#d9480f");
    format!(
        ":host{{all:initial}}*{{box-sizing:border-box}}\
.backdrop{{position:fixed;inset:0;background:rgba(0,0,0,.45);pointer-events:auto}}\
.box{{position:fixed;pointer-events:auto;background:{bg};color:{fg};border:1px solid {border};border-radius:12px;\
box-shadow:0 10px 30px rgba(0,0,0,.2);padding:20px 20px 12px;font:15px/1.5 -apple-system,BlinkMacSystemFont,'Apple SD Gothic Neo','Malgun Gothic','Noto Sans KR',sans-serif;\
max-width:min(440px,calc(100vw - 24px));max-height:calc(100vh - 24px);overflow:auto}}\
.p-center{{left:50%;top:50%;transform:translate(-50%,-50%);width:440px}}\
.p-top-left{{top:12px;left:12px;width:340px}}.p-top-right{{top:12px;right:12px;width:340px}}\
.p-bottom-left{{bottom:12px;left:12px;width:340px}}.p-bottom-right{{bottom:12px;right:12px;width:340px}}\
.p-top,.p-bottom{{left:0;right:0;max-width:none;border-radius:0;padding:10px 44px 10px 16px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}}\
.p-top{{top:0}}.p-bottom{{bottom:0}}.p-top .title,.p-bottom .title{{font-size:15px;margin:0}}.p-top .sub,.p-bottom .sub{{margin:0}}\
.x{{position:absolute;top:6px;right:8px;border:0;background:none;font-size:22px;line-height:1;cursor:pointer;color:inherit;padding:4px}}\
.hero{{display:block;width:100%;border-radius:8px;margin-bottom:10px}}\
.title{{font-size:18px;font-weight:700;margin:0 24px 4px 0}}.sub{{opacity:.8;margin-bottom:10px}}\
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(120px,1fr));gap:10px;margin:8px 0}}\
.card{{display:flex;flex-direction:column;gap:4px;text-decoration:none;color:inherit}}\
.card img{{width:100%;aspect-ratio:1;object-fit:cover;border-radius:8px;background:#f3f3f3}}\
.name{{font-size:13px;overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}}\
.price{{font-weight:700;font-size:14px}}.price s{{display:block;font-weight:400;font-size:12px;opacity:.6}}\
.review{{font-size:12px;color:{accent}}}\
.coupon{{border:2px dashed {accent};border-radius:10px;padding:12px;text-align:center;margin:8px 0}}\
.discount{{font-size:22px;font-weight:800;color:{accent}}}\
.code{{display:block;font:700 18px ui-monospace,monospace;letter-spacing:1px;margin-top:8px;user-select:all}}\
.btn{{display:inline-block;background:{accent};color:#fff;border:0;border-radius:8px;padding:10px 16px;margin-top:8px;font:inherit;font-weight:700;text-decoration:none;cursor:pointer}}\
.snooze{{display:block;margin:10px 0 0 auto;border:0;background:none;color:inherit;opacity:.6;font-size:12px;cursor:pointer;text-decoration:underline}}\
.p-top .snooze,.p-bottom .snooze{{margin:0}}.p-top .btn,.p-bottom .btn{{margin:0}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_html_is_named() {
        assert_eq!(unsafe_part("<p>hi <b>there</b></p>"), None);
        assert_eq!(unsafe_part("<p>on sale: 50%</p>"), None);
        assert_eq!(unsafe_part("<SCRIPT>alert(1)</SCRIPT>"), Some("a script"));
        assert_eq!(
            unsafe_part("<img src=x onerror=alert(1)>"),
            Some("an event handler (on…=)")
        );
        assert_eq!(
            unsafe_part("<a href=\"JavaScript:alert(1)\">x</a>"),
            Some("a javascript: link")
        );
        assert_eq!(unsafe_part("<iframe src=//x>"), Some("a frame or embedded object"));
        assert_eq!(unsafe_part("<form action=//x><input name=card>"), Some("a form"));
    }

    #[test]
    fn a_message_without_content_keeps_its_close_button() {
        let c = super::super::Content::default();
        assert!(c.close_button && c.show_price && c.backdrop);
    }

    #[test]
    fn sanitising_keeps_formatting_and_links() {
        let out = sanitise("<p>오늘만 <b>20%</b> <a href=\"https://shop.example/sale\">보기</a></p>");
        assert!(out.contains("<b>20%</b>"));
        assert!(out.contains("href=\"https://shop.example/sale\""));
        assert!(out.contains("rel=\"noopener noreferrer\""));
        assert!(!sanitise("<p style=\"position:fixed\">x</p>").contains("position"));
    }
}
