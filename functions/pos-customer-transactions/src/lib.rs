//! `GET /api/{tenant}/pos/customer/transactions?mobile=&limit=&cursor=` (`read:customers`)
//!
//! A member's points history, newest first: earnings, redemptions, refunds, each with
//! the balance after it. `limit` is 1 to 100 (default 20); `next_cursor` fetches the
//! next page.

use loyalty::domain::Mobile;
use loyalty::endpoint::prelude::*;
use loyalty::engine::{self, HistoryPage, MemberRef};
use loyalty::partner::{EntryBody, HistoryBody};
use loyalty::requests::PageQuery;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::read::<Transactions>(deps, req).await
}

// History in the Partner dialect; `public-transactions` is the same page in the Public one.
struct Transactions;

impl Read for Transactions {
    const ROUTE: Route = Route::partner("pos-customer-transactions", Scope::ReadCustomers);
    type Input = PageQuery;
    type Output = HistoryPage;

    fn parse(req: &Request) -> Result<PageQuery, ApiError> {
        PageQuery::parse(req, "mobile", |m| Mobile::parse(m).map(MemberRef::Mobile))
    }

    async fn run(cx: &Context<'_>, q: PageQuery) -> Result<HistoryPage, ApiError> {
        engine::history(cx.deps, &cx.caller, &q.member, q.limit, q.cursor.as_deref()).await
    }

    fn render(page: &HistoryPage, sandbox: bool) -> Response<Body> {
        let transactions = page.entries.iter().map(EntryBody::from).collect();
        json(StatusCode::OK, &HistoryBody { transactions, next_cursor: page.next_cursor.clone(), sandbox })
    }
}
