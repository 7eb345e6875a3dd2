//! `GET /v1/public/loyalty/vouchers/{code}/verify` (`read:customers`)
//!
//! Whether a voucher (or coupon) code is valid, and its state: `pending`, `used` or
//! `expired`. Verifying never consumes.

use loyalty::domain::Code;
use loyalty::endpoint::prelude::*;
use loyalty::engine::{self, CodeState};
use loyalty::http::path_param;
use loyalty::model::Coupon;
use loyalty::public::{success, Verified};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::read::<Verify>(deps, req).await
}

struct Verify;

impl Read for Verify {
    const ROUTE: Route = Route::public("public-voucher-verify", Scope::ReadCustomers);
    type Input = Code;
    type Output = (Coupon, CodeState);

    fn parse(req: &Request) -> Result<Code, ApiError> {
        let code = path_param(req, "code").unwrap_or_default();
        loyalty::domain::check_identifier(code).map_err(|e| ApiError::bad_request(format!("code {e}")))?;
        // A code that cannot exist is simply not found.
        Code::parse(code).map_err(|_| ApiError::NotFound("Voucher"))
    }

    async fn run(cx: &Context<'_>, code: Code) -> Result<Self::Output, ApiError> {
        engine::check_code(cx.deps, &cx.caller, &code).await?.ok_or(ApiError::NotFound("Voucher"))
    }

    fn render((voucher, state): &Self::Output, sandbox: bool) -> Response<Body> {
        success(&Verified::new(voucher, *state), sandbox)
    }
}
