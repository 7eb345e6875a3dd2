//! `POST /v1/admin/keys/{key_id}/rotate`
//!
//! Rotates an API key (owners only): `201` with a new key of the same label, mode,
//! channel and scopes and its secret; the old one revoked in the same transaction.

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, IssuedKey};
use loyalty::requests::admin;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<RotateKey>(deps, req).await
}

struct RotateKey;

impl Manage for RotateKey {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = String;
    type Output = IssuedKey;

    fn parse(req: &Request) -> Result<String, ApiError> {
        Ok(admin::path(req, "key_id", "API key")?.to_owned())
    }

    async fn run(cx: &Console<'_>, key_id: String) -> Result<IssuedKey, ApiError> {
        manage::rotate_key(cx.deps, &cx.actor, &key_id, cx.idem.as_ref()).await
    }
}
