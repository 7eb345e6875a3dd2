//! Coupon and voucher items: `TENANT#{t}#CODE#{code}` / `CODE`, indexed on GSI1 under
//! the owning member while unused.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use super::audit::{AdminRecord, AdminWriteError};
use super::client::{condition_held, write_not_applied, write_sent, write_token, Store, StoreError};
use super::item_key::{Attrs, ItemKey, GSI1PK, GSI1SK};
use super::items::{attr, decode, encode, value, CodeItem, CodeUse, Expr};
use super::transact::{completion_item, condition_failed, settled, update, AttemptLog, Completion, TransactError};
use crate::domain::{Code, TenantSlug};
use crate::model::{CodeStatus, Coupon};

/// Why a code could not be consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumeError {
    NotFound,
    Used,
    Expired,
    /// The idempotency claim was taken over: nothing was written.
    ClaimLost,
    Store(StoreError),
}

/// Marks a code used at `now` by the write `token` and takes it out of GSI1 (the index
/// holds a member's unused codes only, so the customer lookup reads those and not a
/// growing history), if it exists and is unused and unexpired at `now`, or was already
/// used by this same write (the SDK's retry of a write whose answer was lost: it
/// rewrites the same values and answers as the first attempt would have). The update
/// expression, the condition and their names and values.
pub(crate) fn use_code(now: DateTime<Utc>, token: &str, key_id: &str) -> Result<(String, String, Expr), StoreError> {
    let mut e = Expr::default();
    let set = e.set(&CodeUse { status: CodeStatus::Used, used_at: now, used_by: token, used_key: key_id })?;
    let update = format!("{set} REMOVE {}, {}", e.name(GSI1PK), e.name(GSI1SK));
    let condition = format!(
        "attribute_exists(PK) AND (({} = {} AND {} > {}) OR {} = {})",
        e.name(attr::STATUS),
        e.value(value(CodeStatus::Active)?),
        e.name(attr::EXPIRES_AT_MS),
        e.value(value(now.timestamp_millis())?),
        e.name(attr::USED_BY),
        e.value(value(token)?)
    );
    Ok((update, condition, e))
}

/// Why a code that failed [`use_code`]'s condition was refused, from the item it had.
pub(crate) fn refused(old: Option<&Attrs>) -> ConsumeError {
    let Some(old) = old else { return ConsumeError::NotFound };
    match decode::<CodeItem>(old) {
        Ok(code) if code.status == CodeStatus::Used => ConsumeError::Used,
        Ok(_) => ConsumeError::Expired,
        Err(e) => ConsumeError::Store(e),
    }
}

impl Store {
    /// Writes a new code; `false` if the code already exists for this tenant. The
    /// coupon's id (new for every coupon) is the write's token: the SDK's retry after a
    /// lost answer finds its own coupon and succeeds, rather than report the code taken
    /// (and have the caller issue a second one).
    pub async fn put_code(&self, tenant: &TenantSlug, coupon: &Coupon) -> Result<bool, StoreError> {
        let item = encode(&ItemKey::code(tenant, &coupon.code), &CodeItem::new(tenant, coupon))?;
        let mut e = Expr::default();
        let condition = format!(
            "attribute_not_exists(PK) OR {} = {}",
            e.name(attr::COUPON_ID),
            e.value(value(coupon.coupon_id.to_string())?)
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        condition_held(result)
    }

    /// Writes a new code with its audit entry in one transaction;
    /// [`AdminWriteError::Refused`] if the code's text is taken.
    pub async fn put_code_audited(
        &self,
        tenant: &TenantSlug,
        coupon: &Coupon,
        admin: &AdminRecord,
    ) -> Result<(), AdminWriteError> {
        let item = encode(&ItemKey::code(tenant, &coupon.code), &CodeItem::new(tenant, coupon))?;
        let put = super::transact::put_new(&self.table, item, false)?;
        self.admin_transact(tenant, vec![put], admin).await
    }

    pub async fn get_code(&self, tenant: &TenantSlug, code: &Code) -> Result<Option<Coupon>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::code(tenant, code).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<CodeItem>(attrs).map(Coupon::from)).transpose()
    }

    /// Marks a code used and completes an idempotency claim in one transaction.
    /// `used` is the code as it will read once used (the transaction returns no item).
    pub async fn consume_code_completing(
        &self,
        tenant: &TenantSlug,
        used: &Coupon,
        completion: &Completion,
        key_id: &str,
    ) -> Result<(), ConsumeError> {
        let now = used.used_at.unwrap_or_else(Utc::now);
        let (set, condition, e) = use_code(now, &write_token(), key_id).map_err(ConsumeError::Store)?;
        let items = vec![
            update(&self.table, &ItemKey::code(tenant, &used.code), set, condition, e, true)
                .map_err(ConsumeError::Store)?,
            completion_item(&self.table, completion).map_err(ConsumeError::Store)?,
        ];
        let reasons = match self.transact(items).await {
            Ok(()) => return Ok(()),
            Err(TransactError::Store(e)) => return Err(ConsumeError::Store(e)),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed = |i: usize| reasons.get(i).is_some_and(condition_failed);
        if failed(0) {
            return Err(refused(reasons.first().and_then(|r| r.item())));
        }
        if failed(1) {
            return Err(ConsumeError::ClaimLost);
        }
        Err(ConsumeError::Store(StoreError::Unavailable(format!("transaction cancelled: {reasons:?}"))))
    }

    /// Marks an active, unexpired code used: one conditional write, so of two cashiers
    /// racing for one code exactly one succeeds. On failure the old item (returned by
    /// the failed condition) says why, with no second read. The write carries its own
    /// token, so the SDK's retry after a lost answer meets its own use as done.
    pub async fn consume_code(
        &self,
        tenant: &TenantSlug,
        code: &Code,
        now: DateTime<Utc>,
        key_id: &str,
    ) -> Result<Coupon, ConsumeError> {
        let (set, condition, e) = use_code(now, &write_token(), key_id).map_err(ConsumeError::Store)?;
        let attempts = AttemptLog::default();
        write_sent();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::code(tenant, code).attrs()))
            .update_expression(set)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await;
        let err = match result {
            Ok(out) => {
                return match out.attributes() {
                    Some(attrs) => decode::<CodeItem>(attrs).map(Coupon::from).map_err(ConsumeError::Store),
                    None => Err(ConsumeError::Store(StoreError::Corrupt("update returned no item".into()))),
                }
            }
            Err(err) => err,
        };
        // The code may have been used by this very call: the cashier must not be told it
        // was not (nor that it was).
        let write_refused = matches!(err.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_)));
        if !settled(&err, write_refused, &attempts) {
            return Err(ConsumeError::Store(StoreError::Unknown(DisplayErrorContext(&err).to_string())));
        }
        write_not_applied();
        match err.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(failed) => Err(refused(failed.item())),
            other => Err(ConsumeError::Store(StoreError::Unavailable(DisplayErrorContext(&other).to_string()))),
        }
    }
}

/// Who used a code, and when: what reinstating it checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeUseRecord {
    /// The token of the write that used it: reinstating is conditional on it, so a
    /// reinstatement undoes exactly that use.
    pub token: Option<String>,
    /// The API key that used it (none for codes used before keys were recorded).
    pub key_id: Option<String>,
}

/// The update that makes a used code active again (back in its owner's GSI1 index, its
/// use forgotten) and its condition: still used by the write `token`.
fn reinstate(tenant: &TenantSlug, coupon: &Coupon, token: &str) -> Result<(String, String, Expr), StoreError> {
    let mut e = Expr::default();
    let status = e.name(attr::STATUS);
    let mut set = format!("SET {status} = {}", e.value(value(CodeStatus::Active)?));
    if let Some(owner) = &coupon.customer_id {
        let pk = super::item_key::member_partition(tenant, owner);
        let sk = super::item_key::code_index_sk(coupon.expires_at.timestamp_millis(), &coupon.code);
        set = format!(
            "{set}, {} = {}, {} = {}",
            e.name(GSI1PK),
            e.value(value(pk)?),
            e.name(GSI1SK),
            e.value(value(sk)?)
        );
    }
    let set = format!("{set} REMOVE {}, {}, {}", e.name(attr::USED_AT), e.name(attr::USED_BY), e.name(attr::USED_KEY));
    let condition = format!(
        "attribute_exists(PK) AND {status} = {} AND {} = {}",
        e.value(value(CodeStatus::Used)?),
        e.name(attr::USED_BY),
        e.value(value(token)?)
    );
    Ok((set, condition, e))
}

/// Why a used code could not be reinstated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReinstateError {
    /// The code is no longer used by that write (reinstated concurrently, or gone).
    Changed,
    /// The idempotency claim was taken over: nothing was written.
    ClaimLost,
    Store(StoreError),
}

impl Store {
    /// A code with who used it, if it exists.
    pub async fn get_code_use(
        &self,
        tenant: &TenantSlug,
        code: &Code,
    ) -> Result<Option<(Coupon, CodeUseRecord)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::code(tenant, code).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(attrs) = out.item() else { return Ok(None) };
        let item = decode::<CodeItem>(attrs)?;
        let record = CodeUseRecord { token: item.used_by.clone(), key_id: item.used_key.clone() };
        Ok(Some((Coupon::from(item), record)))
    }

    /// Makes a used code active again, if it is still used by the write `token`: back
    /// in its owner's GSI1 index, its use forgotten.
    pub async fn reinstate_code(
        &self,
        tenant: &TenantSlug,
        coupon: &Coupon,
        token: &str,
    ) -> Result<(), ReinstateError> {
        let (set, condition, e) = reinstate(tenant, coupon, token).map_err(ReinstateError::Store)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::code(tenant, &coupon.code).attrs()))
            .update_expression(set)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        match condition_held(result) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ReinstateError::Changed),
            Err(e) => Err(ReinstateError::Store(e)),
        }
    }

    /// [`Store::reinstate_code`] and the completion of an idempotency claim in one
    /// transaction: a retry under the same key finds the first answer, never "not used".
    pub async fn reinstate_code_completing(
        &self,
        tenant: &TenantSlug,
        coupon: &Coupon,
        token: &str,
        completion: &Completion,
    ) -> Result<(), ReinstateError> {
        let (set, condition, e) = reinstate(tenant, coupon, token).map_err(ReinstateError::Store)?;
        let items = vec![
            update(&self.table, &ItemKey::code(tenant, &coupon.code), set, condition, e, false)
                .map_err(ReinstateError::Store)?,
            completion_item(&self.table, completion).map_err(ReinstateError::Store)?,
        ];
        let reasons = match self.transact(items).await {
            Ok(()) => return Ok(()),
            Err(TransactError::Store(e)) => return Err(ReinstateError::Store(e)),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed = |i: usize| reasons.get(i).is_some_and(condition_failed);
        if failed(0) {
            return Err(ReinstateError::Changed);
        }
        if failed(1) {
            return Err(ReinstateError::ClaimLost);
        }
        Err(ReinstateError::Store(StoreError::Unavailable(format!("transaction cancelled: {reasons:?}"))))
    }
}
