//! The law's notices: the consent result notice after each consent change (정보통신망법 §50⑧)
//! and the reconfirmation every two years (시행령 §62-3), as campaigns made on a store's first start.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::Deserialize;

use super::super::render::{self};
use super::super::{CampaignRecord, Status, templates};
use crate::store::records::ConsentChannel;
use crate::store::{self, ReadTx, Store};

use super::*;

impl Sender {
    /// Follows the consent log: each change not from an import or the demo starts the consent
    /// result notice (one per person per pass, reporting the changes since the earliest).
    pub(super) fn scan_consents(&self, campaigns: &[(u64, CampaignRecord)], now: i64) -> Result<u64, store::Error> {
        let read = self.store.read()?;
        let cursor = read.meta::<u64>(CONSENT_CURSOR)?.unwrap_or(0);
        let changes = read.consent_changes_after(cursor, 5_000)?;
        drop(read);
        let Some(&(upto, ..)) = changes.last() else {
            return Ok(0);
        };
        let notice = campaigns
            .iter()
            .find(|(_, c)| {
                c.status == Status::Active && c.definition.template.as_deref() == Some(templates::CONSENT_RESULT)
            })
            .map(|(id, _)| *id);
        let mut first: BTreeMap<u64, i64> = BTreeMap::new();
        if notice.is_some() {
            for (_, customer, at, _, entry) in &changes {
                if entry
                    .as_ref()
                    .is_some_and(|e| e.source != "import" && e.source != "demo")
                {
                    let t = first.entry(*customer).or_insert(*at);
                    *t = (*t).min(*at);
                }
            }
        }
        let n = first.len() as u64;
        self.store.write_blocking(move |tx| {
            if tx.meta::<u64>(CONSENT_CURSOR)?.unwrap_or(0) != cursor {
                return Ok::<_, store::Error>(());
            }
            if let Some(id) = notice {
                for (&customer, &at) in &first {
                    tx.put_trigger(
                        now,
                        id,
                        customer,
                        &Triggered {
                            at,
                            seq: 0,
                            product: None,
                        },
                    )?;
                }
            }
            tx.put_meta(CONSENT_CURSOR, &upto)
        })?;
        Ok(n.max(1))
    }
}

/// The consent log's sequence read up to.
const CONSENT_CURSOR: &str = "consent-cursor";
/// Two years, for the reconfirmation.
const TWO_YEARS_MS: i64 = 730 * store::DAY_MS;

/// Who is due the two-yearly reconfirmation now: an ad consent (email, SMS, Kakao) given two
/// years ago or more and still standing, and no reconfirmation sent in the last two years.
pub(super) fn reconfirm_due(read: &ReadTx, campaign: u64, now: i64) -> Result<Vec<u64>, store::Error> {
    #[derive(Deserialize)]
    struct Slim {
        #[serde(default)]
        consents: store::records::Consents,
        #[serde(default)]
        merged_into: Option<u64>,
        #[serde(default)]
        erased_at: Option<i64>,
    }
    let mut due = Vec::new();
    read.for_each_customer_as::<Slim>(|id, c| {
        if c.merged_into.is_some() || c.erased_at.is_some() {
            return;
        }
        let old_enough = [ConsentChannel::Email, ConsentChannel::Sms, ConsentChannel::Kakao]
            .into_iter()
            .filter_map(|ch| c.consents.get(ch))
            .any(|c| c.granted && c.at <= now - TWO_YEARS_MS);
        if old_enough {
            due.push(id);
        }
    })?;
    let mut out = Vec::with_capacity(due.len());
    for id in due {
        let r: Option<Recipient> = read.recipient(campaign, id)?;
        if r.and_then(|r| r.last_queued).is_none_or(|t| t <= now - TWO_YEARS_MS) {
            out.push(id);
        }
    }
    Ok(out)
}

pub(super) fn consent_vars(ch: ConsentChannel, granted: bool, at: i64, tz: Tz) -> render::ConsentVars {
    render::ConsentVars {
        channel: match ch {
            ConsentChannel::Email => "이메일",
            ConsentChannel::Sms => "문자(SMS)",
            ConsentChannel::Kakao => "카카오톡",
            ConsentChannel::Night => "야간(21시~8시) 광고",
        }
        .into(),
        result: if granted { "동의" } else { "거부" }.into(),
        date: crate::analysis::local_date(at, tz),
    }
}

/// Makes the law's notice campaigns on a store that has none yet, active.
pub(super) fn ensure_system_campaigns(store: &Store, now: i64, tz: Tz) -> Result<(), store::Error> {
    let read = store.read()?;
    let mut missing = false;
    for t in templates::system() {
        missing |= read.meta::<u64>(&format!("system-campaign:{}", t.key))?.is_none();
    }
    if !missing {
        // Every start after the first: no write.
        return Ok(());
    }
    store.write_blocking(move |tx| {
        for t in templates::system() {
            let key = format!("system-campaign:{}", t.key);
            if tx.meta::<u64>(&key)?.is_some() {
                continue;
            }
            let id = match super::super::create(tx, &t.input, now) {
                Ok(id) => id,
                Err(super::super::CampaignError::Store(e)) => return Err(e),
                Err(e) => unreachable!("the notices are valid campaigns: {e}"),
            };
            match super::super::activate(tx, id, now, tz) {
                Ok(_) => {}
                Err(super::super::CampaignError::Store(e)) => return Err(e),
                Err(e) => unreachable!("the notices launch: {e}"),
            }
            tx.put_meta(&key, &id)?;
        }
        Ok(())
    })
}
