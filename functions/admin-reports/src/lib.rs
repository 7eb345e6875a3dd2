//! `GET /v1/admin/reports/daily?from=YYYY-MM-DD&to=YYYY-MM-DD`
//!
//! The program's daily figures over a range of its days (everyone of the tenant): per
//! day the points earned, redeemed, expired, refunded and adjusted, new members,
//! vouchers issued and used, and the outstanding points with their money value at the
//! end of the day; the sums over the range and the members enrolled. `to` left out: today;
//! `from` left out: the 30 days up to `to`.

use loyalty::endpoint::prelude::*;
use loyalty::figures::Report;
use loyalty::manage;
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<DailyReport>(deps, req).await
}

struct DailyReport;

impl Manage for DailyReport {
    type Input = (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>);
    type Output = Report;

    fn parse(req: &Request) -> Result<Self::Input, ApiError> {
        admin::report_range(req)
    }

    async fn run(cx: &Console<'_>, (from, to): Self::Input) -> Result<Report, ApiError> {
        manage::daily_report(cx.deps, &cx.actor, from, to).await
    }
}
