//! `POST /v1/public/loyalty/earn` (`write:transactions`)
//!
//! Awards points for a purchase: `email`, `amount`, optional `reference` and
//! `description`. An unknown email is enrolled. A repeated `reference` never awards
//! twice; it shares its namespace with the Partner dialect's `external_ref`, so an
//! order and a POS bill with one reference are one sale.

use loyalty::endpoint::prelude::*;
use loyalty::engine::SaleResult;
use loyalty::public::{success, Earned};
use loyalty::requests::EarnRequest;
use loyalty::routes::{SaleDialect, SaleRoute};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<SaleRoute<Earn>>(deps, req).await
}

// A sale in the Public dialect; `pos-bill` is the same sale in the Partner one.
struct Earn;

impl SaleDialect for Earn {
    const ROUTE: Route = Route::public("public-earn", Scope::WriteTransactions).reading_program();
    type Request = EarnRequest;

    fn render(result: &SaleResult, sandbox: bool) -> Response<Body> {
        success(&Earned::new(result), sandbox)
    }
}
