//! `POST /v1/admin/campaigns/{campaign_id}/run`
//!
//! Issues the next coupons of a campaign (owners, managers) for at most 20 s (or the
//! body's `max_ms`, if less), then answers its progress; call again until `status` is
//! `done`. Running again, or twice at once, never issues a member two coupons.

use std::time::Duration;

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, CampaignView, MAX_RUN};
use loyalty::requests::admin;
use serde::Deserialize;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<RunCampaign>(deps, req).await
}

#[derive(Deserialize)]
struct RunRequest {
    #[serde(default)]
    max_ms: Option<u64>,
}

struct RunCampaign;

impl Manage for RunCampaign {
    type Input = (String, Duration);
    type Output = CampaignView;

    fn parse(req: &Request) -> Result<(String, Duration), ApiError> {
        let id = admin::path(req, "campaign_id", "campaign")?.to_owned();
        let body = admin::body::<RunRequest>(req)?;
        let budget = body.max_ms.map_or(MAX_RUN, Duration::from_millis).min(MAX_RUN);
        Ok((id, budget))
    }

    async fn run(cx: &Console<'_>, (id, budget): (String, Duration)) -> Result<CampaignView, ApiError> {
        manage::run_campaign(cx.deps, &cx.actor, &id, budget).await
    }
}
