//! `POST /v1/admin/webhooks`
//!
//! Adds a webhook endpoint (owners only): `url` (https; plain http and loopback only
//! where the stage allows them) and `event_types` (absent or empty: every type).
//! `201` with its `whsec_` signing secret, shown this once (a second submission of the
//! same `Idempotency-Key` answers the endpoint without it).

use loyalty::endpoint::prelude::*;
use loyalty::requests::admin::{self, NewEndpointRequest};
use loyalty::webhooks::endpoints::{self, EndpointSecret, NewEndpoint};
use loyalty::webhooks::guard::Policy;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<AddEndpoint>(deps, req).await
}

struct AddEndpoint;

impl Manage for AddEndpoint {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = NewEndpoint;
    type Output = EndpointSecret;

    fn parse(req: &Request) -> Result<NewEndpoint, ApiError> {
        NewEndpoint::try_from(admin::body::<NewEndpointRequest>(req)?)
    }

    async fn run(cx: &Console<'_>, spec: NewEndpoint) -> Result<EndpointSecret, ApiError> {
        endpoints::add_endpoint(cx.deps, &cx.actor, &Policy::from_env(), &spec, cx.idem.as_ref()).await
    }
}
