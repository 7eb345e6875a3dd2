//! Member reads: the profile (`TENANT#{t}#CUST#{id}` / `PROFILE`), the mobile and email
//! lookups (`...#MOBILE#{m}` / `LOOKUP`), and the member's codes through GSI1.

use chrono::{DateTime, Utc};

use super::client::{Store, StoreError, GSI1, GSI3};
use super::item_key::{
    expiry_index_partition, member_of_partition, member_partition, tenant_members_prefix, tier_review_partition,
    unexpired_codes, Attrs, ItemKey, GSI1PK, GSI1SK, GSI3PK, GSI3SK,
};
use super::items::{attr, decode, value, CodeItem, LookupItem, ProfileItem};
use crate::domain::{CustomerId, Email, Mobile, TenantSlug};
use crate::expiry::Month;
use crate::model::{Coupon, Customer};

impl Store {
    pub async fn get_customer(&self, tenant: &TenantSlug, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::profile(tenant, id).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<ProfileItem>(attrs).map(Customer::from)).transpose()
    }

    pub async fn customer_id_by_mobile(
        &self,
        tenant: &TenantSlug,
        mobile: &Mobile,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.lookup(ItemKey::mobile_lookup(tenant, mobile)).await
    }

    pub async fn customer_id_by_email(
        &self,
        tenant: &TenantSlug,
        email: &Email,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.lookup(ItemKey::email_lookup(tenant, email)).await
    }

    async fn lookup(&self, key: ItemKey) -> Result<Option<CustomerId>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.attrs()))
            .consistent_read(true)
            .projection_expression(format!("PK, SK, {}", attr::CUSTOMER_ID))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<LookupItem>(attrs).map(|l| l.customer_id)).transpose()
    }

    /// A member's unused codes still unexpired at `now`, soonest to expire first, from
    /// GSI1. Used codes leave the index and its sort key starts with the expiry, so the
    /// query reads only the codes a member can still use, however long their history
    /// (eventually consistent: a code used a moment ago may still show for up to a
    /// second; using it is still refused).
    pub async fn codes_of_customer(
        &self,
        tenant: &TenantSlug,
        id: &CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Coupon>, StoreError> {
        let (from, to) = unexpired_codes(now.timestamp_millis());
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression(format!("{GSI1PK} = :pk AND {GSI1SK} BETWEEN :from AND :to"))
            .expression_attribute_values(":pk", value(member_partition(tenant, id))?)
            .expression_attribute_values(":from", value(from)?)
            .expression_attribute_values(":to", value(to)?)
            .into_paginator()
            .items()
            .send();
        let mut codes = Vec::new();
        while let Some(attrs) = pages.next().await {
            codes.push(decode::<CodeItem>(&attrs.map_err(StoreError::from_sdk)?)?.into());
        }
        Ok(codes)
    }
}

/// Where a walk of one expiry index partition stopped (DynamoDB's last evaluated key).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexCursor(Attrs);

/// A page of the members one expiry index partition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DueMembers {
    pub members: Vec<(TenantSlug, CustomerId)>,
    pub next: Option<IndexCursor>,
}

impl Store {
    /// A page of the members whose oldest points fall due in `due` (one shard of the
    /// expiry index), of one tenant or of all; only the keys are read. Eventually
    /// consistent: a member settled a moment ago may still be listed (settling them
    /// again writes nothing).
    pub async fn due_members(
        &self,
        due: Month,
        shard: u32,
        tenant: Option<&TenantSlug>,
        limit: i32,
        after: Option<IndexCursor>,
    ) -> Result<DueMembers, StoreError> {
        self.index_members((GSI3, GSI3PK, GSI3SK), expiry_index_partition(due, shard), tenant, limit, after).await
    }

    /// A page of the members whose tier review falls in `due` (one shard of the review
    /// index), as [`Store::due_members`] does for expiry.
    pub async fn review_members(
        &self,
        due: Month,
        shard: u32,
        tenant: Option<&TenantSlug>,
        limit: i32,
        after: Option<IndexCursor>,
    ) -> Result<DueMembers, StoreError> {
        self.index_members((GSI1, GSI1PK, GSI1SK), tier_review_partition(due, shard), tenant, limit, after).await
    }

    /// One page of an index partition whose sort keys are member partitions; `index` is
    /// the index's name and its partition and sort key attributes.
    async fn index_members(
        &self,
        index: (&str, &str, &str),
        partition: String,
        tenant: Option<&TenantSlug>,
        limit: i32,
        after: Option<IndexCursor>,
    ) -> Result<DueMembers, StoreError> {
        let (name, pk, sk) = index;
        let mut condition = format!("{pk} = :pk");
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(name)
            .expression_attribute_values(":pk", value(partition)?)
            .projection_expression(sk)
            .limit(limit.max(1))
            .set_exclusive_start_key(after.map(|c| c.0));
        if let Some(t) = tenant {
            condition.push_str(&format!(" AND begins_with({sk}, :tenant)"));
            query = query.expression_attribute_values(":tenant", value(tenant_members_prefix(t))?);
        }
        let out = query.key_condition_expression(condition).send().await.map_err(StoreError::from_sdk)?;
        let mut members = Vec::new();
        for item in out.items() {
            let key = item.get(sk).and_then(|v| v.as_s().ok()).map_or("", String::as_str);
            let member = member_of_partition(key)
                .ok_or_else(|| StoreError::Corrupt(format!("index entry {key:?} names no member")))?;
            members.push(member);
        }
        Ok(DueMembers { members, next: out.last_evaluated_key.map(IndexCursor) })
    }
}
