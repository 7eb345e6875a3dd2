//! `GET /v1/public/loyalty/vouchers/{code}/verify` (`read:customers`)
//!
//! Whether a voucher (or coupon) code is valid, and its state: `pending`, `used` or
//! `expired`. Verifying never consumes.

use lambda_http::{Body, Request, Response};
use loyalty::auth;
use loyalty::domain::Code;
use loyalty::engine;
use loyalty::http::{path_param, respond};
use loyalty::keys::Scope;
use loyalty::public::{success, Verified};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, verify(deps, &req)).await
}

async fn verify(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::ReadCustomers).await?;

    let code = path_param(req, "code").unwrap_or_default();
    // A code that cannot exist is simply not found.
    let code = Code::parse(code).map_err(|_| ApiError::NotFound("Voucher"))?;

    let (voucher, state) = engine::check_code(deps, &caller, &code).await?.ok_or(ApiError::NotFound("Voucher"))?;
    Ok(success(&Verified::new(&voucher, state), caller.sandbox()))
}
