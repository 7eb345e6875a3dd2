//! Using a coupon or voucher at the till.

use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::Code;
use crate::error::ApiError;
use crate::idempotency::Replayable;
use crate::model::{CodeStatus, Coupon};
use crate::store::{ConsumeError, ReinstateError};

/// Where a code stands at a moment: the one place that says so. A used code is used
/// whatever its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Usable,
    Used,
    Expired,
}

impl CodeState {
    pub fn of(code: &Coupon, now: chrono::DateTime<chrono::Utc>) -> CodeState {
        if code.status == CodeStatus::Used {
            CodeState::Used
        } else if code.is_expired(now) {
            CodeState::Expired
        } else {
            CodeState::Usable
        }
    }

    /// Why a code in this state cannot be redeemed.
    fn refusal(self) -> Option<ApiError> {
        match self {
            CodeState::Usable => None,
            CodeState::Used => Some(ApiError::CodeUsed),
            CodeState::Expired => Some(ApiError::CodeExpired),
        }
    }
}

/// A code and where it stands now, without using it; `None` when the tenant has no
/// such code.
pub async fn check_code(deps: &Deps, caller: &Caller, code: &Code) -> Result<Option<(Coupon, CodeState)>, ApiError> {
    let now = deps.now();
    Ok(deps.store.get_code(&caller.tenant, code).await?.map(|c| {
        let state = CodeState::of(&c, now);
        (c, state)
    }))
}

/// Validates a code and marks it used, in one conditional write. A sandbox caller gets
/// the same checks (not found, used, expired) and the code stays active.
///
/// With an idempotency claim it takes two round trips: the code is read (the
/// transaction that consumes it and stores the response returns no item), then consumed
/// under the same condition.
pub async fn redeem_code(
    deps: &Deps,
    caller: &Caller,
    code: &Code,
    idem: Option<&Replayable<'_, Coupon>>,
) -> Result<Coupon, ApiError> {
    crate::test_values::coupon(caller, code)?;
    let now = deps.now();
    if caller.sandbox() || idem.is_some() {
        let coupon = deps.store.get_code(&caller.tenant, code).await?.ok_or(ApiError::NotFound("Coupon"))?;
        if let Some(refusal) = CodeState::of(&coupon, now).refusal() {
            return Err(refusal);
        }
        let Some(idem) = idem.filter(|_| !caller.sandbox()) else {
            return Ok(coupon);
        };
        let mut used = coupon;
        used.status = CodeStatus::Used;
        used.used_at = Some(now);
        return match deps
            .store
            .consume_code_completing(&caller.tenant, &used, &idem.completion(&used), &caller.key_id)
            .await
        {
            Ok(()) => Ok(used),
            Err(e) => Err(consume_error(e)),
        };
    }
    match deps.store.consume_code(&caller.tenant, code, now, &caller.key_id).await {
        Ok(coupon) => {
            tracing::info!(coupon_id = %coupon.coupon_id, "code used");
            Ok(coupon)
        }
        Err(e) => Err(consume_error(e)),
    }
}

pub(crate) fn consume_error(e: ConsumeError) -> ApiError {
    match e {
        ConsumeError::NotFound => ApiError::NotFound("Coupon"),
        ConsumeError::Used => ApiError::CodeUsed,
        ConsumeError::Expired => ApiError::CodeExpired,
        ConsumeError::ClaimLost => super::members::claim_lost(),
        ConsumeError::Store(e) => e.into(),
    }
}

/// How long after its use a coupon may be reinstated.
pub const REINSTATE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Makes a used coupon usable again (a voided sale), if the caller's key used it less
/// than [`REINSTATE_WINDOW`] ago: not found (404), not used (400), used by another key
/// (403), used too long ago (400). A sandbox caller gets the same checks but the key's
/// (it never uses a coupon) and nothing changes. Returns the coupon as it now reads.
///
/// With an idempotency claim the claim is completed in the reinstatement's own
/// transaction: a retry whose first answer was lost replays that answer rather than
/// meet the coupon already active ("not used").
pub async fn reinstate_code(
    deps: &Deps,
    caller: &Caller,
    code: &Code,
    idem: Option<&Replayable<'_, Coupon>>,
) -> Result<Coupon, ApiError> {
    let now = deps.now();
    let (coupon, used) = deps.store.get_code_use(&caller.tenant, code).await?.ok_or(ApiError::NotFound("Coupon"))?;
    if coupon.status != CodeStatus::Used {
        return Err(ApiError::CodeNotUsed);
    }
    // A sandbox key never uses a coupon: it is answered as the key that used it would be.
    if !caller.sandbox() && used.key_id.as_deref() != Some(caller.key_id.as_str()) {
        return Err(ApiError::CodeUsedByOtherKey);
    }
    if coupon.used_at.is_none_or(|at| now - at > REINSTATE_WINDOW) {
        return Err(ApiError::CodeReinstateTooLate);
    }
    let mut active = coupon;
    active.status = CodeStatus::Active;
    active.used_at = None;
    if caller.sandbox() {
        return Ok(active);
    }
    let token = used.token.unwrap_or_default();
    let written = match idem {
        Some(idem) => {
            deps.store.reinstate_code_completing(&caller.tenant, &active, &token, &idem.completion(&active)).await
        }
        None => deps.store.reinstate_code(&caller.tenant, &active, &token).await,
    };
    match written {
        Ok(()) => {
            tracing::info!(coupon_id = %active.coupon_id, "code reinstated");
            Ok(active)
        }
        // Reinstated (or used again and so by another write) since it was read.
        Err(ReinstateError::Changed) => Err(ApiError::CodeNotUsed),
        Err(ReinstateError::ClaimLost) => Err(super::members::claim_lost()),
        Err(ReinstateError::Store(e)) => Err(e.into()),
    }
}
