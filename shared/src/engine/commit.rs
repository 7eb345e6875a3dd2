//! The one optimistic write loop every balance change goes through: read, compute, write
//! under the versions that were read, and on a lost race read again.
//!
//! An attempt reads what it needs and answers either without writing (sandbox,
//! preview, a refusal) or with a [`Mutation`] and the result to give once it commits.
//! A write that lost a race ([`retryable`]) is attempted again after a backoff, at most
//! [`MAX_ATTEMPTS`] times; any other refusal goes to the caller's `refused` handler,
//! which may answer (a replay), ask for another attempt, or fail.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::deps::Deps;
use crate::domain::TenantSlug;
use crate::error::ApiError;
use crate::store::{CustomerWrite, EnrolError, Mutation, MutationError};

/// How many times a write that lost a race is re-read and retried before answering 503.
/// Each loss means another write to the same member succeeded, so this bounds the
/// contention one member can see from concurrent tills.
pub const MAX_ATTEMPTS: u32 = 16;

/// What one attempt decided.
pub(crate) enum Attempt<T> {
    /// Answer this; nothing is written (a sandbox caller, a preview).
    Answer(T),
    /// Write `mutation` (the profile stamped `now`) and answer `result` once it commits.
    Write { mutation: Box<Mutation>, now: DateTime<Utc>, result: T },
}

/// What a refused write turns into.
pub(crate) enum Refused<T> {
    /// The answer after all (e.g. the stored outcome of the same sale).
    Answer(T),
    /// Read and attempt again (e.g. a member enrolled concurrently now exists).
    Retry,
}

/// Whether a write failed only because something it read changed meanwhile (the member,
/// the sale, a generated code's text, a transaction conflict): reading again and
/// recomputing is then correct. The one definition every write loop uses.
pub(crate) fn retryable(err: &MutationError) -> bool {
    matches!(err, MutationError::Stale | MutationError::Conflict | MutationError::CodeTaken)
}

/// Runs `attempt` until its write commits, it answers without writing, or `refused`
/// settles a refusal that is not a lost race. Runs out as `ApiError::Contended` (503).
///
/// Both are plain closures returning futures (`move || async move { .. }` over
/// references), not async closures: the futures of async closures that borrow are not
/// yet known to be `Send`, which every handler's future must be.
pub(crate) async fn commit<T, A, AF, R, RF>(
    deps: &Deps,
    tenant: &TenantSlug,
    attempt: A,
    refused: R,
) -> Result<T, ApiError>
where
    A: Fn() -> AF,
    AF: Future<Output = Result<Attempt<T>, ApiError>>,
    R: Fn(MutationError, Box<Mutation>) -> RF,
    RF: Future<Output = Result<Refused<T>, ApiError>>,
{
    for n in 0..MAX_ATTEMPTS {
        let (mut mutation, now, result) = match attempt().await? {
            Attempt::Answer(answer) => return Ok(answer),
            Attempt::Write { mutation, now, result } => (mutation, now, result),
        };
        if mutation.members_tier.is_none() {
            mutation.members_tier = members_tier(deps, tenant, &mutation);
        }
        match deps.store.apply(tenant, &mutation, now).await {
            Ok(()) => return Ok(result),
            Err(err) if retryable(&err) => {}
            Err(err) => match refused(err, mutation).await? {
                Refused::Answer(answer) => return Ok(answer),
                Refused::Retry => {}
            },
        }
        backoff(n).await;
    }
    Err(ApiError::Contended)
}

/// A change to one member and nothing else; the other parts are added with struct
/// update syntax (`Mutation { entries, ..change(customer) }`).
pub(crate) fn change(customer: CustomerWrite) -> Mutation {
    Mutation {
        customer,
        coupon: None,
        entries: vec![],
        sale: None,
        purchase: None,
        otp: None,
        new_codes: vec![],
        completion: None,
        outcome_ref: None,
        admin: None,
        members_tier: None,
    }
}

/// The tier the changed member holds under the program in force, for the members index:
/// from the cached program every attempt has read (no read of its own); `None` (the
/// index entry left as it is) if it is not cached.
fn members_tier(deps: &Deps, tenant: &TenantSlug, m: &Mutation) -> Option<String> {
    let versions = deps.programs.get(&tenant.as_str().to_owned())?;
    let program = versions.at(deps.now());
    let member = match &m.customer {
        CustomerWrite::New(c) => c,
        CustomerWrite::Update { after, .. } => after,
    };
    Some(crate::tiers::tier_of(program, member).name.clone())
}

/// Exponential backoff with jitter: 4 ms, 8 ms, ... capped at 200 ms.
async fn backoff(attempt: u32) {
    let base = 4u64.saturating_mul(1 << attempt.min(6)).min(200);
    let jitter = rand::random_range(0..=base / 2 + 1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

pub(crate) fn taken_error(taken: EnrolError) -> ApiError {
    match taken {
        EnrolError::MobileTaken => ApiError::Conflict("mobile already belongs to another customer".into()),
        EnrolError::EmailTaken => ApiError::Conflict("email already belongs to another customer".into()),
    }
}

pub(crate) fn mutation_error(err: MutationError) -> ApiError {
    match err {
        MutationError::Store(e) => e.into(),
        MutationError::Taken(t) => taken_error(t),
        MutationError::Stale | MutationError::Conflict | MutationError::CodeTaken => ApiError::Contended,
        MutationError::ReferenceTaken(_) | MutationError::OutcomeReferenceTaken(_) => {
            ApiError::Conflict("reference already used".into())
        }
        MutationError::ClaimLost => claim_lost(),
        MutationError::AdminDone(_) => ApiError::IdempotencyConflict("This Idempotency-Key was used already".into()),
        MutationError::OtpRejected => ApiError::Otp("OTP is no longer valid; request a new one".into()),
        MutationError::CouponRefused(e) => super::codes::consume_error(e),
    }
}

pub(crate) fn claim_lost() -> ApiError {
    ApiError::IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later".into())
}
