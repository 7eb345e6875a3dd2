//! A member's own details changed from the console: the name, email and mobile on the
//! profile and the lookup items that find the member by them, in one transaction with
//! the change's audit entry.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::{admin_items, AdminRecord, DoneRequest};
use super::client::{Store, StoreError};
use super::item_key::ItemKey;
use super::items::{attr, decode, encode, value, AdminRequestItem, Expr, LookupItem};
use super::transact::{condition_failed, put_new, update, TransactError};
use crate::domain::TenantSlug;
use crate::model::Customer;

/// Why a member's details could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailsError {
    /// The new mobile finds another member.
    MobileTaken,
    /// The new email finds another member.
    EmailTaken,
    /// The member changed (or vanished) since it was read: read again.
    Stale,
    /// The `Idempotency-Key` was used already: nothing was written.
    Done(DoneRequest),
    /// A transaction conflict: retry.
    Conflict,
    Store(StoreError),
}

impl From<StoreError> for DetailsError {
    fn from(e: StoreError) -> Self {
        DetailsError::Store(e)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Profile,
    Mobile,
    Email,
    Other,
    Request,
}

#[derive(Serialize)]
struct Details<'a> {
    name: &'a str,
    version: u64,
    /// RFC 3339 with milliseconds, as every stored instant.
    updated_at: String,
}

impl Store {
    /// Writes `after`'s name, mobile and email over `before` (still at its version), with
    /// the audit entry: a lookup that changed is deleted and the new one put only where
    /// none exists, so no two members are ever found by one mobile or email.
    pub async fn write_member_details(
        &self,
        tenant: &TenantSlug,
        before: &Customer,
        after: &Customer,
        record: &AdminRecord,
        now: DateTime<Utc>,
    ) -> Result<(), DetailsError> {
        let table = self.table.as_str();
        let mut items = Vec::new();
        let mut roles = Vec::new();

        let mut e = Expr::default();
        let mut set = e.set(&Details {
            name: &after.name,
            version: after.version,
            updated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })?;
        let mut remove = Vec::new();
        match &after.mobile {
            Some(m) => set = format!("{set}, {} = {}", e.name("mobile"), e.value(value(m.as_str())?)),
            None => remove.push(e.name("mobile")),
        }
        match &after.email {
            Some(m) => set = format!("{set}, {} = {}", e.name("email"), e.value(value(m.as_str())?)),
            None => remove.push(e.name("email")),
        }
        if !remove.is_empty() {
            set = format!("{set} REMOVE {}", remove.join(", "));
        }
        let condition =
            format!("attribute_exists(PK) AND {} = {}", e.name(attr::VERSION), e.value(value(before.version)?));
        items.push(update(table, &ItemKey::profile(tenant, &after.id), set, condition, e, false)?);
        roles.push(Role::Profile);

        let lookup = LookupItem { customer_id: after.id };
        let mut moved = |old: Option<ItemKey>, new: Option<ItemKey>, role: Role| -> Result<(), StoreError> {
            if old.as_ref().map(ItemKey::attrs) == new.as_ref().map(ItemKey::attrs) {
                return Ok(());
            }
            if let Some(old) = old {
                items.push(delete(table, &old)?);
                roles.push(Role::Other);
            }
            if let Some(new) = new {
                items.push(put_new(table, encode(&new, &lookup)?, false)?);
                roles.push(role);
            }
            Ok(())
        };
        moved(
            before.mobile.as_ref().map(|m| ItemKey::mobile_lookup(tenant, m)),
            after.mobile.as_ref().map(|m| ItemKey::mobile_lookup(tenant, m)),
            Role::Mobile,
        )?;
        moved(
            before.email.as_ref().map(|m| ItemKey::email_lookup(tenant, m)),
            after.email.as_ref().map(|m| ItemKey::email_lookup(tenant, m)),
            Role::Email,
        )?;
        for (i, item) in admin_items(table, tenant, record)?.into_iter().enumerate() {
            items.push(item);
            roles.push(if i == 0 { Role::Other } else { Role::Request });
        }

        let reasons = match self.transact(items).await {
            Ok(()) => return Ok(()),
            Err(TransactError::Store(e)) => return Err(e.into()),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed =
            |wanted: Role| reasons.iter().zip(&roles).find(|(r, role)| **role == wanted && condition_failed(r));
        if let Some((reason, _)) = failed(Role::Request) {
            return match reason.item() {
                Some(old) => {
                    let old = decode::<AdminRequestItem>(old)?;
                    Err(DetailsError::Done(DoneRequest { request_hash: old.request_hash, result: old.result }))
                }
                None => Err(DetailsError::Conflict),
            };
        }
        if failed(Role::Profile).is_some() {
            return Err(DetailsError::Stale);
        }
        if failed(Role::Mobile).is_some() {
            return Err(DetailsError::MobileTaken);
        }
        if failed(Role::Email).is_some() {
            return Err(DetailsError::EmailTaken);
        }
        if reasons.iter().any(|r| r.code() == Some("TransactionConflict") || condition_failed(r)) {
            return Err(DetailsError::Conflict);
        }
        Err(StoreError::Unavailable(format!("member details cancelled: {reasons:?}")).into())
    }
}

fn delete(table: &str, key: &ItemKey) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key.attrs()))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// What erasing a member's personal text from the rest of their items changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scrubbed {
    /// Ledger entries whose description (an adjustment's reason, a bill's text) went.
    pub entries: usize,
    /// Sales whose kept answer (the member as the till saw them) lost name, mobile and
    /// email.
    pub sales: usize,
    /// Earlier audit entries about the member whose before and after lost the name,
    /// mobile, email and reason (who did what, and when, stays).
    pub audit_entries: usize,
}

/// The fields of an audit entry's before and after that are a member's personal text.
const PERSONAL: [&str; 4] = ["name", "mobile", "email", "reason"];

/// An audit entry's JSON text without the personal fields; `None` if it had none.
fn impersonal(text: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object_mut()?;
    let had = PERSONAL.iter().filter(|k| object.remove(**k).is_some()).count();
    (had > 0).then(|| value.to_string())
}

impl Store {
    /// Removes the personal text from a member's ledger (each entry keeps its type,
    /// points, amount, balance, reference and dates; its description goes) and from the
    /// answers kept with the member's sales (their sale items, in the same history).
    /// Each write is idempotent: running it again after a failure finishes the work.
    pub async fn scrub_member_items(
        &self,
        tenant: &TenantSlug,
        id: &crate::domain::CustomerId,
    ) -> Result<Scrubbed, StoreError> {
        use super::client::GSI1;
        use super::item_key::{member_partition, GSI1PK, GSI1SK, LEDGER_PREFIX, PK, SK};
        use super::items::StoredSaleOutcome;

        let mut scrubbed = Scrubbed::default();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression(format!("{GSI1PK} = :pk AND begins_with({GSI1SK}, :prefix)"))
            .expression_attribute_values(":pk", value(member_partition(tenant, id))?)
            .expression_attribute_values(":prefix", value(LEDGER_PREFIX)?)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(StoreError::from_sdk)?;
            let key: super::item_key::Attrs =
                [PK, SK].iter().filter_map(|k| Some(((*k).to_owned(), item.get(*k)?.clone()))).collect();
            // A sale's answer is kept in its sale item: the member as the answer saw them.
            let outcome = item
                .get("outcome")
                .and_then(|v| v.as_s().ok())
                .and_then(|text| serde_json::from_str::<StoredSaleOutcome>(text).ok())
                .filter(|o| !o.customer.name.is_empty() || o.customer.mobile.is_some() || o.customer.email.is_some());
            let described = item.contains_key("description");
            if !described && outcome.is_none() {
                continue;
            }
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(PK)");
            let mut parts = Vec::new();
            if let Some(mut outcome) = outcome.clone() {
                outcome.customer.name = String::new();
                outcome.customer.mobile = None;
                outcome.customer.email = None;
                let text = serde_json::to_string(&outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                parts.push("SET #o = :outcome".to_owned());
                update = update
                    .expression_attribute_names("#o", "outcome")
                    .expression_attribute_values(":outcome", value(text)?);
            }
            if described {
                parts.push("REMOVE #d".to_owned());
                update = update.expression_attribute_names("#d", "description");
            }
            update.update_expression(parts.join(" ")).send().await.map_err(StoreError::from_sdk)?;
            scrubbed.entries += usize::from(described);
            scrubbed.sales += usize::from(outcome.is_some());
        }
        scrubbed.audit_entries = self.scrub_member_audit(tenant, id).await?;
        Ok(scrubbed)
    }
}

impl Store {
    /// The tenant's audit entries about the member (the member, or one of their codes),
    /// their personal fields removed. Read with a filter over the tenant's log: an
    /// erasure is rare.
    async fn scrub_member_audit(
        &self,
        tenant: &TenantSlug,
        id: &crate::domain::CustomerId,
    ) -> Result<usize, StoreError> {
        use super::item_key::{audit_partition, PK, SK};

        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk"))
            .filter_expression("#t = :id OR begins_with(#t, :code)")
            .expression_attribute_names("#t", "target")
            .expression_attribute_values(":pk", value(audit_partition(tenant))?)
            .expression_attribute_values(":id", value(id.to_string())?)
            .expression_attribute_values(":code", value(format!("{id}:"))?)
            .into_paginator()
            .items()
            .send();
        let mut scrubbed = 0;
        while let Some(item) = pages.next().await {
            let item = item.map_err(StoreError::from_sdk)?;
            let key: super::item_key::Attrs =
                [PK, SK].iter().filter_map(|k| Some(((*k).to_owned(), item.get(*k)?.clone()))).collect();
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(PK)");
            let mut sets = Vec::new();
            for (i, field) in ["before", "after"].into_iter().enumerate() {
                if let Some(text) = item.get(field).and_then(|v| v.as_s().ok()).and_then(|t| impersonal(t)) {
                    sets.push(format!("#f{i} = :f{i}"));
                    update = update
                        .expression_attribute_names(format!("#f{i}"), field)
                        .expression_attribute_values(format!(":f{i}"), value(text)?);
                }
            }
            if sets.is_empty() {
                continue;
            }
            update.update_expression(format!("SET {}", sets.join(", "))).send().await.map_err(StoreError::from_sdk)?;
            scrubbed += 1;
        }
        Ok(scrubbed)
    }
}
