//! `GET /v1/admin/members/{customer_id}/history`
//!
//! A member's points history, newest first, a page at a time (`?limit=&cursor=`).

use loyalty::admin::History;
use loyalty::domain::CustomerId;
use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::requests::admin::{self, Page};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<MemberHistory>(deps, req).await
}

struct MemberHistory;

impl Manage for MemberHistory {
    type Input = (CustomerId, Page);
    type Output = History;

    fn parse(req: &Request) -> Result<(CustomerId, Page), ApiError> {
        Ok((admin::customer_id(req)?, Page::parse(req)?))
    }

    async fn run(cx: &Console<'_>, input: (CustomerId, Page)) -> Result<History, ApiError> {
        let (id, page) = input;
        Ok(manage::member_history(cx.deps, &cx.actor, &id, page.limit, page.cursor.as_deref()).await?.into())
    }
}
