//! `GET /v1/admin/team`
//!
//! The tenant's people (owners only): email, role, status (`invited`, `active`,
//! `disabled`), when their account was created. Only this tenant's: the stage's user
//! pool is shared by every tenant and filtered by each person's immutable tenant.

use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::team::Person;
use serde::Serialize;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ListTeam>(deps, req).await
}

#[derive(Serialize)]
pub struct Team {
    pub people: Vec<Person>,
}

struct ListTeam;

impl Manage for ListTeam {
    type Input = ();
    type Output = Team;

    fn parse(_: &Request) -> Result<(), ApiError> {
        Ok(())
    }

    async fn run(cx: &Console<'_>, _: ()) -> Result<Team, ApiError> {
        Ok(Team { people: manage::list_team(cx.deps, &cx.actor).await? })
    }
}
