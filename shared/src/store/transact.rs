//! Transaction plumbing: the items a transaction is made of (a put that must be new, an
//! update with its expression, the completion of an idempotency claim), sending one
//! `TransactWriteItems` with its `ClientRequestToken`, and reading why it was cancelled.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::client::{Store, StoreError};
use super::item_key::{Attrs, IdempotencyScope, ItemKey};
use super::items::{attr, value, ClaimState, Expr, IdempotencyDone};

/// Completes a claimed idempotency record inside an effect's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub scope: IdempotencyScope,
    pub token: String,
    pub status: u16,
    pub body: String,
}

/// Why a transaction did not commit.
pub(crate) enum TransactError {
    /// Cancelled, with one reason per item, in order.
    Cancelled(Vec<CancellationReason>),
    Store(StoreError),
}

/// Whether a cancellation reason is a failed condition.
pub(crate) fn condition_failed(reason: &CancellationReason) -> bool {
    reason.code() == Some("ConditionalCheckFailed")
}

/// A put of an item that must not exist yet; with `return_old`, a failure carries the
/// item that was there.
pub(crate) fn put_new(table: &str, attrs: Attrs, return_old: bool) -> Result<TransactWriteItem, StoreError> {
    let mut put =
        Put::builder().table_name(table).set_item(Some(attrs)).condition_expression("attribute_not_exists(PK)");
    if return_old {
        put = put.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    let put = put.build().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// An update of `key` under `condition`, its names and values in `expr`.
pub(crate) fn update(
    table: &str,
    key: &ItemKey,
    update_expression: String,
    condition: String,
    expr: Expr,
    return_old: bool,
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key.attrs()))
        .update_expression(update_expression)
        .condition_expression(condition)
        .set_expression_attribute_names(Some(expr.names))
        .set_expression_attribute_values(Some(expr.values));
    if return_old {
        update = update.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    let update = update.build().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The transaction item that completes a claim: only while it is still in flight under
/// this request's token.
pub(crate) fn completion_item(table: &str, c: &Completion) -> Result<TransactWriteItem, StoreError> {
    let mut e = Expr::default();
    let set = e.set(&IdempotencyDone { state: ClaimState::Done, status_code: c.status, response: &c.body })?;
    let condition = still_claimed(&mut e, &c.token)?;
    update(table, &ItemKey::idempotency(&c.scope), set, condition, e, false)
}

/// The condition that a claim is still in flight under `token`.
pub(crate) fn still_claimed(e: &mut Expr, token: &str) -> Result<String, StoreError> {
    Ok(format!(
        "{} = {} AND {} = {}",
        e.name(attr::STATE),
        e.value(value(ClaimState::InFlight)?),
        e.name(attr::TOKEN),
        e.value(value(token)?)
    ))
}

impl Store {
    /// Sends one `TransactWriteItems`. The SDK retries a call whose answer was lost (a
    /// timeout after the commit); with one `ClientRequestToken` per call DynamoDB answers
    /// such a retry as done instead of failing its conditions, which would look like a
    /// lost race and lead to a second application.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(err) => err.into_service_error(),
        };
        match err {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                cancelled,
            ) => Err(TransactError::Cancelled(cancelled.cancellation_reasons.unwrap_or_default())),
            other => Err(TransactError::Store(StoreError::Unavailable(DisplayErrorContext(&other).to_string()))),
        }
    }
}
