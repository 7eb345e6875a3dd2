//! A counting HTTP/1.1 proxy between one function process and DynamoDB Local. It logs
//! every call (its `X-Amz-Target`, request and response JSON, start and end), and adds
//! `"ReturnConsumedCapacity":"TOTAL"` to each request body (Content-Length fixed) so
//! that DynamoDB Local reports the capacity it charged. The SDK's signature then no
//! longer matches the body: DynamoDB Local does not verify signatures, and the bench
//! counts any signature error it answers.
//!
//! Each response is held back for a fixed time before it is passed on. DynamoDB Local
//! answers in about a millisecond, less than a loaded function may take between
//! issuing two concurrent calls, so without the hold two calls the function made
//! together could reach the proxy one after the other and count as two round trips. A
//! call that arrives while another's response is held was made without waiting for it:
//! the same round trip. A call made after a response cannot arrive before it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::error::Error;

/// One DynamoDB call as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation, `X-Amz-Target` without the `DynamoDB_20120810.` prefix.
    pub op: String,
    /// The request as forwarded (with `ReturnConsumedCapacity`).
    pub request: serde_json::Value,
    pub response: serde_json::Value,
    pub status: u16,
    pub start: Instant,
    /// When DynamoDB Local's answer had arrived (`end` less the hold).
    pub answered: Instant,
    /// When the answer was passed on to the function.
    pub end: Instant,
}

impl Call {
    /// Capacity units DynamoDB Local reported for this call, if any.
    pub fn reported_units(&self) -> Option<f64> {
        let cc = self.response.get("ConsumedCapacity")?;
        let one = |v: &serde_json::Value| v.get("CapacityUnits").and_then(|u| u.as_f64());
        match cc {
            serde_json::Value::Array(list) => Some(list.iter().filter_map(one).sum()),
            other => one(other),
        }
    }

    /// The operation and what it named: `GetItem mobile lookup`,
    /// `TransactWriteItems(profile, sale)`.
    pub fn what(&self) -> String {
        let r = &self.request;
        let kind_of = |v: Option<&serde_json::Value>| {
            let v = v.unwrap_or(&serde_json::Value::Null);
            let s = |k: &str| v.get(k).and_then(|x| x.get("S")).and_then(|x| x.as_str()).unwrap_or("");
            item_kind(s("PK"), s("SK"))
        };
        match self.op.as_str() {
            "GetItem" | "UpdateItem" | "DeleteItem" => format!("{} {}", self.op, kind_of(r.get("Key"))),
            "PutItem" => format!("{} {}", self.op, kind_of(r.get("Item"))),
            "Query" => {
                let values = r.get("ExpressionAttributeValues").map(|v| v.to_string()).unwrap_or_default();
                let what = if r.get("IndexName").is_some() && values.contains("EXPIRY#") {
                    "GSI3 points due"
                } else if r.get("IndexName").is_some() && values.contains("TIERREVIEW#") {
                    "GSI1 tier reviews due"
                } else if r.get("IndexName").is_some() && values.contains("TXN#") {
                    "GSI1 history"
                } else if r.get("IndexName").is_some() {
                    "GSI1 codes"
                } else if values.contains("TXN#") {
                    "ledger"
                } else if values.contains("REWARD#") {
                    "rewards"
                } else {
                    "items"
                };
                format!("Query {what}")
            }
            "TransactWriteItems" => {
                let kinds: Vec<&str> = r
                    .get("TransactItems")
                    .and_then(|t| t.as_array())
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|ti| {
                                let (action, v) = ti.as_object()?.iter().next()?;
                                let target = if action == "Put" { v.get("Item") } else { v.get("Key") };
                                Some(kind_of(target))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                format!("TransactWriteItems({})", kinds.join(", "))
            }
            other => other.to_owned(),
        }
    }

    /// The error type of a failed call (`ConditionalCheckFailedException`, ...).
    pub fn error_type(&self) -> Option<String> {
        if self.status < 400 {
            return None;
        }
        let t = self.response.get("__type").and_then(|t| t.as_str()).unwrap_or("error");
        Some(t.rsplit('#').next().unwrap_or(t).to_owned())
    }
}

/// What an item is, from its key (docs/architecture.md, "Data: one table").
pub fn item_kind(pk: &str, sk: &str) -> &'static str {
    if pk == "WARMUP" {
        "warm-up"
    } else if pk.starts_with("APIKEY#") {
        "key"
    } else if pk.starts_with("KEYID#") {
        "key id"
    } else if pk.contains("#MOBILE#") {
        "mobile lookup"
    } else if pk.contains("#EMAIL#") {
        "email lookup"
    } else if pk.contains("#CUST#") {
        if sk.starts_with("TXN#") {
            "ledger entry"
        } else {
            "profile"
        }
    } else if pk.contains("#CODE#") {
        "code"
    } else if pk.contains("#SALE#") {
        "sale"
    } else if pk.contains("#IDEMP#") {
        "idempotency record"
    } else if pk.contains("#OTP#") {
        "one-time code"
    } else if sk == "PROGRAM" {
        "program"
    } else if sk.starts_with("REWARD#") {
        "reward"
    } else {
        "item"
    }
}

#[derive(Default)]
pub struct CallLog {
    calls: Mutex<Vec<Call>>,
    signature_errors: Mutex<u64>,
}

impl CallLog {
    /// Everything logged since the last take.
    pub fn take(&self) -> Vec<Call> {
        let mut calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()));
        calls.sort_by_key(|c| c.start);
        calls
    }

    pub fn signature_errors(&self) -> u64 {
        *self.signature_errors.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A listening proxy. Dropping it stops accepting and closes its connections' tasks.
pub struct Proxy {
    pub addr: SocketAddr,
    pub log: Arc<CallLog>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1; forwards to `upstream`, holding each
    /// answer for `hold`.
    pub async fn start(upstream: SocketAddr, hold: Duration) -> Result<Proxy, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("proxy bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("proxy addr: {e}"))?;
        let log = Arc::new(CallLog::default());
        let log2 = log.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let log = log2.clone();
                conns.spawn(serve_connection(stream, upstream, log, hold));
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(Proxy { addr, log, task })
    }
}

type Upstream = Arc<tokio::sync::Mutex<Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>>>;

async fn serve_connection(stream: TcpStream, upstream: SocketAddr, log: Arc<CallLog>, hold: Duration) {
    let sender: Upstream = Arc::new(tokio::sync::Mutex::new(None));
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let log = log.clone();
        let sender = sender.clone();
        async move { Ok::<_, Infallible>(forward(req, upstream, &sender, &log, hold).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn connect(upstream: SocketAddr) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(upstream))
        .await
        .map_err(|_| "connect timeout".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn bad_gateway(msg: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(msg)));
    *resp.status_mut() = hyper::StatusCode::BAD_GATEWAY;
    resp
}

async fn forward(
    req: Request<Incoming>,
    upstream: SocketAddr,
    sender: &Upstream,
    log: &CallLog,
    hold: Duration,
) -> Response<Full<Bytes>> {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad_gateway(format!("proxy: request body: {e}")),
    };
    let op = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
        .unwrap_or_else(|| "?".into());
    let mut request: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let body = match request.as_object_mut() {
        Some(obj) => {
            obj.entry("ReturnConsumedCapacity").or_insert_with(|| serde_json::Value::String("TOTAL".into()));
            Bytes::from(serde_json::to_vec(&request).unwrap_or_else(|_| body.to_vec()))
        }
        None => body,
    };
    let make_request = || {
        let mut builder = Request::builder().method(parts.method.clone()).uri(parts.uri.clone());
        for (name, value) in &parts.headers {
            if name != hyper::header::CONTENT_LENGTH {
                builder = builder.header(name, value);
            }
        }
        builder.header(hyper::header::CONTENT_LENGTH, body.len()).body(Full::new(body.clone()))
    };

    let mut guard = sender.lock().await;
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        if guard.as_ref().is_none_or(|s| s.is_closed()) {
            match connect(upstream).await {
                Ok(s) => *guard = Some(s),
                Err(e) => return bad_gateway(format!("proxy: upstream {e}")),
            }
        }
        let Some(s) = guard.as_mut() else { return bad_gateway("proxy: no upstream".into()) };
        if s.ready().await.is_err() {
            *guard = None;
            if attempt < 2 {
                continue;
            }
            return bad_gateway("proxy: upstream closed".into());
        }
        let upstream_req = match make_request() {
            Ok(r) => r,
            Err(e) => return bad_gateway(format!("proxy: {e}")),
        };
        let result = tokio::time::timeout(Duration::from_secs(10), s.send_request(upstream_req)).await;
        match result {
            Ok(Ok(resp)) => break resp,
            Ok(Err(e)) if attempt < 2 && e.is_closed() => {
                *guard = None;
            }
            Ok(Err(e)) => return bad_gateway(format!("proxy: upstream: {e}")),
            Err(_) => return bad_gateway("proxy: upstream timed out".into()),
        }
    };
    drop(guard);
    let (rparts, rbody) = response.into_parts();
    let rbody = match rbody.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad_gateway(format!("proxy: response body: {e}")),
    };
    let answered = Instant::now();
    tokio::time::sleep(hold).await;
    let end = Instant::now();
    let response_json: serde_json::Value = serde_json::from_slice(&rbody).unwrap_or(serde_json::Value::Null);
    let status = rparts.status.as_u16();
    if status >= 400 {
        let t = response_json.get("__type").and_then(|t| t.as_str()).unwrap_or("");
        if t.contains("Signature") || t.contains("UnrecognizedClient") {
            *log.signature_errors.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
    }
    log.calls.lock().unwrap_or_else(|e| e.into_inner()).push(Call {
        op,
        request,
        response: response_json,
        status,
        start,
        answered,
        end,
    });
    let mut resp = Response::new(Full::new(rbody));
    *resp.status_mut() = rparts.status;
    *resp.headers_mut() = rparts.headers;
    resp
}

/// Round trips by depth: a call's depth is 1 + the largest depth among the calls
/// answered (passed on to the function) before it was sent, so a call waits only for
/// what it could depend on; the calls of one depth are one round trip. A call sent
/// beside others (a "last used" note beside the request's reads) adds none, however
/// long it runs. `calls` are in order of sending.
pub fn round_trip_groups(calls: &[Call]) -> Vec<Vec<usize>> {
    let mut depths: Vec<usize> = Vec::with_capacity(calls.len());
    for call in calls {
        let before = calls.iter().zip(&depths).filter(|(c, _)| c.end <= call.start).map(|(_, d)| *d).max();
        depths.push(before.unwrap_or(0) + 1);
    }
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); depths.iter().copied().max().unwrap_or(0)];
    for (i, depth) in depths.iter().enumerate() {
        groups[depth - 1].push(i);
    }
    groups
}

/// How long at least one of `calls` was waiting on DynamoDB (the union of each call's
/// start → answer, the proxy's hold left out): calls in flight together count once, so
/// init's warm-up reads on several connections at once cost what the slowest did.
pub fn busy_time(calls: &[Call]) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = calls.iter().map(|c| (c.start, c.answered.max(c.start))).collect();
    spans.sort_by_key(|s| s.0);
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in spans {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(Duration::ZERO, |(s, e)| e - s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(t0: Instant, start_ms: u64, answered_ms: u64) -> Call {
        Call {
            op: "GetItem".into(),
            request: serde_json::Value::Null,
            response: serde_json::Value::Null,
            status: 200,
            start: t0 + Duration::from_millis(start_ms),
            answered: t0 + Duration::from_millis(answered_ms),
            end: t0 + Duration::from_millis(answered_ms + 30),
        }
    }

    #[test]
    fn calls_in_flight_together_are_busy_once() {
        let t0 = Instant::now();
        assert_eq!(busy_time(&[]), Duration::ZERO);
        // Two warm-up reads side by side: the longer one.
        assert_eq!(busy_time(&[call(t0, 0, 2), call(t0, 1, 3)]), Duration::from_millis(3));
        assert_eq!(busy_time(&[call(t0, 0, 4), call(t0, 1, 2)]), Duration::from_millis(4));
        // One after the other (the second sent after the first's held answer): both.
        assert_eq!(busy_time(&[call(t0, 0, 1), call(t0, 31, 33)]), Duration::from_millis(3));
        assert_eq!(round_trip_groups(&[call(t0, 0, 2), call(t0, 1, 3)]).len(), 1);
    }
}
