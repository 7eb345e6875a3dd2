//! Recording a sale: points from the program's rules, written exactly once.
//!
//! A sale with a reference (`external_ref` / `reference`) is recorded under it in the
//! same transaction as the points. A retry of the same sale (same member, same amount)
//! answers the stored outcome and awards nothing; the same reference on a different
//! sale is a conflict. Both dialects share the reference namespace of a tenant.
//!
//! A bill may spend points (`redeem_points`, proven by a one-time code): the discount
//! is `redeem_points / redemption_rate`, never more than the bill, and points are
//! earned on the amount actually paid. Code, debit, earning and ledger entries are one
//! transaction.

use super::members::{find_member, mutation_error, new_customer, taken_error};
use super::otp::check_otp;
use super::{backoff, MemberRef, NewMember, MAX_ATTEMPTS};
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{CustomerId, Milli, Money};
use crate::error::ApiError;
use crate::idempotency::Replayable;
use crate::model::{CustomerSnapshot, EntryKind, LedgerEntry, Purchase, SaleOutcome};
use crate::program::{BillItem, Program};
use crate::store::{CustomerWrite, EnrolError, Mutation, MutationError, OtpUse, PurchaseWrite, SaleRecord};

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
    /// Points to spend on this bill (0 for none), with the member's one-time code.
    pub redeem_points: i64,
    pub otp: Option<String>,
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
    let amount = sale.amount.minor();
    let items_total: i64 = sale.items.iter().map(|i| i.amount_minor).sum();
    if items_total > amount {
        return Err(ApiError::bad_request("items total more than amount"));
    }
    let discount = program.discount_minor(sale.redeem_points);
    if discount > amount {
        return Err(ApiError::bad_request(format!(
            "redeem_points are worth more than the bill (at most {} points on this bill)",
            amount * program.redemption_rate as i64 / crate::domain::MINOR_PER_UNIT
        )));
    }
    let paid = amount - discount;
    let items: Vec<BillItem> = sale
        .items
        .iter()
        .map(|i| BillItem {
            amount_minor: (i.amount_minor as i128 * paid as i128 / amount as i128) as i64,
            ..i.clone()
        })
        .collect();

    // A retried bill that spent points finds its code used: answer it from its reference.
    let writes = !(caller.sandbox() || sale.preview);
    if sale.redeem_points > 0 || !writes {
        if let Some(reference) = &sale.reference {
            if let Some(recorded) = deps.store.get_sale(&caller.tenant, &reference.as_str().into()).await? {
                let existing = find_member(deps, &caller.tenant, &sale.member).await?;
                // An unknown member cannot be the one the reference was recorded for.
                let id = existing.map_or_else(CustomerId::new_random, |c| c.id);
                return answer_replay(deps, recorded, id, sale, if writes { idem } else { None }).await;
            }
        }
    }
    // Checked once, after the balance is known to cover the points: a refused bill does
    // not take one of the code's attempts.
    let mut otp_use: Option<Option<OtpUse>> = None;

    for attempt in 0..MAX_ATTEMPTS {
        let existing = find_member(deps, &caller.tenant, &sale.member).await?;
        // The time is read after the member, so an entry's `created_at` is never earlier
        // than that of a change this one was computed on.
        let now = deps.now();
        let (before, is_new) = match (existing, &sale.enrol) {
            (Some(c), _) => (c, false),
            (None, Some(new)) => (new_customer(new, now), true),
            (None, None) => return Err(ApiError::NotFound("Customer")),
        };
        // A bill that spends nothing is never refused, even on a balance a refund left
        // below zero: earning is how the member gets back above it.
        if sale.redeem_points > 0 && sale.redeem_points > before.points_balance {
            return Err(ApiError::InsufficientPoints { balance: before.points_balance, needed: sale.redeem_points });
        }
        if otp_use.is_none() {
            otp_use = Some(otp_for(deps, caller, sale).await?);
        }

        let earning = program.earn(paid, &items, before.lifetime_points);
        let mut after = before.clone();
        let after_redeem = before.points_balance - sale.redeem_points;
        after.points_balance = after_redeem.saturating_add(earning.points);
        after.lifetime_points = before.lifetime_points.saturating_add(earning.points);
        after.version = before.version + 1;
        let tier_before = program.tier_for(before.lifetime_points);
        let tier_after = program.tier_for(after.lifetime_points);
        let txn_id = uuid::Uuid::new_v4();
        let outcome = SaleOutcome {
            transaction_id: txn_id.to_string(),
            customer: CustomerSnapshot::from(&after),
            amount_minor: amount,
            points_earned: earning.points,
            points_redeemed: sale.redeem_points,
            discount_minor: discount,
            new_balance: after.points_balance,
            tier: tier_after.name.clone(),
            tier_upgraded: tier_after.min_lifetime_points > tier_before.min_lifetime_points,
            multiplier_milli: earning.tier_multiplier.0,
            reference: sale.reference.clone(),
            created_at: now,
        };
        let result =
            SaleResult { outcome, replayed: false, multiplier: earning.tier_multiplier, preview: sale.preview };
        if !writes {
            return Ok(result);
        }

        let mut entries = Vec::new();
        if sale.redeem_points > 0 {
            entries.push(LedgerEntry {
                txn_id: uuid::Uuid::new_v4(),
                customer_id: after.id,
                kind: EntryKind::Redeem,
                points: -sale.redeem_points,
                lifetime_points: 0,
                amount_minor: Some(discount),
                reference: sale.reference.clone(),
                description: Some("Points redeemed on a bill".into()),
                balance_after: after_redeem,
                created_at: now,
            });
        }
        entries.push(LedgerEntry {
            txn_id,
            customer_id: after.id,
            kind: EntryKind::Earn,
            points: earning.points,
            lifetime_points: earning.points,
            amount_minor: Some(amount),
            reference: sale.reference.clone(),
            description: sale.description.clone(),
            balance_after: after.points_balance,
            created_at: now,
        });
        let mutation = Mutation {
            customer: if is_new {
                CustomerWrite::New(after.clone())
            } else {
                CustomerWrite::Update { expected_version: before.version, after: after.clone() }
            },
            entries,
            sale: sale.reference.as_ref().map(|reference| SaleRecord {
                reference: reference.as_str().into(),
                customer_id: after.id,
                amount_minor: amount,
                outcome: result.outcome.clone(),
            }),
            purchase: Some(PurchaseWrite::New(Purchase {
                txn_id,
                customer_id: after.id,
                amount_minor: amount,
                points_earned: earning.points,
                points_redeemed: sale.redeem_points,
                reference: sale.reference.clone(),
                created_at: now,
                refunded_minor: 0,
                earn_reversed: 0,
                redeem_restored: 0,
                version: 0,
            })),
            otp: otp_use.clone().flatten(),
            new_codes: vec![],
            completion: idem.map(|i| i.completion(&result)),
        };
        match deps.store.apply(&caller.tenant, &mutation, now).await {
            Ok(()) => {
                tracing::info!(transaction_id = %txn_id, customer_id = %after.id, points = earning.points, redeemed = sale.redeem_points, "sale recorded");
                return Ok(result);
            }
            Err(MutationError::ReferenceTaken(recorded)) => {
                // A first sale that enrolled this member concurrently holds the
                // reference: go again as an existing member and replay it.
                let raced = is_new && find_member(deps, &caller.tenant, &sale.member).await?.is_some();
                if !raced {
                    return answer_replay(deps, *recorded, after.id, sale, idem).await;
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

/// Spending points needs the member's one-time code (by mobile: that is where it went).
/// A preview spends nothing, so it neither needs nor checks one.
async fn otp_for(deps: &Deps, caller: &Caller, sale: &Sale) -> Result<Option<OtpUse>, ApiError> {
    if sale.redeem_points == 0 || sale.preview {
        return Ok(None);
    }
    let MemberRef::Mobile(mobile) = &sale.member else {
        return Err(ApiError::bad_request("redeem_points needs the member's mobile (the one-time code goes there)"));
    };
    let code = sale.otp.as_deref().ok_or_else(|| ApiError::bad_request("otp is required to redeem points"))?;
    check_otp(deps, caller, mobile, code).await
}

/// The recorded outcome for a retry of the same sale, or 409 for another sale on the
/// same reference. A retry that carried an idempotency key stores the answer under it.
async fn answer_replay(
    deps: &Deps,
    recorded: SaleRecord,
    customer_id: CustomerId,
    sale: &Sale,
    idem: Option<&Replayable<'_, SaleResult>>,
) -> Result<SaleResult, ApiError> {
    if recorded.customer_id != customer_id || recorded.amount_minor != sale.amount.minor() {
        return Err(ApiError::Conflict(format!(
            "reference {} was already used for a different sale",
            recorded.reference
        )));
    }
    let multiplier = Milli(recorded.outcome.multiplier_milli);
    let result = SaleResult { outcome: recorded.outcome, replayed: true, multiplier, preview: sale.preview };
    if let Some(idem) = idem {
        deps.store.complete_idempotency(&idem.completion(&result)).await?;
    }
    Ok(result)
}
