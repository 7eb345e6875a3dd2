use lambda_runtime::{service_fn, LambdaEvent};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use loyalty::Deps;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    loyalty::telemetry::init();
    let deps =
        Deps::from_env_without_console(None).await.inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let deps: &'static Deps = Box::leak(Box::new(deps));
    deps.store.warm_up().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| async move {
        let now_ms = u64::try_from(deps.now().timestamp_millis()).unwrap_or(0);
        let budget = expiry_job::budget(event.context.deadline, now_ms);
        let run = expiry_job::handle(deps, &event.payload, budget).await.map_err(|e| e.to_string())?;
        Ok::<_, lambda_runtime::Error>(serde_json::to_value(&run)?)
    }))
    .await
}
