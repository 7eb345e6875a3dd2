//! API key items. `APIKEY#{sha256}` / `APIKEY` is what authentication reads;
//! `KEYID#{id}` / `KEYID` names the same key for listing (GSI1 by tenant) and revoking.
//! The plain key is never stored.

use super::client::{Store, StoreError, GSI1};
use super::item_key::{tenant_keys_index, ItemKey, GSI1PK};
use super::items::{decode, encode, value, ApiKeyItem, Expr, KeyRevocation};
use super::transact::{put_new, update, TransactError};
use crate::domain::TenantSlug;
use crate::keys::{KeyHash, KeyRecord, KeyStatus};

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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::api_key(hash).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<ApiKeyItem>(attrs).map(KeyRecord::from)).transpose()
    }

    pub async fn put_key(&self, record: &KeyRecord) -> Result<(), StoreError> {
        let by_hash = encode(&ItemKey::api_key(&record.hash), &ApiKeyItem::new(record, false))?;
        let by_id = encode(&ItemKey::key_id(&record.key_id), &ApiKeyItem::new(record, true))?;
        let items = vec![put_new(&self.table, by_hash, false)?, put_new(&self.table, by_id, false)?];
        cancelled("key creation", self.transact(items).await)
    }

    pub async fn list_keys(&self, tenant: &TenantSlug) -> Result<Vec<KeyRecord>, StoreError> {
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
            keys.push(decode::<ApiKeyItem>(&attrs.map_err(StoreError::from_sdk)?)?.into());
        }
        Ok(keys)
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
