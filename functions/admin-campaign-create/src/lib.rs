//! `POST /v1/admin/campaigns`
//!
//! Creates a campaign (owners, managers): a coupon for each mobile of a list; nothing
//! is issued until it runs. `201`. The body may be up to 2 MiB (50,000 mobiles).

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, CampaignView, NewCampaign};
use loyalty::requests;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<CreateCampaign>(deps, req).await
}

struct CreateCampaign;

impl Manage for CreateCampaign {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = NewCampaign;
    type Output = CampaignView;

    fn parse(req: &Request) -> Result<NewCampaign, ApiError> {
        requests::from_bytes_up_to::<NewCampaign>(requests::body_bytes(req), manage::MAX_CAMPAIGN_BODY_BYTES)
    }

    async fn run(cx: &Console<'_>, new: NewCampaign) -> Result<CampaignView, ApiError> {
        manage::create_campaign(cx.deps, &cx.actor, &new, cx.idem.as_ref()).await
    }
}
