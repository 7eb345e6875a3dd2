//! The daily figures' items: a tenant's days (`TENANT#{t}#FIGURES`, one item per day
//! and part, numbers added with `ADD`) and the checkpoint of each stream shard
//! (`FIGURES#CHECKPOINT`, the last sequence number counted). A day's item also counts
//! each reward's redemptions (`reward#<id>`). See `crate::figures` and
//! `docs/architecture.md` ("Daily figures").

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};

use super::client::{Store, StoreError};
use super::item_key::{figures_partition, ItemKey, FIGURES_DAY_PREFIX, PK, SK};
use super::items::Expr;
use super::transact::{condition_failed, update, TransactError};
use crate::domain::TenantSlug;
use crate::figures::{Figures, REWARD_PREFIX};

const SEQUENCE: &str = "sequence";
const UPDATED_AT: &str = "updated_at";
const TENANT: &str = "tenant";
const DATE: &str = "date";

/// One transaction of the figures: the (tenant, day) sums of a shard's records up to
/// `last`, counted after `previous` (the checkpoint read; `None`: none yet).
pub struct FiguresWrite<'a> {
    pub shard: &'a str,
    pub part: u32,
    pub previous: Option<&'a str>,
    pub last: &'a str,
    pub days: &'a BTreeMap<(TenantSlug, NaiveDate), Figures>,
    /// Redemptions per reward of those (tenant, day) items.
    pub rewards: &'a BTreeMap<(TenantSlug, NaiveDate), BTreeMap<String, i64>>,
}

impl Store {
    /// The last sequence number (as `figures::sequence_key`) of `shard` counted into the
    /// figures (strongly consistent).
    pub async fn figures_checkpoint(&self, shard: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::figures_checkpoint(shard).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item().and_then(|item| match item.get(SEQUENCE) {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        }))
    }

    /// Adds a chunk's sums to their days and moves the shard's checkpoint to its last
    /// record, in one transaction, only if the checkpoint is still `previous`. `Ok(false)`:
    /// it moved (another reader of the shard counted first) or a concurrent transaction
    /// held one of the items; nothing was added, read the checkpoint again.
    pub async fn add_figures(&self, w: &FiguresWrite<'_>, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let now = AttributeValue::S(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        let mut items = Vec::with_capacity(w.days.len() + 1);
        let mut e = Expr::default();
        let (seq, at) = (e.name(SEQUENCE), e.name(UPDATED_AT));
        let set =
            format!("SET {seq} = {}, {at} = {}", e.value(AttributeValue::S(w.last.to_owned())), e.value(now.clone()));
        let condition = match w.previous {
            Some(previous) => format!("{seq} = {}", e.value(AttributeValue::S(previous.to_owned()))),
            None => format!("attribute_not_exists({PK})"),
        };
        items.push(update(&self.table, &ItemKey::figures_checkpoint(w.shard), set, condition, e, false)?);
        for ((tenant, day), figures) in w.days {
            let mut e = Expr::default();
            let mut adds: Vec<String> = figures
                .fields()
                .iter()
                .map(|(name, value)| format!("{} {}", e.name(name), e.value(AttributeValue::N(value.to_string()))))
                .collect();
            // A reward id has '-' in it, which an alias cannot: aliases by position.
            for (i, (reward, count)) in w.rewards.get(&(tenant.clone(), *day)).into_iter().flatten().enumerate() {
                let alias = format!("#reward{i}");
                e.names.insert(alias.clone(), format!("{REWARD_PREFIX}{reward}"));
                adds.push(format!("{alias} {}", e.value(AttributeValue::N(count.to_string()))));
            }
            let (t, d, u) = (e.name(TENANT), e.name(DATE), e.name(UPDATED_AT));
            let set = format!(
                "SET {t} = {}, {d} = {}, {u} = {} ADD {}",
                e.value(AttributeValue::S(tenant.to_string())),
                e.value(AttributeValue::S(day.to_string())),
                e.value(now.clone()),
                adds.join(", ")
            );
            let key = ItemKey::figures_day(tenant, *day, w.part);
            let add = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key.attrs()))
                .update_expression(set)
                .set_expression_attribute_names(Some(e.names))
                .set_expression_attribute_values(Some(e.values))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            items.push(TransactWriteItem::builder().update(add).build());
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(reasons)) => {
                if reasons.iter().any(|r| condition_failed(r) || r.code() == Some("TransactionConflict")) {
                    Ok(false)
                } else {
                    let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
                    Err(StoreError::Unavailable(format!("figures write cancelled: {codes:?}")))
                }
            }
            Err(TransactError::Store(e)) => Err(e),
        }
    }

    /// A tenant's redemptions per reward from `from` to `to` (both included; every
    /// part of every day summed; one Query, strongly consistent).
    pub async fn figures_rewards(
        &self,
        tenant: &TenantSlug,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND {SK} BETWEEN :lo AND :hi"))
            .expression_attribute_values(":pk", AttributeValue::S(figures_partition(tenant)))
            .expression_attribute_values(
                ":lo",
                AttributeValue::S(format!("{FIGURES_DAY_PREFIX}{}#", from.format("%Y-%m-%d"))),
            )
            .expression_attribute_values(
                ":hi",
                AttributeValue::S(format!("{FIGURES_DAY_PREFIX}{}#~", to.format("%Y-%m-%d"))),
            )
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut rewards: BTreeMap<String, i64> = BTreeMap::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(StoreError::from_sdk)?;
            for (name, value) in &item {
                let (Some(reward), AttributeValue::N(n)) = (name.strip_prefix(REWARD_PREFIX), value) else { continue };
                let count = n.parse::<i64>().map_err(|e| StoreError::Corrupt(format!("figure {name}: {e}")))?;
                *rewards.entry(reward.to_owned()).or_default() += count;
            }
        }
        Ok(rewards)
    }

    /// A tenant's figures of every day up to `to` (its parts summed), by day (one Query,
    /// strongly consistent).
    pub async fn figures_up_to(
        &self,
        tenant: &TenantSlug,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Figures>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND {SK} BETWEEN :lo AND :hi"))
            .expression_attribute_values(":pk", AttributeValue::S(figures_partition(tenant)))
            .expression_attribute_values(":lo", AttributeValue::S(FIGURES_DAY_PREFIX.to_owned()))
            .expression_attribute_values(
                ":hi",
                AttributeValue::S(format!("{FIGURES_DAY_PREFIX}{}#~", to.format("%Y-%m-%d"))),
            )
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut days: BTreeMap<NaiveDate, Figures> = BTreeMap::new();
        while let Some(item) = pages.next().await {
            let item = item.map_err(StoreError::from_sdk)?;
            let date = match item.get(DATE) {
                Some(AttributeValue::S(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("figures date {s}: {e}")))?,
                _ => return Err(StoreError::Corrupt("figures item without its date".into())),
            };
            let mut part = Figures::default();
            for (name, _) in Figures::default().fields() {
                if let Some(AttributeValue::N(n)) = item.get(name) {
                    let value = n.parse::<i64>().map_err(|e| StoreError::Corrupt(format!("figure {name}: {e}")))?;
                    part.set(name, value);
                }
            }
            days.entry(date).or_default().add(&part);
        }
        Ok(days)
    }
}
