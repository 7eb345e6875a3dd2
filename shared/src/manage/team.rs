//! The tenant's people, for an [`Actor`]: owners only. The change itself is made in the
//! stage's user pool ([`crate::team`]); its audit entry and, under an
//! `Idempotency-Key`, its answer are then recorded, so a second submission answers the
//! first result and changes nothing. A temporary password is answered once, by the
//! invitation itself, and only where the stage says so: never by a replay.
//!
//! The last owner of a tenant can neither be removed nor demoted (409): a tenant always
//! keeps someone who can manage its keys and people.

use serde::{Deserialize, Serialize};

use super::{json, Change};
use crate::actor::{Actor, Permission, Role};
use crate::domain::{Email, IdempotencyKey};
use crate::error::ApiError;
use crate::team::{Person, Pool, TeamError};
use crate::Deps;

/// A person to invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub email: Email,
    pub role: Role,
}

/// An invited person; the temporary password only in the invitation's own answer, and
/// only where the stage shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitedPerson {
    pub person: Person,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub temporary_password: Option<String>,
}

fn pool(deps: &Deps) -> Result<&Pool, ApiError> {
    deps.team.as_deref().ok_or_else(|| {
        tracing::error!("the team's routes need LOYALTY_TEAM_POOL_ID");
        ApiError::Unavailable
    })
}

fn unexpected(e: TeamError) -> ApiError {
    tracing::error!(error = %e, "user pool");
    match e {
        TeamError::NotFound => ApiError::NotFound("Person"),
        TeamError::Exists => ApiError::Conflict("This email already has a console account".into()),
        TeamError::Refused(_) => ApiError::Internal,
        TeamError::Unreachable(_) => ApiError::Unavailable,
    }
}

/// The tenant's people, by email.
pub async fn list_team(deps: &Deps, actor: &Actor) -> Result<Vec<Person>, ApiError> {
    actor.require(Permission::Team)?;
    pool(deps)?.people(&actor.tenant).await.map_err(unexpected)
}

/// Invites `invitation.email` with a role: Cognito sends the invitation with a
/// temporary password, which the first sign-in must replace.
pub async fn invite_person(
    deps: &Deps,
    actor: &Actor,
    invitation: &Invitation,
    idem: Option<&IdempotencyKey>,
) -> Result<InvitedPerson, ApiError> {
    actor.require(Permission::Team)?;
    let pool = pool(deps)?;
    let ask = Target { email: invitation.email.as_str(), with: invitation.role };
    let change = Change::new(actor, "admin-team-invite", idem, &ask)?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let invited = pool.invite(&actor.tenant, &invitation.email, invitation.role, false).await.map_err(unexpected)?;
    // What a second submission answers: never the password.
    let stored = InvitedPerson { person: invited.person.clone(), temporary_password: None };
    let admin =
        change.record(deps.now(), "team.invite", invitation.email.as_str(), None, json(&stored.person), &stored)?;
    let answer = InvitedPerson {
        person: invited.person,
        temporary_password: pool.shows_temporary_passwords().then_some(invited.temporary_password),
    };
    match deps.store.record_admin_change(&actor.tenant, &admin).await {
        Ok(()) => Ok(answer),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}

#[derive(Serialize)]
struct Target<'a, T> {
    email: &'a str,
    with: T,
}

/// The person of the actor's tenant by `email`, else 404 (another tenant's person too).
async fn member(pool: &Pool, actor: &Actor, email: &Email) -> Result<Person, ApiError> {
    pool.person(&actor.tenant, email).await.map_err(unexpected)?.ok_or(ApiError::NotFound("Person"))
}

/// 409 when `person` is the tenant's last owner.
async fn keep_an_owner(pool: &Pool, actor: &Actor, person: &Person, doing: &str) -> Result<(), ApiError> {
    let people = pool.people(&actor.tenant).await.map_err(unexpected)?;
    let owner = |p: &&Person| p.role == Some(Role::Owner);
    let is_owner = person.role == Some(Role::Owner) || people.iter().filter(owner).any(|p| p.email == person.email);
    if is_owner && !people.iter().filter(owner).any(|p| p.email != person.email) {
        return Err(ApiError::Conflict(format!(
            "{} is the last owner: make someone else an owner before you {doing}",
            person.email
        )));
    }
    Ok(())
}

/// Makes `role` the person's one role. Answers the person as they are now.
pub async fn change_role(
    deps: &Deps,
    actor: &Actor,
    email: &Email,
    role: Role,
    idem: Option<&IdempotencyKey>,
) -> Result<Person, ApiError> {
    actor.require(Permission::Team)?;
    let pool = pool(deps)?;
    let change = Change::new(actor, "admin-team-role", idem, &Target { email: email.as_str(), with: role })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let before = member(pool, actor, email).await?;
    if role != Role::Owner {
        keep_an_owner(pool, actor, &before, "change this role").await?;
    }
    pool.set_role(email, role).await.map_err(unexpected)?;
    let after = Person { role: Some(role), ..before.clone() };
    let admin = change.record(deps.now(), "team.role", email.as_str(), json(&before), json(&after), &after)?;
    match deps.store.record_admin_change(&actor.tenant, &admin).await {
        Ok(()) => Ok(after),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}

/// Removes the person: signed out everywhere, then deleted. Answers them as they were.
pub async fn remove_person(
    deps: &Deps,
    actor: &Actor,
    email: &Email,
    idem: Option<&IdempotencyKey>,
) -> Result<Person, ApiError> {
    actor.require(Permission::Team)?;
    let pool = pool(deps)?;
    let change = Change::new(actor, "admin-team-remove", idem, &Target { email: email.as_str(), with: () })?;
    if let Some(done) = change.replay(deps).await? {
        return Ok(done);
    }
    let before = member(pool, actor, email).await?;
    keep_an_owner(pool, actor, &before, "remove them").await?;
    pool.remove(email).await.map_err(unexpected)?;
    let admin = change.record(deps.now(), "team.remove", email.as_str(), json(&before), None, &before)?;
    match deps.store.record_admin_change(&actor.tenant, &admin).await {
        Ok(()) => Ok(before),
        Err(e) => change.failed(e, ApiError::Contended),
    }
}
