//! DynamoDB Local, started by the bench on a free port (in memory, shared database),
//! and the SDK client the bench issues its own raw calls with: the same SDK, timeouts
//! and retries as the functions' store.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::Client;

use crate::error::Error;
use crate::procs::Child;

pub struct DynamoLocal {
    pub addr: SocketAddr,
    /// Stopped (TERM, then KILL) when dropped.
    process: Child,
}

impl DynamoLocal {
    /// `java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory
    /// -sharedDb -port PORT -disableTelemetry`, run from the emulator directory.
    pub async fn start(emulator_dir: &Path, port: u16, log: &Path) -> Result<DynamoLocal, Error> {
        let jar = emulator_dir.join("DynamoDBLocal.jar");
        if !jar.is_file() {
            return Err(format!("no {}: run scripts/install.sh (or pass --ddb-dir)", jar.display()).into());
        }
        let mut cmd = Command::new("java");
        cmd.current_dir(emulator_dir)
            .arg("-Djava.library.path=./DynamoDBLocal_lib")
            .args(["-jar", "DynamoDBLocal.jar", "-inMemory", "-sharedDb", "-port"])
            .arg(port.to_string())
            .arg("-disableTelemetry");
        let mut child = Child::spawn("DynamoDB Local", cmd, log, Duration::from_secs(5))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let client = client(addr).await;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if client.list_tables().send().await.is_ok() {
                return Ok(DynamoLocal { addr, process: child });
            }
            if child.exited().is_some() {
                return Err(child.died("exited while starting"));
            }
            if Instant::now() >= deadline {
                return Err(
                    format!("DynamoDB Local did not answer on {addr} within 90 s:\n{}", child.log_tail(20)).into()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl DynamoLocal {
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// An SDK client for `addr` with the store's timeouts and retries
/// (`loyalty::store::{CONNECT,ATTEMPT,OPERATION}_TIMEOUT`, standard retries, 3 attempts).
pub async fn client(addr: SocketAddr) -> Client {
    client_with(aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(format!("http://{addr}")))
        .await
}

/// A client from `loader` (its endpoint and HTTP client chosen by the caller) with the
/// store's timeouts and retries and throwaway local credentials.
pub async fn client_with(loader: aws_config::ConfigLoader) -> Client {
    let config = loader
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "loyalty-bench"))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(loyalty::store::CONNECT_TIMEOUT)
                .operation_attempt_timeout(loyalty::store::ATTEMPT_TIMEOUT)
                .operation_timeout(loyalty::store::OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(25)),
        )
        .load()
        .await;
    Client::new(&config)
}
