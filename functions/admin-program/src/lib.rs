//! `GET /v1/admin/program`
//!
//! The program's rules in force now, every version (newest first) with its
//! `effective_from`, the ones not yet in force, and the program cache's lifetime: how
//! long a change takes to reach every function.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, ProgramRules};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ShowProgram>(deps, req).await
}

struct ShowProgram;

impl Manage for ShowProgram {
    type Input = ();
    type Output = ProgramRules;

    fn parse(_: &Request) -> Result<(), ApiError> {
        Ok(())
    }

    async fn run(cx: &Console<'_>, _: ()) -> Result<ProgramRules, ApiError> {
        manage::program_rules(cx.deps, &cx.actor).await
    }
}
