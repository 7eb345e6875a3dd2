//! Idempotency records: `TENANT#{t}#IDEMP#{mode}#{route}#{key}` / `IDEMP`.
//!
//! A request with an `Idempotency-Key` first claims the record (`in_flight`, with a
//! lease and a random token). Its effect's transaction then completes the record
//! (`done`, with the response) under the condition that the token is still its own, so
//! the effect and the record commit together or not at all. Records expire after 24
//! hours (TTL, and checked on read since TTL deletion lags). A claim that meets its own
//! token (the SDK's retry after the answer to the first attempt was lost) is this
//! request's, not another's still in flight.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};

use super::client::{condition_held, write_token, Store, StoreError};
use super::item_key::{IdempotencyScope, ItemKey};
use super::items::{attr, decode, encode, value, ClaimState, Expr, IdempotencyItem};
use super::transact::{completion_item, still_claimed, Completion, TransactError};

/// How long a record answers replays.
pub const RECORD_LIFETIME_HOURS: i64 = 24;
/// How long an in-flight claim blocks others: longer than any function can run.
pub const LEASE_SECONDS: i64 = 30;

/// The outcome of trying to claim a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimResult {
    /// This request owns the key; complete or release it with the token.
    Claimed { token: String },
    /// A request with this key completed: its hash and response.
    Done { request_hash: String, status: u16, body: String },
    /// A request with this key is still running.
    InFlight { request_hash: String },
}

impl Store {
    pub async fn claim_idempotency(
        &self,
        scope: &IdempotencyScope,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimResult, StoreError> {
        let token = write_token();
        let expires = now + chrono::Duration::hours(RECORD_LIFETIME_HOURS);
        let record = IdempotencyItem {
            state: ClaimState::InFlight,
            token: token.clone(),
            request_hash: request_hash.to_owned(),
            lease_until_ms: (now + chrono::Duration::seconds(LEASE_SECONDS)).timestamp_millis(),
            created_at: now,
            expires_at_ms: expires.timestamp_millis(),
            expires_at_epoch: expires.timestamp(),
            status_code: None,
            response: None,
        };
        let key = ItemKey::idempotency(scope);
        let mut e = Expr::default();
        let now_ms = e.value(value(now.timestamp_millis())?);
        let condition = format!(
            "attribute_not_exists(PK) OR {} < {now_ms} OR ({} = {} AND {} < {now_ms}) OR {} = {}",
            e.name(attr::EXPIRES_AT_MS),
            e.name(attr::STATE),
            e.value(value(ClaimState::InFlight)?),
            e.name(attr::LEASE_UNTIL_MS),
            e.name(attr::TOKEN),
            e.value(value(&token)?),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode(&key, &record)?))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(ClaimResult::Claimed { token }),
            Err(err) => err.into_service_error(),
        };
        let aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed) = &err else {
            return Err(StoreError::Unavailable(DisplayErrorContext(&err).to_string()));
        };
        let Some(old) = failed.item() else {
            return Err(StoreError::Corrupt(format!("idempotency record {key}: condition failed without an item")));
        };
        let old = decode::<IdempotencyItem>(old)?;
        match (old.state, old.status_code, old.response) {
            (ClaimState::Done, Some(status), Some(body)) => {
                Ok(ClaimResult::Done { request_hash: old.request_hash, status, body })
            }
            (ClaimState::Done, _, _) => {
                Err(StoreError::Corrupt(format!("idempotency record {key}: done without status_code and response")))
            }
            (ClaimState::InFlight, _, _) => Ok(ClaimResult::InFlight { request_hash: old.request_hash }),
        }
    }

    /// Gives a claim up after the effect did not happen, so a retry can run. A record
    /// already completed (its transaction committed after all) is left alone.
    pub async fn release_idempotency(&self, scope: &IdempotencyScope, token: &str) -> Result<(), StoreError> {
        let mut e = Expr::default();
        let condition = still_claimed(&mut e, token)?;
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::idempotency(scope).attrs()))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        // A claim no longer in flight (completed after all) is left alone.
        condition_held(result).map(|_| ())
    }

    /// Completes a claim on its own, for an answer that changed nothing (a replayed
    /// sale). An error if the claim is no longer this request's.
    pub async fn complete_idempotency(&self, completion: &Completion) -> Result<(), StoreError> {
        match self.transact(vec![completion_item(&self.table, completion)?]).await {
            Ok(()) => Ok(()),
            Err(TransactError::Store(e)) => Err(e),
            Err(TransactError::Cancelled(reasons)) => {
                Err(StoreError::Unavailable(format!("idempotency completion cancelled: {reasons:?}")))
            }
        }
    }
}
