//! The daily report: a tenant's figures per day over a range of the program's days (at
//! most [`REPORT_MAX_DAYS`]), the outstanding points and their value at the end of each,
//! and the members enrolled. Everyone of the tenant may read it. The sums are
//! [`crate::figures::report`]'s, the same as `loyalty-admin report`'s.

use chrono::{Days, NaiveDate};

use crate::actor::{Actor, Permission};
use crate::error::ApiError;
use crate::figures::{report, Report, ReportError, REPORT_MAX_DAYS};
use crate::model::local_date;
use crate::Deps;

/// The days a report covers when the request names no `from`: these, up to `to`.
pub const REPORT_DEFAULT_DAYS: u64 = 30;

/// The report of the actor's tenant from `from` to `to` (both included). `to` left out:
/// the program's today; `from` left out: [`REPORT_DEFAULT_DAYS`] days up to `to`.
pub async fn daily_report(
    deps: &Deps,
    actor: &Actor,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Report, ApiError> {
    actor.require(Permission::Read)?;
    let to = match to {
        Some(to) => to,
        None => {
            let now = deps.now();
            let versions = crate::auth::program_versions(deps, &actor.tenant).await?;
            local_date(now, versions.at(now).utc_offset_minutes)
        }
    };
    let from = match from {
        Some(from) => from,
        None => to.checked_sub_days(Days::new(REPORT_DEFAULT_DAYS - 1)).unwrap_or(to),
    };
    if from > to {
        return Err(ApiError::invalid("from", "must be on or before to"));
    }
    if (to - from).num_days() >= REPORT_MAX_DAYS {
        return Err(ApiError::invalid(
            "to",
            format!("must be at most {REPORT_MAX_DAYS} days from from (both included)"),
        ));
    }
    report(deps, &actor.tenant, from, to).await.map_err(|e| match e {
        ReportError::Invalid(message) => ApiError::invalid("from", message),
        ReportError::Store(e) => e.into(),
    })
}
