//! `POST /api/{tenant}/pos/refund` (`write:transactions`)
//!
//! A return: `{external_ref | transaction_id, amount, refund_ref}`. Reverses the points
//! the sale earned and gives back the points it spent, in proportion to `amount`;
//! repeatable until the sale is fully refunded, never beyond. The balance may go below
//! zero (the points were already spent): `balance_negative` says so. The refund's own
//! reference `refund_ref` or an `Idempotency-Key` is required (400 naming both): the
//! same `refund_ref` again replays the first refund, on another sale or amount is 409.

use loyalty::endpoint::prelude::*;
use loyalty::engine::{self, Refund};
use loyalty::partner::RefundBody;
use loyalty::requests::{self, PosRefundRequest, RefundOf};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<PostRefund>(deps, req).await
}

// A refund in the Partner dialect; `public-refund` is the same refund in the Public one.
struct PostRefund;

impl Write for PostRefund {
    const ROUTE: Route = Route::partner("pos-refund", Scope::WriteTransactions).reading_program();
    type Input = RefundOf;
    type Output = Refund;

    fn parse(req: &Request) -> Result<RefundOf, ApiError> {
        requests::parse_refund::<PosRefundRequest>(req, "refund_ref")
    }

    async fn run(cx: &Context<'_>, r: &RefundOf, idem: Option<&Replayable<'_, Refund>>) -> Result<Refund, ApiError> {
        let program = cx.program().await?;
        engine::refund(cx.deps, &cx.caller, &program, &r.sale, r.amount, r.refund_ref.as_deref(), idem).await
    }

    fn render(refund: &Refund, sandbox: bool) -> Response<Body> {
        json(StatusCode::OK, &RefundBody::new(refund, sandbox))
    }

    fn replayed(refund: &Refund) -> bool {
        refund.replayed
    }
}
