//! Who is signed in to the console: a Cognito ID token (`Authorization: Bearer ...`)
//! verified by the function itself, whatever the HTTP API's JWT authorizer already
//! checked. Checks, in order: RS256 signature with a key of the pool's JWKS (fetched over
//! HTTP, cached), `iss` equal to the configured issuer, `aud` equal to the console's app
//! client, `token_use` = `id`, `exp` in the future, `iat` at most the session age limit
//! (15 minutes by default) ago. The tenant comes only from the immutable custom
//! attribute `custom:tenant` (the app client cannot write it), the role only from
//! `cognito:groups`. Any failure of the token answers 401 (`ApiError::Unauthorized`);
//! a valid token without a tenant or with a group that is not one role answers 403
//! (`ApiError::StaffForbidden`).
//!
//! The issuer and the JWKS URL are two settings: `cognito-local` always says port 9229
//! in its issuer, whatever port it listens on. A deployed stage's issuer is its own
//! pool's, so it never accepts a token of `cognito-local` or of another stage.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use http::StatusCode;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::domain::TenantSlug;
use crate::error::ApiError;

/// The longest an ID token is accepted after it was issued, by default: Cognito's own
/// shortest lifetime is 5 minutes and `cognito-local`'s is always 24 h, so the verifier
/// enforces the session's length itself.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// How long a fetched JWKS is trusted before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(3_600);
/// A token naming a key the cached set lacks refetches the set, at most this often (a
/// stream of made-up key ids costs one fetch a minute, not one per request).
const JWKS_REFETCH_MIN: Duration = Duration::from_secs(60);
/// A JWKS fetch that takes longer fails the request (401 is wrong; 503).
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// A pool's JWKS is a few kilobytes; more is not a JWKS.
const JWKS_MAX_BYTES: usize = 256 * 1024;

/// What a staff member may do, from their one group in `cognito:groups` (the group is
/// the role's name).
pub use crate::actor::Role;

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in person of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub tenant: TenantSlug,
    pub role: Role,
    /// The user pool's id of the person (stable across email changes).
    pub sub: String,
    pub email: String,
}

impl Staff {
    /// The person as the management engine's actor: named by email in the audit log
    /// (by their pool id when the token has no email).
    pub fn actor(&self) -> crate::actor::Actor {
        let who = if self.email.is_empty() { &self.sub } else { &self.email };
        crate::actor::Actor::new(self.tenant.clone(), who.clone(), self.role)
    }
}

/// Where tokens come from: read by `main` from `LOYALTY_SESSION_ISSUER`,
/// `LOYALTY_SESSION_JWKS_URL` (default: the issuer's `/.well-known/jwks.json`),
/// `LOYALTY_SESSION_CLIENT_ID` and `LOYALTY_SESSION_MAX_AGE_SECONDS` (default 900).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Exactly the `iss` of the pool's tokens, e.g.
    /// `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC`.
    pub issuer: String,
    pub jwks_url: String,
    /// The console's app client: the only accepted `aud`.
    pub client_id: String,
    pub max_age: Duration,
}

/// A session setting a function cannot start with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionConfigError {
    #[error("{0} is required when LOYALTY_SESSION_ISSUER is set")]
    Missing(&'static str),
    #[error("LOYALTY_SESSION_MAX_AGE_SECONDS must be whole seconds from 60 to 3600, not {0:?}")]
    MaxAge(String),
}

impl SessionConfig {
    /// `None` when no issuer is configured (a function that takes no session).
    pub fn parse(
        issuer: Option<&str>,
        jwks_url: Option<&str>,
        client_id: Option<&str>,
        max_age: Option<&str>,
    ) -> Result<Option<Self>, SessionConfigError> {
        let set = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let Some(issuer) = set(issuer) else { return Ok(None) };
        let issuer = issuer.trim_end_matches('/').to_owned();
        let client_id = set(client_id).ok_or(SessionConfigError::Missing("LOYALTY_SESSION_CLIENT_ID"))?;
        let jwks_url = set(jwks_url).unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        let max_age = match set(max_age) {
            None => DEFAULT_MAX_AGE,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (60..=3_600).contains(&n) => Duration::from_secs(n),
                _ => return Err(SessionConfigError::MaxAge(v)),
            },
        };
        Ok(Some(SessionConfig { issuer, jwks_url, client_id, max_age }))
    }

    /// From the environment; only `main` calls it (through `Deps::from_env`).
    pub fn from_env() -> Result<Option<Self>, SessionConfigError> {
        let var = |name: &str| std::env::var(name).ok();
        SessionConfig::parse(
            var("LOYALTY_SESSION_ISSUER").as_deref(),
            var("LOYALTY_SESSION_JWKS_URL").as_deref(),
            var("LOYALTY_SESSION_CLIENT_ID").as_deref(),
            var("LOYALTY_SESSION_MAX_AGE_SECONDS").as_deref(),
        )
    }
}

/// Fetches a JWKS document. The real one is [`HttpJwks`]; tests serve a fixed set.
pub trait JwksSource: Send + Sync {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JwkSet, String>> + Send + 'a>>;
}

/// JWKS over HTTP or HTTPS on the hyper stack the AWS SDK already links.
pub struct HttpJwks {
    client: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        http_body_util::Empty<hyper::body::Bytes>,
    >,
}

impl HttpJwks {
    pub fn new() -> Result<Self, String> {
        // The user pool's JWKS is served by Cognito (an AWS endpoint): the AWS roots
        // only, not the system's store (which would be read and parsed here, at init).
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(crate::tls::aws_root_store()?)
        .with_no_client_auth();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(HttpJwks { client })
    }
}

impl JwksSource for HttpJwks {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JwkSet, String>> + Send + 'a>> {
        Box::pin(async move {
            use http_body_util::BodyExt;
            let uri: http::Uri = url.parse().map_err(|e| format!("JWKS URL {url}: {e}"))?;
            let request = http::Request::get(uri)
                .header(http::header::ACCEPT, "application/json")
                .body(http_body_util::Empty::new())
                .map_err(|e| e.to_string())?;
            let fetch = async {
                let response = self.client.request(request).await.map_err(|e| format!("GET {url}: {e}"))?;
                if response.status() != StatusCode::OK {
                    return Err(format!("GET {url}: status {}", response.status()));
                }
                let body = http_body_util::Limited::new(response.into_body(), JWKS_MAX_BYTES)
                    .collect()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?
                    .to_bytes();
                serde_json::from_slice::<JwkSet>(&body).map_err(|e| format!("GET {url}: not a JWKS: {e}"))
            };
            tokio::time::timeout(JWKS_TIMEOUT, fetch).await.map_err(|_| format!("GET {url}: timed out"))?
        })
    }
}

/// The verifier a function keeps in its `Deps`: configuration and the cached JWKS.
pub struct Sessions {
    config: SessionConfig,
    source: Arc<dyn JwksSource>,
    /// The last fetched set and when it was fetched.
    cached: Mutex<Option<(Instant, Arc<JwkSet>)>>,
}

/// The claims of a Cognito ID token this code reads.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    token_use: String,
    exp: i64,
    iat: i64,
    #[serde(default)]
    email: Option<String>,
    #[serde(rename = "custom:tenant", default)]
    tenant: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

impl Sessions {
    pub fn new(config: SessionConfig, source: Arc<dyn JwksSource>) -> Self {
        Sessions { config, source, cached: Mutex::new(None) }
    }

    /// With the HTTP fetcher.
    pub fn over_http(config: SessionConfig) -> Result<Self, String> {
        Ok(Sessions::new(config, Arc::new(HttpJwks::new()?)))
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The `Authorization: Bearer <token>` of a request, verified.
    pub async fn from_headers(&self, headers: &http::HeaderMap, now: DateTime<Utc>) -> Result<Staff, ApiError> {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        self.verify(token, now).await
    }

    /// Verifies an ID token at `now` (the function's clock).
    pub async fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Staff, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| ApiError::Unauthorized)?;
        if header.alg != Algorithm::RS256 {
            return Err(ApiError::Unauthorized);
        }
        let kid = header.kid.ok_or(ApiError::Unauthorized)?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry and age against the function's clock, below.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| {
                tracing::info!(error = %e, "session token refused");
                ApiError::Unauthorized
            })?
            .claims;
        if claims.token_use != "id" {
            return Err(ApiError::Unauthorized);
        }
        let now = now.timestamp();
        if claims.exp <= now || claims.iat > now + 60 {
            return Err(ApiError::Unauthorized);
        }
        let max_age = i64::try_from(self.config.max_age.as_secs()).unwrap_or(i64::MAX);
        if now - claims.iat > max_age {
            return Err(ApiError::Unauthorized);
        }
        staff(claims)
    }

    /// Fetches the pool's JWKS into the cache during init, so that the first console
    /// request does not wait for it (a TLS handshake and a GET to Cognito). A failure is
    /// logged, not fatal: the first request fetches again.
    pub async fn warm_up(&self) {
        match self.source.fetch(&self.config.jwks_url).await {
            Ok(set) => *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), Arc::new(set))),
            Err(e) => tracing::warn!(error = %e, "warm-up fetch of the user pool's JWKS failed"),
        }
    }

    /// The decoding key named `kid`, from the cached set or a fresh one.
    async fn key(&self, kid: &str) -> Result<DecodingKey, ApiError> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((at, set)) = &cached {
            if at.elapsed() < JWKS_TTL {
                if let Some(jwk) = set.find(kid) {
                    return DecodingKey::from_jwk(jwk).map_err(|_| ApiError::Unauthorized);
                }
                if at.elapsed() < JWKS_REFETCH_MIN {
                    return Err(ApiError::Unauthorized);
                }
            }
        }
        let set = match self.source.fetch(&self.config.jwks_url).await {
            Ok(set) => Arc::new(set),
            Err(e) => {
                tracing::error!(error = %e, "fetching the user pool's JWKS failed");
                return Err(ApiError::Unavailable);
            }
        };
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), set.clone()));
        let jwk = set.find(kid).ok_or(ApiError::Unauthorized)?;
        DecodingKey::from_jwk(jwk).map_err(|_| ApiError::Unauthorized)
    }
}

fn staff(claims: Claims) -> Result<Staff, ApiError> {
    let tenant = claims
        .tenant
        .as_deref()
        .and_then(|t| TenantSlug::parse(t).ok())
        .ok_or(ApiError::StaffForbidden("no tenant"))?;
    // One group, and it names a role: anything else is a pool set up by hand.
    let role = match claims.groups.as_slice() {
        [one] => Role::parse(one).ok_or(ApiError::StaffForbidden("no role"))?,
        _ => return Err(ApiError::StaffForbidden("no role")),
    };
    let email = claims.email.unwrap_or_default();
    Ok(Staff { tenant, role, sub: claims.sub, email })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const ISSUER: &str = "http://localhost:9229/local_pool";
    const CLIENT: &str = "console-client";
    const KID: &str = "CognitoLocal";

    fn key_a() -> EncodingKey {
        EncodingKey::from_rsa_der(include_bytes!("session/test_key_a.der"))
    }

    fn key_b() -> EncodingKey {
        EncodingKey::from_rsa_der(include_bytes!("session/test_key_b.der"))
    }

    /// Serves the public half of key A under `KID`, and counts fetches.
    struct FixedJwks(std::sync::atomic::AtomicUsize);

    impl JwksSource for FixedJwks {
        fn fetch<'a>(
            &'a self,
            _url: &'a str,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JwkSet, String>> + Send + 'a>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async {
                let n = include_str!("session/test_key_a.n").trim();
                Ok(serde_json::from_value(json!({
                    "keys": [{ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID, "n": n, "e": "AQAB" }]
                }))
                .unwrap())
            })
        }
    }

    fn sessions() -> (Sessions, Arc<FixedJwks>) {
        let config = SessionConfig::parse(Some(ISSUER), None, Some(CLIENT), None).unwrap().unwrap();
        let source = Arc::new(FixedJwks(Default::default()));
        (Sessions::new(config, source.clone()), source)
    }

    fn now() -> DateTime<Utc> {
        "2026-11-30T10:00:00Z".parse().unwrap()
    }

    fn claims() -> serde_json::Value {
        let t = now().timestamp();
        json!({
            "sub": "5f2c9a1e-0000-4000-8000-000000000001",
            "iss": ISSUER,
            "aud": CLIENT,
            "token_use": "id",
            "iat": t - 60,
            "exp": t + 86_400,
            "email": "owner@spice.example",
            "custom:tenant": "spice-garden",
            "cognito:groups": ["owner"],
        })
    }

    fn sign(claims: &serde_json::Value, key: &EncodingKey) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    async fn verify(claims: serde_json::Value) -> Result<Staff, ApiError> {
        sessions().0.verify(&sign(&claims, &key_a()), now()).await
    }

    fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut c = claims();
        c[field] = value;
        c
    }

    #[tokio::test]
    async fn the_jwks_fetched_at_init_serves_the_first_request() {
        let (sessions, source) = sessions();
        sessions.warm_up().await;
        assert_eq!(source.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        sessions.verify(&sign(&claims(), &key_a()), now()).await.unwrap();
        assert_eq!(source.0.load(std::sync::atomic::Ordering::SeqCst), 1, "the first request fetched again");
    }

    #[tokio::test]
    async fn a_valid_id_token_yields_tenant_role_and_person() {
        let staff = verify(claims()).await.unwrap();
        assert_eq!(staff.tenant.as_str(), "spice-garden");
        assert_eq!(staff.role, Role::Owner);
        assert_eq!(staff.email, "owner@spice.example");
        assert_eq!(staff.sub, "5f2c9a1e-0000-4000-8000-000000000001");
        for role in ["manager", "viewer"] {
            assert_eq!(verify(with("cognito:groups", json!([role]))).await.unwrap().role.as_str(), role);
        }
    }

    #[tokio::test]
    async fn every_bad_token_is_refused() {
        let t = now().timestamp();
        let unauthorized = [
            ("wrong issuer", with("iss", json!("http://localhost:9229/other_pool"))),
            ("wrong audience", with("aud", json!("another-client"))),
            ("access token", with("token_use", json!("access"))),
            ("expired", with("exp", json!(t - 1))),
            ("older than 15 minutes", with("iat", json!(t - 15 * 60 - 1))),
            ("issued in the future", with("iat", json!(t + 3_600))),
        ];
        for (case, claims) in unauthorized {
            assert_eq!(verify(claims).await, Err(ApiError::Unauthorized), "{case}");
        }
        // Exactly 15 minutes old is still fine.
        assert!(verify(with("iat", json!(t - 15 * 60))).await.is_ok());

        let (sessions, _) = sessions();
        let forged = sign(&claims(), &key_b());
        assert_eq!(sessions.verify(&forged, now()).await, Err(ApiError::Unauthorized), "bad signature");
        assert_eq!(sessions.verify("not.a.token", now()).await, Err(ApiError::Unauthorized));
        let hs = jsonwebtoken::encode(
            &Header { kid: Some(KID.into()), ..Header::new(Algorithm::HS256) },
            &claims(),
            &EncodingKey::from_secret(b"a-long-enough-secret-for-hmac-sha256-tests").unwrap(),
        )
        .unwrap();
        assert_eq!(sessions.verify(&hs, now()).await, Err(ApiError::Unauthorized), "HS256");

        let mut no_tenant = claims();
        no_tenant.as_object_mut().unwrap().remove("custom:tenant");
        let forbidden = [
            ("missing tenant", no_tenant),
            ("not a tenant slug", with("custom:tenant", json!("Not A Slug!"))),
            ("unknown group", with("cognito:groups", json!(["admins"]))),
            ("no group", with("cognito:groups", json!([]))),
            ("two groups", with("cognito:groups", json!(["viewer", "owner"]))),
        ];
        for (case, claims) in forbidden {
            let err = verify(claims).await.unwrap_err();
            assert!(matches!(err, ApiError::StaffForbidden(_)), "{case}: {err:?}");
            assert_eq!(err.status(crate::error::Dialect::Public), 403, "{case}");
        }
    }

    #[tokio::test]
    async fn the_jwks_is_fetched_once_and_an_unknown_kid_does_not_refetch_at_once() {
        let (sessions, source) = sessions();
        let token = sign(&claims(), &key_a());
        for _ in 0..3 {
            sessions.verify(&token, now()).await.unwrap();
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("made-up".into());
        let unknown = jsonwebtoken::encode(&header, &claims(), &key_a()).unwrap();
        assert_eq!(sessions.verify(&unknown, now()).await, Err(ApiError::Unauthorized));
        assert_eq!(source.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    struct DownJwks;

    impl JwksSource for DownJwks {
        fn fetch<'a>(
            &'a self,
            _url: &'a str,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JwkSet, String>> + Send + 'a>> {
            Box::pin(async { Err("connection refused".to_owned()) })
        }
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_503_not_401() {
        let config = SessionConfig::parse(Some(ISSUER), None, Some(CLIENT), None).unwrap().unwrap();
        let sessions = Sessions::new(config, Arc::new(DownJwks));
        let result = sessions.verify(&sign(&claims(), &key_a()), now()).await;
        assert_eq!(result, Err(ApiError::Unavailable));
    }

    #[tokio::test]
    async fn bearer_header_is_required() {
        let (sessions, _) = sessions();
        let mut headers = http::HeaderMap::new();
        assert_eq!(sessions.from_headers(&headers, now()).await, Err(ApiError::Unauthorized));
        headers.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(sessions.from_headers(&headers, now()).await, Err(ApiError::Unauthorized));
        let token = sign(&claims(), &key_a());
        headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        assert_eq!(sessions.from_headers(&headers, now()).await.unwrap().role, Role::Owner);
    }

    #[test]
    fn issuer_and_jwks_url_are_separate_settings() {
        let c = SessionConfig::parse(
            Some(ISSUER),
            Some("http://127.0.0.1:9231/local_pool/.well-known/jwks.json"),
            Some(CLIENT),
            Some("600"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.issuer, ISSUER);
        assert!(c.jwks_url.contains(":9231/"));
        assert_eq!(c.max_age, Duration::from_secs(600));
        assert_eq!(SessionConfig::parse(None, None, None, None), Ok(None));
        assert!(SessionConfig::parse(Some(ISSUER), None, None, None).is_err());
        assert!(SessionConfig::parse(Some(ISSUER), None, Some(CLIENT), Some("86400")).is_err());
    }
}
