//! `POST /v1/public/loyalty/earn` (`write:transactions`)
//!
//! Awards points for a purchase: `email`, `amount`, optional `reference` and
//! `description`. An unknown email is enrolled. A repeated `reference` never awards
//! twice; it shares its namespace with the Partner dialect's `external_ref`, so an
//! order and a POS bill with one reference are one sale.

use lambda_http::{Body, Request, Response};
use loyalty::endpoint::{self, Context, Route, Write};
use loyalty::engine::{self, Sale, SaleResult};
use loyalty::idempotency::Replayable;
use loyalty::keys::Scope;
use loyalty::public::{success, Earned};
use loyalty::requests::{self, EarnRequest};
use loyalty::{ApiError, Deps};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<Earn>(deps, req).await
}

// A sale in the Public dialect; `pos-bill` is the same sale in the Partner one.
struct Earn;

impl Write for Earn {
    const ROUTE: Route = Route::public("public-earn", Scope::WriteTransactions);
    type Input = Sale;
    type Output = SaleResult;

    fn parse(req: &Request) -> Result<Sale, ApiError> {
        requests::parse::<EarnRequest, _>(req)
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
        success(&Earned::new(result), sandbox)
    }

    fn replayed(result: &SaleResult) -> bool {
        result.replayed
    }
}
