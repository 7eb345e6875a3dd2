//! `POST /v1/admin/webhooks/{endpoint_id}/enable`
//!
//! Enables an endpoint again (owners only), its failure streak forgotten: the sender
//! counts anew.

use loyalty::endpoint::prelude::*;
use loyalty::requests::admin;
use loyalty::webhooks::endpoints::{self, EndpointView};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<EnableEndpoint>(deps, req).await
}

struct EnableEndpoint;

impl Manage for EnableEndpoint {
    type Input = String;
    type Output = EndpointView;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "endpoint_id", "webhook endpoint")?.to_owned())
    }

    async fn run(cx: &Console<'_>, endpoint_id: String) -> Result<EndpointView, ApiError> {
        endpoints::set_endpoint_active(cx.deps, &cx.actor, &endpoint_id, true, cx.idem.as_ref()).await
    }
}
