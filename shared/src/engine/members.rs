//! Finding, enrolling and describing members.

use chrono::{DateTime, Utc};

use super::{backoff, MAX_ATTEMPTS};
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{CustomerId, Email, Mobile, TenantSlug};
use crate::error::ApiError;
use crate::model::{Coupon, Customer};
use crate::store::{CustomerWrite, EnrolError, Mutation, MutationError};

/// How a request names a member.
#[derive(Debug, Clone)]
pub enum MemberRef {
    Id(CustomerId),
    Mobile(Mobile),
    Email(Email),
}

/// What to enrol an unknown member with.
#[derive(Debug, Clone, Default)]
pub struct NewMember {
    pub name: Option<String>,
    pub mobile: Option<Mobile>,
    pub email: Option<Email>,
}

pub struct MemberLookup {
    pub customer: Customer,
    /// Unused and unexpired codes.
    pub active_codes: Vec<Coupon>,
    /// Enrolled by this request.
    pub enrolled: bool,
}

/// The id a reference names, from the mobile or email lookup when needed.
pub async fn member_id(deps: &Deps, tenant: &TenantSlug, member: &MemberRef) -> Result<Option<CustomerId>, ApiError> {
    Ok(match member {
        MemberRef::Id(id) => Some(*id),
        MemberRef::Mobile(m) => deps.store.customer_id_by_mobile(tenant, m).await?,
        MemberRef::Email(e) => deps.store.customer_id_by_email(tenant, e).await?,
    })
}

/// The member a reference names, read consistently; `None` if unknown.
pub async fn find_member(deps: &Deps, tenant: &TenantSlug, member: &MemberRef) -> Result<Option<Customer>, ApiError> {
    match member_id(deps, tenant, member).await? {
        Some(id) => Ok(deps.store.get_customer(tenant, &id).await?),
        None => Ok(None),
    }
}

/// Writes a new member (profile and lookups in one transaction). A sandbox caller gets
/// the member it would have made, unwritten. If the mobile or email was enrolled
/// concurrently, the existing member is returned with `false`.
pub async fn enrol(deps: &Deps, caller: &Caller, new: NewMember, by: &MemberRef) -> Result<(Customer, bool), ApiError> {
    let now = deps.now();
    for attempt in 0..MAX_ATTEMPTS {
        let customer = new_customer(&new, now);
        if caller.sandbox() {
            return Ok((customer, true));
        }
        let mutation = Mutation {
            customer: CustomerWrite::New(customer.clone()),
            entries: vec![],
            sale: None,
            new_codes: vec![],
            purchase: None,
            otp: None,
            completion: None,
        };
        match deps.store.apply(&caller.tenant, &mutation, now).await {
            Ok(()) => {
                tracing::info!(customer_id = %customer.id, "member enrolled");
                return Ok((customer, true));
            }
            Err(MutationError::Taken(taken)) => {
                let raced = matches!(
                    (&taken, by),
                    (EnrolError::MobileTaken, MemberRef::Mobile(_)) | (EnrolError::EmailTaken, MemberRef::Email(_))
                );
                if !raced {
                    return Err(taken_error(taken));
                }
                if let Some(existing) = find_member(deps, &caller.tenant, by).await? {
                    return Ok((existing, false));
                }
            }
            Err(MutationError::Conflict | MutationError::Stale) => {}
            Err(other) => return Err(mutation_error(other)),
        }
        backoff(attempt).await;
    }
    Err(ApiError::Contended)
}

pub(crate) fn new_customer(new: &NewMember, now: DateTime<Utc>) -> Customer {
    Customer::new(
        CustomerId::new_random(),
        new.name.clone().unwrap_or_default(),
        new.mobile.clone(),
        new.email.clone(),
        now,
    )
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
        MutationError::ReferenceTaken(_) => ApiError::Conflict("reference already used".into()),
        MutationError::ClaimLost => claim_lost(),
        MutationError::OtpRejected => ApiError::Otp("OTP is no longer valid; request a new one".into()),
    }
}

/// The customer lookup: the member, and their usable codes. With `create`, an unknown
/// member is enrolled; without it, `None`.
pub async fn lookup_member(
    deps: &Deps,
    caller: &Caller,
    by: &MemberRef,
    create: Option<NewMember>,
) -> Result<Option<MemberLookup>, ApiError> {
    let now = deps.now();
    // The profile and the member's codes are read at once: one round trip after the
    // lookup, not two.
    let existing = match member_id(deps, &caller.tenant, by).await? {
        Some(id) => {
            let (customer, codes) = tokio::join!(
                deps.store.get_customer(&caller.tenant, &id),
                deps.store.codes_of_customer(&caller.tenant, &id)
            );
            customer?.map(|c| (c, codes))
        }
        None => None,
    };
    let found = match (existing, create) {
        (Some((customer, codes)), _) => MemberLookup { customer, active_codes: usable(codes?, now), enrolled: false },
        (None, Some(new)) => {
            let (customer, enrolled) = enrol(deps, caller, new, by).await?;
            // Enrolled concurrently by another request: it may already hold codes.
            let active_codes = if enrolled {
                Vec::new()
            } else {
                usable(deps.store.codes_of_customer(&caller.tenant, &customer.id).await?, now)
            };
            MemberLookup { customer, active_codes, enrolled }
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(found))
}

/// The codes a member can use now, soonest to expire first.
fn usable(mut codes: Vec<Coupon>, now: DateTime<Utc>) -> Vec<Coupon> {
    codes.retain(|c| c.is_usable(now));
    codes.sort_by_key(|c| c.expires_at);
    codes
}

pub(crate) fn claim_lost() -> ApiError {
    ApiError::IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry later".into())
}
