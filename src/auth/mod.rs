//! Who is asking: admin and write keys (kept as SHA-256 hashes, checked from memory on the hot
//! path), console users (argon2id), and the bootstrap of CONTRACT §1 — secrets given by the
//! environment are accepted as they are; missing ones are generated, stored and printed once.

use std::collections::HashMap;
use std::sync::RwLock;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::store::records::{ApiKeyRecord, KeyKind, KeyScope, Role, SessionRecord, UserRecord};
use crate::store::{self, Store};

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
        KeyKind::ServerWrite => format!("dgl_server_{body}"),
    }
}

/// The keys that are valid now, by hash, with what each may do.
#[derive(Default)]
pub struct KeyRing {
    keys: RwLock<HashMap<String, (KeyKind, KeyScope)>>,
}

/// The label of the master key a first start makes (its record's name).
const GENERATED_MASTER: &str = "DANGOL_MASTER_KEY (generated on first start)";

/// What an admin key may do. Keys made before scopes existed have none stored: the master key
/// made on first start keeps everything (only the bootstrap names a key so, and only the master
/// key may make keys), the others may do everything but manage who may ask.
pub fn scope_of(rec: &ApiKeyRecord) -> KeyScope {
    rec.scope.unwrap_or(if rec.name == GENERATED_MASTER {
        KeyScope::Master
    } else {
        KeyScope::Full
    })
}

impl KeyRing {
    pub fn check(&self, key: &str, kind: KeyKind) -> bool {
        self.kind_of(key) == Some(kind)
    }

    /// The kind of a valid key.
    pub fn kind_of(&self, key: &str) -> Option<KeyKind> {
        if key.is_empty() {
            return None;
        }
        self.keys.read().expect("not poisoned").get(&hash_key(key)).map(|g| g.0)
    }

    /// What an admin key may do (None: not an admin key).
    pub fn admin_scope(&self, key: &str) -> Option<KeyScope> {
        if key.is_empty() {
            return None;
        }
        match self.keys.read().expect("not poisoned").get(&hash_key(key)) {
            Some((KeyKind::Admin, scope)) => Some(*scope),
            _ => None,
        }
    }

    fn insert(&self, hash: String, kind: KeyKind, scope: KeyScope) {
        self.keys.write().expect("not poisoned").insert(hash, (kind, scope));
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

/// The secrets the server was started with (the environment or flags); each one not given is
/// made up on first start and announced once.
#[derive(Clone, Default)]
pub struct Secrets {
    pub master_key: Option<String>,
    pub write_key: Option<String>,
    pub admin_password: Option<String>,
}

/// Loads the key ring and creates whatever CONTRACT §1 says must exist on first start.
pub fn bootstrap(store: &Store, secrets: &Secrets) -> Result<Bootstrap, Error> {
    let master = secrets.master_key.clone();
    let write = secrets.write_key.clone();
    let password = secrets.admin_password.clone();
    let clock = store.clock().clone();
    let announce = store.write_blocking(move |tx| -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        let now = clock.now_ms();
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
                    scope: (kind == KeyKind::Admin).then_some(KeyScope::Master),
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
    if let Some(k) = &secrets.master_key {
        keys.insert(hash_key(k), KeyKind::Admin, KeyScope::Master);
    }
    if let Some(k) = &secrets.write_key {
        keys.insert(hash_key(k), KeyKind::Write, KeyScope::Read);
    }
    for (hash, rec) in store.read()?.api_keys()? {
        if rec.revoked_at.is_none() {
            let scope = scope_of(&rec);
            keys.insert(hash, rec.kind, scope);
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
/// Makes a key. An admin key gets `scope` (never `Master`: there is one master key, from the
/// environment or the first start); a write key has none.
pub async fn create_key(
    store: &Store,
    ring: &KeyRing,
    name: String,
    kind: KeyKind,
    scope: KeyScope,
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
        created_at: store.now_ms(),
        revoked_at: None,
        scope: (kind == KeyKind::Admin).then_some(if scope == KeyScope::Master {
            KeyScope::Full
        } else {
            scope
        }),
    };
    let (h, r) = (hash.clone(), rec.clone());
    store.write(move |tx| tx.put_api_key(&h, &r)).await?;
    ring.insert(hash, kind, scope_of(&rec));
    Ok((key, rec))
}

pub fn list_keys(store: &Store) -> Result<Vec<ApiKeyRecord>, Error> {
    let mut keys: Vec<ApiKeyRecord> = store.read()?.api_keys()?.into_iter().map(|(_, r)| r).collect();
    keys.sort_by_key(|k| k.created_at);
    Ok(keys)
}

/// Revokes a key by its id; it stops working at once.
pub async fn revoke_key(store: &Store, ring: &KeyRing, id: String) -> Result<ApiKeyRecord, Error> {
    let clock = store.clock().clone();
    let (hash, rec) = store
        .write(move |tx| -> Result<(String, ApiKeyRecord), Error> {
            let (hash, mut rec) = tx
                .api_keys()?
                .into_iter()
                .find(|(_, r)| r.id == id)
                .ok_or_else(|| Error::KeyNotFound(id.clone()))?;
            if rec.revoked_at.is_none() {
                rec.revoked_at = Some(clock.now_ms());
                tx.put_api_key(&hash, &rec)?;
            }
            Ok((hash, rec))
        })
        .await?;
    ring.remove(&hash);
    Ok(rec)
}

/// How long a console session lasts.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// Failed sign-ins in a row before the user is locked, and for how long.
pub const LOCK_AFTER: u32 = 5;
pub const LOCK_MS: i64 = 15 * 60 * 1000;
/// The longest a lock lasts (after repeated locks, each twice the one before).
pub const MAX_LOCK_MS: i64 = 24 * 60 * 60 * 1000;
/// A user name is at most this long; a longer one is refused before any work.
pub const MAX_NAME: usize = 64;
/// Failure rows are forgotten a day after their last failure (or lock).
const FORGET_FAILURES_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong user name or password")]
    Wrong { failures: u32 },
    #[error("too many failed sign-ins: locked until {until}")]
    Locked { until: i64 },
    #[error(transparent)]
    Store(#[from] store::Error),
}

fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A signed-in session: the cookie's secret (given to the browser, stored only as a hash) and
/// the record.
pub struct NewSession {
    pub secret: String,
    pub record: SessionRecord,
}

/// The row a user name's failures from one address are counted in: a stranger guessing from
/// elsewhere locks out only themself, never the owner.
fn failures_key(name: &str, from: &str) -> String {
    format!("{name}\u{1f}{from}")
}

/// Checks a user name and password coming from the address `from`. Failures are counted per
/// (user name, address), and only for names that exist (a guess at a name stores nothing); after
/// `LOCK_AFTER` in a row that pair is locked for `LOCK_MS`, twice as long at each further lock (at
/// most `MAX_LOCK_MS`), whatever password comes. Rows a day old are forgotten. Blocking (argon2).
pub fn login(store: &Store, name: &str, password: &str, from: &str, now: i64) -> Result<NewSession, LoginError> {
    let name = name.trim().to_lowercase();
    if name.chars().count() > MAX_NAME {
        return Err(LoginError::Wrong { failures: 0 });
    }
    let key = failures_key(&name, from);
    let read = store.read()?;
    let failures = read.login_failures(&key)?;
    if let Some(until) = failures.as_ref().and_then(|f| f.locked_until).filter(|&u| u > now) {
        return Err(LoginError::Locked { until });
    }
    let user = read.user(&name)?;
    // Verify against a fixed hash when the user does not exist, so that timing does not tell.
    let ok = match &user {
        Some(u) => verify_password(password, &u.password_hash),
        None => {
            let _ = verify_password(password, dummy_hash());
            false
        }
    };
    if !ok {
        if user.is_none() {
            return Err(LoginError::Wrong { failures: 0 });
        }
        let failures = store.write_blocking(move |tx| -> Result<u32, store::Error> {
            tx.prune_login_failures(now - FORGET_FAILURES_MS)?;
            let mut f = tx.login_failures(&key)?.unwrap_or_default();
            f.count += 1;
            f.last_at = now;
            f.locked_until = None;
            let count = f.count;
            if f.count >= LOCK_AFTER {
                let lock = LOCK_MS.saturating_mul(1 << f.locks.min(10)).min(MAX_LOCK_MS);
                f.locked_until = Some(now + lock);
                f.locks += 1;
                f.count = 0;
            }
            tx.put_login_failures(&key, Some(&f))?;
            Ok(count)
        })?;
        return Err(LoginError::Wrong { failures });
    }
    let secret = random_token();
    let record = SessionRecord {
        user: name.clone(),
        csrf: random_token(),
        created_at: now,
        expires_at: now + SESSION_MS,
    };
    let (hash, rec) = (hash_key(&secret), record.clone());
    store.write_blocking(move |tx| -> Result<(), store::Error> {
        tx.put_login_failures(&key, None)?;
        tx.prune_sessions(now, None)?;
        tx.put_session(&hash, &rec)
    })?;
    Ok(NewSession { secret, record })
}

/// An argon2id hash of a random password, verified when the user name is unknown.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// The session and user behind a cookie secret, if it is valid now.
pub fn session(store: &Store, secret: &str, now: i64) -> Result<Option<(SessionRecord, UserRecord)>, store::Error> {
    let read = store.read()?;
    let Some(s) = read.session(&hash_key(secret))?.filter(|s| s.expires_at > now) else {
        return Ok(None);
    };
    Ok(read.user(&s.user)?.map(|u| (s, u)))
}

pub fn logout(store: &Store, secret: &str) -> Result<(), store::Error> {
    let hash = hash_key(secret);
    store.write_blocking(move |tx| tx.delete_session(&hash))
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("`name` must be 1–64 letters, digits, '.', '_' or '-'")]
    BadName,
    #[error("`password` must be at least 10 characters")]
    WeakPassword,
    #[error("a user named {0:?} exists already")]
    Exists(String),
    #[error("user {0:?} not found")]
    NotFound(String),
    #[error("the last owner cannot be removed")]
    LastOwner,
    #[error(transparent)]
    Auth(#[from] Error),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl crate::error::HasCode for UserError {
    fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            UserError::BadName | UserError::WeakPassword => ErrorCode::InvalidField,
            UserError::Exists(_) | UserError::LastOwner => ErrorCode::Conflict,
            UserError::NotFound(_) => ErrorCode::NotFound,
            UserError::Auth(_) | UserError::Store(_) => ErrorCode::Internal,
        }
    }
    fn field(&self) -> Option<&str> {
        match self {
            UserError::BadName => Some("name"),
            UserError::WeakPassword => Some("password"),
            _ => None,
        }
    }
}

/// Adds a console user. Blocking (argon2).
pub fn create_user(store: &Store, name: &str, password: &str, role: Role, now: i64) -> Result<UserRecord, UserError> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(UserError::BadName);
    }
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    let rec = UserRecord {
        name: name.clone(),
        password_hash: hash_password(password)?,
        role,
        created_at: now,
    };
    let r = rec.clone();
    store.write_blocking(move |tx| -> Result<(), UserError> {
        if tx.user(&r.name)?.is_some() {
            return Err(UserError::Exists(r.name.clone()));
        }
        Ok(tx.put_user(&r)?)
    })?;
    Ok(rec)
}

/// Removes a console user and signs them out everywhere; the last owner stays.
pub fn delete_user(store: &Store, name: &str, now: i64) -> Result<(), UserError> {
    let name = name.to_string();
    store.write_blocking(move |tx| -> Result<(), UserError> {
        let user = tx.user(&name)?.ok_or_else(|| UserError::NotFound(name.clone()))?;
        let owners = tx.users()?.iter().filter(|u| u.role == Role::Owner).count();
        if user.role == Role::Owner && owners <= 1 {
            return Err(UserError::LastOwner);
        }
        tx.delete_user(&name)?;
        tx.prune_sessions(now, Some(&name))?;
        Ok(())
    })
}

/// A storefront's proof that it speaks for `user_id`: the hex HMAC-SHA256 of the user id under
/// the shop's identity secret, computed by the shop's own server (as Intercom's identity
/// verification; CONTRACT §5 "Who is asking").
pub fn user_hash(secret: &str, user_id: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(user_id.as_bytes());
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `hash` proves `user_id` under `secret` (compared in constant time).
pub fn verify_user_hash(secret: &str, user_id: &str, hash: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Ok(bytes) = (0..hash.len())
        .step_by(2)
        .map(|i| {
            hash.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(())
        })
        .collect::<Result<Vec<u8>, ()>>()
    else {
        return false;
    };
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(user_id.as_bytes());
    m.verify_slice(&bytes).is_ok()
}

/// The storefront's settings (`meta["storefront"]`): the identity secret `userHash` is made with
/// when it is not given to the server (`--identity-secret`). Never shown back.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct StorefrontSettings {
    #[serde(default)]
    pub identity_secret: Option<String>,
}

const STOREFRONT: &str = "storefront";

impl StorefrontSettings {
    pub fn load(read: &store::ReadTx) -> Result<StorefrontSettings, store::Error> {
        Ok(read.meta::<StorefrontSettings>(STOREFRONT)?.unwrap_or_default())
    }

    /// [`StorefrontSettings::load`] inside the writer.
    pub fn load_in(tx: &store::Tx) -> Result<StorefrontSettings, store::Error> {
        Ok(tx.meta::<StorefrontSettings>(STOREFRONT)?.unwrap_or_default())
    }

    pub fn save(tx: &mut store::Tx, s: &StorefrontSettings) -> Result<(), store::Error> {
        tx.put_meta(STOREFRONT, s)
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;

    #[test]
    fn a_user_hash_is_the_hmac_of_the_user_id() {
        // The value Python's hmac module computes for the same key and message.
        let h = user_hash("secret", "member-17");
        assert_eq!(h, "f0239f29c8b8776302554b4c734bfb253689dfc06d616d64befaa6519790e912");
        assert!(verify_user_hash("secret", "member-17", &h));
        assert!(!verify_user_hash("secret", "member-18", &h));
        assert!(!verify_user_hash("other", "member-17", &h));
        assert!(!verify_user_hash("secret", "member-17", "zz"));
        assert!(!verify_user_hash("secret", "member-17", ""));
    }
}
