//! The reward catalogue: list (archived included), add, edit, archive. Owners and
//! managers change it; the Public catalogue (`GET /v1/public/loyalty/rewards`) lists the
//! active rewards, so an archived one leaves it.

use super::{json, Change};
use crate::actor::{Actor, Permission};
use crate::domain::IdempotencyKey;
use crate::error::ApiError;
use crate::model::{CodeKind, Reward};
use crate::Deps;

/// The whole catalogue, archived rewards included, by public id.
pub async fn list_rewards(deps: &Deps, actor: &Actor) -> Result<Vec<Reward>, ApiError> {
    actor.require(Permission::Read)?;
    Ok(deps.store.list_rewards(&actor.tenant).await?)
}

/// A reward as stored: names in one Unicode form, trimmed; the id, cost and value
/// checked.
pub fn validate_reward(reward: &Reward) -> Result<Reward, ApiError> {
    let reward = Reward {
        name: crate::domain::nfc(reward.name.trim()),
        description: crate::domain::nfc(reward.description.trim()),
        ..reward.clone()
    };
    let id_ok = (1..=64).contains(&reward.public_id.len())
        && reward.public_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(ApiError::invalid("reward_id", "must be 1 to 64 letters, digits, '-' or '_'"));
    }
    if reward.name.is_empty() || reward.name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
    }
    if reward.description.chars().count() > 1000 {
        return Err(ApiError::invalid("description", "may be at most 1000 characters"));
    }
    if reward.points_cost <= 0 {
        return Err(ApiError::invalid("points_cost", "must be positive"));
    }
    match reward.kind {
        CodeKind::Percent if !matches!(reward.discount_percent, Some(1..=100)) => {
            return Err(ApiError::invalid("discount_percent", "must be from 1 to 100 for a percent reward"))
        }
        CodeKind::Fixed if reward.value_minor <= 0 => {
            return Err(ApiError::invalid("value_minor", "must be positive for a fixed-value reward"))
        }
        _ => {}
    }
    Ok(reward)
}

/// Adds a reward; 409 if its id is taken.
pub async fn add_reward(
    deps: &Deps,
    actor: &Actor,
    reward: &Reward,
    idem: Option<&IdempotencyKey>,
) -> Result<Reward, ApiError> {
    actor.require(Permission::Manage)?;
    let reward = validate_reward(reward)?;
    let change = Change::new(actor, "admin-reward-add", idem, &reward)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let admin = change.record(deps.now(), "reward.add", &reward.public_id, None, json(&reward), &reward)?;
    match deps.store.put_reward_audited(&actor.tenant, &reward, false, &admin).await {
        Ok(()) => Ok(reward),
        Err(e) => change.failed(e, ApiError::Conflict(format!("reward {} exists", reward.public_id))),
    }
}

/// Replaces an existing reward (its id stays); 404 if there is none. `active` sets
/// whether it is in the catalogue; `None` keeps it as it is (an edit of an archived
/// reward leaves it archived).
pub async fn edit_reward(
    deps: &Deps,
    actor: &Actor,
    reward: &Reward,
    active: Option<bool>,
    idem: Option<&IdempotencyKey>,
) -> Result<Reward, ApiError> {
    actor.require(Permission::Manage)?;
    let reward = validate_reward(reward)?;
    #[derive(serde::Serialize)]
    struct Ask<'a> {
        reward: &'a Reward,
        active: Option<bool>,
    }
    let change = Change::new(actor, "admin-reward-edit", idem, &Ask { reward: &reward, active })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let before = deps.store.get_reward(&actor.tenant, &reward.public_id).await?.ok_or(ApiError::NotFound("Reward"))?;
    let after = Reward { active: active.unwrap_or(before.active), ..reward };
    save(deps, &change, "reward.edit", before, after).await
}

/// Takes a reward out of the catalogue; vouchers already issued for it stay valid.
pub async fn archive_reward(
    deps: &Deps,
    actor: &Actor,
    public_id: &str,
    idem: Option<&IdempotencyKey>,
) -> Result<Reward, ApiError> {
    actor.require(Permission::Manage)?;
    let change = Change::new(actor, "admin-reward-archive", idem, &public_id)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let before = deps.store.get_reward(&actor.tenant, public_id).await?.ok_or(ApiError::NotFound("Reward"))?;
    let after = Reward { active: false, ..before.clone() };
    save(deps, &change, "reward.archive", before, after).await
}

async fn save(
    deps: &Deps,
    change: &Change<'_>,
    action: &str,
    before: Reward,
    after: Reward,
) -> Result<Reward, ApiError> {
    let admin = change.record(deps.now(), action, &after.public_id, json(&before), json(&after), &after)?;
    match deps.store.put_reward_audited(&change.actor.tenant, &after, true, &admin).await {
        Ok(()) => Ok(after),
        Err(e) => change.failed(e, ApiError::NotFound("Reward")),
    }
}
