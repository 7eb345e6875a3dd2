//! `POST /api/{tenant}/pos/bill` (`write:transactions`)
//!
//! Posts a bill for a member named by `mobile` or `customer_id`; an unknown mobile is
//! enrolled (with `name`, and `email` if given). Points follow the program's rules,
//! the tier multiplier and category bonuses for `items`. A bill repeated with the same
//! `external_ref` answers the first bill's result and awards nothing; the same
//! `external_ref` on a different bill is `409`. An `Idempotency-Key` header makes any
//! retry safe the same way. `"preview": true` computes the whole answer and writes
//! nothing. `redeem_points` with the member's `otp` (from `POST /pos/otp`) spends
//! points on the bill: the discount is returned, and points are earned on the amount
//! actually paid.

use loyalty::endpoint::prelude::*;
use loyalty::engine::SaleResult;
use loyalty::partner::BillBody;
use loyalty::requests::BillRequest;
use loyalty::routes::{SaleDialect, SaleRoute};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<SaleRoute<Bill>>(deps, req).await
}

// A sale in the Partner dialect; `public-earn` is the same sale in the Public one.
struct Bill;

impl SaleDialect for Bill {
    const ROUTE: Route = Route::partner("pos-bill", Scope::WriteTransactions).reading_program();
    type Request = BillRequest;

    fn render(result: &SaleResult, sandbox: bool) -> Response<Body> {
        json(StatusCode::OK, &BillBody::new(result, sandbox))
    }
}
