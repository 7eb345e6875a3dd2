//! `GET /api/{tenant}/pos/customer/transactions?mobile=&limit=&cursor=` (`read:customers`)
//!
//! A member's points history, newest first: earnings, redemptions, refunds, each with
//! the balance after it. `limit` is 1 to 100 (default 20); `next_cursor` fetches the
//! next page.

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::auth;
use loyalty::domain::Mobile;
use loyalty::engine::{self, MemberRef};
use loyalty::http::{json, query, respond};
use loyalty::keys::Scope;
use loyalty::partner::{EntryBody, HistoryBody};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Partner, &req, transactions(deps, &req)).await
}

async fn transactions(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::partner(deps, req, Scope::ReadCustomers).await?;

    let mobile = query(req, "mobile").ok_or_else(|| ApiError::bad_request("mobile is required"))?;
    let mobile = Mobile::parse(mobile).map_err(|e| ApiError::bad_request(format!("mobile {e}")))?;
    let limit = engine::page_limit(query(req, "limit"))?;

    let page = engine::history(deps, &caller, &MemberRef::Mobile(mobile), limit, query(req, "cursor")).await?;
    let body = HistoryBody {
        transactions: page.entries.iter().map(EntryBody::from).collect(),
        next_cursor: page.next_cursor,
        sandbox: caller.sandbox(),
    };
    Ok(json(StatusCode::OK, &body))
}
