//! Idempotency records: `TENANT#{t}#IDEMP#{mode}#{route}#{key}` / `IDEMP`.
//!
//! A request with an `Idempotency-Key` first claims the record (`in_flight`, with a
//! lease and a random token). Its effect's transaction then completes the record
//! (`done`, with the response) under the condition that the token is still its own, so
//! the effect and the record commit together or not at all. Records expire after 24
//! hours (TTL, and checked on read since TTL deletion lags).

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::item::{key, n, s, ts, Item};
use super::{condition_held, Store, StoreError, TTL_ATTRIBUTE};

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

/// Completes a claimed record inside an effect's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub pk: String,
    pub token: String,
    pub status: u16,
    pub body: String,
}

impl Store {
    pub async fn claim_idempotency(
        &self,
        pk: &str,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimResult, StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        let expires = now + chrono::Duration::hours(RECORD_LIFETIME_HOURS);
        let mut item = key(pk.to_owned(), "IDEMP");
        item.insert("state".into(), s("in_flight"));
        item.insert("token".into(), s(&token));
        item.insert("request_hash".into(), s(request_hash));
        item.insert("lease_until_ms".into(), n((now + chrono::Duration::seconds(LEASE_SECONDS)).timestamp_millis()));
        item.insert("created_at".into(), ts(now));
        item.insert("expires_at_ms".into(), n(expires.timestamp_millis()));
        item.insert(TTL_ATTRIBUTE.into(), n(expires.timestamp()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR expires_at_ms < :now OR (#state = :in_flight AND lease_until_ms < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":in_flight", s("in_flight"))
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
            return Err(StoreError::Corrupt("idempotency condition failed without an item".into()));
        };
        let old = Item(old);
        let request_hash = old.str("request_hash")?.to_owned();
        if old.str("state")? == "done" {
            Ok(ClaimResult::Done {
                request_hash,
                status: old.int("status_code")?,
                body: old.str("response")?.to_owned(),
            })
        } else {
            Ok(ClaimResult::InFlight { request_hash })
        }
    }

    /// Gives a claim up after the effect did not happen, so a retry can run. A record
    /// already completed (its transaction committed after all) is left alone.
    pub async fn release_idempotency(&self, pk: &str, token: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.to_owned(), "IDEMP")))
            .condition_expression("#state = :in_flight AND #token = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":in_flight", s("in_flight"))
            .expression_attribute_values(":token", s(token))
            .send()
            .await;
        // A claim no longer in flight (completed after all) is left alone.
        condition_held(result).map(|_| ())
    }
}

impl Store {
    /// Completes a claim on its own, for an answer that changed nothing (a replayed
    /// sale).
    pub async fn complete_idempotency(&self, completion: &Completion) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .transact_items(completion_item(&self.table, completion)?)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

/// The transaction item that completes a claim.
pub(crate) fn completion_item(table: &str, c: &Completion) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(c.pk.clone(), "IDEMP")))
        .update_expression("SET #state = :done, status_code = :status, #response = :body")
        .condition_expression("#state = :in_flight AND #token = :token")
        .expression_attribute_names("#state", "state")
        .expression_attribute_names("#token", "token")
        // RESPONSE is a DynamoDB reserved word: named, or every completion is refused.
        .expression_attribute_names("#response", "response")
        .expression_attribute_values(":done", s("done"))
        .expression_attribute_values(":in_flight", s("in_flight"))
        .expression_attribute_values(":token", s(&c.token))
        .expression_attribute_values(":status", n(c.status))
        .expression_attribute_values(":body", s(&c.body))
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}
