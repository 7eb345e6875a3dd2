//! The start of every function: logs, dependencies, a warm connection, then the runtime
//! loop. A function's `main` is one call to [`serve`].

use std::future::Future;

use lambda_http::{service_fn, Body, Request, Response};

use crate::deps::Deps;

pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Deps, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    crate::telemetry::init();
    // Built once per process and shared by every invocation for the process's life.
    let deps: &'static Deps = Box::leak(Box::new(Deps::from_env().await));
    deps.store.warm_up().await;
    lambda_http::run(service_fn(move |req: Request| {
        let response = handler(deps, req);
        async move { Ok::<_, lambda_http::Error>(response.await) }
    }))
    .await
}
