//! Limits on one-time codes that only the engine can keep (the edge limits requests per
//! key and per address, but cannot see tenants, mobiles or guesses):
//! - SMS per tenant per UTC hour and per UTC day (`Program::otp_sms_per_hour`,
//!   `otp_sms_per_day`): a leaked key cannot pump SMS beyond them. Beyond either, `429`
//!   with `Retry-After` until the window ends. A code is counted in both windows and
//!   written in one transaction with them, so a refused code counts nowhere.
//! - Wrong guesses per mobile per UTC day across its codes
//!   (`Program::otp_wrong_guesses_per_day`): once reached, a check is refused with `429`
//!   and `Retry-After` until the next UTC day, without reading or comparing the code.
//!   Guesses sent in parallel at the cap can each pass the read; every one still takes
//!   an attempt of its code (5 at most), so the overshoot is bounded by one code's.
//!
//! Sandbox keys send nothing and guess nothing real, so they count nothing.

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};

use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::Mobile;
use crate::error::ApiError;
use crate::program::Program;
use crate::store::{OtpIssue, OtpRecord, SmsQuota, SmsWindow};

/// How long a counter is kept after its window ends (for an operator to look at).
const KEEP_AFTER_WINDOW_SECS: i64 = 86_400;

fn start_of_hour(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::seconds(i64::from(now.minute() * 60 + now.second()))
        - Duration::nanoseconds(i64::from(now.nanosecond()))
}

fn next_day(day: NaiveDate) -> DateTime<Utc> {
    day.succ_opt().unwrap_or(day).and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Whole seconds from `now` until `end`, at least 1.
fn seconds_until(now: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
    let ms = (end - now).num_milliseconds().max(1);
    (ms as u64).div_ceil(1000)
}

/// How many times a code's transaction is sent again after a conflict with another
/// code of the tenant counted at the same moment, before answering 429.
const ISSUE_TRIES: u32 = 5;

/// Issues `record` for `mobile` (replacing the code issued at `previous`) and counts its
/// SMS against the tenant's hourly and daily limits, all in one transaction, or refuses
/// it with nothing written.
pub(super) async fn issue_counted(
    deps: &Deps,
    caller: &Caller,
    mobile: &Mobile,
    program: &Program,
    record: &OtpRecord,
    previous: Option<i64>,
) -> Result<(), ApiError> {
    let now = deps.now();
    let hour_end = start_of_hour(now) + Duration::hours(1);
    let day_end = next_day(now.date_naive());
    let quotas = [
        SmsQuota {
            window: SmsWindow::Hour(start_of_hour(now)),
            limit: program.otp_sms_per_hour,
            expires_at_epoch: hour_end.timestamp() + KEEP_AFTER_WINDOW_SECS,
        },
        SmsQuota {
            window: SmsWindow::Day(now.date_naive()),
            limit: program.otp_sms_per_day,
            expires_at_epoch: day_end.timestamp() + KEEP_AFTER_WINDOW_SECS,
        },
    ];
    let ends = [hour_end, day_end];
    for _ in 0..ISSUE_TRIES {
        match Box::pin(deps.store.issue_otp(&caller.tenant, mobile, record, previous, &quotas)).await? {
            OtpIssue::Issued => return Ok(()),
            OtpIssue::QuotaReached(i) => {
                let (quota, end) = (&quotas[i.min(1)], ends[i.min(1)]);
                tracing::warn!(tenant = %caller.tenant, window = ?quota.window, limit = quota.limit, "sms quota reached");
                return Err(ApiError::TooManyRequests { retry_after_secs: seconds_until(now, end) });
            }
            // Another code was issued for this mobile at the same moment.
            OtpIssue::Raced => return Err(ApiError::TooManyRequests { retry_after_secs: 1 }),
            OtpIssue::Conflict => {
                tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(5..40))).await;
            }
        }
    }
    Err(ApiError::TooManyRequests { retry_after_secs: 1 })
}

/// Refuses a check when the mobile has used up today's wrong guesses (`misses`, read
/// with the code).
pub(super) fn refuse_if_guessed_out(program: &Program, misses: u32, now: DateTime<Utc>) -> Result<(), ApiError> {
    if misses >= program.otp_wrong_guesses_per_day {
        return Err(ApiError::TooManyRequests { retry_after_secs: seconds_until(now, next_day(now.date_naive())) });
    }
    Ok(())
}

/// Counts one wrong guess for the mobile today.
pub(super) async fn count_wrong_guess(
    deps: &Deps,
    caller: &Caller,
    mobile: &Mobile,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let day = now.date_naive();
    let keep_until = next_day(day).timestamp() + KEEP_AFTER_WINDOW_SECS;
    Ok(deps.store.count_otp_miss(&caller.tenant, mobile, day, keep_until).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_on_the_hour_and_at_utc_midnight() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T09:59:30.250Z").unwrap().with_timezone(&Utc);
        assert_eq!(start_of_hour(now).to_rfc3339(), "2026-11-30T09:00:00+00:00");
        assert_eq!(seconds_until(now, start_of_hour(now) + Duration::hours(1)), 30);
        assert_eq!(next_day(now.date_naive()).to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(seconds_until(now, now), 1);
    }
}
