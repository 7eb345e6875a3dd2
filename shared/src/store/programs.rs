//! Program items: `TENANT#{t}` / `PROGRAM`, the rules the tenant was created with, and
//! `TENANT#{t}` / `PROGRAM#{effective_from}`, each later version (the rules as one JSON
//! attribute). A function reads them all with one Query; no version is ever rewritten.
//! The tenant index `TENANTS` / `TENANT#{t}` lists every tenant without a scan.

use chrono::{DateTime, Utc};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::audit::{AdminRecord, AdminWriteError};
use super::client::{condition_held, Store, StoreError};
use super::item_key::{tenant_partition, ItemKey, PK, PROGRAM_PREFIX, SK, TENANTS_PK};
use super::items::{
    attr, decode, encode, value, Expr, ProgramItem, ProgramVersionItem, TenantIndexItem, TenantIndexName,
};
use crate::domain::TenantSlug;
use crate::program::{Program, ProgramVersion, ProgramVersions};

/// A tenant as the tenant index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantEntry {
    pub tenant: TenantSlug,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// The rules the tenant was created with (the `PROGRAM` item).
    pub async fn get_program(&self, tenant: &TenantSlug) -> Result<Option<Program>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::program(tenant).attrs()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<ProgramItem>(attrs).map(|p| p.rules)).transpose()
    }

    /// Every version of a tenant's program: one Query of its `PROGRAM` items (one page
    /// holds hundreds of versions); `None` for a tenant without a program.
    pub async fn get_program_versions(&self, tenant: &TenantSlug) -> Result<Option<ProgramVersions>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :prefix)"))
            .expression_attribute_values(":pk", value(tenant_partition(tenant))?)
            .expression_attribute_values(":prefix", value(PROGRAM_PREFIX)?)
            .into_paginator()
            .items()
            .send();
        let base = ItemKey::program(tenant).sk;
        let mut versions = Vec::new();
        while let Some(attrs) = pages.next().await {
            let attrs = attrs.map_err(StoreError::from_sdk)?;
            let sk = attrs.get(SK).and_then(|v| v.as_s().ok());
            versions.push(if sk == Some(&base) {
                ProgramVersion { effective_from: None, rules: decode::<ProgramItem>(&attrs)?.rules.into() }
            } else {
                let item = decode::<ProgramVersionItem>(&attrs)?;
                ProgramVersion { effective_from: Some(item.effective_from), rules: item.rules.into() }
            });
        }
        Ok(ProgramVersions::new(versions))
    }

    /// Writes a program; with `replace == false` an existing one is left alone and
    /// `false` is returned.
    pub async fn put_program(
        &self,
        tenant: &TenantSlug,
        program: &Program,
        replace: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item =
            ProgramItem { tenant: tenant.clone(), name: program.name.clone(), rules: program.clone(), updated_at: now };
        let mut put =
            self.client.put_item().table_name(&self.table).set_item(Some(encode(&ItemKey::program(tenant), &item)?));
        if !replace {
            put = put.condition_expression("attribute_not_exists(PK)");
        }
        condition_held(put.send().await)
    }

    /// Adds a version in force from `effective_from`; `false` (nothing written) if one
    /// from that instant exists: a version is never rewritten.
    pub async fn put_program_version(
        &self,
        tenant: &TenantSlug,
        effective_from: DateTime<Utc>,
        program: &Program,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item =
            ProgramVersionItem { tenant: tenant.clone(), effective_from, rules: program.clone(), created_at: now };
        let key = ItemKey::program_version(tenant, effective_from);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(&key, &item)?))
            .condition_expression("attribute_not_exists(PK)");
        condition_held(put.send().await)
    }

    /// Adds a version in force from `effective_from` with its audit entry (and request
    /// item) in one transaction; [`AdminWriteError::Refused`] if one from that instant
    /// exists.
    pub async fn put_program_version_audited(
        &self,
        tenant: &TenantSlug,
        effective_from: DateTime<Utc>,
        program: &Program,
        now: DateTime<Utc>,
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let item =
            ProgramVersionItem { tenant: tenant.clone(), effective_from, rules: program.clone(), created_at: now };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(encode(&ItemKey::program_version(tenant, effective_from), &item)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.admin_transact(tenant, vec![TransactWriteItem::builder().put(put).build()], admin).await
    }

    /// Lists the tenant in the tenant index under its program's `name` (safe to repeat:
    /// the name is brought up to date, the first listing's time kept).
    pub async fn put_tenant_index(
        &self,
        tenant: &TenantSlug,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let set = expr.set(&TenantIndexName { tenant: tenant.clone(), name })?;
        let created_at = expr.name(attr::CREATED_AT);
        let first_listed = expr.value(value(TenantIndexItem::time(now))?);
        let update = format!("{set}, {created_at} = if_not_exists({created_at}, {first_listed})");
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::tenant_index(tenant).attrs()))
            .update_expression(update)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Every tenant in the index, by slug: a Query of one partition, never a scan.
    pub async fn list_tenants(&self) -> Result<Vec<TenantEntry>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk"))
            .expression_attribute_values(":pk", value(TENANTS_PK)?)
            .into_paginator()
            .items()
            .send();
        let mut tenants = Vec::new();
        while let Some(attrs) = pages.next().await {
            let item = decode::<TenantIndexItem>(&attrs.map_err(StoreError::from_sdk)?)?;
            tenants.push(TenantEntry { tenant: item.tenant, name: item.name, created_at: item.created_at });
        }
        Ok(tenants)
    }
}
