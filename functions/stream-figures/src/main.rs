use std::sync::Arc;

use aws_lambda_events::event::dynamodb::TimeWindowEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use loyalty::figures::Counter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    loyalty::telemetry::init();
    let deps = loyalty::Deps::from_env_without_console(None)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    deps.store.warm_up().await;
    let counter: &'static Counter = Box::leak(Box::new(Counter::new(Arc::new(deps))));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<TimeWindowEvent>| async move {
        stream_figures::handle(counter, event.payload).await
    }))
    .await
}
