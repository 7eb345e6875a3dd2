//! `GET /api/{tenant}/pos/customer?mobile=&create=&name=&email=` (`read:customers`)
//!
//! Looks a member up by mobile: balance, tier, redeemable value and active coupons.
//! With `create=true` an unknown mobile is enrolled (with `name`, and `email` if given);
//! without it the answer is `200 {"found": false, "mobile": ...}`.

use loyalty::endpoint::prelude::*;
use std::sync::Arc;

use loyalty::domain::{Email, Mobile};
use loyalty::engine::{self, MemberLookup, MemberRef, NewMember};
use loyalty::expiry::{self, Expiring};
use loyalty::http::{clean_text, query, query_flag, query_parsed, required_query};
use loyalty::partner::{LookupBody, NotFoundBody};
use loyalty::program::Program;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::read::<Lookup>(deps, req).await
}

struct Lookup;

impl Read for Lookup {
    const ROUTE: Route = Route::partner("pos-customer", Scope::ReadCustomers).reading_program();
    type Input = (Mobile, Option<NewMember>);
    type Output = (Arc<Program>, Mobile, Option<(MemberLookup, Option<Expiring>)>);

    fn parse(req: &Request) -> Result<Self::Input, ApiError> {
        let mobile = required_query(req, "mobile", Mobile::parse)?;
        let create = query_flag(req, "create")?;
        let name = query(req, "name").map(|n| clean_text("name", &loyalty::domain::nfc(n), 100)).transpose()?.flatten();
        let email = query_parsed(req, "email", Email::parse)?;
        Ok((mobile.clone(), create.then_some(NewMember { name, mobile: Some(mobile), email })))
    }

    async fn run(cx: &Context<'_>, (mobile, enrol): Self::Input) -> Result<Self::Output, ApiError> {
        let program = cx.program().await?;
        let found = engine::lookup_member(cx.deps, &cx.caller, &MemberRef::Mobile(mobile.clone()), enrol).await?;
        // The balance a change now would see: points whose months passed are not shown.
        let found = found.map(|mut found| {
            let (member, expiring) = expiry::view(&program, &found.customer, cx.deps.now());
            found.customer = member;
            (found, expiring)
        });
        Ok((program, mobile, found))
    }

    fn render((program, mobile, found): &Self::Output, sandbox: bool) -> Response<Body> {
        match found {
            Some((found, expiring)) => json(StatusCode::OK, &LookupBody::new(program, found, *expiring, sandbox)),
            None => json(StatusCode::OK, &NotFoundBody { found: false, mobile: mobile.as_str(), sandbox }),
        }
    }
}
