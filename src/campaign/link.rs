//! Signed links in messages: unsubscribe (`/v1/m/u/TOKEN`, one click, no sign-in), the open
//! pixel (`/v1/m/o/TOKEN.gif`), tracked clicks (`/v1/m/c/TOKEN?u=URL&s=SIG`) and providers'
//! delivery receipts (`/v1/m/r/TOKEN`). A token names
//! one outbox row (campaign, occurrence, customer) and carries an HMAC-SHA256 under a secret kept
//! in redb, so nobody can unsubscribe someone else or turn the redirect into an open one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::{self, SendKey, Store};

const SECRET_KEY: &str = "link-secret";

#[derive(Clone)]
pub struct Links {
    secret: Vec<u8>,
}

impl Links {
    /// The shop's link secret, made on first use.
    pub fn load_or_create(store: &Store) -> Result<Links, store::Error> {
        if let Some(secret) = store.read()?.meta::<Vec<u8>>(SECRET_KEY)? {
            return Ok(Links { secret });
        }
        let secret = store.write_blocking(|tx| {
            if let Some(s) = tx.meta::<Vec<u8>>(SECRET_KEY)? {
                return Ok::<_, store::Error>(s);
            }
            let s: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
            tx.put_meta(SECRET_KEY, &s)?;
            Ok(s)
        })?;
        Ok(Links { secret })
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 16] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        for p in parts {
            m.update(p);
            m.update(&[0]);
        }
        let full = m.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// The token of an outbox row.
    pub fn token(&self, key: SendKey) -> String {
        let mut raw = Vec::with_capacity(24 + 16);
        raw.extend_from_slice(&key.0.to_be_bytes());
        raw.extend_from_slice(&key.1.to_be_bytes());
        raw.extend_from_slice(&key.2.to_be_bytes());
        let mac = self.mac(&[&raw]);
        raw.extend_from_slice(&mac);
        B64.encode(raw)
    }

    /// The outbox row a token names, if its signature holds.
    pub fn parse(&self, token: &str) -> Option<SendKey> {
        let raw = B64.decode(token.trim_end_matches(".gif")).ok()?;
        if raw.len() != 40 {
            return None;
        }
        let (body, mac) = raw.split_at(24);
        if !constant_eq(&self.mac(&[body]), mac) {
            return None;
        }
        let n = |i: usize| <[u8; 8]>::try_from(&body[i..i + 8]).expect("8 bytes");
        Some((
            u64::from_be_bytes(n(0)),
            i64::from_be_bytes(n(8)),
            u64::from_be_bytes(n(16)),
        ))
    }

    pub fn unsubscribe_url(&self, base: &str, key: SendKey) -> String {
        format!("{}/v1/m/u/{}", base.trim_end_matches('/'), self.token(key))
    }

    /// Where a provider reports delivery (`{{ callback_url }}` in its body template).
    pub fn receipt_url(&self, base: &str, key: SendKey) -> String {
        format!("{}/v1/m/r/{}", base.trim_end_matches('/'), self.token(key))
    }

    pub fn open_url(&self, base: &str, key: SendKey) -> String {
        format!("{}/v1/m/o/{}.gif", base.trim_end_matches('/'), self.token(key))
    }

    fn click_sig(&self, key: SendKey, url: &str) -> String {
        B64.encode(&self.mac(&[self.token(key).as_bytes(), url.as_bytes()])[..12])
    }

    /// A tracked link to `url`.
    pub fn click_url(&self, base: &str, key: SendKey, url: &str) -> String {
        format!(
            "{}/v1/m/c/{}?u={}&s={}",
            base.trim_end_matches('/'),
            self.token(key),
            urlencode(url),
            self.click_sig(key, url)
        )
    }

    /// The row and target of a tracked click, if both are signed.
    pub fn check_click(&self, token: &str, url: &str, sig: &str) -> Option<SendKey> {
        let key = self.parse(token)?;
        constant_eq(self.click_sig(key, url).as_bytes(), sig.as_bytes()).then_some(key)
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let l = Links {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
        };
        let key = (7, 1_790_000_000_000, 42);
        let t = l.token(key);
        assert_eq!(l.parse(&t), Some(key));
        assert_eq!(l.parse(&format!("{t}.gif")), Some(key));
        let mut bad = t.clone().into_bytes();
        bad[3] = if bad[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(l.parse(&String::from_utf8(bad).unwrap()), None);
        let other = Links {
            secret: b"another secret, another shop....".to_vec(),
        };
        assert_eq!(other.parse(&t), None);

        let url = "https://shop.example/p/1?utm=a&b=c";
        let click = l.click_url("http://h:1/", key, url);
        let (path, query) = click.split_once('?').unwrap();
        assert!(path.starts_with("http://h:1/v1/m/c/"));
        let sig = query.split("&s=").nth(1).unwrap();
        assert_eq!(l.check_click(&t, url, sig), Some(key));
        assert_eq!(l.check_click(&t, "https://evil.example/", sig), None);
    }
}
