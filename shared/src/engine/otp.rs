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
    // The member's lookup and the mobile's code record need nothing of each other: one
    // round trip. The SMS counts and the new code are one transaction: the second.
    let member = super::MemberRef::Mobile(mobile.clone());
    let (member, previous) = Box::pin(async {
        tokio::try_join!(super::members::member_id(deps, &caller.tenant, &member), async {
            match caller.sandbox() {
                true => Ok(None),
                false => Ok::<_, ApiError>(deps.store.get_otp(&caller.tenant, mobile).await?),
            }
        })
    })
    .await?;
    if member.is_none() {
        return Err(ApiError::NotFound("Customer"));
    }
    if caller.sandbox() {
        return Ok(OtpSent { expires_in_secs });
    }
    let now_ms = deps.now().timestamp_millis();
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
    super::otp_quota::issue_counted(deps, caller, mobile, program, &record, previous.as_ref().map(|p| p.issued_at_ms))
        .await?;
    let message = format!("{code} is your {} code to redeem points. It expires in 5 minutes.", program.name);
    deps.sms.send(mobile, &message, &code).await.map_err(|cause| {
        tracing::error!(%cause, "sms not sent");
        ApiError::Unavailable
    })?;
    tracing::info!(to = %crate::sms::mask(mobile), "otp sent");
    Ok(OtpSent { expires_in_secs })
}

/// What checking a code reads: the mobile's wrong guesses today and its code record.
/// Neither read needs the other, nor the member, so a bill reads them with its first
/// reads ([`read_otp`]).
pub struct OtpReads {
    misses: u32,
    record: Option<OtpRecord>,
}

/// Reads what [`check_otp`] needs, both at once. A sandbox caller reads nothing.
pub async fn read_otp(deps: &Deps, caller: &Caller, mobile: &Mobile) -> Result<OtpReads, ApiError> {
    if caller.sandbox() {
        return Ok(OtpReads { misses: 0, record: None });
    }
    let (misses, record) = Box::pin(async {
        tokio::try_join!(
            deps.store.otp_misses(&caller.tenant, mobile, deps.now().date_naive()),
            deps.store.get_otp(&caller.tenant, mobile)
        )
    })
    .await?;
    Ok(OtpReads { misses, record })
}

/// Checks a code without using it; the caller's transaction uses it (`OtpUse`), so a
/// code is consumed only together with the points it unlocks. Every guess takes one of
/// the code's five attempts, atomically and conditionally on one being left, before it
/// is answered: a wrong guess by an UpdateItem before it is told so, the right one in
/// the transaction that spends the points (which refuses it when none is left). So
/// guesses sent in parallel get no more tries than guesses sent one by one, and the
/// right code costs no round trip of its own.
pub async fn check_otp(
    deps: &Deps,
    caller: &Caller,
    mobile: &Mobile,
    code: &str,
    reads: OtpReads,
) -> Result<Option<OtpUse>, ApiError> {
    if caller.sandbox() {
        return if code == SANDBOX_CODE { Ok(None) } else { Err(ApiError::Otp("Invalid OTP".into())) };
    }
    let program = crate::auth::program(deps, &caller.tenant).await?;
    super::otp_quota::refuse_if_guessed_out(&program, reads.misses, deps.now())?;
    let now_ms = deps.now().timestamp_millis();
    let record = reads
        .record
        .filter(|r| !r.used)
        .ok_or_else(|| ApiError::Otp("No OTP pending for this mobile; request a new one".into()))?;
    if now_ms >= record.expires_at_ms {
        return Err(ApiError::Otp("OTP expired; request a new one".into()));
    }
    let no_attempts = || ApiError::Otp("No attempts left on this OTP; request a new one".into());
    if record.attempts_left == 0 {
        return Err(no_attempts());
    }
    let hash = hash_code(&caller.tenant, mobile, code);
    if hash != record.code_hash {
        if !deps.store.take_otp_attempt(&caller.tenant, mobile, record.issued_at_ms).await? {
            return Err(no_attempts());
        }
        super::otp_quota::count_wrong_guess(deps, caller, mobile, deps.now()).await?;
        return Err(ApiError::Otp("Invalid OTP".into()));
    }
    Ok(Some(OtpUse { mobile: mobile.clone(), code_hash: hash, issued_at_ms: record.issued_at_ms, now_ms }))
}
