//! The AWS-like path to DynamoDB: a proxy that terminates TLS with a throwaway
//! certificate (a CA made per run with rcgen, a leaf for `127.0.0.1` and `localhost` it
//! signed) in front of DynamoDB Local, and holds every call's answer for an in-region
//! latency. The functions reach it at `https://127.0.0.1:PORT` and trust the CA only in
//! their benchmark build (the `loyalty` feature `bench-trust`, `LOYALTY_BENCH_TRUST_PEM`):
//! their TLS configuration is built from the same compiled-in store plus this root, so the
//! configuration and the handshake cost what they cost in AWS.
//!
//! A new connection waits one latency before its handshake starts (the TCP and TLS round
//! trips of a connection in the region, a fraction of a millisecond each, and the
//! endpoint's share), every call one latency before its answer is passed on.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::error::Error;

/// A throwaway CA and the server certificate it signed, made per run.
pub struct ThrowawayCa {
    /// The CA's certificate (what the functions trust).
    pub pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ThrowawayCa {
    pub fn new() -> Result<ThrowawayCa, Error> {
        let err = |e: rcgen::Error| format!("throwaway CA: {e}");
        let ca_key = rcgen::KeyPair::generate().map_err(err)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "loyalty-bench throwaway root");
        let ca = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().map_err(err)?;
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(err)?
            .signed_by(&key, &issuer)
            .map_err(err)?;
        let key =
            PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).map_err(|e| format!("throwaway key: {e}"))?;
        Ok(ThrowawayCa { pem: ca.pem(), chain: vec![leaf.der().clone()], key })
    }

    fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, Error> {
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS proxy: {e}"))?
                .with_no_client_auth()
                .with_single_cert(self.chain.clone(), self.key.clone_key())
                .map_err(|e| format!("TLS proxy: {e}"))?;
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

/// A listening TLS proxy. Dropping it stops it.
pub struct TlsProxy {
    pub addr: SocketAddr,
    /// Connections accepted (each one a handshake).
    pub handshakes: Arc<AtomicU64>,
    /// Calls forwarded.
    pub calls: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsProxy {
    /// Listens on a free port of 127.0.0.1; forwards to `upstream` (plain HTTP), each
    /// answer held for `latency`, each new connection's handshake after `latency`.
    pub async fn start(upstream: SocketAddr, ca: &ThrowawayCa, latency: Duration) -> Result<TlsProxy, Error> {
        let acceptor = ca.acceptor()?;
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("TLS proxy bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("TLS proxy addr: {e}"))?;
        let handshakes = Arc::new(AtomicU64::new(0));
        let calls = Arc::new(AtomicU64::new(0));
        let (h, c) = (handshakes.clone(), calls.clone());
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let (acceptor, h, c) = (acceptor.clone(), h.clone(), c.clone());
                conns.spawn(async move {
                    tokio::time::sleep(latency).await;
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    h.fetch_add(1, Ordering::Relaxed);
                    serve(tls, upstream, c, latency).await;
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(TlsProxy { addr, handshakes, calls, task })
    }
}

type Sender = Arc<tokio::sync::Mutex<Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>>>;

async fn serve(
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    upstream: SocketAddr,
    calls: Arc<AtomicU64>,
    latency: Duration,
) {
    let sender: Sender = Arc::new(tokio::sync::Mutex::new(None));
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (sender, calls) = (sender.clone(), calls.clone());
        async move {
            let resp = match forward(req, upstream, &sender).await {
                Ok(r) => r,
                Err(e) => {
                    let mut r = Response::new(Full::new(Bytes::from(e)));
                    *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
                    r
                }
            };
            calls.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(latency).await;
            Ok::<_, Infallible>(resp)
        }
    });
    let _ =
        hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(tls), service).await;
}

async fn forward(
    req: Request<Incoming>,
    upstream: SocketAddr,
    sender: &Sender,
) -> Result<Response<Full<Bytes>>, String> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|e| format!("TLS proxy: request body: {e}"))?.to_bytes();
    let mut guard = sender.lock().await;
    if guard.as_ref().is_none_or(|s| s.is_closed()) {
        let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(upstream))
            .await
            .map_err(|_| "TLS proxy: upstream connect timeout".to_owned())?
            .map_err(|e| format!("TLS proxy: upstream connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("TLS proxy: upstream handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        *guard = Some(s);
    }
    let s = guard.as_mut().ok_or("TLS proxy: no upstream")?;
    s.ready().await.map_err(|e| format!("TLS proxy: upstream: {e}"))?;
    let mut builder = Request::builder().method(parts.method).uri(parts.uri);
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let req = builder.body(Full::new(body)).map_err(|e| format!("TLS proxy: {e}"))?;
    let resp = tokio::time::timeout(Duration::from_secs(10), s.send_request(req))
        .await
        .map_err(|_| "TLS proxy: upstream timed out".to_owned())?
        .map_err(|e| format!("TLS proxy: upstream: {e}"))?;
    drop(guard);
    let (rparts, rbody) = resp.into_parts();
    let rbody = rbody.collect().await.map_err(|e| format!("TLS proxy: response body: {e}"))?.to_bytes();
    Ok(Response::from_parts(rparts, Full::new(rbody)))
}

/// The bench's raw client through the proxy: the SDK's HTTPS client (rustls, aws-lc)
/// trusting the throwaway root, with the store's timeouts and retries.
pub async fn raw_client(proxy: SocketAddr, ca: &ThrowawayCa) -> Result<Client, Error> {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(ca.pem.clone().into_bytes());
    let context = TlsContext::builder().with_trust_store(trust).build().map_err(|e| format!("raw TLS client: {e}"))?;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https();
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("https://{proxy}"))
        .http_client(http);
    Ok(crate::ddb::client_with(loader).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The raw client trusts the proxy's throwaway root; a call reaches the upstream
    /// through TLS (here a plain server that answers `{}`).
    #[tokio::test]
    async fn a_call_goes_through_the_tls_proxy_with_its_latency() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up_addr = upstream.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = upstream.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    loop {
                        let Ok(n) = s.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
                        if s.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let ca = ThrowawayCa::new().unwrap();
        let proxy = TlsProxy::start(up_addr, &ca, Duration::from_millis(20)).await.unwrap();
        let client = raw_client(proxy.addr, &ca).await.unwrap();
        let start = std::time::Instant::now();
        client
            .get_item()
            .table_name("t")
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S("k".into()))
            .send()
            .await
            .unwrap();
        // One latency before the handshake, one before the answer.
        assert!(start.elapsed() >= Duration::from_millis(40), "{:?}", start.elapsed());
        assert_eq!(proxy.handshakes.load(Ordering::Relaxed), 1);
        assert_eq!(proxy.calls.load(Ordering::Relaxed), 1);
    }
}
