//! `POST /v1/admin/members/{customer_id}/erase`
//!
//! Erases a member's personal data (owners only): `200` with counts; the balance and
//! the ledger's amounts stay, so the books still add up.

use loyalty::domain::CustomerId;
use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, Erased};
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<Erase>(deps, req).await
}

struct Erase;

impl Manage for Erase {
    const STATUS: StatusCode = StatusCode::OK;
    type Input = CustomerId;
    type Output = Erased;

    fn parse(req: &Request) -> Result<CustomerId, ApiError> {
        admin::customer_id(req)
    }

    async fn run(cx: &Console<'_>, id: CustomerId) -> Result<Erased, ApiError> {
        manage::erase_member(cx.deps, &cx.actor, &id, cx.idem.as_ref()).await
    }
}
