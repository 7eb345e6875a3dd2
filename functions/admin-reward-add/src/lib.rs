//! `POST /v1/admin/rewards`
//!
//! Adds a reward to the catalogue (owners, managers): `201`; `409` if its id is taken.

use loyalty::admin::RewardView;
use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::requests::admin::{self, RewardChange, RewardRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<AddReward>(deps, req).await
}

struct AddReward;

impl Manage for AddReward {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = RewardChange;
    type Output = RewardView;

    fn parse(req: &Request) -> Result<RewardChange, ApiError> {
        admin::body::<RewardRequest>(req)?.into_change(None)
    }

    async fn run(cx: &Console<'_>, change: RewardChange) -> Result<RewardView, ApiError> {
        Ok(manage::add_reward(cx.deps, &cx.actor, &change.reward, cx.idem.as_ref()).await?.into())
    }
}
