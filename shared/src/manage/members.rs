//! Members for the console: find by mobile, email or customer id; the profile (balance,
//! tier, codes); the history; a manual adjustment of points; a coupon issued to them.
//!
//! An adjustment is its own ledger entry (`adjustment`) written through the one write
//! loop ([`crate::engine`]'s `commit`) under the member's version, never an edit of the
//! balance: it may not take the balance below zero and adds nothing to lifetime points,
//! so it never moves the member's tier.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{json, Change};
use crate::actor::{Actor, Permission};
use crate::auth::Caller;
use crate::domain::{Code, CustomerId, IdempotencyKey};
use crate::engine::commit::{change, commit, mutation_error, Attempt, Refused};
use crate::engine::{HistoryPage, MemberRef};
use crate::error::ApiError;
use crate::expiry::ExpiryClock;
use crate::keys::KeyMode;
use crate::model::{end_of_local_day, CodeKind, CodeStatus, Coupon, Customer, EntryKind, LedgerEntry};
use crate::program::Program;
use crate::store::{AdminWriteError, CustomerWrite, Mutation, MutationError};
use crate::Deps;

/// The largest adjustment, either way, in one go.
pub const MAX_ADJUSTMENT: i64 = 100_000_000;
/// The longest reason an adjustment may give.
pub const MAX_REASON_CHARS: usize = 500;

/// A code as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponView {
    pub coupon_id: uuid::Uuid,
    pub code: String,
    pub kind: CodeKind,
    pub value_minor: i64,
    pub discount_percent: Option<u32>,
    pub source: String,
    pub reward_id: Option<String>,
    pub status: CodeStatus,
    pub expires_at: DateTime<Utc>,
    pub expiry_date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl From<&Coupon> for CouponView {
    fn from(c: &Coupon) -> Self {
        CouponView {
            coupon_id: c.coupon_id,
            code: c.code.to_string(),
            kind: c.kind,
            value_minor: c.value_minor,
            discount_percent: c.discount_percent,
            source: c.source.clone(),
            reward_id: c.reward_id.clone(),
            status: c.status,
            expires_at: c.expires_at,
            expiry_date: c.expiry_date,
            created_at: c.created_at,
        }
    }
}

/// A member's profile: who, balance, tier and usable codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProfile {
    pub customer_id: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// What a change now would see: points already due are not counted.
    pub points_balance: i64,
    /// The points that expire next and the last day they can be spent (absent when
    /// none will).
    pub points_expiring: Option<i64>,
    pub points_expiring_at: Option<NaiveDate>,
    pub lifetime_points: i64,
    pub tier: String,
    pub segment: String,
    pub created_at: DateTime<Utc>,
    /// Unused and unexpired codes, soonest to expire first.
    pub codes: Vec<CouponView>,
}

/// The tenant's program in force now.
async fn program(deps: &Deps, actor: &Actor) -> Result<Arc<Program>, ApiError> {
    crate::auth::program(deps, &actor.tenant).await
}

/// A member as a search lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub customer_id: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub points_balance: i64,
    pub tier: String,
}

/// The members a mobile, email or customer id names in the actor's tenant: none or one.
pub async fn search_members(deps: &Deps, actor: &Actor, by: &MemberRef) -> Result<Vec<MemberSummary>, ApiError> {
    actor.require(Permission::Read)?;
    let (found, program) = tokio::join!(crate::engine::find_member(deps, &actor.tenant, by), program(deps, actor));
    let Some(c) = found? else { return Ok(Vec::new()) };
    let program = program?;
    let (c, _) = crate::expiry::view(&program, &c, deps.now());
    Ok(vec![MemberSummary {
        customer_id: c.id.to_string(),
        name: c.name.clone(),
        mobile: c.mobile.as_ref().map(|m| m.to_string()),
        email: c.email.as_ref().map(|e| e.to_string()),
        points_balance: c.points_balance,
        tier: crate::tiers::tier_of(&program, &c).name.clone(),
    }])
}

/// The member a mobile, email or customer id names in the actor's tenant.
pub async fn find_member(deps: &Deps, actor: &Actor, by: &MemberRef) -> Result<Option<Customer>, ApiError> {
    actor.require(Permission::Read)?;
    crate::engine::find_member(deps, &actor.tenant, by).await
}

/// A member's profile, balance, tier and codes; 404 if the tenant has no such member.
pub async fn member_profile(deps: &Deps, actor: &Actor, id: &CustomerId) -> Result<MemberProfile, ApiError> {
    actor.require(Permission::Read)?;
    let now = deps.now();
    let (customer, codes, program) = tokio::join!(
        deps.store.get_customer(&actor.tenant, id),
        deps.store.codes_of_customer(&actor.tenant, id, now),
        program(deps, actor)
    );
    let program = program?;
    let (c, expiring) = crate::expiry::view(&program, &customer?.ok_or(ApiError::NotFound("Customer"))?, now);
    let mut codes = codes?;
    codes.retain(|c| c.is_usable(now));
    codes.sort_by_key(|c| c.expires_at);
    Ok(MemberProfile {
        customer_id: c.id.to_string(),
        name: c.name.clone(),
        mobile: c.mobile.as_ref().map(|m| m.to_string()),
        email: c.email.as_ref().map(|e| e.to_string()),
        points_balance: c.points_balance,
        points_expiring: expiring.map(|e| e.points),
        points_expiring_at: expiring.map(|e| e.last_day),
        lifetime_points: c.lifetime_points,
        tier: crate::tiers::tier_of(&program, &c).name.clone(),
        segment: c.segment.clone(),
        created_at: c.created_at,
        codes: codes.iter().map(CouponView::from).collect(),
    })
}

/// A member's ledger, newest first, a page at a time (the Partner and Public history's
/// own engine).
pub async fn member_history(
    deps: &Deps,
    actor: &Actor,
    id: &CustomerId,
    limit: u32,
    cursor: Option<&str>,
) -> Result<HistoryPage, ApiError> {
    actor.require(Permission::Read)?;
    if deps.store.get_customer(&actor.tenant, id).await?.is_none() {
        return Err(ApiError::NotFound("Customer"));
    }
    // The history engine reads only the caller's tenant.
    let caller = Caller { tenant: actor.tenant.clone(), key_id: format!("console:{}", actor.who), mode: KeyMode::Live };
    crate::engine::history(deps, &caller, &MemberRef::Id(*id), limit, cursor).await
}

/// A manual change of a member's points, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub customer_id: CustomerId,
    /// Signed: positive credits, negative debits.
    pub points: i64,
    pub reason: String,
}

/// What an adjustment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjusted {
    pub customer_id: String,
    pub txn_id: uuid::Uuid,
    pub points: i64,
    pub balance_before: i64,
    pub balance_after: i64,
    pub lifetime_points: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct AdjustAsk<'a> {
    customer_id: String,
    points: i64,
    reason: &'a str,
}

/// Adjusts a member's points: one `adjustment` ledger entry in the member's write loop,
/// with its audit entry in the same transaction. Never below zero (422 with the
/// balance); lifetime points, and so the tier, do not move.
pub async fn adjust_points(
    deps: &Deps,
    actor: &Actor,
    adj: &Adjustment,
    idem: Option<&IdempotencyKey>,
) -> Result<Adjusted, ApiError> {
    actor.require(Permission::Manage)?;
    let reason = crate::domain::nfc(adj.reason.trim());
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid("reason", format!("is required: 1 to {MAX_REASON_CHARS} characters")));
    }
    if adj.points == 0 || adj.points.unsigned_abs() > MAX_ADJUSTMENT.unsigned_abs() {
        return Err(ApiError::invalid("points", format!("must be non-zero and at most {MAX_ADJUSTMENT} either way")));
    }
    let ask = AdjustAsk { customer_id: adj.customer_id.to_string(), points: adj.points, reason: &reason };
    let change_ = Change::new(actor, "admin-adjust", idem, &ask)?;
    if let Some(done) = change_.replay(deps).await? {
        return Ok(done);
    }
    let (id, reason, change_) = (adj.customer_id, &reason, &change_);
    // The rules in force now (whether points expire) and the member, read at once: the
    // session names the tenant, so neither waits for the other. The first attempt uses
    // that read; a retry reads the member again.
    let (rules, first) =
        tokio::join!(crate::auth::program(deps, &actor.tenant), deps.store.get_customer(&actor.tenant, &id));
    let rules = &rules?;
    let first = &std::sync::Mutex::new(Some(first));
    let attempt = move || async move {
        let read = first.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let before = match read {
            Some(read) => read?,
            None => deps.store.get_customer(&actor.tenant, &id).await?,
        }
        .ok_or(ApiError::NotFound("Customer"))?;
        let now = deps.now();
        // What was due expires first; points added count as earned this month, points
        // taken leave the oldest months first.
        let clock = ExpiryClock::new(rules, now);
        let mut after = before.clone();
        let expired = crate::engine::expiry::settle(&clock, &mut after, now);
        let was_balance = after.points_balance;
        let balance = after
            .points_balance
            .checked_add(adj.points)
            .ok_or_else(|| ApiError::bad_request("the adjustment is out of range"))?;
        if adj.points < 0 && balance < 0 {
            return Err(ApiError::InsufficientPoints { balance: after.points_balance, needed: -adj.points });
        }
        if adj.points > 0 {
            clock.add(&mut after, adj.points, now);
        } else {
            clock.remove(&mut after, -adj.points, None);
        }
        after.version += 1;
        let txn_id = uuid::Uuid::new_v4();
        let entry = LedgerEntry {
            txn_id,
            customer_id: id,
            kind: EntryKind::Adjustment,
            points: adj.points,
            lifetime_points: 0,
            amount_minor: None,
            reference: None,
            description: Some(reason.clone()),
            balance_after: balance,
            created_at: now,
            sold_at: None,
        };
        let result = Adjusted {
            customer_id: id.to_string(),
            txn_id,
            points: adj.points,
            balance_before: was_balance,
            balance_after: balance,
            lifetime_points: after.lifetime_points,
            reason: reason.clone(),
            created_at: now,
        };
        /// The member's balance; after the change, also the change and its reason.
        #[derive(Serialize)]
        struct Balance<'a> {
            points_balance: i64,
            lifetime_points: i64,
            #[serde(skip_serializing_if = "Option::is_none")]
            points: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reason: Option<&'a str>,
        }
        let was = Balance {
            points_balance: was_balance,
            lifetime_points: before.lifetime_points,
            points: None,
            reason: None,
        };
        let is = Balance {
            points_balance: balance,
            lifetime_points: after.lifetime_points,
            points: Some(adj.points),
            reason: Some(reason),
        };
        let admin = change_.record(now, "member.adjust", id.to_string(), json(&was), json(&is), &result)?;
        let mutation = Mutation {
            entries: expired.into_iter().chain([entry]).collect(),
            admin: Some(admin),
            ..change(CustomerWrite::Update { expected_version: before.version, after })
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result })
    };
    let refused = move |err, _: Box<Mutation>| async move {
        match err {
            MutationError::AdminDone(done) => change_.settle(done).map(Refused::Answer),
            other => Err(mutation_error(other)),
        }
    };
    let adjusted = commit(deps, &actor.tenant, attempt, refused).await?;
    tracing::info!(customer_id = %adjusted.customer_id, points = adjusted.points, who = %actor.who, "points adjusted");
    Ok(adjusted)
}

/// A coupon for a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponSpec {
    pub customer_id: CustomerId,
    /// Exactly one of a fixed value (minor units) and a percent.
    pub value_minor: Option<i64>,
    pub percent: Option<u32>,
    /// The last day it is valid, in the program's time zone.
    pub expires: NaiveDate,
    /// A chosen code, or one generated (`COUP-...`).
    pub code: Option<Code>,
    pub source: String,
}

#[derive(Serialize)]
struct CouponAsk<'a> {
    customer_id: String,
    value_minor: Option<i64>,
    percent: Option<u32>,
    expires: NaiveDate,
    code: Option<String>,
    source: &'a str,
}

/// Issues a coupon to a member of the tenant, audited.
pub async fn issue_coupon(
    deps: &Deps,
    actor: &Actor,
    spec: &CouponSpec,
    idem: Option<&IdempotencyKey>,
) -> Result<CouponView, ApiError> {
    actor.require(Permission::Manage)?;
    let (kind, value_minor, discount_percent) = match (spec.value_minor, spec.percent) {
        (Some(v), None) if v > 0 => (CodeKind::Fixed, v, None),
        (None, Some(p)) if (1..=100).contains(&p) => (CodeKind::Percent, 0, Some(p)),
        (Some(_), None) => return Err(ApiError::invalid("value_minor", "must be positive")),
        (None, Some(_)) => return Err(ApiError::invalid("percent", "must be from 1 to 100")),
        _ => return Err(ApiError::bad_request("give exactly one of value_minor or percent")),
    };
    let source = spec.source.trim();
    if source.is_empty() || source.len() > 40 || crate::domain::text::check_identifier(source).is_err() {
        return Err(ApiError::invalid("source", "must be 1 to 40 plain characters"));
    }
    let ask = CouponAsk {
        customer_id: spec.customer_id.to_string(),
        value_minor: spec.value_minor,
        percent: spec.percent,
        expires: spec.expires,
        code: spec.code.as_ref().map(|c| c.to_string()),
        source,
    };
    let change = Change::new(actor, "admin-coupon", idem, &ask)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let program = program(deps, actor).await?;
    if deps.store.get_customer(&actor.tenant, &spec.customer_id).await?.is_none() {
        return Err(ApiError::NotFound("Customer"));
    }
    for _ in 0..5 {
        let now = deps.now();
        let coupon = Coupon {
            coupon_id: uuid::Uuid::new_v4(),
            code: spec.code.clone().unwrap_or_else(|| Code::generate("COUP")),
            customer_id: Some(spec.customer_id),
            kind,
            value_minor,
            discount_percent,
            source: source.to_owned(),
            reward_id: None,
            reward_name: None,
            status: CodeStatus::Active,
            expires_at: end_of_local_day(spec.expires, program.utc_offset_minutes),
            expiry_date: spec.expires,
            created_at: now,
            used_at: None,
        };
        let view = CouponView::from(&coupon);
        let target = format!("{}:{}", spec.customer_id, coupon.code);
        let admin = change.record(now, "member.coupon", target, None, json(&view), &view)?;
        match deps.store.put_code_audited(&actor.tenant, &coupon, &admin).await {
            Ok(()) => return Ok(view),
            Err(AdminWriteError::Refused) if spec.code.is_none() => continue,
            Err(e) => return change.failed(e, ApiError::Conflict(format!("code {} already exists", coupon.code))),
        }
    }
    Err(ApiError::Contended)
}
