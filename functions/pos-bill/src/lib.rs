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

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::endpoint::{self, Context, Route, Write};
use loyalty::engine::{self, Sale, SaleResult};
use loyalty::http::json;
use loyalty::idempotency::Replayable;
use loyalty::keys::Scope;
use loyalty::partner::BillBody;
use loyalty::requests::{self, BillRequest};
use loyalty::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<Bill>(deps, req).await
}

// A sale in the Partner dialect; `public-earn` is the same sale in the Public one.
struct Bill;

impl Write for Bill {
    const ROUTE: Route = Route::partner("pos-bill", Scope::WriteTransactions);
    type Input = Sale;
    type Output = SaleResult;

    fn parse(req: &Request) -> Result<Sale, ApiError> {
        requests::parse::<BillRequest, _>(req)
    }

    fn claims(sale: &Sale) -> bool {
        !sale.preview
    }

    async fn run(
        cx: &Context<'_>,
        sale: &Sale,
        idem: Option<&Replayable<'_, SaleResult>>,
    ) -> Result<SaleResult, ApiError> {
        let program = cx.program().await?;
        engine::record_sale(cx.deps, &cx.caller, &program, sale, idem).await
    }

    fn render(result: &SaleResult, sandbox: bool) -> Response<Body> {
        json(StatusCode::OK, &BillBody::new(result, sandbox))
    }

    fn replayed(result: &SaleResult) -> bool {
        result.replayed
    }
}
