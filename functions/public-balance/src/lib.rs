//! `GET /v1/public/loyalty/balance?email=` (`read:customers`)
//!
//! A member's balance and tier, found by email.

use lambda_http::{Body, Request, Response};
use loyalty::auth;
use loyalty::domain::Email;
use loyalty::engine::{self, MemberRef};
use loyalty::http::{query, respond};
use loyalty::keys::Scope;
use loyalty::public::{success, Balance};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, balance(deps, &req)).await
}

async fn balance(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::ReadCustomers).await?;

    let email = query(req, "email").ok_or_else(|| ApiError::bad_request("email is required"))?;
    let email = Email::parse(email).map_err(|e| ApiError::bad_request(format!("email {e}")))?;

    let program = auth::program(deps, &caller.tenant).await?;
    let member = engine::find_member(deps, &caller.tenant, &MemberRef::Email(email))
        .await?
        .ok_or(ApiError::NotFound("Customer"))?;
    Ok(success(&Balance::new(&program, &member), caller.sandbox()))
}
