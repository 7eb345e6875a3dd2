//! Reward catalog items: `TENANT#{t}` / `REWARD#{publicId}`, beside the program item,
//! so one query on the tenant partition lists the catalog.

use aws_sdk_dynamodb::error::DisplayErrorContext;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::audit::{AdminRecord, AdminWriteError};
use super::client::{Store, StoreError};
use super::item_key::{tenant_partition, ItemKey, PK, REWARD_PREFIX, SK};
use super::items::{decode, encode, value, RewardItem};
use crate::domain::TenantSlug;
use crate::model::Reward;

impl Store {
    /// The whole catalog, archived rewards included, ordered by public id.
    pub async fn list_rewards(&self, tenant: &TenantSlug) -> Result<Vec<Reward>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :prefix)"))
            .expression_attribute_values(":pk", value(tenant_partition(tenant))?)
            .expression_attribute_values(":prefix", value(REWARD_PREFIX)?)
            .into_paginator()
            .items()
            .send();
        let mut rewards = Vec::new();
        while let Some(attrs) = pages.next().await {
            rewards.push(decode::<RewardItem>(&attrs.map_err(StoreError::from_sdk)?)?.into());
        }
        Ok(rewards)
    }

    pub async fn get_reward(&self, tenant: &TenantSlug, public_id: &str) -> Result<Option<Reward>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::reward(tenant, public_id).attrs()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<RewardItem>(attrs).map(Reward::from)).transpose()
    }

    /// Adds or replaces a reward.
    pub async fn put_reward(&self, tenant: &TenantSlug, reward: &Reward) -> Result<(), StoreError> {
        let item = encode(&ItemKey::reward(tenant, &reward.public_id), &RewardItem::from(reward))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }

    /// Writes a reward with its audit entry in one transaction: a new one (`existing ==
    /// false`: no reward with that id may exist) or a change to one that exists.
    pub async fn put_reward_audited(
        &self,
        tenant: &TenantSlug,
        reward: &Reward,
        existing: bool,
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let item = encode(&ItemKey::reward(tenant, &reward.public_id), &RewardItem::from(reward))?;
        let condition = if existing { "attribute_exists(PK)" } else { "attribute_not_exists(PK)" };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.admin_transact(tenant, vec![TransactWriteItem::builder().put(put).build()], admin).await
    }
}
