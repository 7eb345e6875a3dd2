//! `GET /v1/public/loyalty/balance?email=` (`read:customers`)
//!
//! A member's balance and tier, found by email.

use loyalty::endpoint::prelude::*;
use std::sync::Arc;

use loyalty::domain::Email;
use loyalty::engine::{self, MemberRef};
use loyalty::expiry::{self, Expiring};
use loyalty::http::required_query;
use loyalty::model::Customer;
use loyalty::program::Program;
use loyalty::public::{success, Balance};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::read::<GetBalance>(deps, req).await
}

struct GetBalance;

impl Read for GetBalance {
    const ROUTE: Route = Route::public("public-balance", Scope::ReadCustomers).reading_program();
    type Input = Email;
    type Output = (Arc<Program>, Customer, Option<Expiring>);

    fn parse(req: &Request) -> Result<Email, ApiError> {
        required_query(req, "email", Email::parse)
    }

    async fn run(cx: &Context<'_>, email: Email) -> Result<Self::Output, ApiError> {
        let program = cx.program().await?;
        let by = MemberRef::Email(email);
        if loyalty::test_values::unknown_member(&cx.caller, &by) {
            return Err(ApiError::NotFound("Customer"));
        }
        let member = engine::find_member(cx.deps, &cx.caller.tenant, &by).await?;
        let member = member.ok_or(ApiError::NotFound("Customer"))?;
        // The balance a change now would see: points whose months passed are not shown.
        let (member, expiring) = expiry::view(&program, &member, cx.deps.now());
        Ok((program, member, expiring))
    }

    fn render((program, member, expiring): &Self::Output, sandbox: bool) -> Response<Body> {
        success(&Balance::new(program, member, *expiring), sandbox)
    }
}
