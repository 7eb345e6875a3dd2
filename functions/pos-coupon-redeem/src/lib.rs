//! `POST /api/{tenant}/pos/coupon/redeem` (`write:transactions`)
//!
//! Validates a coupon or voucher code and marks it used, in one conditional write.
//! `400 {"error":"Coupon expired"}`, `400 {"error":"Coupon is used"}`,
//! `404 {"error":"Coupon not found"}`.

use loyalty::domain::Code;
use loyalty::endpoint::prelude::*;
use loyalty::engine;
use loyalty::model::Coupon;
use loyalty::partner::CouponRedeemBody;
use loyalty::requests::{self, CouponRedeemRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<Redeem>(deps, req).await
}

struct Redeem;

impl Write for Redeem {
    const ROUTE: Route = Route::partner("pos-coupon-redeem", Scope::WriteTransactions);
    type Input = Code;
    type Output = Coupon;

    fn parse(req: &Request) -> Result<Code, ApiError> {
        requests::parse::<CouponRedeemRequest, _>(req)
    }

    async fn run(cx: &Context<'_>, code: &Code, idem: Option<&Replayable<'_, Coupon>>) -> Result<Coupon, ApiError> {
        engine::redeem_code(cx.deps, &cx.caller, code, idem).await
    }

    fn render(coupon: &Coupon, sandbox: bool) -> Response<Body> {
        json(StatusCode::OK, &CouponRedeemBody::new(coupon, sandbox))
    }
}
