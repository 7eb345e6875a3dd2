//! `GET /v1/admin/campaigns`
//!
//! The tenant's latest campaigns, newest first, with their progress (every role).

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, CampaignList};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ListCampaigns>(deps, req).await
}

struct ListCampaigns;

impl Manage for ListCampaigns {
    type Input = ();
    type Output = CampaignList;

    fn parse(_: &Request) -> Result<(), ApiError> {
        Ok(())
    }

    async fn run(cx: &Console<'_>, _: ()) -> Result<CampaignList, ApiError> {
        manage::list_campaigns(cx.deps, &cx.actor).await
    }
}
