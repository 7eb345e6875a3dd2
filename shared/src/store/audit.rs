//! The management side's writes: every change through the management API (or
//! `loyalty-admin`) is one `TransactWriteItems` holding the change itself, its audit
//! entry (`TENANT#{t}#AUDIT` / `AUDIT#{at_ms}#{id}`, a put that must be new: entries
//! are never updated) and, when the request carried an `Idempotency-Key`, the request
//! item (`TENANT#{t}#ADMINREQ#{route}#{key}`, also a put that must be new): a second
//! submission of the same key fails that condition and applies nothing.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};

use super::client::{Store, StoreError};
use super::idempotency::RECORD_LIFETIME_HOURS;
use super::item_key::{audit_partition, AuditCursor, ItemKey, AUDIT_PREFIX, PK, SK};
use super::items::{decode, encode, value, AdminRequestItem, AuditItem};
use super::transact::{condition_failed, put_new, TransactError};
use crate::actor::Role;
use crate::domain::{IdempotencyKey, TenantSlug};

/// One audit log entry: who did what, when, to what, with the thing before and after
/// (JSON) where they apply.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    pub at: DateTime<Utc>,
    pub who: String,
    pub role: Role,
    pub action: String,
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_key: Option<String>,
}

/// A page of the audit log, newest first, and the cursor of the next page.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// A management write's `Idempotency-Key`: its route, a hash of what was asked, and the
/// answer to give a second submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRequest {
    pub route: String,
    pub key: IdempotencyKey,
    pub request_hash: String,
    pub result: String,
}

/// A request already done under a key: what it asked and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneRequest {
    pub request_hash: String,
    pub result: String,
}

/// What a management change writes beside the change itself.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminRecord {
    pub audit: AuditEntry,
    pub request: Option<AdminRequest>,
}

/// Why a management change did not commit.
#[derive(Debug)]
pub enum AdminWriteError {
    /// The `Idempotency-Key` was used already: nothing was written.
    Done(DoneRequest),
    /// A condition of the change itself failed (the thing changed or vanished
    /// meanwhile, or exists already).
    Refused,
    /// A transaction conflict: retry.
    Conflict,
    Store(StoreError),
}

impl From<StoreError> for AdminWriteError {
    fn from(e: StoreError) -> Self {
        AdminWriteError::Store(e)
    }
}

/// A cursor is the hex of the last entry's sort key, checked to be an audit key.
pub fn encode_audit_cursor(at: &AuditCursor) -> String {
    hex::encode(at.sort_key())
}

pub fn decode_audit_cursor(cursor: &str) -> Option<AuditCursor> {
    if cursor.len() > 400 {
        return None;
    }
    AuditCursor::from_sort_key(&String::from_utf8(hex::decode(cursor).ok()?).ok()?)
}

fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

fn from_item(item: AuditItem) -> Result<AuditEntry, StoreError> {
    let parse = |t: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
        t.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("audit entry {}: {e}", item.id))))
            .transpose()
    };
    Ok(AuditEntry {
        id: item.id,
        at: item.at,
        who: item.who.clone(),
        role: item.role,
        action: item.action.clone(),
        target: item.target.clone(),
        before: parse(item.before.clone())?,
        after: parse(item.after.clone())?,
        request_key: item.request_key,
    })
}

/// The audit entry's put and the request item's put, in that order (the request item,
/// if any, last).
pub(crate) fn admin_items(
    table: &str,
    tenant: &TenantSlug,
    record: &AdminRecord,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let a = &record.audit;
    let cursor = AuditCursor { at_ms: a.at.timestamp_millis(), id: a.id };
    let item = AuditItem {
        id: a.id,
        at: a.at,
        who: a.who.clone(),
        role: a.role,
        action: a.action.clone(),
        target: a.target.clone(),
        before: json_text(&a.before),
        after: json_text(&a.after),
        request_key: record.request.as_ref().map(|r| r.key.as_str().to_owned()),
    };
    let mut items = vec![put_new(table, encode(&ItemKey::audit_entry(tenant, &cursor), &item)?, false)?];
    if let Some(r) = &record.request {
        let expires = a.at + chrono::Duration::hours(RECORD_LIFETIME_HOURS);
        let item = AdminRequestItem {
            request_hash: r.request_hash.clone(),
            result: r.result.clone(),
            created_at: a.at,
            expires_at_epoch: expires.timestamp(),
        };
        items.push(put_new(table, encode(&ItemKey::admin_request(tenant, &r.route, &r.key), &item)?, true)?);
    }
    Ok(items)
}

fn done_request(item: AdminRequestItem) -> DoneRequest {
    DoneRequest { request_hash: item.request_hash, result: item.result }
}

impl Store {
    /// Records a change whose own writes are already made (each conditional, so made
    /// once): its audit entry and, under an `Idempotency-Key`, its answer.
    pub async fn record_admin_change(&self, tenant: &TenantSlug, record: &AdminRecord) -> Result<(), AdminWriteError> {
        self.admin_transact(tenant, Vec::new(), record).await
    }

    /// Writes `change` with its audit entry and request item in one transaction.
    pub(crate) async fn admin_transact(
        &self,
        tenant: &TenantSlug,
        mut change: Vec<TransactWriteItem>,
        record: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let own = change.len();
        change.extend(admin_items(&self.table, tenant, record)?);
        let reasons = match self.transact(change).await {
            Ok(()) => return Ok(()),
            Err(TransactError::Store(e)) => return Err(e.into()),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        if record.request.is_some() {
            if let Some(reason) = reasons.last().filter(|r| condition_failed(r)) {
                return match reason.item() {
                    Some(old) => Err(AdminWriteError::Done(done_request(decode::<AdminRequestItem>(old)?))),
                    None => Err(AdminWriteError::Conflict),
                };
            }
        }
        if reasons.iter().take(own).any(condition_failed) {
            return Err(AdminWriteError::Refused);
        }
        if reasons.iter().any(|r| r.code() == Some("TransactionConflict") || condition_failed(r)) {
            return Err(AdminWriteError::Conflict);
        }
        Err(StoreError::Unavailable(format!("management change cancelled: {reasons:?}")).into())
    }

    /// The request done under this key on this route, if any (read consistently).
    pub async fn get_admin_request(
        &self,
        tenant: &TenantSlug,
        route: &str,
        key: &IdempotencyKey,
    ) -> Result<Option<DoneRequest>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::admin_request(tenant, route, key).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<AdminRequestItem>(attrs).map(done_request)).transpose()
    }

    /// The tenant's audit log, newest first, after `after` if given.
    pub async fn audit_page(
        &self,
        tenant: &TenantSlug,
        limit: i32,
        after: Option<AuditCursor>,
    ) -> Result<AuditPage, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :prefix)"))
            .expression_attribute_values(":pk", value(audit_partition(tenant))?)
            .expression_attribute_values(":prefix", value(AUDIT_PREFIX)?)
            .scan_index_forward(false)
            .limit(limit);
        if let Some(at) = after {
            query = query.set_exclusive_start_key(Some(ItemKey::audit_entry(tenant, &at).attrs()));
        }
        let out = query.send().await.map_err(StoreError::from_sdk)?;
        let entries = out
            .items()
            .iter()
            .map(|attrs| decode::<AuditItem>(attrs).and_then(from_item))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| k.get(SK))
            .and_then(|v| v.as_s().ok())
            .and_then(|sk| AuditCursor::from_sort_key(sk))
            .map(|c| encode_audit_cursor(&c));
        Ok(AuditPage { entries, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_cursors_round_trip_and_refuse_anything_else() {
        let at = AuditCursor { at_ms: 42, id: uuid::Uuid::new_v4() };
        assert_eq!(decode_audit_cursor(&encode_audit_cursor(&at)), Some(at));
        assert_eq!(decode_audit_cursor(&hex::encode("TXN#000000000001#00")), None);
        assert_eq!(decode_audit_cursor("zz"), None);
    }
}
