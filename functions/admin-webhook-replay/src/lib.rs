//! `POST /v1/admin/webhooks/{endpoint_id}/replay`
//!
//! Puts an endpoint's dead deliveries back in its queue, due now, with a new retry
//! window (owners only): the one whose event is `event_id`, or every dead one (no
//! body). Answers how many.

use loyalty::admin::Replayed;
use loyalty::endpoint::prelude::*;
use loyalty::requests::admin::{self, ReplayRequest};
use loyalty::webhooks::endpoints;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ReplayDead>(deps, req).await
}

struct ReplayDead;

impl Manage for ReplayDead {
    type Input = (String, Option<String>);
    type Output = Replayed;

    fn parse(req: &Request) -> Result<Self::Input, ApiError> {
        let endpoint_id = admin::path(req, "endpoint_id", "webhook endpoint")?.to_owned();
        Ok((endpoint_id, admin::body::<ReplayRequest>(req)?.event_id.0))
    }

    async fn run(cx: &Console<'_>, (endpoint_id, event_id): Self::Input) -> Result<Replayed, ApiError> {
        let replayed =
            endpoints::replay_dead(cx.deps, &cx.actor, &endpoint_id, event_id.as_deref(), cx.idem.as_ref()).await?;
        Ok(Replayed { replayed })
    }
}
