//! Using a coupon or voucher at the till.

use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::Code;
use crate::error::ApiError;
use crate::model::{CodeStatus, Coupon};
use crate::store::ConsumeError;

/// Validates a code and marks it used, in one conditional write. A sandbox caller gets
/// the same checks (not found, used, expired) and the code stays active.
pub async fn redeem_code(deps: &Deps, caller: &Caller, code: &Code) -> Result<Coupon, ApiError> {
    let now = deps.now();
    if caller.sandbox() {
        let coupon = deps
            .store
            .get_code(&caller.tenant, code)
            .await?
            .ok_or(ApiError::NotFound("Coupon"))?;
        return if coupon.status == CodeStatus::Used {
            Err(ApiError::CodeUsed)
        } else if coupon.is_expired(now) {
            Err(ApiError::CodeExpired)
        } else {
            Ok(coupon)
        };
    }
    match deps.store.consume_code(&caller.tenant, code, now).await {
        Ok(coupon) => {
            tracing::info!(coupon_id = %coupon.coupon_id, "code used");
            Ok(coupon)
        }
        Err(ConsumeError::NotFound) => Err(ApiError::NotFound("Coupon")),
        Err(ConsumeError::Used) => Err(ApiError::CodeUsed),
        Err(ConsumeError::Expired) => Err(ApiError::CodeExpired),
        Err(ConsumeError::Store(e)) => Err(e.into()),
    }
}
