//! `POST /api/{tenant}/pos/coupon/redeem` (`write:transactions`)
//!
//! Validates a coupon or voucher code and marks it used, in one conditional write.
//! `400 {"error":"Coupon expired"}`, `400 {"error":"Coupon is used"}`,
//! `404 {"error":"Coupon not found"}`.

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::auth;
use loyalty::domain::Code;
use loyalty::engine;
use loyalty::http::{json, respond, JsonBody};
use loyalty::keys::Scope;
use loyalty::partner::CouponRedeemBody;
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Partner, &req, redeem(deps, &req)).await
}

async fn redeem(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::partner(deps, req, Scope::WriteTransactions).await?;

    let body = JsonBody::parse(req)?;
    let code = body
        .text("code", 64)?
        .ok_or_else(|| ApiError::bad_request("code is required"))?;
    // A well-formed code that cannot exist is simply not found.
    let code = Code::parse(&code).map_err(|_| ApiError::NotFound("Coupon"))?;

    let coupon = engine::redeem_code(deps, &caller, &code).await?;
    Ok(json(
        StatusCode::OK,
        &CouponRedeemBody::new(&coupon, caller.sandbox()),
    ))
}
