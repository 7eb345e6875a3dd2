//! `POST /v1/admin/keys`
//!
//! Issues an API key (owners only): `201` with its secret, shown this once (a
//! second submission of the same `Idempotency-Key` answers the key without it).

use loyalty::endpoint::prelude::*;
use loyalty::manage::{self, IssuedKey, NewKeySpec};
use loyalty::requests::admin::{self, NewKeyRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::manage::<IssueKey>(deps, req).await
}

struct IssueKey;

impl Manage for IssueKey {
    const STATUS: StatusCode = StatusCode::CREATED;
    type Input = NewKeySpec;
    type Output = IssuedKey;

    fn parse(req: &Request) -> Result<NewKeySpec, ApiError> {
        NewKeySpec::try_from(admin::body::<NewKeyRequest>(req)?)
    }

    async fn run(cx: &Console<'_>, spec: NewKeySpec) -> Result<IssuedKey, ApiError> {
        manage::issue_key(cx.deps, &cx.actor, &spec, cx.idem.as_ref()).await
    }
}
