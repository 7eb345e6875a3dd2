//! Member reads: the profile (`TENANT#{t}#CUST#{id}` / `PROFILE`), the mobile and email
//! lookups (`...#MOBILE#{m}` / `LOOKUP`), and the member's codes through GSI1.

use chrono::{DateTime, Utc};

use super::client::{Store, StoreError, GSI1};
use super::item_key::{member_partition, unexpired_codes, ItemKey, GSI1PK, GSI1SK};
use super::items::{attr, decode, value, CodeItem, LookupItem, ProfileItem};
use crate::domain::{CustomerId, Email, Mobile, TenantSlug};
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
