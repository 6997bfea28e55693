//! Who a storefront request speaks for (CONTRACT §5 "Who is asking"). The write key is public, so
//! a storefront route answers from a person's own data only for (a) a visitor whose
//! `anonymousId` is not a member's (what that browser did itself), or (b) a `userId` sent with a
//! valid `userHash`, or sent with a server write key. A `userId` without one, or the `anonymousId` of a member without the
//! member's `userHash`, is answered as a visitor with no history. Recommendations and coupons ask
//! this one function.

use super::AppState;
use crate::auth::{self, StorefrontSettings};
use crate::store::{self, ReadTx};

/// The identity secret `userHash` is checked with: the server's (`--identity-secret`), else the
/// one stored with `PUT /api/v1/settings/storefront`.
pub fn identity_secret(st: &AppState, read: &ReadTx) -> Result<Option<String>, store::Error> {
    if let Some(s) = &st.identity_secret {
        return Ok(Some(s.to_string()));
    }
    Ok(StorefrontSettings::load(read)?
        .identity_secret
        .filter(|s| !s.is_empty()))
}

/// The customer a storefront request may be answered for, if any. `server`: the request came
/// with a server write key, which vouches for its `userId` as a `userHash` would.
pub fn customer(
    st: &AppState,
    read: &ReadTx,
    server: bool,
    user_id: Option<&str>,
    user_hash: Option<&str>,
    anonymous_id: Option<&str>,
) -> Result<Option<u64>, store::Error> {
    let live = |key: String| -> Result<Option<(u64, Option<String>)>, store::Error> {
        Ok(match read.identity(&key)? {
            Some(id) => crate::customer::get(read, id).ok().map(|(id, rec)| (id, rec.user_id)),
            None => None,
        })
    };
    if let Some(user) = user_id.filter(|u| !u.is_empty()) {
        let verified = server
            || match (identity_secret(st, read)?, user_hash) {
                (Some(secret), Some(hash)) => auth::verify_user_hash(&secret, user, hash),
                _ => false,
            };
        return Ok(if verified {
            live(crate::customer::user_key(user))?.map(|(id, _)| id)
        } else {
            None
        });
    }
    if let Some(anon) = anonymous_id.filter(|a| !a.is_empty()) {
        // A member's browser: the member's history is theirs to prove (`userHash`).
        return Ok(live(crate::customer::anon_key(anon))?.and_then(|(id, member)| member.is_none().then_some(id)));
    }
    Ok(None)
}
