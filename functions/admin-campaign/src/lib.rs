//! `GET /v1/admin/campaigns/{campaign_id}`
//!
//! A campaign's progress and the mobiles that got no coupon so far, with why (every
//! role).

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, CampaignDetail};
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ShowCampaign>(deps, req).await
}

struct ShowCampaign;

impl Manage for ShowCampaign {
    type Input = String;
    type Output = CampaignDetail;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "campaign_id", "campaign")?.to_owned())
    }

    async fn run(cx: &Console<'_>, id: String) -> Result<CampaignDetail, ApiError> {
        manage::campaign_detail(cx.deps, &cx.actor, &id).await
    }
}
