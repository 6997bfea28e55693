//! Who is asking: admin and write keys (kept as SHA-256 hashes, checked from memory on the hot
//! path), console users (argon2id), and the bootstrap of CONTRACT §1 — secrets given by the
//! environment are accepted as they are; missing ones are generated, stored and printed once.

use std::collections::HashMap;
use std::sync::RwLock;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::store::records::{ApiKeyRecord, KeyKind, Role, UserRecord};
use crate::store::{self, Store, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("key {0:?} not found")]
    KeyNotFound(String),
    #[error("`name` must not be empty")]
    EmptyName,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for Error {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            Error::KeyNotFound(_) => ErrorCode::NotFound,
            Error::EmptyName => ErrorCode::InvalidField,
            Error::Hash(_) | Error::Store(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        matches!(self, Error::EmptyName).then_some("name")
    }
}

pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random key: a readable prefix and 32 characters of base62.
pub fn generate_key(kind: KeyKind) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let body: String = (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    match kind {
        KeyKind::Admin => format!("dgl_admin_{body}"),
        KeyKind::Write => format!("dgl_write_{body}"),
    }
}

/// The keys that are valid now, by hash.
#[derive(Default)]
pub struct KeyRing {
    keys: RwLock<HashMap<String, KeyKind>>,
}

impl KeyRing {
    pub fn check(&self, key: &str, kind: KeyKind) -> bool {
        !key.is_empty() && self.keys.read().expect("not poisoned").get(&hash_key(key)) == Some(&kind)
    }

    fn insert(&self, hash: String, kind: KeyKind) {
        self.keys.write().expect("not poisoned").insert(hash, kind);
    }

    fn remove(&self, hash: &str) {
        self.keys.write().expect("not poisoned").remove(hash);
    }
}

/// What the bootstrap made: lines to print once, and the keys now valid.
pub struct Bootstrap {
    pub announce: Vec<String>,
    pub keys: KeyRing,
}

/// Loads the key ring and creates whatever CONTRACT §1 says must exist on first start.
pub fn bootstrap(store: &Store, config: &Config) -> Result<Bootstrap, Error> {
    let master = config.master_key.as_ref().map(|s| s.0.clone());
    let write = config.write_key.as_ref().map(|s| s.0.clone());
    let password = config.admin_password.as_ref().map(|s| s.0.clone());
    let announce = store.write_blocking(move |tx| -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        let now = now_ms();
        for (meta_key, given, kind, label) in [
            ("bootstrap_master_key", &master, KeyKind::Admin, "DANGOL_MASTER_KEY"),
            ("bootstrap_write_key", &write, KeyKind::Write, "DANGOL_WRITE_KEY"),
        ] {
            if given.is_none() && tx.meta::<bool>(meta_key)?.is_none() {
                let key = generate_key(kind);
                let rec = ApiKeyRecord {
                    id: short_id(),
                    name: format!("{label} (generated on first start)"),
                    kind,
                    prefix: key[..14].to_string(),
                    created_at: now,
                    revoked_at: None,
                };
                tx.put_api_key(&hash_key(&key), &rec)?;
                tx.put_meta(meta_key, &true)?;
                out.push(format!("{label}={key}"));
            }
        }
        if tx.users_count()? == 0 {
            let (pw, generated) = match &password {
                Some(p) => (p.clone(), false),
                None => (generate_key(KeyKind::Admin)[10..26].to_string(), true),
            };
            tx.put_user(&UserRecord {
                name: "admin".into(),
                password_hash: hash_password(&pw)?,
                role: Role::Owner,
                created_at: now,
            })?;
            if generated {
                out.push(format!("DANGOL_ADMIN_PASSWORD={pw} (user `admin`)"));
            }
        }
        Ok(out)
    })?;
    let keys = KeyRing::default();
    if let Some(k) = &config.master_key {
        keys.insert(hash_key(&k.0), KeyKind::Admin);
    }
    if let Some(k) = &config.write_key {
        keys.insert(hash_key(&k.0), KeyKind::Write);
    }
    for (hash, rec) in store.read()?.api_keys()? {
        if rec.revoked_at.is_none() {
            keys.insert(hash, rec.kind);
        }
    }
    Ok(Bootstrap { announce, keys })
}

fn short_id() -> String {
    format!("{:012x}", rand::random::<u64>() >> 16)
}

pub fn hash_password(password: &str) -> Result<String, Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Makes an API key; the key itself is returned once and never stored.
pub async fn create_key(
    store: &Store,
    ring: &KeyRing,
    name: String,
    kind: KeyKind,
) -> Result<(String, ApiKeyRecord), Error> {
    if name.trim().is_empty() {
        return Err(Error::EmptyName);
    }
    let key = generate_key(kind);
    let hash = hash_key(&key);
    let rec = ApiKeyRecord {
        id: short_id(),
        name: name.trim().to_string(),
        kind,
        prefix: key[..14].to_string(),
        created_at: now_ms(),
        revoked_at: None,
    };
    let (h, r) = (hash.clone(), rec.clone());
    store.write(move |tx| tx.put_api_key(&h, &r)).await?;
    ring.insert(hash, kind);
    Ok((key, rec))
}

pub fn list_keys(store: &Store) -> Result<Vec<ApiKeyRecord>, Error> {
    let mut keys: Vec<ApiKeyRecord> = store.read()?.api_keys()?.into_iter().map(|(_, r)| r).collect();
    keys.sort_by_key(|k| k.created_at);
    Ok(keys)
}

/// Revokes a key by its id; it stops working at once.
pub async fn revoke_key(store: &Store, ring: &KeyRing, id: String) -> Result<ApiKeyRecord, Error> {
    let (hash, rec) = store
        .write(move |tx| -> Result<(String, ApiKeyRecord), Error> {
            let (hash, mut rec) = tx
                .api_keys()?
                .into_iter()
                .find(|(_, r)| r.id == id)
                .ok_or_else(|| Error::KeyNotFound(id.clone()))?;
            if rec.revoked_at.is_none() {
                rec.revoked_at = Some(now_ms());
                tx.put_api_key(&hash, &rec)?;
            }
            Ok((hash, rec))
        })
        .await?;
    ring.remove(&hash);
    Ok(rec)
}
