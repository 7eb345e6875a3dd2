//! A stand-in for the Lambda runtime API, enough for `lambda_runtime`:
//! `GET /2018-06-01/runtime/invocation/next` hands out the next event (with the
//! `Lambda-Runtime-*` headers), `POST .../invocation/{id}/response` and `/error` take
//! the answer, `POST /2018-06-01/runtime/init/error` records a failed init.
//!
//! A [`Group`] is one queue of invocations; every process of the group gets its own
//! [`Endpoint`] (its own port), so that each one's first poll and first response are
//! timed separately while any idle process takes the next event, as Lambda's workers
//! do. An invocation's duration is from the moment the event is handed to a polling
//! process to the moment its response has arrived.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::procs::Child;

/// What came back for one invocation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When the event was handed to the process.
    pub dispatched: Instant,
    /// When its response (or error) had fully arrived.
    pub responded: Instant,
    /// `POST .../error` instead of `.../response`.
    pub runtime_error: bool,
    /// The API Gateway response the function returned (`statusCode`, `headers`, `body`).
    pub response: serde_json::Value,
}

impl Outcome {
    pub fn duration(&self) -> Duration {
        self.responded.saturating_duration_since(self.dispatched)
    }

    pub fn status(&self) -> Option<u16> {
        self.response.get("statusCode").and_then(|s| s.as_u64()).map(|s| s as u16)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let headers = self.response.get("headers")?.as_object()?;
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str().map(str::to_owned))
    }

    pub fn body_excerpt(&self) -> String {
        let body = self.response.get("body").and_then(|b| b.as_str()).map(str::to_owned);
        let text = body.unwrap_or_else(|| self.response.to_string());
        text.chars().take(300).collect()
    }
}

struct Invocation {
    event: Bytes,
    reply: oneshot::Sender<Outcome>,
}

struct GroupShared {
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, (Instant, oneshot::Sender<Outcome>)>>,
    function: String,
    /// The function's timeout: each event's deadline is this after it is handed out.
    timeout: Duration,
}

/// One function's invocation queue.
pub struct Group {
    tx: mpsc::Sender<Invocation>,
    shared: Arc<GroupShared>,
}

/// Per-process timings, recorded by the process's endpoint.
#[derive(Default)]
pub struct ProcessState {
    pub first_poll: Mutex<Option<Instant>>,
    pub first_response: Mutex<Option<Instant>>,
    pub init_error: Mutex<Option<String>>,
}

/// One process's runtime API address.
pub struct Endpoint {
    pub addr: SocketAddr,
    pub state: Arc<ProcessState>,
    task: JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Group {
    pub fn new(function: &str) -> Group {
        Group::with_timeout(function, Duration::from_secs(10))
    }

    /// A queue whose events carry the deadline of a function with this timeout.
    pub fn with_timeout(function: &str, timeout: Duration) -> Group {
        let (tx, rx) = mpsc::channel(1024);
        let shared = Arc::new(GroupShared {
            queue: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(HashMap::new()),
            function: function.to_owned(),
            timeout,
        });
        Group { tx, shared }
    }

    pub async fn endpoint(&self) -> Result<Endpoint, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("runtime API bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("runtime API addr: {e}"))?;
        let state = Arc::new(ProcessState::default());
        let shared = self.shared.clone();
        let st = state.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let st = st.clone();
                conns.spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let shared = shared.clone();
                        let st = st.clone();
                        async move { Ok::<_, Infallible>(handle(req, &shared, &st).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(Endpoint { addr, state, task })
    }

    /// Queues one event and waits for its outcome, at most `limit`.
    pub async fn invoke(&self, event: &serde_json::Value, limit: Duration) -> Result<Outcome, Error> {
        let event = Bytes::from(serde_json::to_vec(event).map_err(|e| format!("event: {e}"))?);
        let (reply, rx) = oneshot::channel();
        self.tx.send(Invocation { event, reply }).await.map_err(|_| "invocation queue closed")?;
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("invocation dropped".into()),
            Err(_) => Err(format!("{}: no response within {}s", self.shared.function, limit.as_secs()).into()),
        }
    }

    /// Invokes and fails early if `child` dies while waiting.
    pub async fn invoke_on(
        &self,
        child: &mut Child,
        event: &serde_json::Value,
        limit: Duration,
    ) -> Result<Outcome, Error> {
        let call = self.invoke(event, limit);
        tokio::pin!(call);
        loop {
            tokio::select! {
                outcome = &mut call => return outcome,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if child.exited().is_some() {
                        return Err(child.died("exited during an invocation"));
                    }
                }
            }
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp
}

fn hex(n: usize) -> String {
    uuid::Uuid::new_v4().simple().to_string()[..n].to_owned()
}

async fn handle(req: Request<Incoming>, shared: &GroupShared, state: &ProcessState) -> Response<Full<Bytes>> {
    let arrived = Instant::now();
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    const PREFIX: &str = "/2018-06-01/runtime/";
    let Some(route) = path.strip_prefix(PREFIX) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    if method == hyper::Method::GET && route == "invocation/next" {
        state.first_poll.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(arrived);
        let next = shared.queue.lock().await.recv().await;
        let Some(inv) = next else {
            return text(StatusCode::SERVICE_UNAVAILABLE, "bench finished");
        };
        let id = uuid::Uuid::new_v4().to_string();
        let deadline_ms = chrono::Utc::now().timestamp_millis() + shared.timeout.as_millis() as i64;
        let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{}", shared.function);
        let trace = format!("Root=1-{}-{};Parent={};Sampled=0", hex(8), hex(24), hex(16));
        let dispatched = Instant::now();
        shared.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), (dispatched, inv.reply));
        let mut resp = Response::new(Full::new(inv.event));
        let h = resp.headers_mut();
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = value.parse() {
                h.insert(name, v);
            }
        };
        put("lambda-runtime-aws-request-id", id);
        put("lambda-runtime-deadline-ms", deadline_ms.to_string());
        put("lambda-runtime-invoked-function-arn", arn);
        put("lambda-runtime-trace-id", trace);
        put("content-type", "application/json".into());
        return resp;
    }
    if method != hyper::Method::POST {
        return text(StatusCode::NOT_FOUND, "not found");
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return text(StatusCode::BAD_REQUEST, "unreadable body"),
    };
    let responded = Instant::now();
    if route == "init/error" {
        *state.init_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(String::from_utf8_lossy(&body).into_owned());
        return text(StatusCode::ACCEPTED, "{\"status\":\"OK\"}");
    }
    let Some(rest) = route.strip_prefix("invocation/") else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let (id, runtime_error) = if let Some(id) = rest.strip_suffix("/response") {
        (id, false)
    } else if let Some(id) = rest.strip_suffix("/error") {
        (id, true)
    } else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let Some((dispatched, reply)) = shared.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(id) else {
        return text(StatusCode::BAD_REQUEST, "unknown request id");
    };
    state.first_response.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(responded);
    let response = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    let _ = reply.send(Outcome { dispatched, responded, runtime_error, response });
    text(StatusCode::ACCEPTED, "{\"status\":\"OK\"}")
}

/// How a function process reaches DynamoDB.
pub struct FunctionEnv<'a> {
    pub table: &'a str,
    pub dynamodb: SocketAddr,
}

/// Starts a release bootstrap the way Lambda does: the runtime API address, the
/// function's name, 256 MB, `$LATEST`, log names, and the DynamoDB settings; nothing
/// else from the bench's environment.
pub fn spawn_bootstrap(
    binary: &Path,
    function: &str,
    runtime: SocketAddr,
    env: Option<&FunctionEnv>,
    log: &Path,
    instance: usize,
    extra_env: &[(&str, &str)],
) -> Result<Child, Error> {
    let cmd = bootstrap_command(binary, function, runtime, env, instance, extra_env);
    Child::spawn(function, cmd, log, Duration::ZERO)
}

/// The command [`spawn_bootstrap`] starts (for a start with more settings, such as a CPU
/// limit).
pub fn bootstrap_command(
    binary: &Path,
    function: &str,
    runtime: SocketAddr,
    env: Option<&FunctionEnv>,
    instance: usize,
    extra_env: &[(&str, &str)],
) -> Command {
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("2026/01/01/[$LATEST]bench{instance:04}"))
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("RUST_LOG", "info")
        .env("TZ", ":UTC")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    if let Some(env) = env {
        cmd.env("LOYALTY_TABLE", env.table)
            .env("AWS_ENDPOINT_URL_DYNAMODB", format!("http://{}", env.dynamodb))
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local");
    }
    cmd.envs(extra_env.iter().copied());
    cmd
}

/// Waits until the process polls for its first event. Fails if it exits, reports an
/// init error, or takes longer than `limit`.
pub async fn wait_first_poll(child: &mut Child, state: &ProcessState, limit: Duration) -> Result<Instant, Error> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(at) = *state.first_poll.lock().unwrap_or_else(|e| e.into_inner()) {
            return Ok(at);
        }
        if let Some(err) = state.init_error.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(format!("{} reported an init error: {err}", child.name()).into());
        }
        if child.exited().is_some() {
            return Err(child.died("exited before polling for an event"));
        }
        if Instant::now() >= deadline {
            return Err(format!("{} did not poll for an event within {}s", child.name(), limit.as_secs()).into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
