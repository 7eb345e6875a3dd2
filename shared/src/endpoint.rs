//! One shape for every endpoint. A handler states its [`Route`], how it parses a
//! request, its engine call and its renderer; the order around them lives here once:
//!
//! - a read ([`Read`]): authenticate (dialect, scope), parse, run, render;
//! - a write ([`Write`]): authenticate, parse and validate the body, then claim the
//!   `Idempotency-Key`, run, render, finish (the claim released if the run fails). A
//!   request refused as malformed costs no write, and a `400` always comes before a
//!   `409`.
//!
//! - a management route ([`Manage`], the console's API): authenticate the person's
//!   session, parse, run (the engine checks the role and makes changes idempotent),
//!   answer JSON.
//!
//! All first refuse a request that came past the stage's edge (`through_edge`),
//! and run within the request budget and answer errors in the route's dialect
//! ([`crate::http::respond`]).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::auth::{self, Caller};
use crate::deps::{Deps, EDGE_HEADER};
use crate::error::{ApiError, Dialect};
use crate::http::{replayed, respond};
use crate::idempotency::{self, Begin, Replayable};
use crate::keys::{Channel, Scope};
use crate::program::Program;

/// A route: the function's name (which also scopes its idempotency keys), its dialect,
/// the scope its key needs and the key channels it serves (every channel unless
/// narrowed with [`Route::only`]).
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub name: &'static str,
    pub dialect: Dialect,
    pub scope: Scope,
    pub channels: &'static [Channel],
    /// Reads the tenant's program (a cold request reads it with the key).
    pub program: bool,
}

impl Route {
    /// A Partner (POS) route: the key must belong to the `{tenant}` in the path.
    pub const fn partner(name: &'static str, scope: Scope) -> Route {
        Route { name, dialect: Dialect::Partner, scope, channels: &Channel::ALL, program: false }
    }

    /// A Public route: the key alone names the tenant.
    pub const fn public(name: &'static str, scope: Scope) -> Route {
        Route { name, dialect: Dialect::Public, scope, channels: &Channel::ALL, program: false }
    }

    /// The same route, for keys of these channels only (others answer 403 before the
    /// body is read).
    pub const fn only(self, channels: &'static [Channel]) -> Route {
        Route { channels, ..self }
    }

    /// The same route, marked as reading the tenant's program.
    pub const fn reading_program(self) -> Route {
        Route { program: true, ..self }
    }

    async fn authenticate(&self, deps: &Deps, req: &Request) -> Result<Caller, ApiError> {
        match self.dialect {
            Dialect::Partner => auth::partner(deps, req, self.scope, self.channels, self.program).await,
            Dialect::Public => auth::public(deps, req, self.scope, self.channels, self.program).await,
            // No API key opens a management route (those are [`Manage`]).
            Dialect::Admin => Err(ApiError::Unauthorized),
        }
    }
}

/// What a handler's run sees: the dependencies and the authenticated caller.
pub struct Context<'a> {
    pub deps: &'a Deps,
    pub caller: Caller,
}

impl Context<'_> {
    /// The caller's program in force now (from memory when fresh).
    pub async fn program(&self) -> Result<Arc<Program>, ApiError> {
        auth::program(self.deps, &self.caller.tenant).await
    }

    /// The caller's program in force at `at` (a late bill's sale time).
    pub async fn program_at(&self, at: DateTime<Utc>) -> Result<Arc<Program>, ApiError> {
        Ok(auth::program_versions(self.deps, &self.caller.tenant).await?.at(at).clone())
    }

    pub fn sandbox(&self) -> bool {
        self.caller.sandbox()
    }
}

/// A route that writes nothing.
pub trait Read {
    const ROUTE: Route;
    type Input: Send + Sync;
    type Output: Send + Sync;

    /// The request's query and path, parsed.
    fn parse(req: &Request) -> Result<Self::Input, ApiError>;

    fn run(cx: &Context<'_>, input: Self::Input) -> impl Future<Output = Result<Self::Output, ApiError>> + Send;

    fn render(output: &Self::Output, sandbox: bool) -> Response<Body>;
}

/// A route that writes, made safe to retry by its `Idempotency-Key`.
pub trait Write {
    const ROUTE: Route;
    type Input: Send + Sync;
    type Output: Send + Sync;

    /// The request's body, parsed (see [`crate::requests::parse`]).
    fn parse(req: &Request) -> Result<Self::Input, ApiError>;

    /// Checks of the parsed input against the time `now` (a sale time's bounds): a 400,
    /// before the `Idempotency-Key` is claimed.
    fn check(_input: &Self::Input, _now: DateTime<Utc>) -> Result<(), ApiError> {
        Ok(())
    }

    /// Whether this request claims its `Idempotency-Key`: one that writes nothing (a
    /// preview) has nothing to make idempotent.
    fn claims(_input: &Self::Input) -> bool {
        true
    }

    /// The engine call. With `idem`, the engine stores the rendered response in the
    /// effect's own transaction.
    fn run(
        cx: &Context<'_>,
        input: &Self::Input,
        idem: Option<&Replayable<'_, Self::Output>>,
    ) -> impl Future<Output = Result<Self::Output, ApiError>> + Send;

    /// The response, the same for the answer and the stored replay (a claimed request
    /// is never a sandbox one).
    fn render(output: &Self::Output, sandbox: bool) -> Response<Body>;

    /// Whether the output is an earlier request's, answered again (marked by a header).
    fn replayed(_output: &Self::Output) -> bool {
        false
    }
}

/// Answers a read route.
pub async fn read<R: Read>(deps: &Deps, req: Request) -> Response<Body> {
    respond(R::ROUTE.dialect, &req, run_read::<R>(deps, &req)).await
}

async fn run_read<R: Read>(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    through_edge(deps, req)?;
    let caller = R::ROUTE.authenticate(deps, req).await?;
    // The key's "last used" note goes beside the work, never before it.
    let note = auth::note_use(deps, caller.key_id.clone());
    let answer = Box::pin(async {
        let input = R::parse(req)?;
        let cx = Context { deps, caller };
        let output = R::run(&cx, input).await?;
        Ok(R::render(&output, cx.sandbox()))
    });
    tokio::join!(answer, note).0
}

/// Answers a write route.
pub async fn write<W: Write>(deps: &Deps, req: Request) -> Response<Body> {
    respond(W::ROUTE.dialect, &req, run_write::<W>(deps, &req)).await
}

async fn run_write<W: Write>(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    through_edge(deps, req)?;
    let caller = W::ROUTE.authenticate(deps, req).await?;
    // The key's "last used" note goes beside the work, never before it.
    let note = auth::note_use(deps, caller.key_id.clone());
    // Boxed: the write's future is large, and joined with the note it would sit whole on
    // the stack of whatever awaits the route.
    tokio::join!(Box::pin(write_authenticated::<W>(deps, req, caller)), note).0
}

async fn write_authenticated<W: Write>(deps: &Deps, req: &Request, caller: Caller) -> Result<Response<Body>, ApiError> {
    let input = W::parse(req)?;
    W::check(&input, deps.now())?;
    let claim = match W::claims(&input) {
        false => None,
        true => match idempotency::begin(deps, &caller, req, W::ROUTE.name).await? {
            Begin::Replay(stored) => return Ok(stored),
            Begin::Proceed(claim) => claim,
        },
    };
    let cx = Context { deps, caller };
    let render = |output: &W::Output| W::render(output, false);
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let work = async {
        let output = W::run(&cx, &input, idem.as_ref()).await?;
        let resp = W::render(&output, cx.sandbox());
        Ok(if W::replayed(&output) { replayed(resp) } else { resp })
    };
    idempotency::finish(deps, claim.as_ref(), work).await
}

/// A management route (`/v1/admin/...`, the console's API): the status of a success, how it parses a request and its engine call. The order lives
/// here once: the edge check, the session (a Cognito ID token, never an API key: the
/// tenant and the role come only from its claims), the `Idempotency-Key` header, the
/// parse, the run, a JSON answer. Every error is in the [`Dialect::Admin`] body. The
/// engine ([`crate::manage`]) checks the role and makes a change idempotent in the
/// change's own transaction.
#[cfg(feature = "console")]
pub trait Manage {
    /// `201 Created` for a route that makes something.
    const STATUS: http::StatusCode = http::StatusCode::OK;
    type Input: Send + Sync;
    type Output: serde::Serialize + Send + Sync;

    /// The request's path, query and body, parsed (see [`crate::requests::admin`]).
    fn parse(req: &Request) -> Result<Self::Input, ApiError>;

    fn run(cx: &Console<'_>, input: Self::Input) -> impl Future<Output = Result<Self::Output, ApiError>> + Send;

    /// The response for a result: JSON unless the route says otherwise (an export's CSV).
    fn render(output: &Self::Output) -> Response<Body> {
        crate::http::json(Self::STATUS, output)
    }
}

/// What a management route's run sees: the dependencies, the signed-in person as an
/// [`Actor`](crate::actor::Actor), and the request's `Idempotency-Key`.
#[cfg(feature = "console")]
pub struct Console<'a> {
    pub deps: &'a Deps,
    pub actor: crate::actor::Actor,
    pub idem: Option<crate::domain::IdempotencyKey>,
}

/// Answers a management route.
#[cfg(feature = "console")]
pub async fn manage<M: Manage>(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Admin, &req, run_manage::<M>(deps, &req)).await
}

#[cfg(feature = "console")]
async fn run_manage<M: Manage>(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    through_edge(deps, req)?;
    let staff = deps.staff(req.headers()).await?;
    let idem = crate::requests::admin::idempotency_key(req)?;
    let input = M::parse(req)?;
    let cx = Console { deps, actor: staff.actor(), idem };
    let output = M::run(&cx, input).await?;
    Ok(M::render(&output))
}

/// Where the stage has an edge secret, the request must have come through the edge
/// (which adds it), not to the API's own address past the edge's limits. Compared as
/// SHA-256 digests, so the time taken says nothing of how much of it matched.
fn through_edge(deps: &Deps, req: &Request) -> Result<(), ApiError> {
    let Some(secret) = &deps.edge_secret else {
        return Ok(());
    };
    let sent = req.headers().get(EDGE_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if Sha256::digest(sent) == Sha256::digest(secret.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::OffEdge)
    }
}

/// What every function's `lib.rs` uses: `use loyalty::endpoint::prelude::*;`.
pub mod prelude {
    pub use lambda_http::http::StatusCode;
    pub use lambda_http::{Body, Request, Response};

    pub use crate::endpoint::{self, Context, Read, Route, Write};
    #[cfg(feature = "console")]
    pub use crate::endpoint::{Console, Manage};
    pub use crate::error::ApiError;
    pub use crate::http::json;
    pub use crate::idempotency::Replayable;
    pub use crate::keys::Scope;
    pub use crate::Deps;
}
