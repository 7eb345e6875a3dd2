//! `GET /v1/public/loyalty/rewards` (`read:customers`)
//!
//! The program's active rewards catalog, cheapest first.

use loyalty::endpoint::prelude::*;
use loyalty::engine;
use loyalty::model::Reward;
use loyalty::public::{success, RewardEntry};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::read::<Rewards>(deps, req).await
}

struct Rewards;

impl Read for Rewards {
    const ROUTE: Route = Route::public("public-rewards", Scope::ReadCustomers);
    type Input = ();
    type Output = Vec<Reward>;

    fn parse(_: &Request) -> Result<(), ApiError> {
        Ok(())
    }

    async fn run(cx: &Context<'_>, _: ()) -> Result<Vec<Reward>, ApiError> {
        engine::catalog(cx.deps, &cx.caller).await
    }

    fn render(catalog: &Vec<Reward>, sandbox: bool) -> Response<Body> {
        success(&catalog.iter().map(RewardEntry::from).collect::<Vec<_>>(), sandbox)
    }
}
