//! `GET /v1/admin/webhooks/{endpoint_id}/deliveries`
//!
//! An endpoint's most recent deliveries, newest first (owners only): the event, its
//! status (`pending`, `delivered`, `dead`), attempts, the last result and, while
//! pending, when the next attempt is. `?status=` narrows to one status.

use loyalty::admin::Deliveries;
use loyalty::endpoint::prelude::*;
use loyalty::requests::admin;
use loyalty::webhooks::endpoints;
use loyalty::webhooks::DeliveryStatus;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ListDeliveries>(deps, req).await
}

struct ListDeliveries;

impl Manage for ListDeliveries {
    type Input = (String, Option<DeliveryStatus>);
    type Output = Deliveries;

    fn parse(req: &Request) -> Result<Self::Input, ApiError> {
        Ok((admin::path(req, "endpoint_id", "webhook endpoint")?.to_owned(), admin::delivery_status(req)?))
    }

    async fn run(cx: &Console<'_>, (endpoint_id, status): Self::Input) -> Result<Deliveries, ApiError> {
        Ok(endpoints::list_deliveries(cx.deps, &cx.actor, &endpoint_id, status).await?.into())
    }
}
