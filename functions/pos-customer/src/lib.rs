//! `GET /api/{tenant}/pos/customer?mobile=&create=&name=&email=` (`read:customers`)
//!
//! Looks a member up by mobile: balance, tier, redeemable value and active coupons.
//! With `create=true` an unknown mobile is enrolled (with `name`, and `email` if given);
//! without it the answer is `200 {"found": false, "mobile": ...}`.

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::auth;
use loyalty::domain::{Email, Mobile};
use loyalty::engine::{self, MemberRef, NewMember};
use loyalty::http::{clean_text, json, query, query_flag, respond};
use loyalty::keys::Scope;
use loyalty::partner::{LookupBody, NotFoundBody};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Partner, &req, lookup(deps, &req)).await
}

async fn lookup(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::partner(deps, req, Scope::ReadCustomers).await?;

    let mobile = query(req, "mobile").ok_or_else(|| ApiError::bad_request("mobile is required"))?;
    let mobile = Mobile::parse(mobile).map_err(|e| ApiError::bad_request(format!("mobile {e}")))?;
    let create = query_flag(req, "create")?;
    let name = query(req, "name").map(|n| clean_text("name", n, 100)).transpose()?.flatten();
    let email = query(req, "email")
        .map(|e| Email::parse(e).map_err(|e| ApiError::bad_request(format!("email {e}"))))
        .transpose()?;

    let program = auth::program(deps, &caller.tenant).await?;
    let enrol = create.then(|| NewMember { name, mobile: Some(mobile.clone()), email });
    let found = engine::lookup_member(deps, &caller, &MemberRef::Mobile(mobile.clone()), enrol).await?;

    Ok(match found {
        Some(found) => json(StatusCode::OK, &LookupBody::new(&program, &found, caller.sandbox())),
        None => {
            json(StatusCode::OK, &NotFoundBody { found: false, mobile: mobile.as_str(), sandbox: caller.sandbox() })
        }
    })
}
