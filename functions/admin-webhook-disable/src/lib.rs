//! `POST /v1/admin/webhooks/{endpoint_id}/disable`
//!
//! Disables an endpoint (owners only): nothing more is queued for it until it is
//! enabled again.

use loyalty::endpoint::prelude::*;
use loyalty::requests::admin;
use loyalty::webhooks::endpoints::{self, EndpointView};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<DisableEndpoint>(deps, req).await
}

struct DisableEndpoint;

impl Manage for DisableEndpoint {
    type Input = String;
    type Output = EndpointView;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "endpoint_id", "webhook endpoint")?.to_owned())
    }

    async fn run(cx: &Console<'_>, endpoint_id: String) -> Result<EndpointView, ApiError> {
        endpoints::set_endpoint_active(cx.deps, &cx.actor, &endpoint_id, false, cx.idem.as_ref()).await
    }
}
