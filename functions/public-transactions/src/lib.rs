//! `GET /v1/public/loyalty/transactions?email=&limit=&cursor=` (`read:customers`)
//!
//! A member's points history, newest first, a page at a time (`limit` 1 to 100,
//! default 20; `nextCursor` fetches the next page).

use loyalty::domain::Email;
use loyalty::endpoint::prelude::*;
use loyalty::engine::{self, HistoryPage, MemberRef};
use loyalty::public::{success, Entry, History};
use loyalty::requests::PageQuery;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::read::<Transactions>(deps, req).await
}

// History in the Public dialect; `pos-customer-transactions` is the same page in the Partner one.
struct Transactions;

impl Read for Transactions {
    const ROUTE: Route = Route::public("public-transactions", Scope::ReadCustomers);
    type Input = PageQuery;
    type Output = HistoryPage;

    fn parse(req: &Request) -> Result<PageQuery, ApiError> {
        PageQuery::parse(req, "email", |e| Email::parse(e).map(MemberRef::Email))
    }

    async fn run(cx: &Context<'_>, q: PageQuery) -> Result<HistoryPage, ApiError> {
        engine::history(cx.deps, &cx.caller, &q.member, q.limit, q.cursor.as_deref()).await
    }

    fn render(page: &HistoryPage, sandbox: bool) -> Response<Body> {
        let transactions = page.entries.iter().map(Entry::from).collect();
        success(&History { transactions, next_cursor: page.next_cursor.clone() }, sandbox)
    }
}
