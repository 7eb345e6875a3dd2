//! `POST /api/{tenant}/pos/coupon/reinstate` (`write:transactions`)
//!
//! Makes a coupon used by `/pos/coupon/redeem` or by a bill's `coupon_code` usable again
//! (a voided sale), by the key that used it, within 24 hours of its use.
//! `404 {"error":"Coupon not found"}`, `400 {"error":"Coupon is not used"}`,
//! `403 {"error":"Coupon was used by another API key; only that key may reinstate it"}`,
//! `400 {"error":"Coupon was used more than 24 hours ago and can no longer be reinstated"}`.

use loyalty::domain::Code;
use loyalty::endpoint::prelude::*;
use loyalty::engine;
use loyalty::model::Coupon;
use loyalty::partner::CouponReinstateBody;
use loyalty::requests::{self, CouponRedeemRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<Reinstate>(deps, req).await
}

struct Reinstate;

impl Write for Reinstate {
    const ROUTE: Route = Route::partner("pos-coupon-reinstate", Scope::WriteTransactions);
    type Input = Code;
    type Output = Coupon;

    fn parse(req: &Request) -> Result<Code, ApiError> {
        requests::parse::<CouponRedeemRequest, _>(req)
    }

    async fn run(cx: &Context<'_>, code: &Code, idem: Option<&Replayable<'_, Coupon>>) -> Result<Coupon, ApiError> {
        // The answer is stored in the reinstatement's own transaction: a retry with the
        // same key answers this, even when the first answer was lost.
        engine::reinstate_code(cx.deps, &cx.caller, code, idem).await
    }

    fn render(coupon: &Coupon, sandbox: bool) -> Response<Body> {
        json(StatusCode::OK, &CouponReinstateBody::new(coupon, sandbox))
    }
}
