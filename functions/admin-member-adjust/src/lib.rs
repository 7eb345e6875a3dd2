//! `POST /v1/admin/members/{customer_id}/adjustments`
//!
//! Adjusts a member's points with a reason (owners, managers): `201`; its own ledger
//! entry, never below zero (`422`), not counted toward tiers.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, Adjusted, Adjustment};
use loyalty::requests::admin::{self, AdjustRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<Adjust>(deps, req).await
}

struct Adjust;

impl Manage for Adjust {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = Adjustment;
    type Output = Adjusted;

    fn parse(req: &Request) -> Result<Adjustment, ApiError> {
        admin::body::<AdjustRequest>(req)?.into_adjustment(admin::customer_id(req)?)
    }

    async fn run(cx: &Console<'_>, adjustment: Adjustment) -> Result<Adjusted, ApiError> {
        manage::adjust_points(cx.deps, &cx.actor, &adjustment, cx.idem.as_ref()).await
    }
}
