//! `POST /v1/admin/keys/{key_id}/scopes`
//!
//! Replaces an API key's scopes (owners only).

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, KeyView};
use loyalty::requests::admin::{self, ScopesRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<SetScopes>(deps, req).await
}

struct SetScopes;

impl Manage for SetScopes {
    type Input = (String, Vec<Scope>);
    type Output = KeyView;

    fn parse(req: &Request) -> Result<(String, Vec<Scope>), ApiError> {
        Ok((admin::path(req, "key_id", "API key")?.to_owned(), admin::body::<ScopesRequest>(req)?.scopes.0))
    }

    async fn run(cx: &Console<'_>, input: (String, Vec<Scope>)) -> Result<KeyView, ApiError> {
        manage::set_key_scopes(cx.deps, &cx.actor, &input.0, &input.1, cx.idem.as_ref()).await
    }
}
