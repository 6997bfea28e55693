//! Typed access to the campaign tables: campaigns, the outbox and its queue, recipients, the
//! messages each customer received, waiting behaviour triggers, daily counts and the consent log.
//! Values are the campaign module's records, encoded here as MessagePack.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Serialize, de::DeserializeOwned};

use super::records::{ConsentChange, ConsentChannel};
use super::tables::*;
use super::{Error, ReadTx, Tx, codec};

/// An outbox row's key: (campaign, occurrence, customer).
pub type SendKey = (u64, i64, u64);

/// A row of [`ReadTx::consent_changes_after`].
pub type ConsentChangeRow = (u64, u64, i64, ConsentChannel, Option<ConsentChange>);

fn decode<V: DeserializeOwned>(table: &'static str, key: impl std::fmt::Debug, bytes: &[u8]) -> Result<V, Error> {
    codec::decode(table, format!("{key:?}"), bytes)
}

impl Tx<'_> {
    pub fn next_campaign_id(&self) -> Result<u64, Error> {
        let t = self.txn.open_table(CAMPAIGNS)?;
        Ok(t.last()?.map_or(1, |(k, _)| k.value() + 1))
    }

    pub fn put_campaign<V: Serialize>(&mut self, id: u64, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(CAMPAIGNS)?
            .insert(id, codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn put_send_row<V: Serialize>(&mut self, key: SendKey, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(CAMPAIGN_SENDS)?
            .insert(key, codec::encode(rec).as_slice())?;
        Ok(())
    }

    /// Puts an outbox row in the queue at `due`.
    pub fn queue_send(&mut self, due: i64, key: SendKey) -> Result<(), Error> {
        self.txn
            .open_table(SEND_QUEUE)?
            .insert((due, key.0, key.1, key.2), ())?;
        Ok(())
    }

    pub fn unqueue_send(&mut self, due: i64, key: SendKey) -> Result<bool, Error> {
        Ok(self
            .txn
            .open_table(SEND_QUEUE)?
            .remove((due, key.0, key.1, key.2))?
            .is_some())
    }

    pub fn put_recipient<V: Serialize>(&mut self, campaign: u64, customer: u64, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(CAMPAIGN_RECIPIENTS)?
            .insert((campaign, customer), codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn put_customer_message<V: Serialize>(
        &mut self,
        customer: u64,
        at: i64,
        campaign: u64,
        rec: &V,
    ) -> Result<(), Error> {
        self.txn
            .open_table(CUSTOMER_MESSAGES)?
            .insert((customer, at, campaign), codec::encode(rec).as_slice())?;
        Ok(())
    }

    /// The messages `customer` was sent at or after `from`, oldest first: (at, campaign, value).
    pub fn customer_messages_since<V: DeserializeOwned>(
        &self,
        customer: u64,
        from: i64,
    ) -> Result<Vec<(i64, u64, V)>, Error> {
        let t = self.txn.open_table(CUSTOMER_MESSAGES)?;
        let mut out = Vec::new();
        for r in t.range((customer, from, 0)..=(customer, i64::MAX, u64::MAX))? {
            let (k, v) = r?;
            let (_, at, campaign) = k.value();
            out.push((at, campaign, decode("customer_messages", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// Removes every message row of `customer` (an erasure); returns (at, campaign, value).
    pub fn take_customer_messages<V: DeserializeOwned>(&mut self, customer: u64) -> Result<Vec<(i64, u64, V)>, Error> {
        let mut t = self.txn.open_table(CUSTOMER_MESSAGES)?;
        let mut out = Vec::new();
        for r in t.range((customer, i64::MIN, 0)..=(customer, i64::MAX, u64::MAX))? {
            let (k, v) = r?;
            let (_, at, campaign) = k.value();
            out.push((at, campaign, decode("customer_messages", k.value(), v.value())?));
        }
        t.retain_in((customer, i64::MIN, 0)..=(customer, i64::MAX, u64::MAX), |_, _| false)?;
        Ok(out)
    }

    pub fn put_trigger<V: Serialize>(&mut self, due: i64, campaign: u64, customer: u64, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(CAMPAIGN_TRIGGERS)?
            .insert((due, campaign, customer), codec::encode(rec).as_slice())?;
        Ok(())
    }

    pub fn remove_trigger(&mut self, due: i64, campaign: u64, customer: u64) -> Result<bool, Error> {
        Ok(self
            .txn
            .open_table(CAMPAIGN_TRIGGERS)?
            .remove((due, campaign, customer))?
            .is_some())
    }

    pub fn campaign_day<V: DeserializeOwned + Default>(&self, campaign: u64, day: i32) -> Result<V, Error> {
        let t = self.txn.open_table(CAMPAIGN_DAYS)?;
        let v = t.get((campaign, day))?;
        Ok(v.map(|v| decode("campaign_days", (campaign, day), v.value()))
            .transpose()?
            .unwrap_or_default())
    }

    pub fn put_campaign_day<V: Serialize>(&mut self, campaign: u64, day: i32, rec: &V) -> Result<(), Error> {
        self.txn
            .open_table(CAMPAIGN_DAYS)?
            .insert((campaign, day), codec::encode(rec).as_slice())?;
        Ok(())
    }

    /// Appends to the consent log. Two changes of one channel in the same millisecond keep the last.
    pub fn log_consent(
        &mut self,
        customer: u64,
        at: i64,
        channel: ConsentChannel,
        change: &ConsentChange,
    ) -> Result<(), Error> {
        self.txn
            .open_table(CONSENT_LOG)?
            .insert((customer, at, channel as u8), codec::encode(change).as_slice())?;
        let mut changes = self.txn.open_table(CONSENT_CHANGES)?;
        let seq = changes.last()?.map_or(1, |(k, _)| k.value() + 1);
        changes.insert(seq, (customer, at, channel as u8))?;
        Ok(())
    }

    /// Moves `from`'s consent log onto `to` (a merge) or drops it (`to` = None: an erasure).
    pub fn move_consent_log(&mut self, from: u64, to: Option<u64>) -> Result<u64, Error> {
        let mut t = self.txn.open_table(CONSENT_LOG)?;
        let mut rows = Vec::new();
        for r in t.range((from, i64::MIN, 0)..=(from, i64::MAX, u8::MAX))? {
            let (k, v) = r?;
            rows.push((k.value(), v.value().to_vec()));
        }
        for ((_, at, ch), v) in &rows {
            t.remove((from, *at, *ch))?;
            if let Some(to) = to {
                t.insert((to, *at, *ch), v.as_slice())?;
            }
        }
        Ok(rows.len() as u64)
    }
}

impl ReadTx {
    /// Every campaign, in id order.
    pub fn campaigns<V: DeserializeOwned>(&self) -> Result<Vec<(u64, V)>, Error> {
        let t = self.txn.open_table(CAMPAIGNS)?;
        let mut out = Vec::new();
        for r in t.iter()? {
            let (k, v) = r?;
            out.push((k.value(), decode("campaigns", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// A campaign's outbox rows in (occurrence, customer) order; `f` returns false to stop.
    pub fn for_each_send_of<V: DeserializeOwned>(
        &self,
        campaign: u64,
        f: impl FnMut(i64, u64, V) -> bool,
    ) -> Result<(), Error> {
        self.sends_of(campaign, false, f)
    }

    /// The same, newest first: (occurrence, customer) order backwards.
    pub fn for_each_send_of_newest_first<V: DeserializeOwned>(
        &self,
        campaign: u64,
        f: impl FnMut(i64, u64, V) -> bool,
    ) -> Result<(), Error> {
        self.sends_of(campaign, true, f)
    }

    fn sends_of<V: DeserializeOwned>(
        &self,
        campaign: u64,
        newest_first: bool,
        mut f: impl FnMut(i64, u64, V) -> bool,
    ) -> Result<(), Error> {
        let t = self.txn.open_table(CAMPAIGN_SENDS)?;
        let range = t.range((campaign, i64::MIN, 0)..=(campaign, i64::MAX, u64::MAX))?;
        let rows: Box<dyn Iterator<Item = _>> = if newest_first {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        for r in rows {
            let (k, v) = r?;
            let (_, occ, customer) = k.value();
            if !f(occ, customer, decode("campaign_sends", k.value(), v.value())?) {
                break;
            }
        }
        Ok(())
    }

    /// Queued outbox rows due at or before `now` whose campaign `keep` accepts, earliest first, at
    /// most `limit`: (due, key).
    pub fn due_sends(&self, now: i64, limit: usize, keep: impl Fn(u64) -> bool) -> Result<Vec<(i64, SendKey)>, Error> {
        let t = self.txn.open_table(SEND_QUEUE)?;
        let mut out = Vec::new();
        for r in t.range(..=(now, u64::MAX, i64::MAX, u64::MAX))? {
            let (due, c, o, k) = r?.0.value();
            if keep(c) {
                out.push((due, (c, o, k)));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// When the earliest queued row is due.
    pub fn next_send_due(&self) -> Result<Option<i64>, Error> {
        let t = self.txn.open_table(SEND_QUEUE)?;
        Ok(t.first()?.map(|(k, _)| k.value().0))
    }

    pub fn queued_sends(&self) -> Result<u64, Error> {
        Ok(self.txn.open_table(SEND_QUEUE)?.len()?)
    }

    /// The messages `customer` was sent in `[from, to]`, oldest first: (at, campaign, value).
    pub fn customer_messages_between<V: DeserializeOwned>(
        &self,
        customer: u64,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, u64, V)>, Error> {
        let t = self.txn.open_table(CUSTOMER_MESSAGES)?;
        let mut out = Vec::new();
        for r in t.range((customer, from, 0)..=(customer, to, u64::MAX))? {
            let (k, v) = r?;
            let (_, at, campaign) = k.value();
            out.push((at, campaign, decode("customer_messages", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// Behaviour triggers due at or before `now` of the campaigns `keep` accepts, earliest first,
    /// at most `limit`: (due, campaign, customer, value).
    pub fn due_triggers<V: DeserializeOwned>(
        &self,
        now: i64,
        limit: usize,
        keep: impl Fn(u64) -> bool,
    ) -> Result<Vec<(i64, u64, u64, V)>, Error> {
        let t = self.txn.open_table(CAMPAIGN_TRIGGERS)?;
        let mut out = Vec::new();
        for r in t.range(..=(now, u64::MAX, u64::MAX))? {
            let (k, v) = r?;
            let (due, c, customer) = k.value();
            if keep(c) {
                out.push((due, c, customer, decode("campaign_triggers", k.value(), v.value())?));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    pub fn next_trigger_due(&self) -> Result<Option<i64>, Error> {
        let t = self.txn.open_table(CAMPAIGN_TRIGGERS)?;
        Ok(t.first()?.map(|(k, _)| k.value().0))
    }

    /// A campaign's counts per day, oldest first.
    pub fn campaign_days<V: DeserializeOwned>(&self, campaign: u64) -> Result<Vec<(i32, V)>, Error> {
        let t = self.txn.open_table(CAMPAIGN_DAYS)?;
        let mut out = Vec::new();
        for r in t.range((campaign, i32::MIN)..=(campaign, i32::MAX))? {
            let (k, v) = r?;
            out.push((k.value().1, decode("campaign_days", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// Consent log entries written after sequence `after`, at most `limit`:
    /// (seq, customer, at, channel, the entry; None if a merge or erasure moved it since).
    pub fn consent_changes_after(&self, after: u64, limit: usize) -> Result<Vec<ConsentChangeRow>, Error> {
        let changes = self.txn.open_table(CONSENT_CHANGES)?;
        let log = self.txn.open_table(CONSENT_LOG)?;
        let mut out = Vec::new();
        for r in changes.range(after.saturating_add(1)..)?.take(limit) {
            let (k, v) = r?;
            let (customer, at, ch) = v.value();
            let Some(channel) = ConsentChannel::from_u8(ch) else {
                continue;
            };
            let entry = log
                .get((customer, at, ch))?
                .map(|e| decode::<ConsentChange>("consent_log", (customer, at, ch), e.value()))
                .transpose()?;
            out.push((k.value(), customer, at, channel, entry));
        }
        Ok(out)
    }

    /// A customer's consent log, oldest first.
    pub fn consent_log(&self, customer: u64) -> Result<Vec<(i64, ConsentChannel, ConsentChange)>, Error> {
        let t = self.txn.open_table(CONSENT_LOG)?;
        let mut out = Vec::new();
        for r in t.range((customer, i64::MIN, 0)..=(customer, i64::MAX, u8::MAX))? {
            let (k, v) = r?;
            let (_, at, ch) = k.value();
            if let Some(ch) = ConsentChannel::from_u8(ch) {
                out.push((at, ch, decode("consent_log", k.value(), v.value())?));
            }
        }
        Ok(out)
    }
}

// Readers that read the same in the writer's transaction and in a snapshot: written once, for both.
readers_of_both! {
    pub fn campaign<V: DeserializeOwned>(&self, id: u64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(CAMPAIGNS)?;
        let v = t.get(id)?;
        v.map(|v| decode("campaigns", id, v.value())).transpose()
    }

    pub fn send_row<V: DeserializeOwned>(&self, key: SendKey) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(CAMPAIGN_SENDS)?;
        let v = t.get(key)?;
        v.map(|v| decode("campaign_sends", key, v.value())).transpose()
    }

    pub fn recipient<V: DeserializeOwned>(&self, campaign: u64, customer: u64) -> Result<Option<V>, Error> {
        let t = self.txn.open_table(CAMPAIGN_RECIPIENTS)?;
        let v = t.get((campaign, customer))?;
        v.map(|v| decode("campaign_recipients", (campaign, customer), v.value()))
            .transpose()
    }
}
