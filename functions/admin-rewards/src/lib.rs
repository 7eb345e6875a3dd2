//! `GET /v1/admin/rewards`
//!
//! The reward catalogue, archived rewards included.

use loyalty::admin::Rewards;
use loyalty::endpoint::prelude::*;
use loyalty::manage;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ListRewards>(deps, req).await
}

struct ListRewards;

impl Manage for ListRewards {
    type Input = ();
    type Output = Rewards;

    fn parse(_: &Request) -> Result<(), ApiError> {
        Ok(())
    }

    async fn run(cx: &Console<'_>, _: ()) -> Result<Rewards, ApiError> {
        Ok(manage::list_rewards(cx.deps, &cx.actor).await?.into())
    }
}
