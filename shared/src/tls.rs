//! The roots of trust of every client that calls AWS (DynamoDB, SNS, Cognito, the user
//! pool's JWKS): the five roots AWS's endpoints chain to, compiled in, and not the
//! system's store. The SDK's default HTTPS client reads and parses every root
//! certificate of the system (a few hundred files) when it builds its first connection,
//! which is during init: about 3 ms of each function's cold start. Parsing these five
//! costs microseconds.
//!
//! Why it stays correct when AWS rotates certificates: AWS's endpoints carry
//! certificates of Amazon Trust Services, whose intermediates (rotated often) chain to
//! Amazon Root CA 1-4; those roots are also cross-signed by Starfield Services Root
//! Certificate Authority - G2, the root of trust of older chains. Intermediates and
//! leaves are sent by the server in every handshake, so their rotation changes nothing
//! here; only a change of the roots themselves would, and those are valid until 2037-2040
//! (see docs/architecture.md, "Trust"). A host that is not an AWS endpoint (a tenant's
//! webhook URL) is never called with this store: the webhook sender keeps the public
//! roots.
//!
//! Plain `http://` endpoints (DynamoDB Local, cognito-local) need no roots and work as
//! before.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

/// The roots of trust of AWS's endpoints (name, PEM), from the Mozilla set.
pub const AWS_ROOTS: [(&str, &str); 5] = [
    ("Amazon Root CA 1", include_str!("../certs/amazon-root-ca-1.pem")),
    ("Amazon Root CA 2", include_str!("../certs/amazon-root-ca-2.pem")),
    ("Amazon Root CA 3", include_str!("../certs/amazon-root-ca-3.pem")),
    ("Amazon Root CA 4", include_str!("../certs/amazon-root-ca-4.pem")),
    ("Starfield Services Root Certificate Authority - G2", include_str!("../certs/starfield-services-root-ca-g2.pem")),
];

/// [`AWS_ROOTS`] and nothing else: the system's store is not read. (A benchmark build,
/// feature `bench-trust`, adds the benchmark's throwaway root: [`bench_root`].)
pub fn aws_trust_store() -> TrustStore {
    let store = AWS_ROOTS.iter().fold(TrustStore::empty().with_native_roots(false), |store, (_, pem)| {
        store.with_pem_certificate(pem.as_bytes())
    });
    #[cfg(feature = "bench-trust")]
    let store = match bench_root() {
        Some(pem) => store.with_pem_certificate(pem.into_bytes()),
        None => store,
    };
    store
}

/// The environment variable a benchmark build reads its extra root from (PEM).
#[cfg(feature = "bench-trust")]
pub const BENCH_TRUST_ENV: &str = "LOYALTY_BENCH_TRUST_PEM";

/// Only in the benchmark's build of the functions (feature `bench-trust`, never in the
/// template's): the throwaway root of the benchmark's TLS proxy in front of DynamoDB
/// Local, from [`BENCH_TRUST_ENV`], added to the same store as the AWS roots so that
/// building the TLS configuration and the handshake cost what they cost in AWS.
#[cfg(feature = "bench-trust")]
pub fn bench_root() -> Option<String> {
    let pem = std::env::var(BENCH_TRUST_ENV).ok().filter(|p| p.contains("BEGIN CERTIFICATE"))?;
    tracing::warn!("benchmark build: trusting the root in {BENCH_TRUST_ENV} besides the AWS roots");
    Some(pem)
}

/// The HTTP client of the AWS SDK's clients ([`crate::store::Store::load_aws_config`]):
/// the SDK's default client (rustls with aws-lc, proxy settings from the environment),
/// trusting only [`AWS_ROOTS`].
pub fn aws_http_client() -> Result<SharedHttpClient, String> {
    http_client(aws_trust_store())
}

/// The SDK's default HTTPS client (as aws-smithy-runtime builds it) with `trust` as its
/// roots. A connector is built per set of connection settings, on the first call with
/// them: during init's warm-up read.
pub(crate) fn http_client(trust: TrustStore) -> Result<SharedHttpClient, String> {
    let context = TlsContext::builder().with_trust_store(trust).build().map_err(|e| e.to_string())?;
    Ok(Builder::new().build_with_connector_fn(move |settings, runtime_components| {
        let mut builder = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        builder.build()
    }))
}

/// The same roots for a hyper-rustls client (the user pool's JWKS).
#[cfg(feature = "console")]
pub fn aws_root_store() -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for (name, pem) in AWS_ROOTS {
        let der =
            rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
        roots.add(der).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn the_compiled_in_roots_are_the_five_aws_roots() {
        for (name, pem) in AWS_ROOTS {
            let ders: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().unwrap();
            assert_eq!(ders.len(), 1, "{name}: one certificate");
            // The subject's common name is in the certificate as it is (a PrintableString).
            let der: &[u8] = ders[0].as_ref();
            assert!(der.windows(name.len()).any(|w| w == name.as_bytes()), "{name}: not its certificate");
            // A trust anchor (what rustls keeps of a root) parses from it.
            webpki_anchor(&ders[0]);
        }
    }

    fn webpki_anchor(der: &CertificateDer<'_>) {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der.clone()).unwrap();
        assert_eq!(roots.len(), 1);
    }

    /// A throwaway CA and a certificate for `localhost` it signed: (CA PEM, server chain,
    /// server key).
    fn throwaway_ca() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Throwaway test root");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
        (ca.pem(), vec![leaf.der().clone()], key)
    }

    /// A server on localhost (TLS with this chain and key, or plain HTTP) that answers
    /// every request with an empty DynamoDB answer (`{}`, a GetItem that found nothing);
    /// its port.
    async fn server(tls: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>) -> u16 {
        let acceptor = tls.map(|(chain, key)| {
            let config =
                rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_no_client_auth()
                    .with_single_cert(chain, key)
                    .unwrap();
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                answer(tls).await;
                            }
                        }
                        None => answer(tcp).await,
                    }
                });
            }
        });
        port
    }

    /// Reads one request (head and small body) and answers `{}`.
    async fn answer(mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin) {
        let mut buf = vec![0u8; 64 * 1024];
        let mut seen = Vec::new();
        loop {
            let Ok(n) = stream.read(&mut buf).await else { return };
            if n == 0 {
                return;
            }
            seen.extend_from_slice(&buf[..n]);
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if seen.len() >= end + 4 + length {
                    break;
                }
            }
        }
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\nconnection: \
                      close\r\n\r\n{}";
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    async fn get_item(client: SharedHttpClient, scheme: &str, port: u16) -> Result<(), String> {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::for_tests())
            .endpoint_url(format!("{scheme}://localhost:{port}"))
            .http_client(client)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
            .get_item()
            .table_name("t")
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S("k".into()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
    }

    #[tokio::test]
    async fn a_server_whose_root_is_not_in_the_set_is_refused() {
        let (_, chain, key) = throwaway_ca();
        let port = server(Some((chain, key))).await;
        let err = get_item(aws_http_client().unwrap(), "https", port).await.unwrap_err();
        assert!(err.contains("UnknownIssuer") || err.to_lowercase().contains("certificate"), "{err}");
    }

    #[tokio::test]
    async fn a_server_whose_root_is_in_the_set_is_trusted() {
        let (ca, chain, key) = throwaway_ca();
        let port = server(Some((chain, key))).await;
        // The same store with the throwaway root added: the handshake and the call succeed.
        let client = http_client(aws_trust_store().with_pem_certificate(ca.into_bytes())).unwrap();
        get_item(client, "https", port).await.unwrap();
    }

    /// The benchmark's build only: the root in `LOYALTY_BENCH_TRUST_PEM` joins the AWS
    /// roots (`cargo test -p loyalty --features bench-trust`).
    #[cfg(feature = "bench-trust")]
    #[tokio::test]
    async fn a_bench_build_trusts_the_root_it_is_given() {
        let (ca, chain, key) = throwaway_ca();
        let port = server(Some((chain, key))).await;
        // No other test sets it; the others' servers have roots of their own, not this one.
        std::env::set_var(BENCH_TRUST_ENV, &ca);
        let trusted = get_item(aws_http_client().unwrap(), "https", port).await;
        std::env::remove_var(BENCH_TRUST_ENV);
        trusted.unwrap();
    }

    #[tokio::test]
    async fn a_plain_http_endpoint_needs_no_roots() {
        // DynamoDB Local, cognito-local.
        let port = server(None).await;
        get_item(aws_http_client().unwrap(), "http", port).await.unwrap();
    }
}
