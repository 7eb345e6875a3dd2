//! The daily expiry job: expires the points due now of every member who made no change
//! (`loyalty::engine::expire_due`), then reviews the tiers due
//! (`loyalty::engine::review_tiers`), within a time budget below the function's timeout.
//! What the budget leaves is still in the expiry index: the next day's run (or a run
//! started by hand) takes it, and nothing expires twice.

use std::time::{Duration, Instant};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use loyalty::engine::{expire_due, review_tiers, AsOf, ExpiryRun, JobLimits, TierRun};
use loyalty::{ApiError, Deps};
use serde::Serialize;

/// Time kept back from the invocation's deadline: a page already started finishes, and
/// the summary is logged, before Lambda stops the function.
pub const MARGIN: Duration = Duration::from_secs(60);

/// The budget of a run that must end by `deadline_ms` (epoch milliseconds, the Lambda
/// context's) when it is `now_ms`: the time left less [`MARGIN`], at least one second.
pub fn budget(deadline_ms: u64, now_ms: u64) -> Duration {
    Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(MARGIN).max(Duration::from_secs(1))
}

/// What one daily run did: the expiry run's counts, and the tier review's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyRun {
    #[serde(flatten)]
    pub expiry: ExpiryRun,
    pub tiers: TierRun,
}

/// One scheduled run: every tenant's due members as of now, then the tier reviews due
/// (within what the budget leaves).
pub async fn handle(deps: &Deps, event: &EventBridgeEvent, budget: Duration) -> Result<DailyRun, ApiError> {
    tracing::info!(schedule = ?event.resources, "expiry run starting");
    let started = Instant::now();
    let now = deps.now();
    let limits = JobLimits { budget, ..JobLimits::default() };
    let expiry = expire_due(deps, AsOf::At(now), None, limits).await?;
    let left = budget.saturating_sub(started.elapsed()).max(Duration::from_secs(1));
    let tiers = review_tiers(deps, AsOf::At(now), None, JobLimits { budget: left, ..limits }).await?;
    Ok(DailyRun { expiry, tiers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stops_short_of_the_deadline() {
        assert_eq!(budget(900_000, 0), Duration::from_secs(840));
        assert_eq!(budget(30_000, 0), Duration::from_secs(1));
        assert_eq!(budget(0, 5), Duration::from_secs(1));
    }
}
