//! `POST /api/{tenant}/pos/refund` (`write:transactions`)
//!
//! A return: `{external_ref | transaction_id, amount}`. Reverses the points the sale
//! earned and gives back the points it spent, in proportion to `amount`; repeatable until
//! the sale is fully refunded, never beyond. The balance may go below zero (the points
//! were already spent): `balance_negative` says so. `Idempotency-Key` makes retries safe.

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::auth;
use loyalty::engine::{self, Refund, SaleKey};
use loyalty::http::{json, respond, JsonBody};
use loyalty::idempotency::{self, Begin, Replayable};
use loyalty::keys::Scope;
use loyalty::partner::RefundBody;
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Partner, &req, post_refund(deps, &req)).await
}

async fn post_refund(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::partner(deps, req, Scope::WriteTransactions).await?;

    let body = JsonBody::parse(req)?;
    let external_ref = body.text_or_number("external_ref", 128)?;
    let transaction_id = body
        .text("transaction_id", 64)?
        .map(|id| uuid::Uuid::parse_str(&id).map_err(|_| ApiError::bad_request("transaction_id must be a UUID")))
        .transpose()?;
    let sale = match (transaction_id, external_ref) {
        (Some(id), _) => SaleKey::Transaction(id),
        (None, Some(r)) => SaleKey::Reference(r),
        (None, None) => return Err(ApiError::bad_request("external_ref or transaction_id is required")),
    };
    let amount = body.money("amount")?.ok_or_else(|| ApiError::bad_request("amount is required"))?;

    let program = auth::program(deps, &caller.tenant).await?;
    let claim = match idempotency::begin(deps, &caller, req, "pos-refund").await? {
        Begin::Replay(stored) => return Ok(stored),
        Begin::Proceed(claim) => claim,
    };
    let render = |r: &Refund| json(StatusCode::OK, &RefundBody::new(r, false));
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let work = async {
        let refund = engine::refund(deps, &caller, &program, &sale, amount, idem.as_ref()).await?;
        Ok(json(StatusCode::OK, &RefundBody::new(&refund, caller.sandbox())))
    };
    idempotency::finish(deps, claim.clone(), work).await
}
