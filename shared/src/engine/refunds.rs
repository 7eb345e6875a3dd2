//! Returns: a refund of part or all of a sale reverses the points it earned and gives
//! back the points it spent, in proportion, in one transaction. Cumulative refunds can
//! never exceed the sale. A refund may take the balance below zero (the earned points
//! were already spent), and says so: no buy-redeem-refund exploit exists.
//!
//! A refund's own reference (`refund_ref` / `refundReference`) is recorded in the
//! refund's transaction with its outcome: the same reference again (same sale, same
//! amount) answers that outcome and refunds nothing; on another sale or amount it is a
//! conflict. So a refund whose answer was lost can be retried safely.

use super::commit::{change, commit, mutation_error, Attempt, Refused};
use super::expiry;
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{format_minor, Money, Reference};
use crate::error::ApiError;
use crate::expiry::ExpiryClock;
use crate::idempotency::Replayable;
use crate::model::{CustomerSnapshot, EntryKind, LedgerEntry, RefundOutcome};
use crate::program::Program;
use crate::store::{CustomerWrite, Mutation, MutationError, OutcomeReference, PurchaseWrite, RefundRecord};
use crate::tiers::{tier_of, TierClock};

/// How a refund names its sale.
#[derive(Debug, Clone)]
pub enum SaleKey {
    Reference(String),
    Transaction(uuid::Uuid),
}

pub struct Refund {
    pub outcome: RefundOutcome,
    /// Answered from the recorded outcome of an earlier refund with the same reference.
    pub replayed: bool,
}

impl Refund {
    /// The refund took back points the member had already spent.
    pub fn balance_negative(&self) -> bool {
        self.outcome.balance_negative()
    }
}

/// Refunds `amount` of the sale named by `key`, once per `refund_ref` when one is given.
pub async fn refund(
    deps: &Deps,
    caller: &Caller,
    program: &Program,
    key: &SaleKey,
    amount: Money,
    refund_ref: Option<&str>,
    idem: Option<&Replayable<'_, Refund>>,
) -> Result<Refund, ApiError> {
    crate::test_values::amount(caller, amount)?;
    // The sale item (its key derives from the reference) and the refund's own
    // reference are read at once (neither needs the other); the sale item names the
    // member, so the profile is read next, and the first attempt works from the sale item
    // already read: a refund is three round trips. An attempt after a lost race reads the
    // sale item and the profile again, at once.
    let refund_ref = refund_ref.map(Reference::from);
    let sale = async {
        match key {
            // Read it now, beside the refund's reference (without one, reading it first
            // costs the same round trips).
            SaleKey::Transaction(id) if refund_ref.is_some() => {
                Ok::<_, ApiError>((*id, deps.store.get_purchase(&caller.tenant, id).await?))
            }
            SaleKey::Transaction(id) => Ok((*id, None)),
            SaleKey::Reference(reference) => {
                let sale = crate::store::sale_id(&caller.tenant, &reference.as_str().into());
                let purchase =
                    deps.store.get_purchase(&caller.tenant, &sale).await?.ok_or(ApiError::NotFound("Sale"))?;
                Ok((sale, Some(purchase)))
            }
        }
    };
    let earlier = async {
        match &refund_ref {
            Some(reference) => Ok::<_, ApiError>(deps.store.get_refund_reference(&caller.tenant, reference).await?),
            None => Ok(None),
        }
    };
    let ((txn_id, read), earlier) = Box::pin(async { tokio::try_join!(sale, earlier) }).await?;
    if let Some(recorded) = earlier {
        return Box::pin(replay(deps, recorded, txn_id, amount, idem)).await;
    }
    let refund_ref = &refund_ref;
    let member = &read.as_ref().map(|p| p.customer_id);
    // The sale item as first read, for the first attempt only.
    let first = &std::sync::Mutex::new(read);
    let attempt = move || async move {
        let unread = first.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (purchase, known) = match (unread, member) {
            (Some(purchase), _) => {
                let profile = deps.store.get_customer(&caller.tenant, &purchase.customer_id).await?;
                (Some(purchase), Some(profile))
            }
            (None, Some(id)) => {
                let (purchase, profile) = Box::pin(async {
                    tokio::try_join!(
                        deps.store.get_purchase(&caller.tenant, &txn_id),
                        deps.store.get_customer(&caller.tenant, id)
                    )
                })
                .await?;
                (purchase, Some(profile))
            }
            (None, None) => (deps.store.get_purchase(&caller.tenant, &txn_id).await?, None),
        };
        let purchase = purchase.ok_or(ApiError::NotFound("Sale"))?;
        let effect = purchase.refund(amount.minor()).ok_or_else(|| match purchase.refundable_minor() {
            0 => ApiError::bad_request("the sale is already fully refunded"),
            left => {
                ApiError::bad_request(format!("amount is more than what remains refundable ({})", format_minor(left)))
            }
        })?;
        let before = match known {
            Some(profile) if *member == Some(purchase.customer_id) => profile,
            _ => deps.store.get_customer(&caller.tenant, &purchase.customer_id).await?,
        }
        .ok_or(ApiError::NotFound("Customer"))?;
        // The time is read after the member, so an entry's `created_at` is never earlier
        // than that of a change this one was computed on.
        let now = deps.now();
        // What was due expires first; the points the sale earned leave its month's bucket
        // first, and the points it spent return to that month (expiring at once if it is
        // past).
        let clock = ExpiryClock::new(program, now);
        let mut after = before.clone();
        // A period program's window loses what the sale earned, in the sale's month; the
        // tier waits for its review.
        let tiers = TierClock::new(program, now);
        tiers.settle(&mut after);
        let expired = expiry::settle(&clock, &mut after, now);
        let sold = purchase.sold_at.unwrap_or(purchase.created_at);
        clock.remove(&mut after, effect.points_reversed, Some(sold));
        clock.add(&mut after, effect.points_restored, sold);
        let late = clock.settle(&mut after);
        after.lifetime_points = (before.lifetime_points - effect.points_reversed).max(0);
        after.version = before.version + 1;
        tiers.earned(&mut after, -effect.points_reversed, sold);
        let tier_change = tiers.upgrade(&mut after);
        let mut purchase_after = purchase.clone();
        purchase_after.refunded_minor = effect.refunded_after;
        purchase_after.earn_reversed += effect.points_reversed;
        purchase_after.redeem_restored += effect.points_restored;
        purchase_after.version = purchase.version + 1;
        let refund_id = uuid::Uuid::new_v4();
        let outcome = RefundOutcome {
            refund_id: refund_id.to_string(),
            transaction_id: purchase.txn_id.to_string(),
            sale_reference: purchase.reference.clone(),
            amount_minor: amount.minor(),
            total_refunded_minor: purchase_after.refunded_minor,
            remaining_refundable_minor: purchase_after.refundable_minor(),
            points_reversed: effect.points_reversed,
            points_restored: effect.points_restored,
            customer: CustomerSnapshot::from(&after),
            tier: tier_of(program, &after).name.clone(),
            created_at: now,
            coupon: purchase.coupon.clone().map(Box::new),
        };
        let result = Refund { outcome, replayed: false };
        if caller.sandbox() {
            return Ok(Attempt::Answer(result));
        }
        let entry = LedgerEntry {
            txn_id: refund_id,
            customer_id: after.id,
            kind: EntryKind::Refund,
            points: effect.points_restored - effect.points_reversed,
            lifetime_points: -effect.points_reversed,
            amount_minor: Some(amount.minor()),
            reference: purchase.reference.clone(),
            description: Some(format!("Refund of sale {}", purchase.txn_id)),
            balance_after: after.points_balance + late,
            created_at: now,
            sold_at: None,
        };
        let mut entries: Vec<LedgerEntry> = expired.into_iter().collect();
        entries.push(entry);
        if late > 0 {
            entries.push(expiry::expire_entry(after.id, late, after.points_balance, now));
        }
        if let Some(change) = &tier_change {
            entries.push(change.entry(after.id, after.points_balance, now));
        }
        let mutation = Mutation {
            entries,
            purchase: Some(PurchaseWrite::Refund { expected_version: purchase.version, after: purchase_after }),
            completion: idem.map(|i| i.completion(&result)),
            outcome_ref: refund_ref.as_ref().map(|reference| {
                OutcomeReference::Refund(RefundRecord {
                    refund_ref: reference.clone(),
                    sale: txn_id,
                    amount_minor: amount.minor(),
                    outcome: result.outcome.clone(),
                })
            }),
            ..change(CustomerWrite::Update { expected_version: before.version, after })
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result })
    };
    // A refund with the same reference committed first (a racing retry): answer it.
    let refused = move |err, _: Box<Mutation>| async move {
        match err {
            MutationError::OutcomeReferenceTaken(recorded) => match *recorded {
                OutcomeReference::Refund(recorded) => {
                    Box::pin(replay(deps, recorded, txn_id, amount, idem)).await.map(Refused::Answer)
                }
                OutcomeReference::Redemption(_) => Err(ApiError::Internal),
            },
            other => Err(mutation_error(other)),
        }
    };
    let refund = Box::pin(commit(deps, &caller.tenant, attempt, refused)).await?;
    if !caller.sandbox() && !refund.replayed {
        let o = &refund.outcome;
        tracing::info!(refund_id = %o.refund_id, sale = %txn_id, reversed = o.points_reversed, restored = o.points_restored, "refund recorded");
    }
    Ok(refund)
}

/// The recorded outcome for a retry of the same refund, or 409 for another refund on the
/// same reference. A retry that carried an idempotency key stores the answer under it.
async fn replay(
    deps: &Deps,
    recorded: RefundRecord,
    txn_id: uuid::Uuid,
    amount: Money,
    idem: Option<&Replayable<'_, Refund>>,
) -> Result<Refund, ApiError> {
    if recorded.sale != txn_id || recorded.amount_minor != amount.minor() {
        return Err(ApiError::Conflict(format!(
            "refund reference {} was already used for a different refund",
            recorded.refund_ref
        )));
    }
    let result = Refund { outcome: recorded.outcome, replayed: true };
    if let Some(idem) = idem {
        deps.store.complete_idempotency(&idem.completion(&result)).await?;
    }
    Ok(result)
}
