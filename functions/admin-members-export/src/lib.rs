//! `GET /v1/admin/members/export`
//!
//! A page of the tenant's members as CSV (`?tier=` for one tier's, `?cursor=` for the
//! next page, named by the `x-next-cursor` header while there is one). Owners and
//! managers.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, CsvPage};
use loyalty::requests::admin::MembersExport;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ExportMembers>(deps, req).await
}

struct ExportMembers;

impl Manage for ExportMembers {
    type Input = MembersExport;
    type Output = CsvPage;

    fn parse(req: &Request) -> Result<MembersExport, ApiError> {
        MembersExport::parse(req)
    }

    async fn run(cx: &Console<'_>, ask: MembersExport) -> Result<CsvPage, ApiError> {
        manage::export_members(cx.deps, &cx.actor, ask.tier.as_deref(), ask.cursor.as_deref()).await
    }

    fn render(page: &CsvPage) -> Response<Body> {
        loyalty::http::csv_page(&page.csv, page.next_cursor.as_deref())
    }
}
