//! API key items. `APIKEY#{sha256}` / `APIKEY` is what authentication reads;
//! `KEYID#{id}` / `KEYID` names the same key for listing (GSI1 by tenant) and revoking.
//! The plain key is never stored.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, NaiveDate, Utc};

use super::audit::{AdminRecord, AdminWriteError};
use super::client::{Store, StoreError, GSI1};
use super::item_key::{tenant_keys_index, ItemKey, GSI1PK};
use super::items::{attr, decode, encode, value, ApiKeyItem, Expr, KeyLastUsed, KeyRevocation, KeyScopes};
use super::transact::{put_new, update, TransactError};
use crate::domain::TenantSlug;
use crate::keys::{KeyHash, KeyRecord, KeyStatus, Scope};

/// A key as the console lists it: its record, when it was revoked and the day it was
/// last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub record: KeyRecord,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_on: Option<NaiveDate>,
}

impl From<ApiKeyItem> for KeyInfo {
    fn from(item: ApiKeyItem) -> Self {
        let (revoked_at, last_used_on) = (item.revoked_at, item.last_used_on);
        KeyInfo { record: item.into(), revoked_at, last_used_on }
    }
}

/// Both items of a new key, each a put that must be new.
fn key_puts(table: &str, record: &KeyRecord) -> Result<Vec<TransactWriteItem>, StoreError> {
    let by_hash = encode(&ItemKey::api_key(&record.hash), &ApiKeyItem::new(record, false))?;
    let by_id = encode(&ItemKey::key_id(&record.key_id), &ApiKeyItem::new(record, true))?;
    Ok(vec![put_new(table, by_hash, false)?, put_new(table, by_id, false)?])
}

/// Both items of a key, each updated by `set` while the key is still active.
fn active_key_updates<T: serde::Serialize>(
    table: &str,
    record: &KeyRecord,
    patch: &T,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let one = |key: ItemKey| {
        let mut e = Expr::default();
        let set = e.set(patch)?;
        let condition = format!("{} = {}", e.name(attr::STATUS), e.value(value(KeyStatus::Active)?));
        update(table, &key, set, condition, e, false)
    };
    Ok(vec![one(ItemKey::api_key(&record.hash))?, one(ItemKey::key_id(&record.key_id))?])
}

fn cancelled(what: &str, result: Result<(), TransactError>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(TransactError::Store(e)) => Err(e),
        Err(TransactError::Cancelled(reasons)) => {
            Err(StoreError::Unavailable(format!("{what} cancelled: {reasons:?}")))
        }
    }
}

impl Store {
    /// The key with this hash. Strongly consistent: a key revoked a moment ago is seen
    /// as revoked on the next cache miss, whatever the replication lag.
    pub async fn get_key(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        Ok(self.read::<ApiKeyItem>(&ItemKey::api_key(hash)).await?.map(KeyRecord::from))
    }

    pub async fn put_key(&self, record: &KeyRecord) -> Result<(), StoreError> {
        cancelled("key creation", self.transact(key_puts(&self.table, record)?).await)
    }

    /// A new key, its audit entry and request item in one transaction.
    pub async fn put_key_audited(&self, record: &KeyRecord, admin: &AdminRecord) -> Result<(), AdminWriteError> {
        self.admin_transact(&record.tenant, key_puts(&self.table, record)?, admin).await
    }

    /// New scopes on an active key (both items), audited.
    pub async fn set_key_scopes(
        &self,
        record: &KeyRecord,
        scopes: &[Scope],
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let items = active_key_updates(&self.table, record, &KeyScopes { scopes })?;
        self.admin_transact(&record.tenant, items, admin).await
    }

    /// Revokes an active key (both items), audited.
    pub async fn revoke_key_audited(
        &self,
        record: &KeyRecord,
        now: DateTime<Utc>,
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let patch = KeyRevocation { status: KeyStatus::Revoked, revoked_at: now };
        let items = active_key_updates(&self.table, record, &patch)?;
        self.admin_transact(&record.tenant, items, admin).await
    }

    /// Revokes the active key `old` and writes `new` in one transaction, audited.
    pub async fn rotate_key(
        &self,
        old: &KeyRecord,
        new: &KeyRecord,
        now: DateTime<Utc>,
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let patch = KeyRevocation { status: KeyStatus::Revoked, revoked_at: now };
        let mut items = active_key_updates(&self.table, old, &patch)?;
        items.extend(key_puts(&self.table, new)?);
        self.admin_transact(&old.tenant, items, admin).await
    }

    /// A key by its id, read consistently; `None` if no key has that id.
    pub async fn get_key_info(&self, key_id: &str) -> Result<Option<KeyInfo>, StoreError> {
        Ok(self.read::<ApiKeyItem>(&ItemKey::key_id(key_id)).await?.map(KeyInfo::from))
    }

    /// A tenant's keys with their revocation time and last use, from GSI1 (no scan).
    pub async fn list_key_infos(&self, tenant: &TenantSlug) -> Result<Vec<KeyInfo>, StoreError> {
        Ok(self.key_items(tenant).await?.into_iter().map(KeyInfo::from).collect())
    }

    /// A tenant's key items, from GSI1 (no scan).
    async fn key_items(&self, tenant: &TenantSlug) -> Result<Vec<ApiKeyItem>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression(format!("{GSI1PK} = :pk"))
            .expression_attribute_values(":pk", value(tenant_keys_index(tenant))?)
            .into_paginator()
            .items()
            .send();
        while let Some(attrs) = pages.next().await {
            keys.push(decode::<ApiKeyItem>(&attrs.map_err(StoreError::from_sdk)?)?);
        }
        Ok(keys)
    }

    /// Notes the day a key was used, on its `KEYID` item (one small write, never a
    /// transaction); nothing if the key is gone.
    pub async fn touch_key(&self, key_id: &str, day: NaiveDate) -> Result<(), StoreError> {
        let mut e = Expr::default();
        let set = e.set(&KeyLastUsed { last_used_on: day })?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::key_id(key_id).attrs()))
            .update_expression(set)
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    pub async fn list_keys(&self, tenant: &TenantSlug) -> Result<Vec<KeyRecord>, StoreError> {
        Ok(self.key_items(tenant).await?.into_iter().map(KeyRecord::from).collect())
    }

    /// Marks a key revoked in both its items. `None` if no key has that id.
    pub async fn revoke_key(
        &self,
        key_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::key_id(key_id).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(attrs) = out.item() else {
            return Ok(None);
        };
        let mut record = KeyRecord::from(decode::<ApiKeyItem>(attrs)?);
        let revoke = |key: ItemKey| {
            let mut e = Expr::default();
            let set = e.set(&KeyRevocation { status: KeyStatus::Revoked, revoked_at: now })?;
            update(&self.table, &key, set, "attribute_exists(PK)".into(), e, false)
        };
        let items = vec![revoke(ItemKey::api_key(&record.hash))?, revoke(ItemKey::key_id(key_id))?];
        cancelled("key revocation", self.transact(items).await)?;
        record.status = KeyStatus::Revoked;
        Ok(Some(record))
    }
}
