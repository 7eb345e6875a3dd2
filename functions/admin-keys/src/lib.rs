//! `GET /v1/admin/keys`
//!
//! The tenant's API keys, newest first (owners only): label, mode, channel, scopes,
//! created, last used to the day, status. Never a secret.

use loyalty::admin::Keys;
use loyalty::endpoint::prelude::*;
use loyalty::manage;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<ListKeys>(deps, req).await
}

struct ListKeys;

impl Manage for ListKeys {
    type Input = ();
    type Output = Keys;

    fn parse(_: &Request) -> Result<(), ApiError> {
        Ok(())
    }

    async fn run(cx: &Console<'_>, _: ()) -> Result<Keys, ApiError> {
        Ok(Keys { keys: manage::list_keys(cx.deps, &cx.actor).await? })
    }
}
