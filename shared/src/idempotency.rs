//! `Idempotency-Key` on every POST, in the manner of payment APIs.
//!
//! The key (1-255 visible ASCII characters) is scoped to the tenant, the key's mode and
//! the route. The first completed response (status and body) is stored in the same
//! transaction as the effect and replayed, with header `idempotent-replayed: true`, for
//! a retry with the same key and the same body. The same key with a different body, or
//! while the first request is still running, is `409` (safe to retry later); it never
//! runs twice. A request that fails without effect releases its claim, so a retry runs.

use std::future::Future;

use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::IdempotencyKey;
use crate::error::ApiError;
use crate::http::{replayed, MAX_BODY_BYTES};
use crate::store::{ClaimResult, Completion, IdempotencyScope};

pub const HEADER: &str = "idempotency-key";
pub const MAX_KEY_LEN: usize = 255;

/// This request's hold on its idempotency key.
#[derive(Debug, Clone)]
pub struct Claim {
    scope: IdempotencyScope,
    token: String,
}

impl Claim {
    /// The transaction item that stores `response` as this key's result.
    pub fn completion(&self, response: &Response<Body>) -> Completion {
        let body = match response.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        Completion { scope: self.scope.clone(), token: self.token.clone(), status: response.status().as_u16(), body }
    }
}

/// A claim together with how the route renders its result, so the engine can store the
/// exact response in the effect's transaction.
pub struct Replayable<'a, T> {
    pub claim: &'a Claim,
    pub render: &'a (dyn Fn(&T) -> Response<Body> + Send + Sync),
}

impl<T> Replayable<'_, T> {
    pub fn completion(&self, result: &T) -> Completion {
        self.claim.completion(&(self.render)(result))
    }
}

pub enum Begin {
    /// Go ahead; with a claim when the request carried a key.
    Proceed(Option<Claim>),
    /// The stored response of the first request with this key.
    Replay(Response<Body>),
}

/// Reads and claims the request's `Idempotency-Key`. Sandbox requests write nothing,
/// so they claim nothing.
pub async fn begin(deps: &Deps, caller: &Caller, req: &Request, route: &str) -> Result<Begin, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(Begin::Proceed(None));
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters"))?;
    if caller.sandbox() {
        return Ok(Begin::Proceed(None));
    }
    let scope = IdempotencyScope {
        tenant: caller.tenant.clone(),
        mode: caller.mode,
        route: route.to_owned(),
        key: IdempotencyKey::parse(key).map_err(|e| ApiError::bad_request(e.to_string()))?,
    };
    let hash = request_hash(req);
    match deps.store.claim_idempotency(&scope, &hash, deps.now()).await? {
        ClaimResult::Claimed { token } => Ok(Begin::Proceed(Some(Claim { scope, token }))),
        ClaimResult::Done { request_hash, status, body } if request_hash == hash => {
            Ok(Begin::Replay(replayed(crate::http::json_text(status, body))))
        }
        ClaimResult::Done { .. } => {
            Err(ApiError::IdempotencyConflict("Idempotency-Key was already used with a different request body".into()))
        }
        ClaimResult::InFlight { request_hash } if request_hash != hash => {
            Err(ApiError::IdempotencyConflict("Idempotency-Key was already used with a different request body".into()))
        }
        ClaimResult::InFlight { .. } => Err(ApiError::IdempotencyConflict(
            "A request with this Idempotency-Key is still in progress; retry later".into(),
        )),
    }
}

/// Runs the request's work; if it fails, the claim is released so that a retry runs
/// (the failed work wrote nothing: every effect is one transaction that includes the
/// claim's completion).
pub async fn finish<F>(deps: &Deps, claim: Option<&Claim>, work: F) -> Result<Response<Body>, ApiError>
where
    F: Future<Output = Result<Response<Body>, ApiError>>,
{
    let result = work.await;
    if let (Err(_), Some(claim)) = (&result, claim) {
        if let Err(e) = deps.store.release_idempotency(&claim.scope, &claim.token).await {
            // The lease expires on its own; a retry within it answers 409 (retry later).
            tracing::warn!(cause = %e, "idempotency claim not released");
        }
    }
    result
}

fn request_hash(req: &Request) -> String {
    let bytes: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    hash_body(bytes)
}

/// What a request is remembered by: the SHA-256 of its body as canonical JSON (object
/// keys sorted at every level, whitespace dropped) when it parses, else of its bytes.
/// Two bodies that mean the same JSON hash the same.
pub fn hash_body(bytes: &[u8]) -> String {
    let canonical = (bytes.len() <= MAX_BODY_BYTES)
        .then(|| serde_json::from_slice::<serde_json::Value>(bytes).ok())
        .flatten()
        .map(|v| {
            let mut out = String::with_capacity(bytes.len());
            write_canonical(&v, &mut out);
            out.into_bytes()
        });
    hex::encode(Sha256::digest(canonical.as_deref().unwrap_or(bytes)))
}

/// Sorted keys whatever order the map keeps them in (a dependency may turn on
/// serde_json's `preserve_order`).
fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(value) = map.get(k) {
                    write_canonical(value, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(body: &str) -> String {
        request_hash(&http::Request::builder().body(Body::from(body.to_owned())).expect("a request"))
    }

    #[test]
    fn key_order_and_spacing_do_not_change_the_hash() {
        assert_eq!(
            hash_of(r#"{"a":1,"b":{"y":2,"x":[1,{"q":1,"p":2}]}}"#),
            hash_of(r#"{ "b": {"x": [1, {"p":2,"q":1}], "y": 2}, "a": 1 }"#)
        );
        assert_ne!(hash_of(r#"{"a":1}"#), hash_of(r#"{"a":2}"#));
        assert_ne!(hash_of("not json"), hash_of("not json "));
    }
}
