//! A program's daily figures, maintained from the table's stream: points earned,
//! redeemed, expired, refunded and adjusted, new members, vouchers issued and used, and
//! the outstanding points (the running sum of every ledger entry's points) with their
//! money value. Days are the program's own (its `utc_offset_minutes` in force then).
//!
//! | item, change | figure |
//! |---|---|
//! | ledger entry, insert | its points to `points_<type>` (`redeem` and `coupon`: `points_redeemed`) and to `points_net` |
//! | member profile, insert | `new_members` |
//! | code, insert | `vouchers_issued`, and for a reward's voucher `reward#<reward id>` (its redemptions) |
//! | code, modify from active to used | `vouchers_used` |
//!
//! Points keep the ledger's signs: earnings positive, redemptions and expiries
//! negative, refunds and adjustments either way (an imported opening balance counts as an
//! adjustment). `points_net` is the day's change of the
//! outstanding points.
//!
//! [`Counter`] counts a batch of one shard's records: it reads the shard's checkpoint
//! (the last sequence number counted, an item of the table), drops the records at or
//! before it, sums the rest in memory per (tenant, day), and writes one `ADD` per
//! (tenant, day) item together with the new checkpoint in one transaction, conditional
//! on the checkpoint being what it read. A redelivered batch, or one that overlaps what
//! was counted, adds nothing for what was counted; a batch whose write failed is counted
//! whole on its retry. A batch with nothing to count writes nothing (so the figures'
//! own items, which come back through the stream, never make a write).
//!
//! A day's item is split in [`FIGURE_PARTS`] parts, one per group of stream shards
//! (the part is a hash of the shard id): the readers of different shards run at the same
//! time, and two transactions on one item at once would cancel each other.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::deps::Deps;
use crate::domain::TenantSlug;
use crate::events::{Change, Record};
use crate::model::{local_date, CodeStatus};
use crate::store::item_key::{stream_key, KeyOf, PK, SK};
use crate::store::items::{CodeItem, LedgerEntryItem, ProfileItem, StoredItem};
use crate::store::{FiguresWrite, StoreError};

/// How many parts a day's item is split in (by stream shard).
pub const FIGURE_PARTS: u32 = 8;

/// The most (tenant, day) items one transaction adds to: a transaction holds 100
/// items, one of them the checkpoint.
pub const ITEMS_PER_WRITE: usize = 99;

/// The most rewards a report names: those redeemed most in its range.
pub const TOP_REWARDS: usize = 10;

/// The attribute of a day's item that counts one reward's redemptions (its vouchers
/// issued): `reward#<reward id>`. A reward id is at most 64 characters, so each is under
/// 100 bytes: a day's part holds thousands of rewards within DynamoDB's 400 KB.
pub const REWARD_PREFIX: &str = "reward#";

/// The most rewards one (tenant, day) counts in one transaction; redemptions of further
/// rewards in the same batch are counted in the day's figures but not by reward (a
/// catalogue this wide in one batch is not a real program's).
pub const REWARDS_PER_DAY_WRITE: usize = 200;

/// One day's figures of one tenant (or their sum over days).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub points_expired: i64,
    pub points_refunded: i64,
    pub points_adjusted: i64,
    /// Every ledger entry's points: the day's change of the outstanding points.
    pub points_net: i64,
    pub new_members: i64,
    pub vouchers_issued: i64,
    pub vouchers_used: i64,
}

impl Figures {
    /// The figures by their stored names, in a fixed order.
    pub fn fields(&self) -> [(&'static str, i64); 9] {
        [
            ("points_earned", self.points_earned),
            ("points_redeemed", self.points_redeemed),
            ("points_expired", self.points_expired),
            ("points_refunded", self.points_refunded),
            ("points_adjusted", self.points_adjusted),
            ("points_net", self.points_net),
            ("new_members", self.new_members),
            ("vouchers_issued", self.vouchers_issued),
            ("vouchers_used", self.vouchers_used),
        ]
    }

    /// Sets a figure by its stored name (unknown names are ignored).
    pub fn set(&mut self, name: &str, value: i64) {
        match name {
            "points_earned" => self.points_earned = value,
            "points_redeemed" => self.points_redeemed = value,
            "points_expired" => self.points_expired = value,
            "points_refunded" => self.points_refunded = value,
            "points_adjusted" => self.points_adjusted = value,
            "points_net" => self.points_net = value,
            "new_members" => self.new_members = value,
            "vouchers_issued" => self.vouchers_issued = value,
            "vouchers_used" => self.vouchers_used = value,
            _ => {}
        }
    }

    pub fn add(&mut self, other: &Figures) {
        for (name, value) in other.fields() {
            let mine = self.fields().iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v);
            self.set(name, mine.saturating_add(value));
        }
    }

    pub fn is_zero(&self) -> bool {
        self.fields().iter().all(|(_, v)| *v == 0)
    }
}

/// What one record adds: its tenant, the instant it counts at (its day is that
/// instant's date in the program's zone) and the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub tenant: TenantSlug,
    pub at: DateTime<Utc>,
    pub figures: Figures,
    /// The reward a voucher was issued for (a redemption of it).
    pub reward: Option<String>,
}

/// What a record adds to the figures, if anything. An item that does not read as its
/// key says counts nothing (logged by the caller): retrying it would stop the shard.
pub fn contribution_of(record: &Record) -> Result<Option<Contribution>, String> {
    let text = |name: &str| match record.keys.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    let (Some(pk), Some(sk)) = (text(PK), text(SK)) else { return Ok(None) };
    let (pk, sk) = stream_key(pk, sk, (record.change == Change::Insert).then_some(&record.new_image));
    let mut figures = Figures::default();
    match (KeyOf::of(&pk, &sk), record.change) {
        (KeyOf::LedgerEntry { tenant, .. }, Change::Insert) => {
            let e: LedgerEntryItem = decode(&record.new_image)?;
            match e.kind.as_str() {
                "earn" => figures.points_earned = e.points,
                "redeem" | "coupon" => figures.points_redeemed = e.points,
                "refund" => figures.points_refunded = e.points,
                "adjustment" | "opening" => figures.points_adjusted = e.points,
                "expire" => figures.points_expired = e.points,
                _ => {}
            }
            figures.points_net = e.points;
            Ok(Some(Contribution { tenant, at: e.created_at, figures, reward: None }))
        }
        (KeyOf::Profile { tenant, .. }, Change::Insert) => {
            let p: ProfileItem = decode(&record.new_image)?;
            figures.new_members = 1;
            Ok(Some(Contribution { tenant, at: p.created_at, figures, reward: None }))
        }
        (KeyOf::Code { tenant, .. }, Change::Insert) => {
            let c: CodeItem = decode(&record.new_image)?;
            figures.vouchers_issued = 1;
            Ok(Some(Contribution { tenant, at: c.created_at, figures, reward: c.reward_id }))
        }
        (KeyOf::Code { tenant, .. }, Change::Modify) => {
            let before: CodeItem = decode(&record.old_image)?;
            let after: CodeItem = decode(&record.new_image)?;
            if before.status == CodeStatus::Used || after.status != CodeStatus::Used {
                return Ok(None);
            }
            figures.vouchers_used = 1;
            Ok(Some(Contribution { tenant, at: after.used_at.unwrap_or(after.created_at), figures, reward: None }))
        }
        _ => Ok(None),
    }
}

fn decode<T: StoredItem>(image: &serde_dynamo::Item) -> Result<T, String> {
    if image.is_empty() {
        return Err(format!("{} without its image", T::KIND));
    }
    let de = serde_dynamo::Deserializer::from_attribute_value(serde_dynamo::AttributeValue::M(image.clone().into()));
    serde_path_to_error::deserialize(de).map_err(|e| format!("{}: field {}: {}", T::KIND, e.path(), e.inner()))
}

/// A stream sequence number in a form whose text order is its number order (left
/// padded to 40 digits, their most); `None` if it is not a number.
pub fn sequence_key(sequence_number: &str) -> Option<String> {
    let digits = sequence_number.trim_start_matches('0');
    if sequence_number.is_empty() || digits.len() > 40 || !sequence_number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{digits:0>40}"))
}

/// The part of a day's item a shard writes.
pub fn part_of(shard: &str) -> u32 {
    let hash = Sha256::digest(shard.as_bytes());
    u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]) % FIGURE_PARTS
}

/// One transaction's worth: the (tenant, day) sums of consecutive records, and the
/// sequence number of the last of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub last: String,
    pub days: BTreeMap<(TenantSlug, NaiveDate), Figures>,
    /// Redemptions per reward, of the same (tenant, day) items.
    pub rewards: BTreeMap<(TenantSlug, NaiveDate), BTreeMap<String, i64>>,
}

/// What one record adds on one day: the figures and the reward it redeemed, if any.
pub type DayAdded = (TenantSlug, NaiveDate, Figures, Option<String>);

/// A record's sequence key and what it adds, dated (`None`: nothing).
pub type Dated = (String, Option<DayAdded>);

/// Sums records (in stream order, each with its sequence key and what it adds, dated)
/// into chunks of at most [`ITEMS_PER_WRITE`] (tenant, day) items. Trailing records that
/// add nothing are carried by the last chunk; a batch that adds nothing makes none.
pub fn chunks(records: &[Dated]) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut current: Option<Chunk> = None;
    for (seq, added) in records {
        if let Some((tenant, day, figures, reward)) = added {
            let key = (tenant.clone(), *day);
            let full = current.as_ref().is_some_and(|c| c.days.len() >= ITEMS_PER_WRITE && !c.days.contains_key(&key));
            if full {
                out.extend(current.take());
            }
            let chunk = current.get_or_insert_with(|| Chunk {
                last: seq.clone(),
                days: BTreeMap::new(),
                rewards: BTreeMap::new(),
            });
            chunk.days.entry(key.clone()).or_default().add(figures);
            if let Some(reward) = reward {
                let counts = chunk.rewards.entry(key).or_default();
                if counts.len() < REWARDS_PER_DAY_WRITE || counts.contains_key(reward) {
                    *counts.entry(reward.clone()).or_default() += 1;
                }
            }
        }
        if let Some(chunk) = current.as_mut() {
            chunk.last = seq.clone();
        }
    }
    out.extend(current);
    out
}

/// What counting a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counted {
    /// Records after the checkpoint (read now).
    pub records: usize,
    /// Those of them that added to the figures (the others add nothing: other items).
    pub added: usize,
    /// Records at or before it (counted before: a redelivery).
    pub skipped: usize,
    /// Transactions written.
    pub writes: usize,
}

/// How often a write cancelled by a concurrent one (another shard on the same part)
/// is tried again before the batch is failed and retried by the reader.
const CONFLICT_ATTEMPTS: u32 = 5;

/// Counts batches of stream records into the figures (the `stream-figures` function on
/// Lambda, `loyalty-admin stream follow` locally).
pub struct Counter {
    deps: Arc<Deps>,
}

impl Counter {
    pub fn new(deps: Arc<Deps>) -> Self {
        Counter { deps }
    }

    /// Counts one batch of one shard's records, in order, each with its sequence number.
    /// On an error nothing of the batch that is not yet counted is counted: the caller
    /// retries the whole batch.
    pub async fn count(&self, shard: &str, records: &[(String, Record)]) -> Result<Counted, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_count(shard, records).await {
                Err(CountError::Moved) if attempt < CONFLICT_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                Err(CountError::Moved) => {
                    return Err(StoreError::Unavailable("figures: the write kept meeting concurrent ones".into()))
                }
                Err(CountError::Store(e)) => return Err(e),
                Ok(counted) => return Ok(counted),
            }
        }
    }

    async fn try_count(&self, shard: &str, records: &[(String, Record)]) -> Result<Counted, CountError> {
        let store = &self.deps.store;
        let mut checkpoint = store.figures_checkpoint(shard).await?;
        let mut counted = Counted::default();
        let mut dated = Vec::with_capacity(records.len());
        for (seq, record) in records {
            let Some(key) = sequence_key(seq) else {
                tracing::error!(sequence_number = %seq, "stream record without a numeric sequence number skipped");
                continue;
            };
            if checkpoint.as_deref().is_some_and(|c| key.as_str() <= c) {
                counted.skipped += 1;
                continue;
            }
            counted.records += 1;
            let added = match contribution_of(record) {
                Ok(Some(c)) => {
                    let zone = self.zone_of(&c.tenant, c.at).await?;
                    Some((c.tenant, local_date(c.at, zone), c.figures, c.reward))
                }
                Ok(None) => None,
                Err(reason) => {
                    tracing::error!(%reason, "unreadable stream record not counted");
                    None
                }
            };
            counted.added += usize::from(added.is_some());
            dated.push((key, added));
        }
        let part = part_of(shard);
        for chunk in chunks(&dated) {
            let write = FiguresWrite {
                shard,
                part,
                previous: checkpoint.as_deref(),
                last: &chunk.last,
                days: &chunk.days,
                rewards: &chunk.rewards,
            };
            match store.add_figures(&write, self.deps.now()).await? {
                true => counted.writes += 1,
                false => return Err(CountError::Moved),
            }
            checkpoint = Some(chunk.last.clone());
        }
        Ok(counted)
    }

    /// The program's offset from UTC in force at `at` (0 for a tenant without one).
    async fn zone_of(&self, tenant: &TenantSlug, at: DateTime<Utc>) -> Result<i32, StoreError> {
        match crate::auth::program_versions(&self.deps, tenant).await {
            Ok(versions) => Ok(versions.at(at).utc_offset_minutes),
            Err(crate::ApiError::Unauthorized) => Ok(0),
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
    }
}

enum CountError {
    /// The checkpoint moved, or a concurrent transaction held an item: read again.
    Moved,
    Store(StoreError),
}

impl From<StoreError> for CountError {
    fn from(e: StoreError) -> Self {
        CountError::Store(e)
    }
}

/// One day of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDay {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
    /// The sum of every member's balance at the end of the day.
    pub outstanding_points: i64,
    /// What they buy at the redemption rate now, in minor units.
    pub outstanding_value_minor: i64,
}

/// A tenant's figures from one day to another (both included, the program's days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub tenant: String,
    pub currency: String,
    pub redemption_rate: u32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<ReportDay>,
    /// The sums over the days (outstanding: at the end of the last).
    pub total: Figures,
    /// Members enrolled up to the end of the last day (every day's new members).
    pub members: i64,
    /// The rewards redeemed most in the range (at most [`TOP_REWARDS`]), most first.
    pub top_rewards: Vec<RewardRedemptions>,
}

/// How often a reward was redeemed (vouchers issued for it) in a report's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RewardRedemptions {
    pub reward_id: String,
    /// Its name in the catalogue now (`None`: no longer in it).
    pub name: Option<String>,
    pub redemptions: i64,
}

/// The `n` rewards redeemed most, most first (ties by id).
pub fn top_rewards(counts: &BTreeMap<String, i64>, n: usize) -> Vec<(String, i64)> {
    let mut all: Vec<(String, i64)> = counts.iter().filter(|(_, c)| **c > 0).map(|(r, c)| (r.clone(), *c)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

/// The most days one report covers.
pub const REPORT_MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The report of `tenant` from `from` to `to`: one row per day (days without activity
/// too), outstanding points at the end of each (the sum of every day's net up to it).
pub async fn report(deps: &Deps, tenant: &TenantSlug, from: NaiveDate, to: NaiveDate) -> Result<Report, ReportError> {
    let span = (to - from).num_days();
    if span < 0 {
        return Err(ReportError::Invalid("--from is after --to".into()));
    }
    if span >= REPORT_MAX_DAYS {
        return Err(ReportError::Invalid(format!("at most {REPORT_MAX_DAYS} days in one report")));
    }
    let versions = deps
        .store
        .get_program_versions(tenant)
        .await?
        .ok_or_else(|| ReportError::Invalid(format!("no tenant {tenant}")))?;
    let program = versions.at(deps.now()).clone();
    let stored = deps.store.figures_up_to(tenant, to).await?;
    let mut outstanding: i64 = stored.range(..from).map(|(_, f)| f.points_net).sum();
    let members: i64 = stored.values().map(|f| f.new_members).sum();
    let rewards = deps.store.figures_rewards(tenant, from, to).await?;
    let top = top_rewards(&rewards, TOP_REWARDS);
    let catalogue = if top.is_empty() { Vec::new() } else { deps.store.list_rewards(tenant).await? };
    let top_rewards = top
        .into_iter()
        .map(|(reward_id, redemptions)| {
            let name = catalogue.iter().find(|r| r.public_id == reward_id).map(|r| r.name.clone());
            RewardRedemptions { reward_id, name, redemptions }
        })
        .collect();
    let mut days = Vec::new();
    let mut total = Figures::default();
    let mut day = from;
    while day <= to {
        let figures = stored.get(&day).copied().unwrap_or_default();
        outstanding += figures.points_net;
        total.add(&figures);
        days.push(ReportDay {
            date: day,
            figures,
            outstanding_points: outstanding,
            outstanding_value_minor: program.redeemable_minor(outstanding),
        });
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    Ok(Report {
        tenant: tenant.to_string(),
        currency: program.currency.clone(),
        redemption_rate: program.redemption_rate,
        from,
        to,
        days,
        total,
        members,
        top_rewards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantSlug {
        TenantSlug::parse(s).unwrap()
    }

    fn earned(points: i64) -> Figures {
        Figures { points_earned: points, points_net: points, ..Figures::default() }
    }

    #[test]
    fn sequence_keys_order_as_numbers() {
        let a = sequence_key("999").unwrap();
        let b = sequence_key("1000").unwrap();
        assert!(a < b);
        assert_eq!(a.len(), 40);
        assert_eq!(sequence_key("000123"), sequence_key("123"));
        for bad in ["", "12a", "-1", &"9".repeat(41)] {
            assert_eq!(sequence_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_batch_sums_per_tenant_and_day_and_carries_its_last_sequence_number() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let records = vec![
            ("01".to_owned(), Some((t("shop-a"), d, earned(5), None))),
            ("02".to_owned(), None),
            ("03".to_owned(), Some((t("shop-a"), d, earned(7), Some("rwd-tea".to_owned())))),
            ("04".to_owned(), Some((t("shop-b"), d, earned(1), Some("rwd-tea".to_owned())))),
            ("05".to_owned(), None),
            ("06".to_owned(), Some((t("shop-a"), d, Figures::default(), Some("rwd-tea".to_owned())))),
            ("07".to_owned(), Some((t("shop-a"), d, Figures::default(), Some("rwd-cake".to_owned())))),
        ];
        let out = chunks(&records);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].last, "07");
        assert_eq!(out[0].days[&(t("shop-a"), d)], earned(12));
        assert_eq!(out[0].days[&(t("shop-b"), d)], earned(1));
        let a = &out[0].rewards[&(t("shop-a"), d)];
        assert_eq!((a["rwd-tea"], a["rwd-cake"]), (2, 1));
        assert_eq!(out[0].rewards[&(t("shop-b"), d)]["rwd-tea"], 1);
        assert!(chunks(&[("01".to_owned(), None)]).is_empty(), "nothing to count, nothing written");
    }

    #[test]
    fn more_items_than_a_transaction_holds_split_in_order() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let records: Vec<_> = (0..250u64)
            .map(|i| (format!("{i:03}"), Some((t("shop-a"), start + chrono::Days::new(i), earned(1), None))))
            .collect();
        let out = chunks(&records);
        assert_eq!(out.iter().map(|c| c.days.len()).collect::<Vec<_>>(), [99, 99, 52]);
        assert_eq!(out.iter().map(|c| c.last.as_str()).collect::<Vec<_>>(), ["098", "197", "249"]);
    }

    #[test]
    fn the_top_rewards_are_the_most_redeemed_and_bounded() {
        let counts: BTreeMap<String, i64> =
            [("b", 3), ("a", 3), ("c", 7), ("d", 0), ("e", 1)].map(|(r, c)| (r.to_owned(), c)).into();
        let top = top_rewards(&counts, 3);
        assert_eq!(top, [("c".to_owned(), 7), ("a".to_owned(), 3), ("b".to_owned(), 3)]);
        assert!(top_rewards(&counts, 10).iter().all(|(_, c)| *c > 0), "a reward never redeemed is not named");
    }

    #[test]
    fn parts_stay_within_their_count() {
        for shard in ["shardId-00000001700000000000-0a1b2c3d", "shardId-1", ""] {
            assert!(part_of(shard) < FIGURE_PARTS);
        }
    }
}
