//! `GET /v1/admin/audit`
//!
//! The tenant's audit log, newest first, a page at a time (`?limit=&cursor=`).

use loyalty::admin::Audit;
use loyalty::endpoint::prelude::*;
use loyalty::manage;
use loyalty::requests::admin::Page;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<AuditLog>(deps, req).await
}

struct AuditLog;

impl Manage for AuditLog {
    type Input = Page;
    type Output = Audit;

    fn parse(req: &Request) -> Result<Page, ApiError> {
        Page::parse(req)
    }

    async fn run(cx: &Console<'_>, page: Page) -> Result<Audit, ApiError> {
        Ok(manage::audit_log(cx.deps, &cx.actor, page.limit, page.cursor.as_deref()).await?.into())
    }
}
