//! `DELETE /v1/admin/team/{email}`
//!
//! Removes a person (owners only): signed out everywhere (their refresh tokens revoked;
//! a local stage on cognito-local, which lacks that, only deletes), then deleted. The
//! tenant's last owner cannot be removed (409); another tenant's person is 404. Answers
//! the person as they were.

use loyalty::domain::Email;
use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::requests::admin;
use loyalty::team::Person;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<RemovePerson>(deps, req).await
}

struct RemovePerson;

impl Manage for RemovePerson {
    type Input = Email;
    type Output = Person;

    fn parse(req: &Request) -> Result<Email, ApiError> {
        admin::team_email(req)
    }

    async fn run(cx: &Console<'_>, email: Email) -> Result<Person, ApiError> {
        manage::remove_person(cx.deps, &cx.actor, &email, cx.idem.as_ref()).await
    }
}
