//! `POST /v1/admin/rewards/{reward_id}/archive`
//!
//! Takes a reward out of the catalogue (owners, managers): it leaves
//! `GET /v1/public/loyalty/rewards`; vouchers already issued for it stay valid.

use loyalty::admin::RewardView;
use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ArchiveReward>(deps, req).await
}

struct ArchiveReward;

impl Manage for ArchiveReward {
    type Input = String;
    type Output = RewardView;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "reward_id", "Reward")?.to_owned())
    }

    async fn run(cx: &Console<'_>, reward_id: String) -> Result<RewardView, ApiError> {
        Ok(manage::archive_reward(cx.deps, &cx.actor, &reward_id, cx.idem.as_ref()).await?.into())
    }
}
