//! `POST /v1/admin/webhooks/{endpoint_id}/rotate`
//!
//! A new signing secret for an endpoint (owners only): `201` with it, shown this once.
//! The previous secret still signs, next to the new one, for 24 hours.

use loyalty::endpoint::prelude::*;
use loyalty::requests::admin;
use loyalty::webhooks::endpoints::{self, EndpointSecret};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<RotateSecret>(deps, req).await
}

struct RotateSecret;

impl Manage for RotateSecret {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = String;
    type Output = EndpointSecret;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "endpoint_id", "webhook endpoint")?.to_owned())
    }

    async fn run(cx: &Console<'_>, endpoint_id: String) -> Result<EndpointSecret, ApiError> {
        endpoints::rotate_secret(cx.deps, &cx.actor, &endpoint_id, cx.idem.as_ref()).await
    }
}
