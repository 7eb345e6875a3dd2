//! `GET /v1/admin/members/{customer_id}`
//!
//! A member's profile: balance, tier and usable codes.

use loyalty::domain::CustomerId;
use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, MemberProfile};
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<Member>(deps, req).await
}

struct Member;

impl Manage for Member {
    type Input = CustomerId;
    type Output = MemberProfile;

    fn parse(req: &Request) -> Result<CustomerId, ApiError> {
        admin::customer_id(req)
    }

    async fn run(cx: &Console<'_>, id: CustomerId) -> Result<MemberProfile, ApiError> {
        manage::member_profile(cx.deps, &cx.actor, &id).await
    }
}
