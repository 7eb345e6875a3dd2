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
