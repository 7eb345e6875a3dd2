//! Sandbox test values, Stripe-style: inputs that make a sandbox key (`mg_test_...`)
//! answer one documented error on purpose, so an integrator can see every error path of
//! a till or an app without arranging it on the data. Live keys never react to them: for
//! a live key they are ordinary values (docs/integrators.md lists them).

use crate::auth::Caller;
use crate::domain::{Code, Mobile, Money};
use crate::engine::MemberRef;
use crate::error::ApiError;

/// A mobile no sandbox lookup finds: `/pos/customer` answers `found: false` (with
/// `create=true` too), every other route `404 Customer not found`.
pub const UNKNOWN_MOBILE: &str = "9000000404";
/// The Public dialect's member that is never found.
pub const UNKNOWN_EMAIL: &str = "unknown@example.com";
/// A mobile whose `/pos/otp` is always `429` (retry in 60 s).
pub const RATE_LIMITED_MOBILE: &str = "9000000429";
/// A coupon that is always expired.
pub const EXPIRED_COUPON: &str = "TEST-EXPIRED";
/// A coupon that is always used.
pub const USED_COUPON: &str = "TEST-USED";
/// A one-time code that is always wrong (every sandbox code but `000000` is).
pub const WRONG_OTP: &str = "111111";
/// A bill, earning or refund amount that answers `503` (retry the request).
pub const UNAVAILABLE_AMOUNT: &str = "503.01";
/// A bill, earning or refund amount that answers `503` with `"outcome": "unknown"`.
pub const OUTCOME_UNKNOWN_AMOUNT: &str = "503.02";
/// A bill, earning or refund amount that answers `500`.
pub const SERVER_ERROR_AMOUNT: &str = "500.01";

fn sandbox(caller: &Caller) -> bool {
    caller.sandbox()
}

/// Whether a sandbox caller's member is the one that is never found.
pub fn unknown_member(caller: &Caller, member: &MemberRef) -> bool {
    sandbox(caller)
        && match member {
            MemberRef::Mobile(m) => m.as_str() == UNKNOWN_MOBILE,
            MemberRef::Email(e) => e.as_str() == UNKNOWN_EMAIL,
            MemberRef::Id(_) => false,
        }
}

/// The error a sandbox caller's `/pos/otp` for this mobile answers, if any.
pub fn otp_mobile(caller: &Caller, mobile: &Mobile) -> Result<(), ApiError> {
    if sandbox(caller) && mobile.as_str() == RATE_LIMITED_MOBILE {
        return Err(ApiError::TooManyRequests { retry_after_secs: 60 });
    }
    Ok(())
}

/// The error a sandbox caller's use of this coupon answers, if any.
pub fn coupon(caller: &Caller, code: &Code) -> Result<(), ApiError> {
    if !sandbox(caller) {
        return Ok(());
    }
    match code.as_str() {
        EXPIRED_COUPON => Err(ApiError::CodeExpired),
        USED_COUPON => Err(ApiError::CodeUsed),
        _ => Ok(()),
    }
}

/// The error a sandbox caller's amount answers, if any.
pub fn amount(caller: &Caller, amount: Money) -> Result<(), ApiError> {
    if !sandbox(caller) {
        return Ok(());
    }
    let is = |text: &str| Money::parse(text).is_ok_and(|m| m == amount);
    if is(UNAVAILABLE_AMOUNT) {
        Err(ApiError::Unavailable)
    } else if is(OUTCOME_UNKNOWN_AMOUNT) {
        Err(ApiError::OutcomeUnknown)
    } else if is(SERVER_ERROR_AMOUNT) {
        Err(ApiError::Internal)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_value_parses_as_the_input_it_is() {
        for m in [UNKNOWN_MOBILE, RATE_LIMITED_MOBILE] {
            assert_eq!(Mobile::parse(m).ok().map(|m| m.as_str().to_owned()), Some(m.to_owned()));
        }
        for c in [EXPIRED_COUPON, USED_COUPON] {
            assert_eq!(Code::parse(c).ok().map(|c| c.as_str().to_owned()), Some(c.to_owned()));
        }
        for a in [UNAVAILABLE_AMOUNT, OUTCOME_UNKNOWN_AMOUNT, SERVER_ERROR_AMOUNT] {
            assert!(Money::parse(a).is_ok(), "{a}");
        }
        assert!(crate::domain::Email::parse(UNKNOWN_EMAIL).is_ok());
    }
}
