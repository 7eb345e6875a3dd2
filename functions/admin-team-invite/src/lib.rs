//! `POST /v1/admin/team`
//!
//! Invites a person (owners only): `email` and `role` (`owner`, `manager`, `viewer`).
//! Cognito sends them the invitation with a temporary password, which their first
//! sign-in must replace. `201` with the person; on a stage that says so
//! (`LOYALTY_TEAM_SHOW_TEMPORARY_PASSWORD=1`, local stages only) also the
//! `temporary_password`, this once (a second submission of the same `Idempotency-Key`
//! answers without it). An email that already has an account is a 409.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, Invitation, InvitedPerson};
use loyalty::requests::admin::{self, InviteRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<Invite>(deps, req).await
}

struct Invite;

impl Manage for Invite {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = Invitation;
    type Output = InvitedPerson;

    fn parse(req: &Request) -> Result<Invitation, ApiError> {
        Invitation::try_from(admin::body::<InviteRequest>(req)?)
    }

    async fn run(cx: &Console<'_>, invitation: Invitation) -> Result<InvitedPerson, ApiError> {
        manage::invite_person(cx.deps, &cx.actor, &invitation, cx.idem.as_ref()).await
    }
}
