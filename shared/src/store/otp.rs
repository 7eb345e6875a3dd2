//! One-time codes for a member at the till: `TENANT#{t}#OTP#{mobile}` / `OTP`. Only a
//! hash of the code is stored, with its expiry, the attempts left, whether it was used,
//! and the sending window that limits how many codes one mobile gets. Each write records
//! its token (`send_token`, `attempt_tokens`), so the SDK's retry of a write whose
//! answer was lost meets its own write as done: a code sent once, an attempt taken once.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::client::{condition_held, write_token, Store, StoreError};
use super::item_key::{ItemKey, SmsWindow};
use super::items::{attr, decode, encode, value, Expr, OtpItem};
use super::transact::{condition_failed, update, TransactError};
use crate::domain::{Mobile, TenantSlug};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRecord {
    pub code_hash: String,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    pub attempts_left: u32,
    pub used: bool,
    /// Start of the current sending window, and how many codes were sent in it.
    pub window_start_ms: i64,
    pub window_count: u32,
}

impl From<OtpItem> for OtpRecord {
    fn from(o: OtpItem) -> Self {
        OtpRecord {
            code_hash: o.code_hash,
            issued_at_ms: o.issued_at_ms,
            expires_at_ms: o.expires_at_ms,
            attempts_left: o.attempts_left,
            used: o.used,
            window_start_ms: o.window_start_ms,
            window_count: o.window_count,
        }
    }
}

/// One of the tenant's SMS limits a code is counted against: the window, its limit, and
/// when its counter may go (`expires_at_epoch`).
#[derive(Debug, Clone)]
pub struct SmsQuota {
    pub window: SmsWindow,
    pub limit: u32,
    pub expires_at_epoch: i64,
}

/// How issuing a code went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpIssue {
    Issued,
    /// The SMS limit at this index of the quotas was reached; nothing was written.
    QuotaReached(usize),
    /// Another code was issued for the mobile since the one read; nothing was written.
    Raced,
    /// A concurrent write to one of the items (another code of the tenant counted at
    /// the same moment) cancelled it; nothing was written, and it may be sent again.
    Conflict,
}

impl Store {
    /// Issues a code and counts its SMS against each of `quotas`, in one transaction: the
    /// counts and the code are written together or not at all, in one round trip. The
    /// code replaces the one read (`previous_issued_at_ms`), or meets its own write (the
    /// SDK's retry after a lost answer, also answered as done by the call's token).
    pub async fn issue_otp(
        &self,
        tenant: &TenantSlug,
        mobile: &Mobile,
        r: &OtpRecord,
        previous_issued_at_ms: Option<i64>,
        quotas: &[SmsQuota],
    ) -> Result<OtpIssue, StoreError> {
        let mut items = Vec::with_capacity(quotas.len() + 1);
        for quota in quotas {
            let mut e = Expr::default();
            let sent = e.name(attr::SENT);
            let set = format!(
                "ADD {sent} {} SET {} = {}",
                e.value(value(1)?),
                e.name(attr::EXPIRES_AT_EPOCH),
                e.value(value(quota.expires_at_epoch)?)
            );
            let condition = format!("attribute_not_exists({sent}) OR {sent} < {}", e.value(value(quota.limit)?));
            items.push(update(&self.table, &ItemKey::sms_count(tenant, &quota.window), set, condition, e, false)?);
        }
        let token = write_token();
        let item = otp_item(r, &token);
        let mut e = Expr::default();
        let condition = replaces(&mut e, previous_issued_at_ms, &token)?;
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(encode(&ItemKey::otp(tenant, mobile), &item)?))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        items.push(aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build());
        match self.transact(items).await {
            Ok(()) => Ok(OtpIssue::Issued),
            Err(TransactError::Store(err)) => Err(err),
            Err(TransactError::Cancelled(reasons)) => match reasons.iter().position(condition_failed) {
                Some(i) if i < quotas.len() => Ok(OtpIssue::QuotaReached(i)),
                Some(_) => Ok(OtpIssue::Raced),
                None => Ok(OtpIssue::Conflict),
            },
        }
    }

    /// The code last issued for `mobile`, if any.
    pub async fn get_otp(&self, tenant: &TenantSlug, mobile: &Mobile) -> Result<Option<OtpRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::otp(tenant, mobile).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(|attrs| decode::<OtpItem>(attrs).map(OtpRecord::from)).transpose()
    }

    /// Writes a new code over the previous one, if the previous one is still the one
    /// read (`previous_issued_at_ms`) or is this write's own (its retry after a lost
    /// answer); `false` if another code was issued meanwhile.
    pub async fn put_otp(
        &self,
        tenant: &TenantSlug,
        mobile: &Mobile,
        r: &OtpRecord,
        previous_issued_at_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let token = write_token();
        let item = otp_item(r, &token);
        let mut e = Expr::default();
        let condition = replaces(&mut e, previous_issued_at_ms, &token)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(&ItemKey::otp(tenant, mobile), &item)?))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values));
        condition_held(put.send().await)
    }

    /// Takes one attempt at the code issued at `issued_at_ms`, before the guess is
    /// compared: `false` if none is left. Taking it first is what holds the limit
    /// against guesses sent in parallel. The attempt adds its token to the code's
    /// attempt tokens and is taken only if its token is not there yet: a retry after a
    /// lost answer finds it (on the old item the failed condition returns) and counts
    /// as the one attempt it is, even if other guesses came in between.
    pub async fn take_otp_attempt(
        &self,
        tenant: &TenantSlug,
        mobile: &Mobile,
        issued_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let token = write_token();
        let mut e = Expr::default();
        let attempts = e.name(attr::ATTEMPTS_LEFT);
        let tokens = e.name(attr::ATTEMPT_TOKENS);
        let update = format!(
            "SET {attempts} = {attempts} - {}, {tokens} = list_append(if_not_exists({tokens}, {}), {})",
            e.value(value(1)?),
            e.value(value(Vec::<String>::new())?),
            e.value(value([&token])?)
        );
        let condition = format!(
            "{attempts} > {} AND {} = {} AND NOT contains({tokens}, {})",
            e.value(value(0)?),
            e.name(attr::ISSUED_AT_MS),
            e.value(value(issued_at_ms)?),
            e.value(value(&token)?)
        );
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::otp(tenant, mobile).attrs()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(true),
            Err(err) => err.into_service_error(),
        };
        match &err {
            UpdateItemError::ConditionalCheckFailedException(failed) => match failed.item() {
                Some(old) => {
                    let old = decode::<OtpItem>(old)?;
                    Ok(old.issued_at_ms == issued_at_ms && old.attempt_tokens.contains(&token))
                }
                None => Ok(false),
            },
            _ => Err(StoreError::Unavailable(DisplayErrorContext(&err).to_string())),
        }
    }
}

/// The stored code of `r`, written by the write that holds `token`.
fn otp_item(r: &OtpRecord, token: &str) -> OtpItem {
    OtpItem {
        code_hash: r.code_hash.clone(),
        issued_at_ms: r.issued_at_ms,
        expires_at_ms: r.expires_at_ms,
        attempts_left: r.attempts_left,
        used: r.used,
        window_start_ms: r.window_start_ms,
        window_count: r.window_count,
        // Kept a day after its window for the rate limit, then removed by TTL.
        expires_at_epoch: r.window_start_ms / 1000 + 86_400,
        send_token: Some(token.to_owned()),
        attempt_tokens: Vec::new(),
    }
}

/// A new code's condition: the previous code is still the one read
/// (`previous_issued_at_ms`; none: no code yet), or the item is this write's own (its
/// retry after a lost answer).
fn replaces(e: &mut Expr, previous_issued_at_ms: Option<i64>, token: &str) -> Result<String, StoreError> {
    let previous = match previous_issued_at_ms {
        None => "attribute_not_exists(PK)".to_owned(),
        Some(prev) => format!("{} = {}", e.name(attr::ISSUED_AT_MS), e.value(value(prev)?)),
    };
    let own = format!("{} = {}", e.name(attr::SEND_TOKEN), e.value(value(token)?));
    Ok(format!("{previous} OR {own}"))
}
