//! Structured JSON logs, one object per line. Every line logged while a request is
//! handled carries its `request_id` (the span `http::respond` opens). Runtime and SDK
//! internals are held at `warn`, so request payloads (and so keys) never reach the log
//! whatever `RUST_LOG` says.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `RUST_LOG` as `level` or `target=level,...` (default `info`). A `Targets` filter, not
/// an `EnvFilter`: it needs no regular-expression engine, which would cost every function
/// about 0.25 MiB and its parsing at every cold start.
pub fn init() {
    let _ = tracing_subscriber::registry()
        .with(filter(std::env::var("RUST_LOG").ok().as_deref()))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_target(false)
                .flatten_event(true),
        )
        .try_init();
}

/// The levels `rust_log` asks for, with the runtime's and the SDK's own targets held at
/// `warn` whatever it says.
fn filter(rust_log: Option<&str>) -> Targets {
    let asked = rust_log.and_then(|v| v.parse::<Targets>().ok());
    let mut filter = asked.unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    for target in [
        "lambda_runtime",
        "lambda_http",
        "lambda_runtime_api_client",
        "aws_smithy_runtime",
        "aws_config",
        "hyper",
        "h2",
    ] {
        filter = filter.with_target(target, LevelFilter::WARN);
    }
    filter
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn rust_log_sets_levels_but_never_opens_the_runtime_and_sdk_internals() {
        let default = filter(None);
        assert!(default.would_enable("loyalty", &Level::INFO));
        assert!(!default.would_enable("loyalty", &Level::DEBUG));
        let debug = filter(Some("debug"));
        assert!(debug.would_enable("loyalty::store", &Level::DEBUG));
        for target in ["aws_smithy_runtime::client", "hyper", "lambda_runtime"] {
            assert!(!debug.would_enable(target, &Level::INFO), "{target}");
            assert!(debug.would_enable(target, &Level::WARN), "{target}");
        }
        let unreadable = filter(Some("=oops="));
        assert!(unreadable.would_enable("loyalty", &Level::INFO));
    }
}
