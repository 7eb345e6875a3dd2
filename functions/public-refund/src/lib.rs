//! `POST /v1/public/loyalty/refund` (`write:transactions`)
//!
//! A return of an order earned with `reference`: `{reference, amount, refundReference}`.
//! Reverses the points it earned in proportion; repeatable until the order is fully
//! refunded, never beyond. The balance may go below zero: `balanceNegative` says so.
//! `refundReference` or an `Idempotency-Key` is required (400 naming both): the same
//! `refundReference` again replays the first refund, on another order or amount is 409.

use loyalty::endpoint::prelude::*;
use loyalty::engine::{self, Refund};
use loyalty::public::{success, Refunded};
use loyalty::requests::{self, PublicRefundRequest, RefundOf};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<PostRefund>(deps, req).await
}

// A refund in the Public dialect; `pos-refund` is the same refund in the Partner one.
struct PostRefund;

impl Write for PostRefund {
    const ROUTE: Route = Route::public("public-refund", Scope::WriteTransactions).reading_program();
    type Input = RefundOf;
    type Output = Refund;

    fn parse(req: &Request) -> Result<RefundOf, ApiError> {
        requests::parse_refund::<PublicRefundRequest>(req, "refundReference")
    }

    async fn run(cx: &Context<'_>, r: &RefundOf, idem: Option<&Replayable<'_, Refund>>) -> Result<Refund, ApiError> {
        let program = cx.program().await?;
        engine::refund(cx.deps, &cx.caller, &program, &r.sale, r.amount, r.refund_ref.as_deref(), idem).await
    }

    fn render(refund: &Refund, sandbox: bool) -> Response<Body> {
        success(&Refunded::new(refund), sandbox)
    }

    fn replayed(refund: &Refund) -> bool {
        refund.replayed
    }
}
