//! `POST /v1/admin/keys/{key_id}/revoke`
//!
//! Revokes an API key (owners only): it stops working within the key cache's
//! lifetime.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, KeyView};
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<RevokeKey>(deps, req).await
}

struct RevokeKey;

impl Manage for RevokeKey {
    type Input = String;
    type Output = KeyView;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "key_id", "API key")?.to_owned())
    }

    async fn run(cx: &Console<'_>, key_id: String) -> Result<KeyView, ApiError> {
        manage::revoke_key(cx.deps, &cx.actor, &key_id, cx.idem.as_ref()).await
    }
}
