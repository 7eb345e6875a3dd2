//! `POST /v1/admin/members/{customer_id}/coupons`
//!
//! Issues a coupon to a member (owners, managers): `201`.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, CouponSpec, CouponView};
use loyalty::requests::admin::{self, CouponRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<IssueCoupon>(deps, req).await
}

struct IssueCoupon;

impl Manage for IssueCoupon {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = CouponSpec;
    type Output = CouponView;

    fn parse(req: &Request) -> Result<CouponSpec, ApiError> {
        admin::body::<CouponRequest>(req)?.into_spec(admin::customer_id(req)?)
    }

    async fn run(cx: &Console<'_>, spec: CouponSpec) -> Result<CouponView, ApiError> {
        manage::issue_coupon(cx.deps, &cx.actor, &spec, cx.idem.as_ref()).await
    }
}
