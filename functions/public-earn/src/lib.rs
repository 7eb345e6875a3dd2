//! `POST /v1/public/loyalty/earn` (`write:transactions`)
//!
//! Awards points for a purchase: `email`, `amount`, optional `reference` and
//! `description`. An unknown email is enrolled. A repeated `reference` never awards
//! twice; it shares its namespace with the Partner dialect's `external_ref`, so an
//! order and a POS bill with one reference are one sale.

use lambda_http::{Body, Request, Response};
use loyalty::auth::{self, Caller};
use loyalty::engine::{self, MemberRef, NewMember, Sale, SaleResult};
use loyalty::http::{replayed, respond, JsonBody};
use loyalty::idempotency::{self, Begin, Claim, Replayable};
use loyalty::keys::Scope;
use loyalty::public::{success, Earned};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, earn(deps, &req)).await
}

async fn earn(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::WriteTransactions).await?;
    match idempotency::begin(deps, &caller, req, "public-earn").await? {
        Begin::Replay(stored) => Ok(stored),
        Begin::Proceed(claim) => idempotency::finish(deps, claim.clone(), award(deps, req, &caller, claim)).await,
    }
}

async fn award(deps: &Deps, req: &Request, caller: &Caller, claim: Option<Claim>) -> Result<Response<Body>, ApiError> {
    let body = JsonBody::parse(req)?;
    let email = body.email("email")?.ok_or_else(|| ApiError::bad_request("email is required"))?;
    let amount = body.money("amount")?.ok_or_else(|| ApiError::bad_request("amount is required"))?;
    let reference = body.text_or_number("reference", 128)?;
    let description = body.text("description", 500)?;
    let name = body.text("name", 100)?;

    let program = auth::program(deps, &caller.tenant).await?;
    let sale = Sale {
        member: MemberRef::Email(email.clone()),
        enrol: Some(NewMember { name, mobile: None, email: Some(email) }),
        amount,
        items: vec![],
        reference,
        description,
    };
    let render = |r: &SaleResult| success(&Earned::new(r), false);
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let result = engine::record_sale(deps, caller, &program, &sale, idem.as_ref()).await?;

    let resp = success(&Earned::new(&result), caller.sandbox());
    Ok(if result.replayed { replayed(resp) } else { resp })
}
