//! `GET /v1/admin/members`
//!
//! Finds a member by mobile, email or customer id (`?q=`): none or one.

use loyalty::admin::Members;
use loyalty::endpoint::prelude::*;
use loyalty::engine::MemberRef;
use loyalty::manage;
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<FindMembers>(deps, req).await
}

struct FindMembers;

impl Manage for FindMembers {
    type Input = MemberRef;
    type Output = Members;

    fn parse(req: &Request) -> Result<MemberRef, ApiError> {
        admin::member_query(req)
    }

    async fn run(cx: &Console<'_>, by: MemberRef) -> Result<Members, ApiError> {
        Ok(Members { members: manage::search_members(cx.deps, &cx.actor, &by).await? })
    }
}
