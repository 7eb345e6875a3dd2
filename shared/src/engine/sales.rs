//! Recording a sale: points from the program's rules, written exactly once.
//!
//! A sale with a reference (`external_ref` / `reference`) is recorded under it in the
//! same transaction as the points. A retry of the same sale (same member, same amount)
//! answers the stored outcome and awards nothing; the same reference on a different
//! sale is a conflict. Both dialects share the reference namespace of a tenant.

use super::members::{find_member, mutation_error, new_customer, taken_error};
use super::{backoff, MemberRef, NewMember, MAX_ATTEMPTS};
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{Milli, Money};
use crate::error::ApiError;
use crate::idempotency::Replayable;
use crate::model::{CustomerSnapshot, EntryKind, LedgerEntry, SaleOutcome};
use crate::program::{BillItem, Program};
use crate::store::{CustomerWrite, EnrolError, Mutation, MutationError, SaleRecord};

pub struct Sale {
    pub member: MemberRef,
    /// Enrol an unknown mobile or email with these details; `None` makes an unknown
    /// member a 404.
    pub enrol: Option<NewMember>,
    pub amount: Money,
    pub items: Vec<BillItem>,
    pub reference: Option<String>,
    pub description: Option<String>,
    /// Compute the full answer and write nothing.
    pub preview: bool,
}

pub struct SaleResult {
    pub outcome: SaleOutcome,
    /// Answered from the stored outcome of an earlier identical request.
    pub replayed: bool,
    pub multiplier: Milli,
    /// Computed for a preview: nothing was written.
    pub preview: bool,
}

pub async fn record_sale(
    deps: &Deps,
    caller: &Caller,
    program: &Program,
    sale: &Sale,
    idem: Option<&Replayable<'_, SaleResult>>,
) -> Result<SaleResult, ApiError> {
    let items_total: i64 = sale.items.iter().map(|i| i.amount_minor).sum();
    if items_total > sale.amount.minor() {
        return Err(ApiError::bad_request("items total more than amount"));
    }
    for attempt in 0..MAX_ATTEMPTS {
        let now = deps.now();
        let existing = find_member(deps, &caller.tenant, &sale.member).await?;
        let (before, is_new) = match (existing, &sale.enrol) {
            (Some(c), _) => (c, false),
            (None, Some(new)) => (new_customer(new, now), true),
            (None, None) => return Err(ApiError::NotFound("Customer")),
        };
        if caller.sandbox() || sale.preview {
            if let Some(reference) = &sale.reference {
                if let Some(recorded) = deps.store.get_sale(&caller.tenant, reference).await? {
                    return replay(recorded, before.id, sale);
                }
            }
        }

        let earning = program.earn(sale.amount.minor(), &sale.items, before.lifetime_points);
        let mut after = before.clone();
        after.points_balance = before.points_balance.saturating_add(earning.points);
        after.lifetime_points = before.lifetime_points.saturating_add(earning.points);
        after.version = before.version + 1;
        let tier_before = program.tier_for(before.lifetime_points);
        let tier_after = program.tier_for(after.lifetime_points);
        let txn_id = uuid::Uuid::new_v4();
        let outcome = SaleOutcome {
            transaction_id: txn_id.to_string(),
            customer: CustomerSnapshot::from(&after),
            amount_minor: sale.amount.minor(),
            points_earned: earning.points,
            points_redeemed: 0,
            new_balance: after.points_balance,
            tier: tier_after.name.clone(),
            tier_upgraded: tier_after.min_lifetime_points > tier_before.min_lifetime_points,
            multiplier_milli: earning.tier_multiplier.0,
            reference: sale.reference.clone(),
            created_at: now,
        };
        if caller.sandbox() || sale.preview {
            let multiplier = earning.tier_multiplier;
            return Ok(SaleResult { outcome, replayed: false, multiplier, preview: sale.preview });
        }

        let entry = LedgerEntry {
            txn_id,
            customer_id: after.id,
            kind: EntryKind::Earn,
            points: earning.points,
            lifetime_points: earning.points,
            amount_minor: Some(sale.amount.minor()),
            reference: sale.reference.clone(),
            description: sale.description.clone(),
            balance_after: after.points_balance,
            created_at: now,
        };
        let result = SaleResult { outcome, replayed: false, multiplier: earning.tier_multiplier, preview: false };
        let mutation = Mutation {
            customer: if is_new {
                CustomerWrite::New(after.clone())
            } else {
                CustomerWrite::Update { expected_version: before.version, after: after.clone() }
            },
            entries: vec![entry],
            sale: sale.reference.as_ref().map(|reference| SaleRecord {
                reference: reference.clone(),
                customer_id: after.id,
                amount_minor: sale.amount.minor(),
                outcome: result.outcome.clone(),
            }),
            new_codes: vec![],
            completion: idem.map(|i| i.completion(&result)),
        };
        match deps.store.apply(&caller.tenant, &mutation, now).await {
            Ok(()) => {
                tracing::info!(transaction_id = %txn_id, customer_id = %after.id, points = earning.points, "sale recorded");
                return Ok(result);
            }
            Err(MutationError::ReferenceTaken(recorded)) => {
                // A first sale that enrolled this member concurrently holds the
                // reference: go again as an existing member and replay it.
                let raced = is_new && find_member(deps, &caller.tenant, &sale.member).await?.is_some();
                if !raced {
                    let replayed = replay(*recorded, after.id, sale)?;
                    if let Some(idem) = idem {
                        deps.store.complete_idempotency(&idem.completion(&replayed)).await?;
                    }
                    return Ok(replayed);
                }
            }
            Err(MutationError::Taken(taken)) => {
                let raced = matches!(
                    (&taken, &sale.member),
                    (EnrolError::MobileTaken, MemberRef::Mobile(_)) | (EnrolError::EmailTaken, MemberRef::Email(_))
                );
                if !raced {
                    return Err(taken_error(taken));
                }
            }
            Err(MutationError::Stale | MutationError::Conflict) => {}
            Err(other) => return Err(mutation_error(other)),
        }
        backoff(attempt).await;
    }
    Err(ApiError::Contended)
}

fn replay(recorded: SaleRecord, customer_id: crate::domain::CustomerId, sale: &Sale) -> Result<SaleResult, ApiError> {
    if recorded.customer_id != customer_id || recorded.amount_minor != sale.amount.minor() {
        return Err(ApiError::Conflict(format!(
            "reference {} was already used for a different sale",
            recorded.reference
        )));
    }
    let multiplier = Milli(recorded.outcome.multiplier_milli);
    Ok(SaleResult { outcome: recorded.outcome, replayed: true, multiplier, preview: sale.preview })
}
