//! `PUT /v1/admin/rewards/{reward_id}`
//!
//! Replaces a reward (owners, managers); `active` absent keeps it in or out of the
//! catalogue as it was.

use loyalty::admin::RewardView;
use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::requests::admin::{self, RewardChange, RewardRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<EditReward>(deps, req).await
}

struct EditReward;

impl Manage for EditReward {
    type Input = RewardChange;
    type Output = RewardView;

    fn parse(req: &Request) -> Result<RewardChange, ApiError> {
        let id = admin::path(req, "reward_id", "Reward")?;
        admin::body::<RewardRequest>(req)?.into_change(Some(id))
    }

    async fn run(cx: &Console<'_>, change: RewardChange) -> Result<RewardView, ApiError> {
        Ok(manage::edit_reward(cx.deps, &cx.actor, &change.reward, change.active, cx.idem.as_ref()).await?.into())
    }
}
