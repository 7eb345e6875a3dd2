//! `PUT /v1/admin/team/{email}`
//!
//! Changes a person's role (owners only): `role` becomes their one group. The tenant's
//! last owner cannot be made a manager or viewer (409); another tenant's person is 404.
//! Answers the person as they are now.

use loyalty::domain::Email;
use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::requests::admin::{self, RoleRequest};
use loyalty::session::Role;
use loyalty::team::Person;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ChangeRole>(deps, req).await
}

struct ChangeRole;

impl Manage for ChangeRole {
    type Input = (Email, Role);
    type Output = Person;

    fn parse(req: &Request) -> Result<(Email, Role), ApiError> {
        let email = admin::team_email(req)?;
        Ok((email, admin::body::<RoleRequest>(req)?.into_role()?))
    }

    async fn run(cx: &Console<'_>, (email, role): (Email, Role)) -> Result<Person, ApiError> {
        manage::change_role(cx.deps, &cx.actor, &email, role, cx.idem.as_ref()).await
    }
}
