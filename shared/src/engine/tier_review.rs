//! The tier review: moves members of period programs down when they no longer qualify
//! (after the program's grace), found through the review index (GSI1
//! `TIERREVIEW#{review month}#{shard}` on one small review item per member above the
//! lowest tier), never a scan. Run by the daily job after the expiry run.
//!
//! Each member found is reviewed through the same write loop as every change: read,
//! review ([`crate::tiers::TierClock::review`]), write under the member's version with a
//! `tier` entry when the tier moved. The review moves the member's review item to next
//! month (or deletes it at the lowest tier) in that same write, so a second run, or a
//! run cut short and started again, finds only who is still due: no member is reviewed
//! twice in a month.

use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::commit::{change, commit, mutation_error, Attempt};
use super::expire::{AsOf, JobLimits, LOOKBACK_MONTHS};
use super::expiry::settle;
use crate::deps::Deps;
use crate::domain::{CustomerId, TenantSlug};
use crate::error::ApiError;
use crate::expiry::{ExpiryClock, Month};
use crate::store::{CustomerWrite, IndexCursor, EXPIRY_SHARDS};
use crate::tiers::TierClock;

/// What a review run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TierRun {
    /// Members reviewed (their review moved on, with or without a change of tier).
    pub reviewed: u64,
    /// Members whose tier changed (moved down; one `tier` entry each).
    pub changed: u64,
    /// Members the index listed.
    pub checked: u64,
    /// Members whose review failed: still in the index, so the next run takes them.
    pub failed: u64,
    /// The budget ran out before every due member was visited: run again.
    pub more: bool,
}

/// What reviewing one member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reviewed {
    /// Not due (yet) or gone: nothing written.
    Nothing,
    Kept,
    Changed,
}

/// Reviews every member whose review month has come as of `as_of`, of one tenant or of
/// all, within `limits`. Re-running is always safe.
pub async fn review_tiers(
    deps: &Deps,
    as_of: AsOf,
    tenant: Option<&TenantSlug>,
    limits: JobLimits,
) -> Result<TierRun, ApiError> {
    let deadline = Instant::now() + limits.budget;
    let last = as_of.last_month();
    let mut run = TierRun::default();
    let mut month = last.minus(LOOKBACK_MONTHS);
    while month <= last {
        for shard in 0..EXPIRY_SHARDS {
            let mut cursor: Option<IndexCursor> = None;
            loop {
                if Instant::now() >= deadline {
                    run.more = true;
                    return Ok(run);
                }
                let found = deps.store.review_members(month, shard, tenant, limits.page, cursor.take()).await?;
                run.checked += found.members.len() as u64;
                let done = stream::iter(found.members)
                    .map(|(t, id)| async move { (review_member(deps, as_of, &t, id, month).await, t, id) })
                    .buffer_unordered(limits.concurrency.max(1))
                    .collect::<Vec<_>>()
                    .await;
                for (result, t, id) in done {
                    match result {
                        Ok(Reviewed::Nothing) => {}
                        Ok(Reviewed::Kept) => run.reviewed += 1,
                        Ok(Reviewed::Changed) => {
                            run.reviewed += 1;
                            run.changed += 1;
                        }
                        Err(error) => {
                            run.failed += 1;
                            tracing::warn!(tenant = %t, customer_id = %id, %error, "tier review of a member failed");
                        }
                    }
                }
                match found.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        month = month.plus(1);
    }
    tracing::info!(
        reviewed = run.reviewed,
        changed = run.changed,
        checked = run.checked,
        failed = run.failed,
        more = run.more,
        "tier review run"
    );
    Ok(run)
}

/// Reviews one member listed under `due`.
async fn review_member(
    deps: &Deps,
    as_of: AsOf,
    tenant: &TenantSlug,
    id: CustomerId,
    due: Month,
) -> Result<Reviewed, ApiError> {
    let versions = crate::auth::program_versions(deps, tenant).await?;
    let at = as_of.instant(&versions);
    let program = versions.at(at).clone();
    // Not yet the review month in this program's zone: no read.
    if Month::of(at, program.utc_offset_minutes) < due {
        return Ok(Reviewed::Nothing);
    }
    let program = &program;
    let attempt = move || async move {
        let Some(before) = deps.store.get_customer(tenant, &id).await? else {
            return Ok(Attempt::Answer(Reviewed::Nothing));
        };
        // Reviewed already (a listing that lagged the write): nothing to do.
        let Some(review) = before.tier.as_ref().and_then(|t| t.review) else {
            return Ok(Attempt::Answer(Reviewed::Nothing));
        };
        if Month::of(at, program.utc_offset_minutes) < review {
            return Ok(Attempt::Answer(Reviewed::Nothing));
        }
        let clock = TierClock::new(program, at);
        let mut after = before.clone();
        // Like every write of the member, what is due expires first (and the member's
        // expiry index entry is written as it should be).
        let mut entries: Vec<_> = settle(&ExpiryClock::new(program, at), &mut after, at).into_iter().collect();
        // A program back on lifetime points: the state and the review item go.
        clock.settle(&mut after);
        let moved = clock.review(&mut after);
        after.version += 1;
        entries.extend(moved.iter().map(|m| m.entry(after.id, after.points_balance, at)));
        let result = if moved.is_some() { Reviewed::Changed } else { Reviewed::Kept };
        let mutation = crate::store::Mutation {
            entries,
            ..change(CustomerWrite::Update { expected_version: before.version, after })
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now: at, result })
    };
    let refused = |err, _| async move { Err(mutation_error(err)) };
    commit(deps, tenant, attempt, refused).await
}
