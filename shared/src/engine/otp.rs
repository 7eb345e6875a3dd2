//! One-time codes that prove the member is at the till before points are spent.
//!
//! Six digits, valid 5 minutes, single use, at most 5 wrong guesses, at most 3 codes
//! per mobile per 10 minutes. Only a SHA-256 of the code (salted with tenant and
//! mobile) is stored. Sandbox keys send nothing, and their code is always `000000`. On
//! the sandbox stage a setting (`LOYALTY_FIXED_OTP`) may fix live keys' codes too, so
//! points redemption can be tested end to end there.
//! The tenant's SMS quotas and each mobile's daily cap on wrong guesses: `otp_quota`.

use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{Mobile, TenantSlug};
use crate::error::ApiError;
use crate::program::Program;
use crate::store::{OtpRecord, OtpUse};

pub const CODE_VALIDITY_MS: i64 = 5 * 60 * 1000;
pub const MAX_ATTEMPTS: u32 = 5;
pub const WINDOW_MS: i64 = 10 * 60 * 1000;
pub const MAX_PER_WINDOW: u32 = 3;
pub const SANDBOX_CODE: &str = "000000";

pub struct OtpSent {
    pub expires_in_secs: i64,
}

fn hash_code(tenant: &TenantSlug, mobile: &Mobile, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{tenant}|{mobile}|{code}").as_bytes()))
}

/// Sends a code to an enrolled member's mobile.
pub async fn send_otp(deps: &Deps, caller: &Caller, mobile: &Mobile, program: &Program) -> Result<OtpSent, ApiError> {
    let expires_in_secs = CODE_VALIDITY_MS / 1000;
    crate::test_values::otp_mobile(caller, mobile)?;
    if crate::test_values::unknown_member(caller, &super::MemberRef::Mobile(mobile.clone())) {
        return Err(ApiError::NotFound("Customer"));
    }
    if super::members::member_id(deps, &caller.tenant, &super::MemberRef::Mobile(mobile.clone())).await?.is_none() {
        return Err(ApiError::NotFound("Customer"));
    }
    if caller.sandbox() {
        return Ok(OtpSent { expires_in_secs });
    }
    let now_ms = deps.now().timestamp_millis();
    let previous = deps.store.get_otp(&caller.tenant, mobile).await?;
    let (window_start_ms, window_count) = match &previous {
        Some(p) if now_ms < p.window_start_ms + WINDOW_MS => {
            if p.window_count >= MAX_PER_WINDOW {
                let wait_ms = p.window_start_ms + WINDOW_MS - now_ms;
                return Err(ApiError::TooManyRequests { retry_after_secs: (wait_ms as u64).div_ceil(1000) });
            }
            (p.window_start_ms, p.window_count + 1)
        }
        _ => (now_ms, 1),
    };
    super::otp_quota::take_sms_quota(deps, caller, program, deps.now()).await?;
    // The sandbox stage may fix live keys' codes (never the live stage: `Deps::from_env`).
    let code = deps.fixed_otp.clone().unwrap_or_else(|| format!("{:06}", rand::random_range(0..1_000_000u32)));
    let record = OtpRecord {
        code_hash: hash_code(&caller.tenant, mobile, &code),
        issued_at_ms: now_ms,
        expires_at_ms: now_ms + CODE_VALIDITY_MS,
        attempts_left: MAX_ATTEMPTS,
        used: false,
        window_start_ms,
        window_count,
    };
    if !deps.store.put_otp(&caller.tenant, mobile, &record, previous.as_ref().map(|p| p.issued_at_ms)).await? {
        // Another code was issued for this mobile at the same moment.
        return Err(ApiError::TooManyRequests { retry_after_secs: 1 });
    }
    let message = format!("{code} is your {} code to redeem points. It expires in 5 minutes.", program.name);
    deps.sms.send(mobile, &message, &code).await.map_err(|cause| {
        tracing::error!(%cause, "sms not sent");
        ApiError::Unavailable
    })?;
    tracing::info!(to = %crate::sms::mask(mobile), "otp sent");
    Ok(OtpSent { expires_in_secs })
}

/// Checks a code without using it; the caller's transaction uses it (`OtpUse`), so a
/// code is consumed only together with the points it unlocks. Every check takes one of
/// the code's five attempts first (right or wrong), atomically, so guesses sent in
/// parallel get no more tries than guesses sent one by one.
pub async fn check_otp(deps: &Deps, caller: &Caller, mobile: &Mobile, code: &str) -> Result<Option<OtpUse>, ApiError> {
    if caller.sandbox() {
        return if code == SANDBOX_CODE { Ok(None) } else { Err(ApiError::Otp("Invalid OTP".into())) };
    }
    let program = crate::auth::program(deps, &caller.tenant).await?;
    super::otp_quota::refuse_if_guessed_out(deps, caller, &program, mobile, deps.now()).await?;
    let now_ms = deps.now().timestamp_millis();
    let record = deps
        .store
        .get_otp(&caller.tenant, mobile)
        .await?
        .filter(|r| !r.used)
        .ok_or_else(|| ApiError::Otp("No OTP pending for this mobile; request a new one".into()))?;
    if now_ms >= record.expires_at_ms {
        return Err(ApiError::Otp("OTP expired; request a new one".into()));
    }
    if !deps.store.take_otp_attempt(&caller.tenant, mobile, record.issued_at_ms).await? {
        return Err(ApiError::Otp("No attempts left on this OTP; request a new one".into()));
    }
    let hash = hash_code(&caller.tenant, mobile, code);
    if hash != record.code_hash {
        super::otp_quota::count_wrong_guess(deps, caller, mobile, deps.now()).await?;
        return Err(ApiError::Otp("Invalid OTP".into()));
    }
    Ok(Some(OtpUse { mobile: mobile.clone(), code_hash: hash, now_ms }))
}
