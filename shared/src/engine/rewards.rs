//! Spending points on a catalog reward: the debit, the voucher and the ledger entry in
//! one transaction whose condition (the member's version, read with a balance that
//! covers the cost) keeps the balance from ever going below zero.
//!
//! A redemption's optional `reference` is recorded in its transaction with its outcome:
//! the same reference again (same member, same reward) answers that outcome, the same
//! voucher, and spends nothing; for another member or reward it is a conflict.

use super::commit::{change, commit, mutation_error, Attempt, Refused};
use super::expiry;
use super::members::member_id;
use super::MemberRef;
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{Code, CustomerId, Reference};
use crate::error::ApiError;
use crate::expiry::ExpiryClock;
use crate::idempotency::Replayable;
use crate::model::{local_date, CodeStatus, Coupon, EntryKind, LedgerEntry, RedemptionOutcome, Reward};
use crate::program::Program;
use crate::store::{CustomerWrite, Mutation, MutationError, OutcomeReference, RedemptionRecord};

pub struct Redemption {
    pub outcome: RedemptionOutcome,
    /// Answered from the recorded outcome of an earlier redemption with the same
    /// reference.
    pub replayed: bool,
}

/// Active rewards, cheapest first.
pub async fn catalog(deps: &Deps, caller: &Caller) -> Result<Vec<Reward>, ApiError> {
    let mut rewards = deps.store.list_rewards(&caller.tenant).await?;
    rewards.retain(|r| r.active);
    rewards.sort_by(|a, b| a.points_cost.cmp(&b.points_cost).then_with(|| a.public_id.cmp(&b.public_id)));
    Ok(rewards)
}

pub async fn redeem_reward(
    deps: &Deps,
    caller: &Caller,
    program: &Program,
    member: &MemberRef,
    reward_id: &str,
    reference: Option<&str>,
    idem: Option<&Replayable<'_, Redemption>>,
) -> Result<Redemption, ApiError> {
    if crate::test_values::unknown_member(caller, member) {
        return Err(ApiError::NotFound("Customer"));
    }
    // The reward and the member's lookup are read at once.
    let (reward, id) =
        tokio::join!(deps.store.get_reward(&caller.tenant, reward_id), member_id(deps, &caller.tenant, member));
    let id = id?.ok_or(ApiError::NotFound("Customer"))?;
    let reward = reward?.ok_or(ApiError::NotFound("Reward"))?;
    let reward = &reward;
    let reference = reference.map(Reference::from);
    // A retry answers what the first redemption did, even if the reward was archived
    // since: only a new redemption needs it active.
    if let Some(reference) = &reference {
        if let Some(recorded) = Box::pin(deps.store.get_redemption_reference(&caller.tenant, reference)).await? {
            return Box::pin(replay(deps, recorded, id, reward, idem)).await;
        }
    }
    if !reward.active {
        return Err(ApiError::NotFound("Reward"));
    }
    let reference = &reference;
    let attempt = move || async move {
        let before = deps.store.get_customer(&caller.tenant, &id).await?.ok_or(ApiError::NotFound("Customer"))?;
        // The time is read after the member, so an entry's `created_at` is never earlier
        // than that of a change this one was computed on.
        let now = deps.now();
        // Points whose months have passed expire first: they are never spendable.
        let clock = ExpiryClock::new(program, now);
        let mut after = before.clone();
        let expired = expiry::settle(&clock, &mut after, now);
        if after.points_balance < reward.points_cost {
            return Err(ApiError::InsufficientPoints { balance: after.points_balance, needed: reward.points_cost });
        }
        clock.remove(&mut after, reward.points_cost, None);
        after.version += 1;
        let txn_id = uuid::Uuid::new_v4();
        // The program's validation caps the days; checked all the same.
        let expires_at = chrono::Duration::try_days(program.voucher_validity_days.into())
            .and_then(|days| now.checked_add_signed(days))
            .ok_or_else(|| {
                tracing::error!(days = program.voucher_validity_days, "voucher validity out of range");
                ApiError::Internal
            })?;
        let voucher = Coupon {
            coupon_id: uuid::Uuid::new_v4(),
            code: Code::generate("VOUCH"),
            customer_id: Some(after.id),
            kind: reward.kind,
            value_minor: reward.value_minor,
            discount_percent: reward.discount_percent,
            source: "reward".into(),
            reward_id: Some(reward.public_id.clone()),
            reward_name: Some(reward.name.clone()),
            status: CodeStatus::Active,
            expires_at,
            expiry_date: local_date(expires_at, program.utc_offset_minutes),
            created_at: now,
            used_at: None,
        };
        let outcome = RedemptionOutcome {
            redemption_id: txn_id.to_string(),
            reward_id: reward.public_id.clone(),
            reward_name: reward.name.clone(),
            points_spent: reward.points_cost,
            new_balance: after.points_balance,
            voucher_code: voucher.code.to_string(),
            voucher_kind: voucher.kind,
            discount_percent: voucher.discount_percent,
            value_minor: voucher.value_minor,
            expires_at,
            created_at: now,
        };
        let redemption = Redemption { outcome, replayed: false };
        if caller.sandbox() {
            return Ok(Attempt::Answer(redemption));
        }
        let entry = LedgerEntry {
            txn_id,
            customer_id: after.id,
            kind: EntryKind::Redeem,
            points: -reward.points_cost,
            lifetime_points: 0,
            amount_minor: None,
            reference: Some(voucher.code.to_string()),
            description: Some(format!("Redeemed {}", reward.name)),
            balance_after: after.points_balance,
            created_at: now,
            sold_at: None,
        };
        let mutation = Mutation {
            entries: expired.into_iter().chain([entry]).collect(),
            new_codes: vec![voucher],
            completion: idem.map(|i| i.completion(&redemption)),
            outcome_ref: reference.as_ref().map(|reference| {
                OutcomeReference::Redemption(RedemptionRecord {
                    reference: reference.clone(),
                    customer_id: id,
                    reward_id: reward.public_id.clone(),
                    outcome: redemption.outcome.clone(),
                })
            }),
            ..change(CustomerWrite::Update { expected_version: before.version, after })
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result: redemption })
    };
    // A redemption with the same reference committed first (a racing retry): answer it.
    let refused = move |err, _: Box<Mutation>| async move {
        match err {
            MutationError::OutcomeReferenceTaken(recorded) => match *recorded {
                OutcomeReference::Redemption(recorded) => {
                    Box::pin(replay(deps, recorded, id, reward, idem)).await.map(Refused::Answer)
                }
                OutcomeReference::Refund(_) => Err(ApiError::Internal),
            },
            other => Err(mutation_error(other)),
        }
    };
    let redemption = Box::pin(commit(deps, &caller.tenant, attempt, refused)).await?;
    if !caller.sandbox() && !redemption.replayed {
        tracing::info!(redemption_id = %redemption.outcome.redemption_id, reward = %reward.public_id, "reward redeemed");
    }
    Ok(redemption)
}

/// The recorded outcome for a retry of the same redemption, or 409 for another member or
/// reward on the same reference. A retry that carried an idempotency key stores the
/// answer under it.
async fn replay(
    deps: &Deps,
    recorded: RedemptionRecord,
    member: CustomerId,
    reward: &Reward,
    idem: Option<&Replayable<'_, Redemption>>,
) -> Result<Redemption, ApiError> {
    if recorded.customer_id != member || recorded.reward_id != reward.public_id {
        return Err(ApiError::Conflict(format!(
            "reference {} was already used for a different redemption",
            recorded.reference
        )));
    }
    let result = Redemption { outcome: recorded.outcome, replayed: true };
    if let Some(idem) = idem {
        deps.store.complete_idempotency(&idem.completion(&result)).await?;
    }
    Ok(result)
}
