//! `POST /v1/public/loyalty/redeem` (`write:transactions`)
//!
//! Spends a member's points on a catalog reward (`email`, `rewardId`) and issues a
//! voucher code. The debit, the voucher and the ledger entry are one transaction; a
//! balance below the cost is `422 insufficient_points` and nothing moves.

use lambda_http::{Body, Request, Response};
use loyalty::auth::{self, Caller};
use loyalty::engine::{self, MemberRef, Redemption};
use loyalty::http::{respond, JsonBody};
use loyalty::idempotency::{self, Begin, Claim, Replayable};
use loyalty::keys::Scope;
use loyalty::public::{success, Redeemed};
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Public, &req, redeem(deps, &req)).await
}

async fn redeem(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::public(deps, req, Scope::WriteTransactions).await?;
    match idempotency::begin(deps, &caller, req, "public-redeem").await? {
        Begin::Replay(stored) => Ok(stored),
        Begin::Proceed(claim) => idempotency::finish(deps, claim.clone(), spend(deps, req, &caller, claim)).await,
    }
}

async fn spend(deps: &Deps, req: &Request, caller: &Caller, claim: Option<Claim>) -> Result<Response<Body>, ApiError> {
    let body = JsonBody::parse(req)?;
    let email = body.email("email")?.ok_or_else(|| ApiError::bad_request("email is required"))?;
    let reward_id =
        body.text_or_number("rewardId", 64)?.ok_or_else(|| ApiError::bad_request("rewardId is required"))?;

    let program = auth::program(deps, &caller.tenant).await?;
    let render = |r: &Redemption| success(&Redeemed::new(r), false);
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let member = MemberRef::Email(email);
    let redemption = engine::redeem_reward(deps, caller, &program, &member, &reward_id, idem.as_ref()).await?;
    Ok(success(&Redeemed::new(&redemption), caller.sandbox()))
}
