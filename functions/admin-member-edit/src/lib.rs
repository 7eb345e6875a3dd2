//! `PUT /v1/admin/members/{customer_id}`
//!
//! Edits a member's name, mobile and email (owners, managers): `200` with the details;
//! the lookups move with the profile; a mobile or email of another member is a `409`
//! naming the field.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, MemberDetails, MemberEdit};
use loyalty::requests::admin::{self, MemberEditRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<Edit>(deps, req).await
}

struct Edit;

impl Manage for Edit {
    const STATUS: StatusCode = StatusCode::OK;
    type Input = MemberEdit;
    type Output = MemberDetails;

    fn parse(req: &Request) -> Result<MemberEdit, ApiError> {
        admin::body::<MemberEditRequest>(req)?.into_edit(admin::customer_id(req)?)
    }

    async fn run(cx: &Console<'_>, edit: MemberEdit) -> Result<MemberDetails, ApiError> {
        manage::edit_member(cx.deps, &cx.actor, &edit, cx.idem.as_ref()).await
    }
}
