use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{service_fn, LambdaEvent};
use loyalty::events::consumer::Consumer;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    loyalty::telemetry::init();
    let deps = loyalty::Deps::from_env_without_console(None)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    deps.store.warm_up().await;
    let consumer: &'static Consumer = Box::leak(Box::new(Consumer::new(Arc::new(deps))));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, lambda_runtime::Error>(stream_events::handle(consumer, event.payload).await)
    }))
    .await
}
