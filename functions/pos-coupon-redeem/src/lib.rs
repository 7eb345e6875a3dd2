//! `POST /api/{tenant}/pos/coupon/redeem` (`write:transactions`)
//!
//! Validates a coupon or voucher code and marks it used, in one conditional write.
//! `400 {"error":"Coupon expired"}`, `400 {"error":"Coupon is used"}`,
//! `404 {"error":"Coupon not found"}`.

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::auth::{self, Caller};
use loyalty::domain::Code;
use loyalty::engine;
use loyalty::http::{json, respond, JsonBody};
use loyalty::idempotency::{self, Begin, Claim, Replayable};
use loyalty::keys::Scope;
use loyalty::model::Coupon;
use loyalty::partner::CouponRedeemBody;
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Partner, &req, redeem(deps, &req)).await
}

async fn redeem(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::partner(deps, req, Scope::WriteTransactions).await?;
    match idempotency::begin(deps, &caller, req, "pos-coupon-redeem").await? {
        Begin::Replay(stored) => Ok(stored),
        Begin::Proceed(claim) => idempotency::finish(deps, claim.clone(), consume(deps, req, &caller, claim)).await,
    }
}

async fn consume(
    deps: &Deps,
    req: &Request,
    caller: &Caller,
    claim: Option<Claim>,
) -> Result<Response<Body>, ApiError> {
    let body = JsonBody::parse(req)?;
    let code = body.text("code", 64)?.ok_or_else(|| ApiError::bad_request("code is required"))?;
    // A well-formed code that cannot exist is simply not found.
    let code = Code::parse(&code).map_err(|_| ApiError::NotFound("Coupon"))?;

    let render = |c: &Coupon| json(StatusCode::OK, &CouponRedeemBody::new(c, false));
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let coupon = engine::redeem_code(deps, caller, &code, idem.as_ref()).await?;
    Ok(json(StatusCode::OK, &CouponRedeemBody::new(&coupon, caller.sandbox())))
}
