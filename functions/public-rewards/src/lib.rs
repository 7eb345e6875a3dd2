//! `GET /v1/public/loyalty/rewards` (`read:customers`)
//!
//! The program's active rewards catalog, cheapest first.

use lambda_http::{Body, Request, Response};
use loyalty::auth;
use loyalty::engine;
use loyalty::http::respond;
use loyalty::keys::Scope;
use loyalty::public::{success, RewardEntry};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, rewards(deps, &req)).await
}

async fn rewards(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::ReadCustomers).await?;

    let catalog = engine::catalog(deps, &caller).await?;
    let entries: Vec<RewardEntry> = catalog.iter().map(RewardEntry::from).collect();
    Ok(success(&entries, caller.sandbox()))
}
