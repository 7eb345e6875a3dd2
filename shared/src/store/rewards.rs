//! Reward catalog items: `TENANT#{t}` / `REWARD#{publicId}`, beside the program item,
//! so one query on the tenant partition lists the catalog.

use aws_sdk_dynamodb::error::DisplayErrorContext;

use super::item::{key, n, put_opt, s, Attrs, Item};
use super::{pk, Store, StoreError};
use crate::domain::TenantSlug;
use crate::model::{CodeKind, Reward};

fn reward_attrs(tenant: &TenantSlug, r: &Reward) -> Attrs {
    let mut attrs = key(pk::tenant(tenant), &format!("REWARD#{}", r.public_id));
    attrs.insert("public_id".into(), s(&r.public_id));
    attrs.insert("name".into(), s(&r.name));
    attrs.insert("description".into(), s(&r.description));
    attrs.insert("points_cost".into(), n(r.points_cost));
    attrs.insert("kind".into(), s(r.kind.as_str()));
    attrs.insert("value_minor".into(), n(r.value_minor));
    put_opt(&mut attrs, "discount_percent", r.discount_percent.map(n));
    attrs.insert("status".into(), s(if r.active { "active" } else { "archived" }));
    attrs
}

fn decode_reward(attrs: &Attrs) -> Result<Reward, StoreError> {
    let item = Item(attrs);
    Ok(Reward {
        public_id: item.str("public_id")?.to_owned(),
        name: item.str("name")?.to_owned(),
        description: item.opt_str("description")?.unwrap_or_default().to_owned(),
        points_cost: item.int("points_cost")?,
        kind: item.parsed("kind", |k| CodeKind::parse(k).ok_or(()))?,
        value_minor: item.opt_int("value_minor")?.unwrap_or(0),
        discount_percent: item.opt_int("discount_percent")?,
        active: item.str("status")? == "active",
    })
}

impl Store {
    /// The whole catalog, archived rewards included, ordered by public id.
    pub async fn list_rewards(&self, tenant: &TenantSlug) -> Result<Vec<Reward>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk::tenant(tenant)))
            .expression_attribute_values(":prefix", s("REWARD#"))
            .into_paginator()
            .items()
            .send();
        let mut rewards = Vec::new();
        while let Some(attrs) = pages.next().await {
            rewards.push(decode_reward(&attrs.map_err(StoreError::from_sdk)?)?);
        }
        Ok(rewards)
    }

    pub async fn get_reward(&self, tenant: &TenantSlug, public_id: &str) -> Result<Option<Reward>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk::tenant(tenant), &format!("REWARD#{public_id}"))))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(decode_reward).transpose()
    }

    /// Adds or replaces a reward.
    pub async fn put_reward(&self, tenant: &TenantSlug, reward: &Reward) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(reward_attrs(tenant, reward)))
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}
