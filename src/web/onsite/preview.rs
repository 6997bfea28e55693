//! The live preview: the form, as typed, posted into an iframe of the form's page
//! (`POST /messages/preview`). The answer is a plain page standing in for the shop's (with the
//! chosen product on it) on which the real storefront script, in its preview mode, shows the
//! message as `GET /v1/messages` would render it for the chosen customer; above it, whether the
//! message is for that customer now, part by part, or what keeps it from showing. Nothing is
//! stored and nothing is counted.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::form::Draft;
use super::{FieldError, read_input};
use crate::app::AppState;
use crate::app::onsite::{Ask, Missing, Preview, Shown};
use crate::i18n::{self, Catalog};
use crate::onsite::{self, Device, MessageRecord, OnsiteError, Status};
use crate::store::records::ProductRecord;
use crate::web::{Staff, find_customer, refuse_change};

/// What the preview page may do: be framed by the console only, run the script of this server,
/// show shop images.
const PREVIEW_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'self'; form-action 'none'; base-uri 'none'; object-src 'none'";

/// A targeting part and whether it holds.
pub struct PartView {
    pub key: &'static str,
    pub label: &'static str,
    pub holds: bool,
}

#[derive(Template)]
#[template(path = "onsite/preview.html")]
struct PreviewPage {
    t: &'static Catalog,
    lang: &'static str,
    /// What is wrong with the form, if anything.
    error: Option<FieldError>,
    /// The customer asked for and not found.
    unknown_customer: Option<String>,
    /// Who it is previewed for: a customer's name and id, else a new guest.
    who: Option<(u64, String)>,
    parts: Vec<PartView>,
    due: bool,
    /// Why it has nothing to show, in words.
    missing: Option<String>,
    product: Option<ProductRecord>,
    price: String,
    path: String,
    /// `{"messages": [...]}` for the script, `<` escaped.
    json: String,
}

impl PreviewPage {
    fn new(staff: &Staff) -> PreviewPage {
        PreviewPage {
            t: staff.t,
            lang: staff.lang.code(),
            error: None,
            unknown_customer: None,
            who: None,
            parts: Vec::new(),
            due: false,
            missing: None,
            product: None,
            price: String::new(),
            path: "/".into(),
            json: r#"{"messages":[]}"#.into(),
        }
    }
}

fn framed(page: &PreviewPage, status: StatusCode) -> Response {
    let mut res = (status, super::render(page)).into_response();
    let h = res.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PREVIEW_CSP));
    res
}

fn missing_text(m: Missing, t: &Catalog) -> String {
    let s = t.get(&format!("messages.missing_{}", m.as_str()));
    match m {
        Missing::Count { count, minimum } => s
            .replace("{count}", &count.to_string())
            .replace("{minimum}", &minimum.to_string()),
        _ => s.to_string(),
    }
}

/// The script's answer for one message, made safe to sit in a `<script type="application/json">`.
fn answer_json(shown: &Shown) -> String {
    serde_json::json!({ "messages": [shown] })
        .to_string()
        .replace('<', "\\u003c")
}

pub(super) async fn preview(
    State(st): State<AppState>,
    staff: Staff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let d = Draft::from_pairs(pairs);
    if let Some(r) = refuse_change(&staff, &d.csrf) {
        return r;
    }
    let t = staff.t;
    let mut page = PreviewPage::new(&staff);
    let editing = d.message_id.parse::<u64>().ok();
    let input = match read_input(&st, &staff, &d, editing).await {
        Ok(Ok(i)) => i,
        Ok(Err(e)) => {
            page.error = Some(e);
            return framed(&page, StatusCode::OK);
        }
        Err(r) => return r,
    };
    let device = if d.preview_device == "mobile" {
        Device::Mobile
    } else {
        Device::Desktop
    };
    let path = match d.preview_url.trim() {
        "" => "/".to_string(),
        p if p.starts_with('/') || p.starts_with("http") => p.to_string(),
        p => format!("/{p}"),
    };
    let ask = Ask {
        url: path.clone(),
        device: Some(device),
        product_id: Some(d.preview_product.trim().to_string()).filter(|p| !p.is_empty()),
        lang: Some(staff.lang),
        ..Ask::default()
    };
    let who = Some(d.preview_customer.trim().to_string()).filter(|q| !q.is_empty());
    let state = st.clone();
    let now = st.now_ms();
    let made = st
        .store
        .call(move |s| -> Result<_, OnsiteError> {
            let read = s.read()?;
            let definition = onsite::check(&read, &input)?;
            let customer = match &who {
                Some(q) => match find_customer(&read, q) {
                    Ok(Some(id)) => Some(id),
                    Ok(None) => return Ok(Err(q.clone())),
                    Err(crate::customer::Error::Store(e)) => return Err(e.into()),
                    Err(_) => return Ok(Err(q.clone())),
                },
                None => None,
            };
            let rec = MessageRecord {
                definition,
                status: Status::Draft,
                created_at: now,
                updated_at: now,
                activated_at: None,
            };
            let p: Preview = crate::app::onsite::preview(&state, &read, editing.unwrap_or(0), &rec, customer, &ask)?;
            let name = match customer {
                Some(id) => crate::customer::get(&read, id)
                    .ok()
                    .map(|(id, c)| (id, c.name.or(c.email).or(c.user_id).unwrap_or_else(|| format!("#{id}")))),
                None => None,
            };
            let product = match &ask.product_id {
                Some(id) => read.product(id)?,
                None => None,
            };
            Ok(Ok((p, name, product)))
        })
        .await;
    page.path = path;
    match made {
        Ok(Ok((p, who, product))) => {
            page.who = who;
            page.due = p.due;
            page.parts = p
                .parts
                .iter()
                .map(|(part, holds)| PartView {
                    key: part.as_str(),
                    label: t.get(&format!("messages.part_{}", part.as_str())),
                    holds: *holds,
                })
                .collect();
            if let Some(prod) = &product {
                page.price = prod
                    .sale_price
                    .or(prod.price)
                    .map(|v| i18n::money(v, prod.currency.as_deref(), staff.lang))
                    .unwrap_or_default();
            }
            page.product = product.map(|mut p| {
                p.image_url = crate::value::web_url(p.image_url.as_deref());
                p
            });
            match &p.shown {
                Ok(shown) => page.json = answer_json(shown),
                Err(m) => page.missing = Some(missing_text(*m, t)),
            }
            framed(&page, StatusCode::OK)
        }
        Ok(Err(q)) => {
            page.unknown_customer = Some(q);
            framed(&page, StatusCode::OK)
        }
        Err(OnsiteError::Invalid { field, message }) => {
            page.error = Some(super::wrong(field, message));
            framed(&page, StatusCode::OK)
        }
        Err(e) => super::super::failed(staff.lang, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_cannot_end_its_script_element() {
        let shown = Shown {
            id: 1,
            variant: "a".into(),
            kind: crate::onsite::Kind::Modal,
            trigger: vec![crate::onsite::Trigger::Arrival],
            position: crate::onsite::Position::Center,
            html: "<b>x</b></script><script>alert(1)</script>".into(),
            products: Vec::new(),
            coupon: None,
            dont_show_days: 7,
            auto_dismiss_seconds: None,
        };
        let json = answer_json(&shown);
        assert!(!json.contains('<'), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back["messages"][0]["html"],
            "<b>x</b></script><script>alert(1)</script>"
        );
    }
}
