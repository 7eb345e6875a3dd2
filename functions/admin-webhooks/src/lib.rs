//! `GET /v1/admin/webhooks`
//!
//! The tenant's webhook endpoints (owners only): URL, event types, status, why it is
//! disabled, failing since when, until when the previous secret still signs. Never a
//! secret.

use loyalty::admin::WebhookEndpoints;
use loyalty::endpoint::prelude::*;
use loyalty::webhooks::endpoints;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ListEndpoints>(deps, req).await
}

struct ListEndpoints;

impl Manage for ListEndpoints {
    type Input = ();
    type Output = WebhookEndpoints;

    fn parse(_: &Request) -> Result<(), ApiError> {
        Ok(())
    }

    async fn run(cx: &Console<'_>, _: ()) -> Result<WebhookEndpoints, ApiError> {
        Ok(WebhookEndpoints { endpoints: endpoints::list_endpoints(cx.deps, &cx.actor).await? })
    }
}
