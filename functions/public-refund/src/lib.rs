//! `POST /v1/public/loyalty/refund` (`write:transactions`)
//!
//! A return of an order earned with `reference`: `{reference, amount}`. Reverses the
//! points it earned in proportion; repeatable until the order is fully refunded, never
//! beyond. The balance may go below zero: `balanceNegative` says so.

use lambda_http::{Body, Request, Response};
use loyalty::auth;
use loyalty::engine::{self, Refund, SaleKey};
use loyalty::http::{respond, JsonBody};
use loyalty::idempotency::{self, Begin, Replayable};
use loyalty::keys::Scope;
use loyalty::public::{success, Refunded};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, post_refund(deps, &req)).await
}

async fn post_refund(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::WriteTransactions).await?;

    let body = JsonBody::parse(req)?;
    let reference =
        body.text_or_number("reference", 128)?.ok_or_else(|| ApiError::bad_request("reference is required"))?;
    let amount = body.money("amount")?.ok_or_else(|| ApiError::bad_request("amount is required"))?;

    let program = auth::program(deps, &caller.tenant).await?;
    let claim = match idempotency::begin(deps, &caller, req, "public-refund").await? {
        Begin::Replay(stored) => return Ok(stored),
        Begin::Proceed(claim) => claim,
    };
    let render = |r: &Refund| success(&Refunded::new(r), false);
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let work = async {
        let sale = SaleKey::Reference(reference);
        let refund = engine::refund(deps, &caller, &program, &sale, amount, idem.as_ref()).await?;
        Ok(success(&Refunded::new(&refund), caller.sandbox()))
    };
    idempotency::finish(deps, claim.clone(), work).await
}
