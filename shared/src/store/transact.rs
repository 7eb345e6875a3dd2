//! Transaction plumbing: the items a transaction is made of (a put that must be new, an
//! update with its expression, the completion of an idempotency claim), sending one
//! `TransactWriteItems` with its `ClientRequestToken`, and reading why it was cancelled.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::client::{write_not_applied, write_sent, Store, StoreError};
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
    ///
    /// A failure is [`StoreError::Unknown`] when the transaction may have committed: some
    /// attempt went out and got no answer (timeout, broken connection), and the last
    /// one did not settle it (an answer to the same token settles every attempt before
    /// it, except a server error or "still in progress").
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let attempts = AttemptLog::default();
        write_sent();
        // Boxed: the SDK's future is large, and every write path awaits this one.
        let result = Box::pin(
            self.client
                .transact_write_items()
                .set_transact_items(Some(items))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .customize()
                .interceptor(attempts.clone())
                .send(),
        )
        .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        let refused = matches!(err.as_service_error(), Some(TransactWriteItemsError::TransactionCanceledException(_)));
        if !settled(&err, refused, &attempts) {
            return Err(TransactError::Store(StoreError::Unknown(DisplayErrorContext(&err).to_string())));
        }
        write_not_applied();
        match err.into_service_error() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                Err(TransactError::Cancelled(cancelled.cancellation_reasons.unwrap_or_default()))
            }
            other => Err(TransactError::Store(StoreError::Unavailable(DisplayErrorContext(&other).to_string()))),
        }
    }
}

/// Whether a failed write call applied nothing for sure. Only the store's refusal of
/// the write itself settles it (`refused`: a cancelled transaction, a failed
/// condition; with the call's token, a retry of an attempt that had committed would
/// have succeeded instead). Any other answer (throttling, a server error, "still in
/// progress") is given before the write is looked at, so it settles nothing about an
/// earlier attempt that went out and got no answer. Else the write may have been
/// applied: [`StoreError::Unknown`].
pub(crate) fn settled<E, R>(err: &SdkError<E, R>, refused: bool, attempts: &AttemptLog) -> bool {
    match err {
        SdkError::ServiceError(_) if refused => true,
        SdkError::ConstructionFailure(_) => true,
        _ => !attempts.unanswered(),
    }
}

/// An answer after which the attempt may still have been applied.
fn in_doubt(code: &str) -> bool {
    matches!(code, "InternalServerError" | "TransactionInProgressException" | "ServiceUnavailable")
}

/// Counts the attempts of one write call that went out and got no answer (add it to the
/// call with `.customize().interceptor(..)`). An attempt cut off by its timeout never
/// reaches `read_after_attempt`, so it stays counted.
#[derive(Debug, Clone, Default)]
pub(crate) struct AttemptLog(Arc<AtomicU32>);

impl AttemptLog {
    fn unanswered(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
}

impl Intercept for AttemptLog {
    fn name(&self) -> &'static str {
        "AttemptLog"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Answered: a result, or the store's own error (for this token), other than a
        // server error or "still in progress". A response that could not be read, a
        // timeout or a broken connection leaves the attempt in doubt.
        let settled = match context.output_or_error() {
            Some(Ok(_)) => true,
            Some(Err(e)) => match e.as_operation_error() {
                // The store's refusal of the write, or another error it answered with
                // (by its code; one this cannot read is taken as in doubt).
                Some(op) => {
                    match (op.downcast_ref::<TransactWriteItemsError>(), op.downcast_ref::<UpdateItemError>()) {
                        (Some(TransactWriteItemsError::TransactionCanceledException(_)), _)
                        | (_, Some(UpdateItemError::ConditionalCheckFailedException(_))) => true,
                        (Some(e), _) => e.code().is_some_and(|code| !in_doubt(code)),
                        (_, Some(e)) => e.code().is_some_and(|code| !in_doubt(code)),
                        (None, None) => false,
                    }
                }
                None => never_connected(e),
            },
            None => false,
        };
        if settled {
            // Saturating: an attempt that failed before it was sent was never counted.
            let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        }
        Ok(())
    }
}

/// Whether an attempt's error says the request never left: the connection was
/// refused, or could not be made in time.
fn never_connected(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        if e.to_string().starts_with("HTTP connect timeout") {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn answered(code: &str) -> SdkError<TransactWriteItemsError, HttpResponse> {
        let err = match code {
            "TransactionCanceledException" => TransactWriteItemsError::TransactionCanceledException(
                aws_sdk_dynamodb::types::error::TransactionCanceledException::builder().build(),
            ),
            _ => TransactWriteItemsError::generic(ErrorMetadata::builder().code(code).build()),
        };
        SdkError::service_error(err, HttpResponse::new(400u16.try_into().expect("a status"), SdkBody::empty()))
    }

    fn settles(err: &SdkError<TransactWriteItemsError, HttpResponse>, attempts: &AttemptLog) -> bool {
        let refused = matches!(err.as_service_error(), Some(TransactWriteItemsError::TransactionCanceledException(_)));
        settled(err, refused, attempts)
    }

    fn log(unanswered: u32) -> AttemptLog {
        AttemptLog(Arc::new(AtomicU32::new(unanswered)))
    }

    #[test]
    fn only_a_refusal_of_the_write_settles_an_attempt_that_got_no_answer() {
        // Every attempt answered: whatever the last answer was, nothing was applied.
        for code in ["ThrottlingException", "TransactionCanceledException", "ValidationException"] {
            assert!(settles(&answered(code), &log(0)), "{code}");
        }
        // An earlier attempt timed out (it may have committed), then the store answered.
        assert!(settles(&answered("TransactionCanceledException"), &log(1)));
        for code in ["ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"] {
            assert!(!settles(&answered(code), &log(1)), "{code} says nothing of the attempt before it");
        }
    }
}
