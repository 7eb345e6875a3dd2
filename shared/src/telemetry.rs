//! Structured JSON logs, one object per line. Every line logged while a request is
//! handled carries its `request_id` (the span `http::respond` opens). Runtime and SDK
//! internals are held at `warn`, so request payloads (and so keys) never reach the log
//! whatever `RUST_LOG` says.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    for directive in [
        "lambda_runtime=warn",
        "lambda_http=warn",
        "lambda_runtime_api_client=warn",
        "aws_smithy_runtime=warn",
        "aws_config=warn",
        "hyper=warn",
        "h2=warn",
    ] {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .flatten_event(true)
        .try_init();
}
