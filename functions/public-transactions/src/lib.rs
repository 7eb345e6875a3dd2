//! `GET /v1/public/loyalty/transactions?email=&limit=&cursor=` (`read:customers`)
//!
//! A member's points history, newest first, a page at a time (`limit` 1 to 100,
//! default 20; `nextCursor` fetches the next page).

use lambda_http::{Body, Request, Response};
use loyalty::auth;
use loyalty::domain::Email;
use loyalty::engine::{self, MemberRef};
use loyalty::http::{query, respond};
use loyalty::keys::Scope;
use loyalty::public::{success, Entry, History};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, transactions(deps, &req)).await
}

async fn transactions(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::ReadCustomers).await?;

    let email = query(req, "email").ok_or_else(|| ApiError::bad_request("email is required"))?;
    let email = Email::parse(email).map_err(|e| ApiError::bad_request(format!("email {e}")))?;
    let limit = engine::page_limit(query(req, "limit"))?;

    let page = engine::history(deps, &caller, &MemberRef::Email(email), limit, query(req, "cursor")).await?;
    let data = History { transactions: page.entries.iter().map(Entry::from).collect(), next_cursor: page.next_cursor };
    Ok(success(&data, caller.sandbox()))
}
