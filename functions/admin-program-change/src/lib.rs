//! `POST /v1/admin/program/versions`
//!
//! A new version of the program's rules (owners, managers): the rules in force at its
//! `effective_from` with the ones the body names changed, validated whole. It starts
//! after every existing version and never in the past; by default once every function's
//! program cache has expired.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, ProgramChange, ProgramChanged};
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ChangeProgram>(deps, req).await
}

struct ChangeProgram;

impl Manage for ChangeProgram {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = ProgramChange;
    type Output = ProgramChanged;

    fn parse(req: &Request) -> Result<ProgramChange, ApiError> {
        admin::body::<ProgramChange>(req)
    }

    async fn run(cx: &Console<'_>, change: ProgramChange) -> Result<ProgramChanged, ApiError> {
        manage::change_program(cx.deps, &cx.actor, &change, cx.idem.as_ref()).await
    }
}
