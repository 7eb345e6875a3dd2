//! `POST /v1/admin/members/import`
//!
//! Opening balances from CSV text (`mobile,name,email,points,reference`, at most 500
//! rows): each row enrols its member if new and writes an `opening` entry, once per
//! reference; the answer says per row `ok`, `duplicate` or `error` with the reason.
//! Owners and managers.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, ImportReport};
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ImportMembers>(deps, req).await
}

struct ImportMembers;

impl Manage for ImportMembers {
    type Input = String;
    type Output = ImportReport;

    fn parse(req: &Request) -> Result<String, ApiError> {
        admin::import_text(req)
    }

    async fn run(cx: &Console<'_>, text: String) -> Result<ImportReport, ApiError> {
        manage::import_members(cx.deps, &cx.actor, &text).await
    }
}
