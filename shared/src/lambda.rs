//! The start of every function: logs, dependencies, a warm connection, then the runtime
//! loop. A function's `main` is one call to [`serve`] (a management route),
//! [`serve_without_console`] (an API-key route) or `serve_sending_sms` (the one function
//! that sends SMS). A setting the function cannot honour stops it at init: the error is
//! logged and returned from `main`, a non-zero exit.
//!
//! Everything a function would otherwise do on its first request is done here, at init:
//! the DynamoDB connections are opened, as many as a cold request uses at once
//! ([`WARM_CONNECTIONS`] warm-up reads side by side; DNS, TCP, TLS, the SDK's credentials
//! and endpoint), and a management function fetches the user pool's JWKS. Nothing in the
//! request path is built lazily (no regular expression, no schema).
//!
//! Init is kept short too: in Lambda the SDK's configuration is built from the
//! environment directly rather than by the default loader's provider chains
//! ([`crate::aws_env`]; measured on the release build, about 0.75 ms of init before, 0.5
//! ms after, for `Deps` as a whole). The warm-up is not moved after the first poll: with
//! provisioned concurrency Lambda freezes the process at that poll, and a warm-up left
//! in flight would meet the first request half done, on a connection that may be gone.

use std::future::Future;

use lambda_http::{service_fn, Body, Request, Response};

use crate::deps::Deps;

/// Starts a management route (or any function that sends no SMS): with the console's
/// session verifier and the team's pool when configured. `LOYALTY_SMS=sns` stops it at
/// init.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Deps, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    run(Deps::from_env(None), handler).await
}

/// Starts an API-key route: no SMS, and none of the console's parts (its binary does
/// not link them, whatever features a shared build turns on).
pub async fn serve_without_console<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Deps, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    run(Deps::from_env_without_console(None), handler).await
}

/// Starts an API-key route that sends SMS: `LOYALTY_SMS=sns` sends through Amazon SNS.
/// Only with the `sns` feature, so only such a function links the SNS client; none of
/// the console's parts.
#[cfg(feature = "sns")]
pub async fn serve_sending_sms<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Deps, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let sns: Option<crate::deps::SnsBuilder> = Some(crate::deps::sns_sender);
    run(Deps::from_env_without_console(sns), handler).await
}

async fn run<F, Fut>(
    deps: impl Future<Output = Result<Deps, crate::deps::ConfigError>>,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Deps, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    crate::telemetry::init();
    // A setting the function does not know stops it here, before it answers anything:
    // the error is logged and `main` returns it (a non-zero exit, an init error).
    let deps = deps.await.inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    // Built once per process and shared by every invocation for the process's life.
    let deps: &'static Deps = Box::leak(Box::new(deps));
    warm_up(deps).await;
    lambda_http::run(service_fn(move |req: Request| {
        let response = handler(deps, req);
        async move { Ok::<_, lambda_http::Error>(response.await) }
    }))
    .await
}

/// How many DynamoDB connections init opens: as many as a cold request uses at once.
/// Every dialect route's first request sends two calls side by side (the key with the
/// tenant's program, or the key's "last used" note beside the route's own call), so a
/// single warm connection would leave it to open a second one (in AWS: DNS, TCP and a
/// TLS handshake) while the request waits.
pub const WARM_CONNECTIONS: usize = 2;

/// The first request's one-time costs, paid at init and side by side: the DynamoDB
/// connections ([`WARM_CONNECTIONS`]) and, in a management function, the user pool's
/// JWKS.
async fn warm_up(deps: &Deps) {
    #[cfg(feature = "console")]
    if let Some(sessions) = &deps.sessions {
        tokio::join!(deps.store.warm_up_connections(WARM_CONNECTIONS), sessions.warm_up());
        return;
    }
    deps.store.warm_up_connections(WARM_CONNECTIONS).await;
}
