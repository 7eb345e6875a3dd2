//! The expiry job: writes the `expire` entries of members who make no change, found
//! through the expiry index (`GSI3`, keys only: `EXPIRY#{due month}#{shard}`), never a scan.
//!
//! Each member found goes through the same settle as every balance change
//! ([`super::expiry::settle`] inside [`commit`]): read, take away what is due, write
//! under the member's version. A lost race is read again; a member who changed
//! meanwhile has nothing due and nothing is written. A settled member leaves the index
//! in that same write, so a second run (or a run that was cut short and starts again)
//! finds only who is still due: nothing expires twice.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::commit::{change, commit, mutation_error, Attempt};
use super::expiry::settle;
use crate::deps::Deps;
use crate::domain::{CustomerId, TenantSlug};
use crate::error::ApiError;
use crate::expiry::{ExpiryClock, Month};
use crate::model::end_of_local_day;
use crate::program::ProgramVersions;
use crate::store::{CustomerWrite, IndexCursor, EXPIRY_SHARDS};

/// How many months before the current one the job looks for members still due: a
/// member due longer ago than that (the job did not run for two years) expires at their
/// next change, as every member does.
pub const LOOKBACK_MONTHS: u32 = 24;

/// The instant a run expires as of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// This instant, in every program's zone (the scheduled job: now).
    At(DateTime<Utc>),
    /// The last millisecond of this date in each program's own zone (the operator's
    /// `--as-of YYYY-MM-DD`).
    EndOfDay(NaiveDate),
}

impl AsOf {
    /// The instant for a program: its zone is that of the version in force then.
    pub(crate) fn instant(self, versions: &ProgramVersions) -> DateTime<Utc> {
        match self {
            AsOf::At(at) => at,
            AsOf::EndOfDay(day) => {
                let guess = end_of_local_day(day, 0);
                let zone = versions.at(guess).utc_offset_minutes;
                end_of_local_day(day, zone) - chrono::Duration::milliseconds(1)
            }
        }
    }

    /// The latest due month any program can have reached (zones run up to 14 hours
    /// ahead of UTC).
    pub(crate) fn last_month(self) -> Month {
        match self {
            AsOf::At(at) => Month::of(at, 14 * 60),
            AsOf::EndOfDay(day) => Month::of_date(day),
        }
    }
}

/// How much one run may do.
#[derive(Debug, Clone, Copy)]
pub struct JobLimits {
    /// No index page is started after this much time: the rest is the next run's.
    pub budget: Duration,
    /// Members per index page.
    pub page: i32,
    /// Members settled at the same time.
    pub concurrency: usize,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits { budget: Duration::from_secs(600), page: 100, concurrency: 16 }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryRun {
    /// Members whose points expired (one `expire` entry each).
    pub members: u64,
    /// Points expired.
    pub points: i64,
    /// Members the index listed (those with nothing due wrote nothing).
    pub checked: u64,
    /// Members whose settle failed (store down, contended, no program): still in the
    /// index, so the next run takes them.
    pub failed: u64,
    /// The budget ran out before every due member was visited: run again.
    pub more: bool,
}

/// Expires every member's due points as of `as_of`, of one tenant or of all, within
/// `limits`. Re-running is always safe.
pub async fn expire_due(
    deps: &Deps,
    as_of: AsOf,
    tenant: Option<&TenantSlug>,
    limits: JobLimits,
) -> Result<ExpiryRun, ApiError> {
    let deadline = Instant::now() + limits.budget;
    let last = as_of.last_month();
    let lanes = limits.concurrency.clamp(1, EXPIRY_SHARDS as usize);
    let per_lane = (limits.concurrency / lanes).max(1);
    let mut run = ExpiryRun::default();
    let mut month = last.minus(LOOKBACK_MONTHS);
    while month <= last {
        let shards = stream::iter(0..EXPIRY_SHARDS)
            .map(|shard| walk(deps, as_of, tenant, month, shard, limits.page, per_lane, deadline))
            .buffer_unordered(lanes)
            .collect::<Vec<_>>()
            .await;
        for shard in shards {
            let shard = shard?;
            run.members += shard.members;
            run.points += shard.points;
            run.checked += shard.checked;
            run.failed += shard.failed;
            run.more |= shard.more;
        }
        month = month.plus(1);
    }
    tracing::info!(
        members = run.members,
        points = run.points,
        checked = run.checked,
        failed = run.failed,
        more = run.more,
        "expiry run"
    );
    Ok(run)
}

/// One shard of one due month, page by page.
#[allow(clippy::too_many_arguments)]
async fn walk(
    deps: &Deps,
    as_of: AsOf,
    tenant: Option<&TenantSlug>,
    due: Month,
    shard: u32,
    page: i32,
    concurrency: usize,
    deadline: Instant,
) -> Result<ExpiryRun, ApiError> {
    let mut run = ExpiryRun::default();
    let mut cursor: Option<IndexCursor> = None;
    loop {
        if Instant::now() >= deadline {
            run.more = true;
            return Ok(run);
        }
        let found = deps.store.due_members(due, shard, tenant, page, cursor.take()).await?;
        run.checked += found.members.len() as u64;
        let settled = stream::iter(found.members)
            .map(|(t, id)| async move { (settle_member(deps, as_of, &t, id, due).await, t, id) })
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await;
        for (result, t, id) in settled {
            match result {
                Ok(0) => {}
                Ok(points) => {
                    run.members += 1;
                    run.points += points;
                }
                Err(error) => {
                    run.failed += 1;
                    tracing::warn!(tenant = %t, customer_id = %id, %error, "expiry of a member failed");
                }
            }
        }
        match found.next {
            Some(next) => cursor = Some(next),
            None => return Ok(run),
        }
    }
}

/// Expires what is due for one member; the points expired (0: nothing was due, nothing
/// written).
async fn settle_member(
    deps: &Deps,
    as_of: AsOf,
    tenant: &TenantSlug,
    id: CustomerId,
    due: Month,
) -> Result<i64, ApiError> {
    let versions = crate::auth::program_versions(deps, tenant).await?;
    let at = as_of.instant(&versions);
    let program = versions.at(at).clone();
    // Not yet due in this program's zone (a zone behind the month's turn): no read.
    if Month::of(at, program.utc_offset_minutes) < due {
        return Ok(0);
    }
    let program = &program;
    let attempt = move || async move {
        let Some(before) = deps.store.get_customer(tenant, &id).await? else {
            return Ok(Attempt::Answer(0));
        };
        let clock = ExpiryClock::new(program, at);
        let mut after = before.clone();
        let entries: Vec<_> = settle(&clock, &mut after, at).into_iter().collect();
        let points = entries.iter().map(|e| -e.points).sum();
        // Nothing due: nothing written, unless the program no longer lets points expire
        // (its buckets and index entry go, with no entry, so the job stops finding them).
        let switched_off = !before.points_expiry.is_empty() && after.points_expiry.is_empty();
        if entries.is_empty() && !switched_off {
            return Ok(Attempt::Answer(0));
        }
        after.version += 1;
        let mutation = crate::store::Mutation {
            entries,
            ..change(CustomerWrite::Update { expected_version: before.version, after })
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now: at, result: points })
    };
    let refused = |err, _| async move { Err(mutation_error(err)) };
    commit(deps, tenant, attempt, refused).await
}
