//! Campaigns: the campaign item in the tenant's list (`TENANT#{t}#CAMPAIGNS` /
//! `CAMPAIGN#{id}`: what it issues, its audience's size, its progress and cursor), its
//! audience in parts of at most [`PART_SIZE`] mobiles and one result item per batch in
//! the campaign's own partition, and the coupons it issues (a put only if new). See
//! `docs/architecture.md` ("Campaigns").

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::audit::{AdminRecord, AdminWriteError};
use super::client::{Store, StoreError};
use super::item_key::{
    campaign_partition, campaigns_partition, ItemKey, CAMPAIGN_BATCH_PREFIX, CAMPAIGN_PREFIX, PK, SK,
};
use super::items::{decode, encode, value, CodeItem, Expr, StoredItem};
use super::transact::{condition_failed, put_new, update, TransactError};
use crate::domain::TenantSlug;
use crate::model::Coupon;

/// The most mobiles one audience part holds (a part of 5,000 E.164 numbers is well
/// under DynamoDB's 400 KB item limit).
pub const PART_SIZE: u64 = 5_000;

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub campaign_id: String,
    pub name: String,
    pub value_minor: Option<i64>,
    pub percent: Option<u32>,
    pub expires: NaiveDate,
    /// `mobiles` (a list of mobiles in parts) or `tier` (the customer ids of the tier's
    /// members when it was created, in parts).
    pub audience: String,
    /// The tier of a `tier` audience, as the program spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// How many list positions there are.
    pub total: u64,
    /// The list position the next batch starts at.
    pub cursor: u64,
    pub issued: u64,
    pub skipped_unknown: u64,
    pub skipped_already: u64,
    pub failed: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}

impl StoredItem for CampaignRecord {
    const KIND: &'static str = "campaign";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartItem {
    mobiles: Vec<String>,
}

impl StoredItem for PartItem {
    const KIND: &'static str = "campaign part";
}

/// What one batch came to: the list positions `[start, end)` and the mobiles that got
/// no coupon, by why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignBatch {
    pub start: u64,
    pub end: u64,
    pub issued: u64,
    pub unknown: Vec<String>,
    pub already: Vec<String>,
    pub failed: Vec<String>,
}

impl StoredItem for CampaignBatch {
    const KIND: &'static str = "campaign batch";
}

/// What a campaign coupon's put found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodePut {
    /// Written now.
    Written,
    /// The code was there already, with this coupon id.
    Exists(uuid::Uuid),
}

#[derive(Serialize)]
struct Advance {
    cursor: u64,
    updated_at: DateTime<Utc>,
}

impl Store {
    /// A new campaign with its audience parts and its audit entry, in one transaction
    /// (at most 10 parts of [`PART_SIZE`]: well within a transaction's 100 items and
    /// 4 MB).
    pub async fn put_campaign(
        &self,
        tenant: &TenantSlug,
        campaign: &CampaignRecord,
        parts: &[Vec<String>],
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let mut items =
            vec![put_new(&self.table, encode(&ItemKey::campaign(tenant, &campaign.campaign_id), campaign)?, false)?];
        for (n, mobiles) in parts.iter().enumerate() {
            let key = ItemKey::campaign_part(tenant, &campaign.campaign_id, n as u32);
            items.push(put_new(&self.table, encode(&key, &PartItem { mobiles: mobiles.clone() })?, false)?);
        }
        self.admin_transact(tenant, items, admin).await
    }

    /// One campaign (strongly consistent).
    pub async fn get_campaign(&self, tenant: &TenantSlug, id: &str) -> Result<Option<CampaignRecord>, StoreError> {
        self.read::<CampaignRecord>(&ItemKey::campaign(tenant, id)).await
    }

    /// The tenant's latest campaigns, newest first.
    pub async fn list_campaigns(&self, tenant: &TenantSlug, limit: i32) -> Result<Vec<CampaignRecord>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :c)"))
            .expression_attribute_values(":pk", value(campaigns_partition(tenant))?)
            .expression_attribute_values(":c", value(CAMPAIGN_PREFIX)?)
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.items().iter().map(decode::<CampaignRecord>).collect()
    }

    /// One part of a campaign's mobile list.
    pub async fn campaign_part(&self, tenant: &TenantSlug, id: &str, part: u32) -> Result<Vec<String>, StoreError> {
        let key = ItemKey::campaign_part(tenant, id, part);
        match self.read::<PartItem>(&key).await? {
            Some(p) => Ok(p.mobiles),
            None => Err(StoreError::Corrupt(format!("campaign part {key} is missing"))),
        }
    }

    /// Every batch result of a campaign, in list order.
    pub async fn campaign_batches(&self, tenant: &TenantSlug, id: &str) -> Result<Vec<CampaignBatch>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :b)"))
            .expression_attribute_values(":pk", value(campaign_partition(tenant, id))?)
            .expression_attribute_values(":b", value(CAMPAIGN_BATCH_PREFIX)?)
            .into_paginator()
            .items()
            .send();
        let mut out = Vec::new();
        while let Some(attrs) = pages.next().await {
            out.push(decode::<CampaignBatch>(&attrs.map_err(StoreError::from_sdk)?)?);
        }
        Ok(out)
    }

    /// Puts a campaign's coupon only if its code is new; if it is not, the coupon id
    /// found (the SDK's retry of a put whose answer was lost finds its own).
    pub async fn put_campaign_code(&self, tenant: &TenantSlug, coupon: &Coupon) -> Result<CodePut, StoreError> {
        let item = encode(&ItemKey::code(tenant, &coupon.code), &CodeItem::new(tenant, coupon))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(CodePut::Written),
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(failed) => match failed.item() {
                    Some(old) => Ok(CodePut::Exists(decode::<CodeItem>(old)?.coupon_id)),
                    None => Err(StoreError::Unavailable("a refused put returned no item".into())),
                },
                other => Err(StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(&other).to_string())),
            },
        }
    }

    /// Moves the campaign's cursor from `batch.start` to `batch.end`, adds the batch's
    /// counts and keeps its result, in one transaction, only while the cursor is still
    /// at `batch.start`: of two runners that did one batch, exactly one records it.
    /// `false` if the cursor had moved.
    pub async fn advance_campaign(
        &self,
        tenant: &TenantSlug,
        id: &str,
        batch: &CampaignBatch,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::default();
        let set = e.set(&Advance { cursor: batch.end, updated_at: now })?;
        let mut adds = Vec::new();
        for (field, n) in [
            ("issued", batch.issued),
            ("skipped_unknown", batch.unknown.len() as u64),
            ("skipped_already", batch.already.len() as u64),
            ("failed", batch.failed.len() as u64),
        ] {
            adds.push(format!("{} {}", e.name(field), e.value(value(n)?)));
        }
        let expression = format!("{set} ADD {}", adds.join(", "));
        let condition = format!("{} = {}", e.name("cursor"), e.value(value(batch.start)?));
        let advance = update(&self.table, &ItemKey::campaign(tenant, id), expression, condition, e, false)?;
        let result = put_new(&self.table, encode(&ItemKey::campaign_batch(tenant, id, batch.start), batch)?, false)?;
        match self.transact(vec![advance, result]).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(reasons)) if reasons.iter().any(condition_failed) => Ok(false),
            Err(TransactError::Cancelled(reasons)) => {
                Err(StoreError::Unavailable(format!("campaign batch cancelled: {reasons:?}")))
            }
            Err(TransactError::Store(e)) => Err(e),
        }
    }
}
