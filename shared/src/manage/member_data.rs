//! A member's own details from the console: name, email and mobile edited, the lookups
//! that find the member moved in the same transaction as the profile.

use serde::{Deserialize, Serialize};

use super::{json, Change};
use crate::actor::{Actor, Permission};
use crate::domain::{CustomerId, Email, IdempotencyKey, Mobile};
use crate::error::ApiError;
use crate::model::Customer;
use crate::store::DetailsError;
use crate::Deps;

/// The longest name a member may have (as a bill enrols them).
pub const MAX_NAME_CHARS: usize = 100;

/// The details to change: a field given replaces what is there, an absent one keeps it
/// (a mobile or email is never removed by an edit: erasing the member removes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEdit {
    pub customer_id: CustomerId,
    pub name: Option<String>,
    pub mobile: Option<Mobile>,
    pub email: Option<Email>,
}

/// A member's details: what an edit answers, and what its audit entry holds before and
/// after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDetails {
    pub customer_id: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

impl From<&Customer> for MemberDetails {
    fn from(c: &Customer) -> Self {
        MemberDetails {
            customer_id: c.id.to_string(),
            name: c.name.clone(),
            mobile: c.mobile.as_ref().map(|m| m.to_string()),
            email: c.email.as_ref().map(|e| e.to_string()),
        }
    }
}

#[derive(Serialize)]
struct EditAsk {
    customer_id: String,
    name: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
}

/// Edits a member's name, mobile and email (owners, managers): the profile, the old
/// lookups deleted and the new put where none exists, and the audit entry (before and
/// after) in one transaction. A mobile or email that finds another member is a 409
/// naming the field; the member is then found by the new ones only.
pub async fn edit_member(
    deps: &Deps,
    actor: &Actor,
    edit: &MemberEdit,
    idem: Option<&IdempotencyKey>,
) -> Result<MemberDetails, ApiError> {
    actor.require(Permission::Manage)?;
    let name = edit.name.as_deref().map(|n| crate::domain::nfc(n.trim()));
    if let Some(name) = &name {
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::invalid("name", format!("must be 1 to {MAX_NAME_CHARS} characters")));
        }
    }
    let ask = EditAsk {
        customer_id: edit.customer_id.to_string(),
        name: name.clone(),
        mobile: edit.mobile.as_ref().map(|m| m.to_string()),
        email: edit.email.as_ref().map(|e| e.to_string()),
    };
    let change = Change::new(actor, "admin-member-edit", idem, &ask)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    for _ in 0..5 {
        let before =
            deps.store.get_customer(&actor.tenant, &edit.customer_id).await?.ok_or(ApiError::NotFound("Customer"))?;
        let mut after = before.clone();
        if let Some(name) = &name {
            after.name = name.clone();
        }
        if let Some(mobile) = &edit.mobile {
            after.mobile = Some(mobile.clone());
        }
        if let Some(email) = &edit.email {
            after.email = Some(email.clone());
        }
        after.version += 1;
        let now = deps.now();
        let (was, is) = (MemberDetails::from(&before), MemberDetails::from(&after));
        let admin = change.record(now, "member.edit", edit.customer_id.to_string(), json(&was), json(&is), &is)?;
        match deps.store.write_member_details(&actor.tenant, &before, &after, &admin, now).await {
            Ok(()) => {
                tracing::info!(customer_id = %edit.customer_id, who = %actor.who, "member details edited");
                return Ok(is);
            }
            Err(DetailsError::Stale | DetailsError::Conflict) => continue,
            Err(DetailsError::Done(done)) => return change.settle(done),
            Err(DetailsError::MobileTaken) => {
                return Err(ApiError::Conflict("mobile: another member has this mobile number".into()))
            }
            Err(DetailsError::EmailTaken) => {
                return Err(ApiError::Conflict("email: another member has this email address".into()))
            }
            Err(DetailsError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ApiError::Contended)
}

/// The name an erased member's profile keeps: no personal text.
pub const ERASED_NAME: &str = "";

/// How long an erasure waits before its second pass over the member's history: GSI1,
/// which that pass reads, is eventually consistent, normally within well under a second.
const HISTORY_INDEX_LAG: std::time::Duration = std::time::Duration::from_secs(1);

/// What an erasure did: counts only, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    pub customer_id: String,
    /// The balance stays: the program's books still add up (it is the ledger's sum).
    pub points_balance: i64,
    /// Ledger entries whose description was removed.
    pub ledger_entries_scrubbed: usize,
    /// Sales whose kept answer lost the member's name, mobile and email.
    pub sales_scrubbed: usize,
    /// Earlier audit entries about the member whose name, mobile, email and reason went.
    pub audit_entries_scrubbed: usize,
    pub erased_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct EraseAsk {
    customer_id: String,
}

/// Erases a member's personal data (owners only): the name, mobile and email leave the
/// profile, the lookups go (nobody finds the member by them any more), the ledger keeps
/// each entry's type, points, amount, balance and dates but loses its description, and
/// the answers kept with the member's sales lose the name, mobile and email, and so do
/// the before and after of earlier audit entries about the member (with reasons). The
/// balance and the ledger stay, so the books still add up. The audit entry names the
/// member's id and the counts, never what was erased. Erasing again finds nothing more to
/// remove.
///
/// A later bill with the erased mobile finds no member and so enrols a new one, with
/// nothing of the erased member's points or history.
pub async fn erase_member(
    deps: &Deps,
    actor: &Actor,
    id: &CustomerId,
    idem: Option<&IdempotencyKey>,
) -> Result<Erased, ApiError> {
    actor.require(Permission::Erase)?;
    let change = Change::new(actor, "admin-member-erase", idem, &EraseAsk { customer_id: id.to_string() })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    if deps.store.get_customer(&actor.tenant, id).await?.is_none() {
        return Err(ApiError::NotFound("Customer"));
    }
    // The other items first: a failure here leaves the member findable, and erasing
    // again finishes the work.
    let scrubbed = deps.store.scrub_member_items(&actor.tenant, id).await?;
    for _ in 0..5 {
        let before = deps.store.get_customer(&actor.tenant, id).await?.ok_or(ApiError::NotFound("Customer"))?;
        let now = deps.now();
        let result = Erased {
            customer_id: id.to_string(),
            points_balance: before.points_balance,
            ledger_entries_scrubbed: scrubbed.entries,
            sales_scrubbed: scrubbed.sales,
            audit_entries_scrubbed: scrubbed.audit_entries,
            erased_at: now,
        };
        let mut after = before.clone();
        after.name = ERASED_NAME.to_owned();
        after.mobile = None;
        after.email = None;
        after.version += 1;
        let admin = change.record(now, "member.erase", id.to_string(), None, json(&result), &result)?;
        match deps.store.write_member_details(&actor.tenant, &before, &after, &admin, now).await {
            Ok(()) => {
                // Once more: a sale that landed between the first pass and the profile's
                // write kept the member as they were then. Later ones see no personal
                // data; erasing again would finish this too. The pass reads the history
                // index, which follows the table within a second: it waits that out
                // first, so a sale written just before the profile's write is in it.
                tokio::time::sleep(HISTORY_INDEX_LAG).await;
                if let Err(e) = deps.store.scrub_member_items(&actor.tenant, id).await {
                    tracing::warn!(customer_id = %id, error = %e, "second pass of an erasure failed: erase again");
                }
                tracing::info!(customer_id = %id, who = %actor.who, "member erased");
                return Ok(result);
            }
            Err(DetailsError::Stale | DetailsError::Conflict) => continue,
            Err(DetailsError::Done(done)) => return change.settle(done),
            Err(DetailsError::MobileTaken | DetailsError::EmailTaken) => return Err(ApiError::Internal),
            Err(DetailsError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ApiError::Contended)
}
