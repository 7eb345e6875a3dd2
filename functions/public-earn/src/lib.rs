//! `POST /v1/public/loyalty/earn` (`write:transactions`)
//!
//! Awards points for a purchase: `email`, `amount`, optional `reference` and
//! `description`. An unknown email is enrolled. A repeated `reference` never awards
//! twice; it shares its namespace with the Partner dialect's `external_ref`, so an
//! order and a POS bill with one reference are one sale.

use lambda_http::{Body, Request, Response};
use loyalty::auth;
use loyalty::engine::{self, MemberRef, NewMember, Sale, SaleResult};
use loyalty::http::{replayed, respond, JsonBody};
use loyalty::idempotency::{self, Begin, Replayable};
use loyalty::keys::Scope;
use loyalty::public::{success, Earned};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, earn(deps, &req)).await
}

async fn earn(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::WriteTransactions).await?;

    let sale = parse_earn(&JsonBody::parse(req)?)?;
    let program = auth::program(deps, &caller.tenant).await?;
    // A preview writes nothing, so it has nothing to make idempotent.
    let claim = if sale.preview {
        None
    } else {
        match idempotency::begin(deps, &caller, req, "public-earn").await? {
            Begin::Replay(stored) => return Ok(stored),
            Begin::Proceed(claim) => claim,
        }
    };
    let render = |r: &SaleResult| success(&Earned::new(r), false);
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let work = async {
        let result = engine::record_sale(deps, &caller, &program, &sale, idem.as_ref()).await?;
        let resp = success(&Earned::new(&result), caller.sandbox());
        Ok(if result.replayed { replayed(resp) } else { resp })
    };
    idempotency::finish(deps, claim.clone(), work).await
}

fn parse_earn(body: &JsonBody) -> Result<Sale, ApiError> {
    let email = body.email("email")?.ok_or_else(|| ApiError::bad_request("email is required"))?;
    let amount = body.money("amount")?.ok_or_else(|| ApiError::bad_request("amount is required"))?;
    let reference = body.text_or_number("reference", 128)?;
    let description = body.text("description", 500)?;
    let name = body.text("name", 100)?;
    let preview = body.bool("preview")?.unwrap_or(false);
    Ok(Sale {
        member: MemberRef::Email(email.clone()),
        enrol: Some(NewMember { name, mobile: None, email: Some(email) }),
        amount,
        items: vec![],
        reference,
        description,
        preview,
        redeem_points: 0,
        otp: None,
    })
}
