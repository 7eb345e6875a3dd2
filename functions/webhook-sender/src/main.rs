use lambda_runtime::{service_fn, LambdaEvent};
use loyalty::webhooks::guard::Policy;
use loyalty::webhooks::sender::{Sender, SenderConfig};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    loyalty::telemetry::init();
    let deps = loyalty::Deps::from_env_without_console(None)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "configuration"))?;
    let deps: &'static loyalty::Deps = Box::leak(Box::new(deps));
    let sender = Sender::new(Policy::from_env(), SenderConfig::default())
        .inspect_err(|e| tracing::error!(error = %e, "webhook sender"))?;
    deps.store.warm_up().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let sender = sender.clone();
        async move { webhook_sender::handle(deps, &sender, event.payload).await }
    }))
    .await
}
