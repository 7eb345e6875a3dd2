//! `POST /v1/admin/webhooks/{endpoint_id}/remove`
//!
//! Removes an endpoint (owners only): nothing more is sent to it. Answers the endpoint
//! as it was.

use loyalty::endpoint::prelude::*;
use loyalty::requests::admin;
use loyalty::webhooks::endpoints::{self, EndpointView};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<RemoveEndpoint>(deps, req).await
}

struct RemoveEndpoint;

impl Manage for RemoveEndpoint {
    type Input = String;
    type Output = EndpointView;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "endpoint_id", "webhook endpoint")?.to_owned())
    }

    async fn run(cx: &Console<'_>, endpoint_id: String) -> Result<EndpointView, ApiError> {
        endpoints::remove_endpoint(cx.deps, &cx.actor, &endpoint_id, cx.idem.as_ref()).await
    }
}
