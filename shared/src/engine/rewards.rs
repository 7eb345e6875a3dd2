//! Spending points on a catalog reward: the debit, the voucher and the ledger entry in
//! one transaction whose condition (the member's version, read with a balance that
//! covers the cost) keeps the balance from ever going below zero.

use super::commit::{change, commit, fail, Attempt};
use super::members::member_id;
use super::MemberRef;
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::Code;
use crate::error::ApiError;
use crate::idempotency::Replayable;
use crate::model::{local_date, CodeStatus, Coupon, Customer, EntryKind, LedgerEntry, Reward};
use crate::program::Program;
use crate::store::{CustomerWrite, Mutation};

pub struct Redemption {
    pub redemption_id: String,
    pub reward: Reward,
    pub voucher: Coupon,
    pub customer: Customer,
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
    idem: Option<&Replayable<'_, Redemption>>,
) -> Result<Redemption, ApiError> {
    // The reward and the member's lookup are read at once.
    let (reward, id) =
        tokio::join!(deps.store.get_reward(&caller.tenant, reward_id), member_id(deps, &caller.tenant, member));
    let id = id?.ok_or(ApiError::NotFound("Customer"))?;
    let reward = reward?.filter(|r| r.active).ok_or(ApiError::NotFound("Reward"))?;
    let reward = &reward;
    let attempt = move || async move {
        let before = deps.store.get_customer(&caller.tenant, &id).await?.ok_or(ApiError::NotFound("Customer"))?;
        // The time is read after the member, so an entry's `created_at` is never earlier
        // than that of a change this one was computed on.
        let now = deps.now();
        if before.points_balance < reward.points_cost {
            return Err(ApiError::InsufficientPoints { balance: before.points_balance, needed: reward.points_cost });
        }
        let mut after = before.clone();
        after.points_balance -= reward.points_cost;
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
        let redemption = Redemption {
            redemption_id: txn_id.to_string(),
            reward: reward.clone(),
            voucher: voucher.clone(),
            customer: after.clone(),
        };
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
        };
        let mutation = Mutation {
            entries: vec![entry],
            new_codes: vec![voucher],
            completion: idem.map(|i| i.completion(&redemption)),
            ..change(CustomerWrite::Update { expected_version: before.version, after })
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result: redemption })
    };
    let redemption = commit(deps, &caller.tenant, attempt, fail).await?;
    if !caller.sandbox() {
        tracing::info!(redemption_id = %redemption.redemption_id, reward = %reward.public_id, "reward redeemed");
    }
    Ok(redemption)
}
