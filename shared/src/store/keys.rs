//! API key items. `APIKEY#{sha256}` / `APIKEY` is what authentication reads;
//! `KEYID#{id}` / `KEYID` names the same key for listing (GSI1 by tenant) and revoking.
//! The plain key is never stored.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::item::{key, s, ts, Attrs, Item};
use super::{pk, Store, StoreError, GSI1};
use crate::domain::TenantSlug;
use crate::keys::{KeyHash, KeyMode, KeyRecord, KeyStatus, Scope};

fn key_attrs(record: &KeyRecord) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("key_id".into(), s(&record.key_id));
    attrs.insert("key_hash".into(), s(&record.hash.0));
    attrs.insert("tenant".into(), s(record.tenant.as_str()));
    attrs.insert("mode".into(), s(record.mode.as_str()));
    attrs.insert("scopes".into(), AttributeValue::L(record.scopes.iter().map(|sc| s(sc.as_str())).collect()));
    attrs.insert("status".into(), s(status_str(record.status)));
    attrs.insert("label".into(), s(&record.label));
    attrs.insert("created_at".into(), ts(record.created_at));
    attrs
}

fn status_str(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "active",
        KeyStatus::Revoked => "revoked",
    }
}

fn decode_key(attrs: &Attrs) -> Result<KeyRecord, StoreError> {
    let item = Item(attrs);
    let scopes = match attrs.get("scopes") {
        Some(AttributeValue::L(list)) => {
            list.iter().filter_map(|v| v.as_s().ok()).filter_map(|v| Scope::parse(v)).collect()
        }
        _ => Vec::new(),
    };
    Ok(KeyRecord {
        key_id: item.str("key_id")?.to_owned(),
        hash: KeyHash(item.str("key_hash")?.to_owned()),
        tenant: item.parsed("tenant", TenantSlug::parse)?,
        mode: item.parsed("mode", |m| KeyMode::parse(m).ok_or(()))?,
        scopes,
        status: match item.str("status")? {
            "active" => KeyStatus::Active,
            _ => KeyStatus::Revoked,
        },
        label: item.opt_str("label")?.unwrap_or_default().to_owned(),
        created_at: item.time("created_at")?,
    })
}

impl Store {
    pub async fn get_key(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk::api_key(&hash.0), "APIKEY")))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(decode_key).transpose()
    }

    pub async fn put_key(&self, record: &KeyRecord) -> Result<(), StoreError> {
        let mut by_hash = key(pk::api_key(&record.hash.0), "APIKEY");
        by_hash.extend(key_attrs(record));
        let mut by_id = key(pk::key_id(&record.key_id), "KEYID");
        by_id.extend(key_attrs(record));
        by_id.insert("GSI1PK".into(), s(format!("{}#KEYS", pk::tenant(&record.tenant))));
        by_id.insert("GSI1SK".into(), s(format!("KEY#{}", record.key_id)));
        let put = |attrs: Attrs| -> Result<TransactWriteItem, StoreError> {
            Ok(TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(attrs))
                        .condition_expression("attribute_not_exists(PK)")
                        .build()
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                )
                .build())
        };
        self.client
            .transact_write_items()
            .transact_items(put(by_hash)?)
            .transact_items(put(by_id)?)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    pub async fn list_keys(&self, tenant: &TenantSlug) -> Result<Vec<KeyRecord>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(format!("{}#KEYS", pk::tenant(tenant))))
            .into_paginator()
            .items()
            .send();
        while let Some(attrs) = pages.next().await {
            keys.push(decode_key(&attrs.map_err(StoreError::from_sdk)?)?);
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
            .set_key(Some(key(pk::key_id(key_id), "KEYID")))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(attrs) = out.item() else {
            return Ok(None);
        };
        let mut record = decode_key(attrs)?;
        let revoke = |k: Attrs| -> Result<TransactWriteItem, StoreError> {
            Ok(TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(k))
                        .update_expression("SET #status = :revoked, revoked_at = :now")
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_values(":revoked", s("revoked"))
                        .expression_attribute_values(":now", ts(now))
                        .build()
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                )
                .build())
        };
        self.client
            .transact_write_items()
            .transact_items(revoke(key(pk::api_key(&record.hash.0), "APIKEY"))?)
            .transact_items(revoke(key(pk::key_id(key_id), "KEYID"))?)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        record.status = KeyStatus::Revoked;
        Ok(Some(record))
    }
}
