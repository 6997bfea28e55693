//! `GET /dangol.js`, the storefront script a shop pastes into its pages (CONTRACT §7): embedded in
//! the binary, gzipped once, answered with an `ETag` so a browser revalidates it for nothing.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::routes::Routes;

/// The script as written: plain JavaScript, no build step.
pub const SOURCE: &str = include_str!("../../static/dangol.js");

pub fn routes() -> Routes {
    Routes::new().route("/dangol.js", get(script))
}

struct Script {
    etag: HeaderValue,
    gzipped: Vec<u8>,
}

fn compiled() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let digest = Sha256::digest(SOURCE.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Script {
            etag: HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a header value"),
            gzipped: gzip(SOURCE.as_bytes()),
        }
    })
}

/// The script's size gzipped at the best level, as served (CONTRACT §7: at most 8 KB).
pub fn gzipped_len() -> usize {
    compiled().gzipped.len()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                matches!(
                    p.trim().replace(' ', "").as_str(),
                    "q=0" | "q=0.0" | "q=0.00" | "q=0.000"
                )
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The storefront script. A tag `<script async src="https://HOST/dangol.js" data-write-key="…">`
/// on every page tracks visits, product views and what the page tells it, and shows on-site
/// messages.
#[utoipa::path(get, path = "/dangol.js", responses((status = 200, description = "the script (`text/javascript`; gzip when accepted; `ETag`, `Cache-Control: public, max-age=300`)", content_type = "text/javascript"), (status = 304, description = "`If-None-Match` named the current script")))]
pub async fn script(headers: HeaderMap) -> Response {
    let s = compiled();
    let cache = [
        (header::ETAG, s.etag.clone()),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        (header::VARY, HeaderValue::from_static("Accept-Encoding")),
    ];
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == s.etag.to_str().unwrap_or_default()
        });
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let kind = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    if accepts_gzip(&headers) {
        let encoding = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (cache, [kind, encoding], s.gzipped.clone()).into_response()
    } else {
        (cache, [kind], SOURCE).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_stays_small() {
        assert!(
            gzipped_len() <= 8 * 1024,
            "dangol.js is {} bytes gzipped",
            gzipped_len()
        );
    }

    #[test]
    fn gzip_is_sent_only_when_accepted() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&h("gzip;q=0, br")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
