//! `GET /v1/admin/ledger/export`
//!
//! A page of the tenant's ledger entries written from `?from=` to `?to=` (dates, both
//! included) as CSV, a few members' ledgers a page (`?cursor=` for the next page, named
//! by the `x-next-cursor` header while there is one). Owners and managers.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, CsvPage};
use loyalty::requests::admin::LedgerExport;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ExportLedger>(deps, req).await
}

struct ExportLedger;

impl Manage for ExportLedger {
    type Input = LedgerExport;
    type Output = CsvPage;

    fn parse(req: &Request) -> Result<LedgerExport, ApiError> {
        LedgerExport::parse(req)
    }

    async fn run(cx: &Console<'_>, ask: LedgerExport) -> Result<CsvPage, ApiError> {
        manage::export_ledger(cx.deps, &cx.actor, ask.range, ask.cursor.as_deref()).await
    }

    fn render(page: &CsvPage) -> Response<Body> {
        loyalty::http::csv_page(&page.csv, page.next_cursor.as_deref())
    }
}
