//! Member reads: the profile (`TENANT#{t}#CUST#{id}` / `PROFILE`), the mobile and email
//! lookups (`...#MOBILE#{m}` / `LOOKUP`), and the member's codes through GSI1.

use super::item::{key, n, s, ts, Attrs, Item};
use super::{codes, pk, Store, StoreError, GSI1};
use crate::domain::{CustomerId, Email, Mobile, TenantSlug};
use crate::model::{Coupon, Customer};

/// Why an enrolment could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrolError {
    MobileTaken,
    EmailTaken,
}

pub(crate) fn profile_attrs(tenant: &TenantSlug, c: &Customer, now: chrono::DateTime<chrono::Utc>) -> Attrs {
    let mut attrs = key(pk::customer(tenant, &c.id), "PROFILE");
    attrs.insert("customer_id".into(), s(c.id.to_string()));
    attrs.insert("name".into(), s(&c.name));
    if let Some(m) = &c.mobile {
        attrs.insert("mobile".into(), s(m.as_str()));
    }
    if let Some(e) = &c.email {
        attrs.insert("email".into(), s(e.as_str()));
    }
    attrs.insert("points_balance".into(), n(c.points_balance));
    attrs.insert("lifetime_points".into(), n(c.lifetime_points));
    attrs.insert("segment".into(), s(&c.segment));
    attrs.insert("version".into(), n(c.version));
    attrs.insert("created_at".into(), ts(c.created_at));
    attrs.insert("updated_at".into(), ts(now));
    attrs
}

fn decode_customer(attrs: &Attrs) -> Result<Customer, StoreError> {
    let item = Item(attrs);
    Ok(Customer {
        id: item.parsed("customer_id", CustomerId::parse)?,
        name: item.opt_str("name")?.unwrap_or_default().to_owned(),
        mobile: item.opt_parsed("mobile", Mobile::parse)?,
        email: item.opt_parsed("email", Email::parse)?,
        points_balance: item.int("points_balance")?,
        lifetime_points: item.int("lifetime_points")?,
        segment: item.opt_str("segment")?.unwrap_or("regular").to_owned(),
        version: item.int("version")?,
        created_at: item.time("created_at")?,
    })
}

impl Store {
    pub async fn get_customer(&self, tenant: &TenantSlug, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk::customer(tenant, id), "PROFILE")))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(decode_customer).transpose()
    }

    pub async fn customer_id_by_mobile(
        &self,
        tenant: &TenantSlug,
        mobile: &Mobile,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.lookup(pk::mobile(tenant, mobile)).await
    }

    pub async fn customer_id_by_email(
        &self,
        tenant: &TenantSlug,
        email: &Email,
    ) -> Result<Option<CustomerId>, StoreError> {
        self.lookup(pk::email(tenant, email)).await
    }

    async fn lookup(&self, pk: String) -> Result<Option<CustomerId>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, "LOOKUP")))
            .consistent_read(true)
            .projection_expression("customer_id")
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| Item(attrs).parsed("customer_id", CustomerId::parse)).transpose()
    }

    /// A member's unused codes (used ones leave GSI1), expired included, from GSI1
    /// (eventually consistent: a code used a moment ago may still show for up to a
    /// second; using it is still refused).
    pub async fn codes_of_customer(&self, tenant: &TenantSlug, id: &CustomerId) -> Result<Vec<Coupon>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :pk AND begins_with(GSI1SK, :prefix)")
            .expression_attribute_values(":pk", s(pk::customer(tenant, id)))
            .expression_attribute_values(":prefix", s("CODE#"))
            .into_paginator()
            .items()
            .send();
        let mut codes = Vec::new();
        while let Some(attrs) = pages.next().await {
            codes.push(codes::decode_code(&attrs.map_err(StoreError::from_sdk)?)?);
        }
        Ok(codes)
    }
}
