//! One pass of the webhook sender per scheduled invocation (every minute): every active
//! endpoint's due deliveries sent, their outcomes written (see
//! [`loyalty::webhooks::sender`]).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use loyalty::webhooks::sender::{PassReport, Sender};
use loyalty::Deps;

/// Runs one pass; a store that cannot be read fails the invocation (and its alarm).
pub async fn handle(
    deps: &Deps,
    sender: &Sender,
    event: EventBridgeEvent<serde_json::Value>,
) -> Result<PassReport, lambda_runtime::Error> {
    tracing::debug!(time = ?event.time, "webhook sender pass");
    let report = sender.run_pass(&deps.store, deps.clock.clone()).await?;
    if report.attempted > 0 || report.errors > 0 {
        tracing::info!(?report, "webhook sender pass");
    }
    Ok(report)
}
