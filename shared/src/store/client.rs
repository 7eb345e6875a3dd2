//! The client and its table, the store's error, and what every operation shares.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::Client;

use super::item_key::ItemKey;
use crate::error::ApiError;

/// Name of the global secondary index.
pub const GSI1: &str = "GSI1";
/// Name of the members index (keys only): a tenant's members by shard and tier.
pub const GSI2: &str = "GSI2";
/// Name of the expiry index (keys only): members by the month their oldest points fall due.
pub const GSI3: &str = "GSI3";
/// The table's TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at_epoch";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Down, slow, throttling, or refusing the call: retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A write that may have reached the store and whose answer was lost (a timeout,
    /// a broken connection or a server error after the request went out): it may have
    /// been applied. Only a write call reports this.
    #[error("write outcome unknown: {0}")]
    Unknown(String),
    /// An item the code cannot read.
    #[error("unreadable item: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn from_sdk<E, R>(err: aws_sdk_dynamodb::error::SdkError<E, R>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        StoreError::Unavailable(DisplayErrorContext(&err).to_string())
    }
}

/// The answer of a conditional write: `Ok(true)` written, `Ok(false)` the condition did
/// not hold, `Err` the store failed.
pub(crate) fn condition_held<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") => {
            Ok(false)
        }
        Err(err) => Err(StoreError::from_sdk(err)),
    }
}

/// A fresh token for one conditional write, stored on the item by the write. The SDK
/// retries a call whose answer was lost (a timeout after the commit) with the same
/// request, so a retry that meets this token on the item meets its own write, not
/// someone else's: the single-item counterpart of a transaction's
/// `ClientRequestToken`.
pub(crate) fn write_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => {
                tracing::error!(%cause, "store unavailable");
                ApiError::Unavailable
            }
            StoreError::Unknown(cause) => {
                tracing::error!(%cause, "write outcome unknown");
                ApiError::OutcomeUnknown
            }
            StoreError::Corrupt(cause) => {
                tracing::error!(%cause, "unreadable item");
                ApiError::Internal
            }
        }
    }
}

tokio::task_local! {
    /// The writes of the running request whose outcome is not settled (see [`WriteWatch`]).
    static UNSETTLED_WRITES: Arc<AtomicU32>;
}

/// Whether a request sent a write that may have changed the table: counted from the
/// moment a write call is sent until the store answers that it applied nothing. A
/// request whose time runs out while this is set cannot say that nothing happened.
///
/// Request-scoped (a task-local set by [`WriteWatch::run`]), so the store needs no
/// handle to the request; outside a watch nothing is counted.
#[derive(Debug, Clone, Default)]
pub struct WriteWatch(Arc<AtomicU32>);

impl WriteWatch {
    /// Runs `work` with its writes watched; the count stays readable after `work` is
    /// dropped.
    pub async fn run<F: std::future::Future>(&self, work: F) -> F::Output {
        UNSETTLED_WRITES.scope(self.0.clone(), work).await
    }

    /// A write was sent and may have been applied (committed, or its answer lost).
    pub fn unsettled(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
}

/// A write call is about to be sent.
pub(crate) fn write_sent() {
    let _ = UNSETTLED_WRITES.try_with(|n| n.fetch_add(1, Ordering::SeqCst));
}

/// The store answered that the write sent last applied nothing.
pub(crate) fn write_not_applied() {
    let _ = UNSETTLED_WRITES.try_with(|n| n.fetch_sub(1, Ordering::SeqCst));
}

/// Timeouts on every call (the SDK has none by default). Attempt < operation < the
/// function's timeout (10 s in the template), so a hung store answers 503, not a
/// Lambda timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(2_000);
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(5_000);

#[derive(Clone)]
pub struct Store {
    pub(super) client: Client,
    pub(super) table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store { client, table: table.into() }
    }

    /// The standard AWS settings (`AWS_REGION`, `AWS_ENDPOINT_URL_DYNAMODB`,
    /// credentials) with this store's timeouts and retries. For `main` functions only.
    /// The SDK's HTTP client trusts only the AWS roots ([`crate::tls`]): the system's root
    /// store is never read.
    ///
    /// In Lambda (region and credentials in the environment, no profile file, no other
    /// AWS setting) the configuration is built from the environment directly
    /// ([`crate::aws_env`]): the same settings without the default loader's provider
    /// chains, a part of every cold start. Anywhere else (profiles, SSO, instance roles)
    /// the default loader reads them.
    pub async fn load_aws_config() -> aws_config::SdkConfig {
        let http_client = match crate::tls::aws_http_client() {
            Ok(client) => Some(client),
            // Never in practice (the roots are compiled in and tested); the SDK's default
            // client (the system's roots) is still correct, only slower to start.
            Err(e) => {
                tracing::warn!(error = %e, "the AWS roots' client cannot be built; using the system's roots");
                None
            }
        };
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let retries = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(25));
        if let Some(lambda) = crate::aws_env::LambdaEnv::from_process() {
            let mut builder = lambda.sdk_config().timeout_config(timeouts).retry_config(retries);
            // Sleep and time source: unset, so every client takes its defaults (tokio's
            // sleep, the system clock), the ones the default loader sets.
            builder.set_http_client(http_client);
            return builder.build();
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(client) = http_client {
            loader = loader.http_client(client);
        }
        loader.timeout_config(timeouts).retry_config(retries).load().await
    }

    /// The table from `LOYALTY_TABLE` (default `loyalty`). For `main` functions only.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        let table = std::env::var("LOYALTY_TABLE").unwrap_or_else(|_| "loyalty".into());
        Store::new(Client::new(config), table)
    }

    /// [`load_aws_config`](Self::load_aws_config) then [`from_config`](Self::from_config).
    pub async fn from_env() -> Self {
        Store::from_config(&Store::load_aws_config().await)
    }

    /// The same client on another table.
    pub fn with_table(self, table: impl Into<String>) -> Self {
        Store { client: self.client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens the connection (DNS, TCP, TLS) during init so the first request does not
    /// pay for it. A failure here is logged, not fatal: the request path retries.
    pub async fn warm_up(&self) {
        let result =
            self.client.get_item().table_name(&self.table).set_key(Some(ItemKey::warm_up().attrs())).send().await;
        if let Err(err) = result {
            tracing::warn!(cause = %DisplayErrorContext(&err), "warm-up read failed");
        }
    }

    /// Opens `connections` connections side by side during init, one warm-up read
    /// ([`warm_up`](Self::warm_up)) on each: a read sent while the others are in flight
    /// finds no idle connection, so the client opens one for it, and afterwards all of
    /// them wait in its pool. A first request that makes that many calls at once then
    /// opens none; init opens them at the same time, not one after the other. Failures
    /// are logged, not fatal. (Each read is boxed: the functions' `main` futures stay
    /// shallow enough for the compiler's layout queries.)
    pub async fn warm_up_connections(&self, connections: usize) {
        let reads: Vec<_> = (0..connections.max(1)).map(|_| Box::pin(self.warm_up())).collect();
        futures_util::future::join_all(reads).await;
    }
}
