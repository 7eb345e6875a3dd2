//! Finding, enrolling and describing members.

use chrono::{DateTime, Utc};

use super::commit::{change, commit, mutation_error, Attempt, Refused};
// `codes` settles a lost claim the same way.
pub(crate) use super::commit::claim_lost;
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{CustomerId, Email, Mobile, TenantSlug};
use crate::error::ApiError;
use crate::model::{Coupon, Customer};
use crate::store::{CustomerWrite, EnrolError, MutationError};

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
    let new = &new;
    let attempt = move || async move {
        let customer = new_customer(new, now);
        if caller.sandbox() {
            return Ok(Attempt::Answer((customer, true)));
        }
        let mutation = change(CustomerWrite::New(customer.clone()));
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result: (customer, true) })
    };
    let refused = move |err, _| async move {
        match err {
            MutationError::Taken(taken) if taken_by(&taken, by) => match find_member(deps, &caller.tenant, by).await? {
                Some(existing) => Ok(Refused::Answer((existing, false))),
                None => Ok(Refused::Retry),
            },
            other => Err(mutation_error(other)),
        }
    };
    let (customer, enrolled) = commit(deps, &caller.tenant, attempt, refused).await?;
    if enrolled && !caller.sandbox() {
        tracing::info!(customer_id = %customer.id, "member enrolled");
    }
    Ok((customer, enrolled))
}

/// Whether an enrolment was refused because the member it names by `by` exists (enrolled
/// concurrently), rather than for another member's mobile or email.
pub(crate) fn taken_by(taken: &EnrolError, by: &MemberRef) -> bool {
    matches!(
        (taken, by),
        (EnrolError::MobileTaken, MemberRef::Mobile(_)) | (EnrolError::EmailTaken, MemberRef::Email(_))
    )
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

/// The customer lookup: the member, and their usable codes. With `create`, an unknown
/// member is enrolled; without it, `None`.
pub async fn lookup_member(
    deps: &Deps,
    caller: &Caller,
    by: &MemberRef,
    create: Option<NewMember>,
) -> Result<Option<MemberLookup>, ApiError> {
    if crate::test_values::unknown_member(caller, by) {
        return Ok(None);
    }
    let now = deps.now();
    // The profile and the member's codes are read at once: one round trip after the
    // lookup, not two.
    let existing = match member_id(deps, &caller.tenant, by).await? {
        Some(id) => {
            let (customer, codes) = tokio::join!(
                deps.store.get_customer(&caller.tenant, &id),
                deps.store.codes_of_customer(&caller.tenant, &id, now)
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
                usable(deps.store.codes_of_customer(&caller.tenant, &customer.id, now).await?, now)
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
