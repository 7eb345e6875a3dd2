//! `Idempotency-Key` on every POST, in the manner of payment APIs.
//!
//! The key (1-255 visible ASCII characters) is scoped to the tenant, the key's mode and
//! the route. The first completed response (status and body) is stored in the same
//! transaction as the effect and replayed, with header `idempotent-replayed: true`, for
//! a retry with the same key and the same body. The same key with a different body, or
//! while the first request is still running, is `409` (safe to retry later); it never
//! runs twice. A request that fails without effect releases its claim, so a retry runs.

use std::collections::BTreeMap;
use std::future::Future;

use lambda_http::{Body, Request, Response};
use serde_json::value::RawValue;
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

/// What a request is remembered by: the SHA-256 of its body as canonical JSON when it
/// parses, else of its bytes. Canonical: object keys sorted at every level (a repeated
/// name: the last wins, as a JSON map reads it), whitespace dropped, strings unescaped
/// and re-escaped one way, and every number by its exact decimal value read from its
/// text (`100` = `100.00` = `1e2`; `0.1` != `0.10000000000000000001`): never through a
/// float. Two bodies that mean the same JSON hash the same.
pub fn hash_body(bytes: &[u8]) -> String {
    let canonical = (bytes.len() <= MAX_BODY_BYTES).then(|| canonical_json(bytes)).flatten().map(String::into_bytes);
    hex::encode(Sha256::digest(canonical.as_deref().unwrap_or(bytes)))
}

/// The canonical text of a JSON document, `None` if it is not JSON.
fn canonical_json(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    // Checks the whole document once (trailing characters included).
    let whole: &RawValue = serde_json::from_str(text).ok()?;
    let mut out = String::with_capacity(bytes.len());
    write_canonical(whole.get(), &mut out).ok()?;
    Some(out)
}

fn write_canonical(text: &str, out: &mut String) -> Result<(), serde_json::Error> {
    let text = text.trim();
    match text.as_bytes().first() {
        Some(b'{') => {
            // A BTreeMap sorts the names and keeps the last of a repeated one.
            let map: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
            out.push('{');
            for (i, (name, value)) in map.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(&name)?);
                out.push(':');
                write_canonical(value.get(), out)?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            out.push('[');
            for (i, item) in items.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item.get(), out)?;
            }
            out.push(']');
        }
        Some(b'"') => out.push_str(&serde_json::to_string(&serde_json::from_str::<String>(text)?)?),
        Some(b'-' | b'0'..=b'9') => out.push_str(&canonical_number(text)),
        // true, false, null: one spelling each.
        _ => out.push_str(text),
    }
    Ok(())
}

/// A JSON number (already checked against the grammar) as `[-]DIGITSeEXP`, DIGITS with
/// no leading or trailing zeros: one text per decimal value, so equal values are equal
/// texts and different values different texts. Zero (and `-0`) is `0`. An exponent
/// beyond `i64` keeps the number's own text, which no canonical text equals.
fn canonical_number(text: &str) -> String {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], &unsigned[at + 1..]),
        None => (unsigned, "0"),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let significant = digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        return "0".to_owned();
    }
    let scale = exponent
        .parse::<i64>()
        .ok()
        .and_then(|e| e.checked_sub(i64::try_from(fraction.len()).ok()?))
        .and_then(|e| e.checked_add(i64::try_from(significant.len() - trimmed.len()).ok()?));
    match scale {
        Some(scale) => format!("{}{trimmed}e{scale}", if negative { "-" } else { "" }),
        None => text.to_owned(),
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

    #[test]
    fn numbers_compare_by_exact_decimal_value() {
        for same in ["100.00", "1e2", "1.0E+2", "100.0", "10000e-2"] {
            assert_eq!(hash_of(r#"{"amount":100}"#), hash_of(&format!(r#"{{"amount":{same}}}"#)), "{same}");
        }
        assert_eq!(hash_of("[0]"), hash_of("[-0.0]"));
        assert_eq!(hash_of("[0.5]"), hash_of("[5e-1]"));
        for (a, b) in [
            ("0.1", "0.10000000000000000001"),
            ("12345678901234567890123", "12345678901234567890124"),
            ("9007199254740993", "9007199254740992"),
            ("1e400", "1e401"),
            ("-1", "1"),
            ("100", "\"100\""),
        ] {
            assert_ne!(hash_of(&format!("[{a}]")), hash_of(&format!("[{b}]")), "{a} vs {b}");
        }
    }

    #[test]
    fn strings_and_repeated_names_read_as_a_json_map_reads_them() {
        assert_eq!(hash_of(r#"{"a":"\u0041"}"#), hash_of(r#"{"a":"A"}"#));
        assert_eq!(hash_of(r#"{"a":1,"a":2}"#), hash_of(r#"{"a":2}"#));
        assert_ne!(hash_of(r#"{"a":"x"}"#), hash_of(r#"{"a":"x "}"#));
    }

    #[test]
    fn canonical_numbers() {
        assert_eq!(canonical_number("100"), "1e2");
        assert_eq!(canonical_number("-0.0100"), "-1e-2");
        assert_eq!(canonical_number("0"), "0");
        // An exponent beyond i64 keeps its own text rather than colliding.
        assert_eq!(canonical_number("1e99999999999999999999"), "1e99999999999999999999");
    }

    proptest::proptest! {
        #[test]
        fn trailing_zeros_and_exponents_do_not_change_the_hash(units in 0u64..u64::MAX, zeros in 0usize..30, shift in 0u32..30) {
            let plain = format!(r#"{{"amount":{units}}}"#);
            let padded = format!(r#"{{"amount":{units}.{}}}"#, "0".repeat(zeros.max(1)));
            let scaled = format!(r#"{{"amount":{units}{}e-{shift}}}"#, "0".repeat(shift as usize));
            proptest::prop_assert_eq!(hash_of(&plain), hash_of(&padded));
            proptest::prop_assert_eq!(hash_of(&plain), hash_of(&scaled));
        }

        #[test]
        fn decimals_hash_equal_exactly_when_their_values_are(a in "(0|[1-9][0-9]{0,29})\\.[0-9]{1,30}", b in "(0|[1-9][0-9]{0,29})\\.[0-9]{1,30}") {
            // The value of a plain decimal, independently: whole part without leading
            // zeros, fraction without trailing zeros.
            let value = |t: &str| {
                let (w, f) = t.split_once('.').unwrap();
                (w.trim_start_matches('0').to_owned(), f.trim_end_matches('0').to_owned())
            };
            let same_hash = hash_of(&format!("[{a}]")) == hash_of(&format!("[{b}]"));
            proptest::prop_assert_eq!(same_hash, value(&a) == value(&b));
            proptest::prop_assert_eq!(hash_of(&format!("[{a}]")), hash_of(&format!("[{a}000]")));
        }
    }
}
