//! `POST /v1/public/loyalty/redeem` (`write:transactions`)
//!
//! Spends a member's points on a catalog reward (`email`, `rewardId`) and issues a
//! voucher code. The debit, the voucher and the ledger entry are one transaction; a
//! balance below the cost is `422 insufficient_points` and nothing moves. An optional
//! `reference` makes a retry safe: the same reference, member and reward replay the
//! first redemption (the same voucher); another member or reward is 409.
//!
//! Only `app` keys (a customer-facing app or site where the member signed in): a till's
//! `pos` key answers `403 forbidden` before the body is read, since at a till points
//! leave only through the member's one-time code on a bill.

use loyalty::endpoint::prelude::*;
use loyalty::engine::{self, Redemption};
use loyalty::keys::Channel;
use loyalty::public::{success, Redeemed};
use loyalty::requests::{self, RewardFor, RewardRedeemRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<Redeem>(deps, req).await
}

struct Redeem;

impl Write for Redeem {
    const ROUTE: Route =
        Route::public("public-redeem", Scope::WriteTransactions).reading_program().only(&[Channel::App]);
    type Input = RewardFor;
    type Output = Redemption;

    fn parse(req: &Request) -> Result<RewardFor, ApiError> {
        requests::parse::<RewardRedeemRequest, _>(req)
    }

    async fn run(
        cx: &Context<'_>,
        r: &RewardFor,
        idem: Option<&Replayable<'_, Redemption>>,
    ) -> Result<Redemption, ApiError> {
        let program = cx.program().await?;
        engine::redeem_reward(cx.deps, &cx.caller, &program, &r.member, &r.reward_id, r.reference.as_deref(), idem)
            .await
    }

    fn render(redemption: &Redemption, sandbox: bool) -> Response<Body> {
        success(&Redeemed::new(redemption), sandbox)
    }

    fn replayed(redemption: &Redemption) -> bool {
        redemption.replayed
    }
}
