//! Returns: a refund of part or all of a sale reverses the points it earned and gives
//! back the points it spent, in proportion, in one transaction. Cumulative refunds can
//! never exceed the sale. A refund may take the balance below zero (the earned points
//! were already spent), and says so: no buy-redeem-refund exploit exists.

use super::commit::{change, commit, fail, Attempt};
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{format_minor, Money};
use crate::error::ApiError;
use crate::idempotency::Replayable;
use crate::model::{Customer, EntryKind, LedgerEntry, Purchase, RefundEffect};
use crate::program::Program;
use crate::store::{CustomerWrite, Mutation, PurchaseWrite};

/// How a refund names its sale.
#[derive(Debug, Clone)]
pub enum SaleKey {
    Reference(String),
    Transaction(uuid::Uuid),
}

pub struct Refund {
    pub refund_id: String,
    pub amount_minor: i64,
    /// The sale after this refund.
    pub purchase: Purchase,
    pub effect: RefundEffect,
    pub customer: Customer,
    pub tier: String,
}

impl Refund {
    /// The refund took back points the member had already spent.
    pub fn balance_negative(&self) -> bool {
        self.customer.points_balance < 0
    }
}

pub async fn refund(
    deps: &Deps,
    caller: &Caller,
    program: &Program,
    key: &SaleKey,
    amount: Money,
    idem: Option<&Replayable<'_, Refund>>,
) -> Result<Refund, ApiError> {
    let txn_id = match key {
        SaleKey::Transaction(id) => *id,
        SaleKey::Reference(reference) => {
            let recorded = deps
                .store
                .get_sale(&caller.tenant, &reference.as_str().into())
                .await?
                .ok_or(ApiError::NotFound("Sale"))?;
            uuid::Uuid::parse_str(&recorded.outcome.transaction_id).map_err(|_| ApiError::Internal)?
        }
    };
    let attempt = move || async move {
        let purchase = deps.store.get_purchase(&caller.tenant, &txn_id).await?.ok_or(ApiError::NotFound("Sale"))?;
        let effect = purchase.refund(amount.minor()).ok_or_else(|| match purchase.refundable_minor() {
            0 => ApiError::bad_request("the sale is already fully refunded"),
            left => {
                ApiError::bad_request(format!("amount is more than what remains refundable ({})", format_minor(left)))
            }
        })?;
        let before = deps
            .store
            .get_customer(&caller.tenant, &purchase.customer_id)
            .await?
            .ok_or(ApiError::NotFound("Customer"))?;
        // The time is read after the member, so an entry's `created_at` is never earlier
        // than that of a change this one was computed on.
        let now = deps.now();
        let mut after = before.clone();
        after.points_balance = before.points_balance - effect.points_reversed + effect.points_restored;
        after.lifetime_points = (before.lifetime_points - effect.points_reversed).max(0);
        after.version = before.version + 1;
        let mut purchase_after = purchase.clone();
        purchase_after.refunded_minor = effect.refunded_after;
        purchase_after.earn_reversed += effect.points_reversed;
        purchase_after.redeem_restored += effect.points_restored;
        purchase_after.version = purchase.version + 1;
        let refund_id = uuid::Uuid::new_v4();
        let result = Refund {
            refund_id: refund_id.to_string(),
            amount_minor: amount.minor(),
            purchase: purchase_after.clone(),
            effect,
            customer: after.clone(),
            tier: program.tier_for(after.lifetime_points).name.clone(),
        };
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
            balance_after: after.points_balance,
            created_at: now,
        };
        let mutation = Mutation {
            entries: vec![entry],
            purchase: Some(PurchaseWrite::Refund { expected_version: purchase.version, after: purchase_after }),
            completion: idem.map(|i| i.completion(&result)),
            ..change(CustomerWrite::Update { expected_version: before.version, after })
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result })
    };
    let refund = commit(deps, &caller.tenant, attempt, fail).await?;
    if !caller.sandbox() {
        let effect = refund.effect;
        tracing::info!(refund_id = %refund.refund_id, sale = %txn_id, reversed = effect.points_reversed, restored = effect.points_restored, "refund recorded");
    }
    Ok(refund)
}
