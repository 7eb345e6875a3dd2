//! `POST /v1/admin/webhooks/{endpoint_id}/test`
//!
//! Queues a `webhook.test` event for one endpoint (owners only), whatever it subscribes
//! to; the sender delivers it like any other. Answers the event's id.

use loyalty::admin::TestQueued;
use loyalty::endpoint::prelude::*;
use loyalty::requests::admin;
use loyalty::webhooks::endpoints;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<SendTest>(deps, req).await
}

struct SendTest;

impl Manage for SendTest {
    type Input = String;
    type Output = TestQueued;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "endpoint_id", "webhook endpoint")?.to_owned())
    }

    async fn run(cx: &Console<'_>, endpoint_id: String) -> Result<TestQueued, ApiError> {
        Ok(TestQueued {
            event_id: endpoints::send_test_event(cx.deps, &cx.actor, &endpoint_id, cx.idem.as_ref()).await?,
        })
    }
}
