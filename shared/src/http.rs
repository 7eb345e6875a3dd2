//! The HTTP edge shared by every function: reading a JSON body field by field (so each
//! error names its field, and money keeps its exact decimal text), query parameters,
//! and writing responses and errors in the caller's dialect.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::domain::{Email, Mobile, Money, MoneyError};
use crate::error::{ApiError, Dialect};

/// Request bodies larger than this answer 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The response header that marks an answer replayed from an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// A JSON object body, each value kept as its raw JSON text until a field is read.
pub struct JsonBody {
    fields: HashMap<String, Box<RawValue>>,
}

impl JsonBody {
    pub fn parse(req: &Request) -> Result<Self, ApiError> {
        let bytes: &[u8] = match req.body() {
            Body::Empty => b"",
            Body::Text(t) => t.as_bytes(),
            Body::Binary(b) => b,
            _ => b"",
        };
        Self::from_bytes(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("Request body must be a JSON object"));
        }
        let value: Box<RawValue> = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
        if !value.get().trim_start().starts_with('{') {
            return Err(ApiError::bad_request("Request body must be a JSON object"));
        }
        let fields = serde_json::from_str(value.get())
            .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
        Ok(JsonBody { fields })
    }

    /// The raw text of a field; `null` counts as absent.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|v| v.get().trim()).filter(|v| *v != "null")
    }

    /// A string field, trimmed; empty counts as absent. Longer than `max` is an error.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        let text: String =
            serde_json::from_str(raw).map_err(|_| ApiError::bad_request(format!("{name} must be a string")))?;
        clean_text(name, &text, max)
    }

    /// Like [`text`](Self::text) but a JSON number is taken as its text too: POS systems
    /// send mobile and invoice numbers either way.
    pub fn text_or_number(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.raw(name) {
            Some(raw) if raw.starts_with(|c: char| c.is_ascii_digit()) => clean_text(name, raw, max),
            _ => self.text(name, max),
        }
    }

    pub fn money(&self, name: &str) -> Result<Option<Money>, ApiError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        Money::parse(raw).map(Some).map_err(|e| money_error(name, e))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be true or false"))),
        }
    }

    pub fn mobile(&self, name: &str) -> Result<Option<Mobile>, ApiError> {
        self.text_or_number(name, 32)?
            .map(|m| Mobile::parse(&m).map_err(|e| ApiError::bad_request(format!("{name} {e}"))))
            .transpose()
    }

    pub fn email(&self, name: &str) -> Result<Option<Email>, ApiError> {
        self.text(name, 254)?
            .map(|m| Email::parse(&m).map_err(|e| ApiError::bad_request(format!("{name} {e}"))))
            .transpose()
    }

    /// An array of objects, each as its own `JsonBody`, at most `max` of them.
    pub fn objects(&self, name: &str, max: usize) -> Result<Vec<JsonBody>, ApiError> {
        let Some(raw) = self.raw(name) else {
            return Ok(Vec::new());
        };
        let list: Vec<Box<RawValue>> =
            serde_json::from_str(raw).map_err(|_| ApiError::bad_request(format!("{name} must be an array")))?;
        if list.len() > max {
            return Err(ApiError::bad_request(format!("{name} may have at most {max} entries")));
        }
        list.iter()
            .map(|v| {
                JsonBody::from_bytes(v.get().as_bytes())
                    .map_err(|_| ApiError::bad_request(format!("each entry of {name} must be an object")))
            })
            .collect()
    }
}

fn money_error(name: &str, e: MoneyError) -> ApiError {
    match e {
        MoneyError::NotANumber => ApiError::bad_request(format!("{name} must be a number")),
        other => ApiError::bad_request(format!("{name} {other}")),
    }
}

/// Rejects control characters and over-long values; trims; empty is absent.
pub fn clean_text(name: &str, text: &str, max: usize) -> Result<Option<String>, ApiError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(ApiError::bad_request(format!("{name} may be at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("{name} must not contain control characters")));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// A query-string parameter; empty counts as absent.
pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::trim).filter(|v| !v.is_empty())
}

/// `true`/`1`/`yes` or `false`/`0`/`no` (any case); absent is `false`.
pub fn query_flag(req: &Request, name: &str) -> Result<bool, ApiError> {
    match query(req, name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be true or false"))),
    }
}

pub fn path_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.path_parameters_ref().and_then(|p| p.first(name))
}

/// The id of this invocation, for logs and 5xx bodies.
pub fn request_id(req: &Request) -> String {
    if let Some(ctx) = req.lambda_context_ref() {
        if !ctx.request_id.is_empty() {
            return ctx.request_id.clone();
        }
    }
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        Some(lambda_http::request::RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => with_json_type(Response::new(Body::Text(text)), status),
        Err(e) => {
            tracing::error!(cause = %e, "response did not serialise");
            with_json_type(
                Response::new(Body::Text(r#"{"error":"Internal error"}"#.into())),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// A stored JSON body, sent as it was.
pub fn json_text(status: u16, body: String) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    with_json_type(Response::new(Body::Text(body)), status)
}

fn with_json_type(mut resp: Response<Body>, status: StatusCode) -> Response<Body> {
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Marks a response as replayed from an earlier request.
pub fn replayed(mut resp: Response<Body>) -> Response<Body> {
    resp.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    resp
}

/// The error body in the caller's dialect; 5xx bodies carry the request id.
pub fn error_response(err: &ApiError, dialect: Dialect, request_id: &str) -> Response<Body> {
    let status = err.status(dialect);
    let message = err.message(dialect);
    let server = err.is_server_error();
    let body = match dialect {
        Dialect::Partner => {
            let mut body = serde_json::json!({ "error": message });
            if server {
                body["request_id"] = request_id.into();
            }
            body
        }
        Dialect::Public => {
            let mut error = serde_json::json!({ "code": err.code(), "message": message });
            if server {
                error["requestId"] = request_id.into();
            }
            serde_json::json!({ "result": "error", "error": error })
        }
    };
    let mut resp = json(status, &body);
    if let ApiError::TooManyRequests { retry_after_secs } = err {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            resp.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
    }
    if server {
        resp.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

/// The most a request may take, below the functions' 10 s timeout: a store that is slow
/// rather than down (each call may take up to its own 5 s limit, and a request makes
/// several) still gets a 503 JSON answer instead of a Lambda timeout.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(8);

/// Runs a handler body within [`REQUEST_BUDGET`], renders its error in the dialect, and
/// logs one line per request. Every line logged while it runs carries the request id
/// (a span of its own, whatever the runtime's spans say); never the key, the body or the
/// path (which may hold a voucher code).
pub async fn respond<F>(dialect: Dialect, req: &Request, work: F) -> Response<Body>
where
    F: Future<Output = Result<Response<Body>, ApiError>>,
{
    let request_id = request_id(req);
    let span = tracing::info_span!("request", request_id = %request_id, method = %req.method());
    async {
        let started = Instant::now();
        let result = match tokio::time::timeout(REQUEST_BUDGET, work).await {
            Ok(result) => result,
            Err(_) => {
                tracing::error!(budget_ms = REQUEST_BUDGET.as_millis() as u64, "request ran out of time");
                Err(ApiError::Unavailable)
            }
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(resp) => {
                tracing::info!(status = resp.status().as_u16(), elapsed_ms, "request done");
                resp
            }
            Err(err) => {
                let resp = error_response(&err, dialect, &request_id);
                let status = resp.status().as_u16();
                if err.is_server_error() {
                    tracing::error!(status, elapsed_ms, error = %err, "request failed");
                } else {
                    tracing::info!(status, elapsed_ms, error = %err, "request refused");
                }
                resp
            }
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Result<JsonBody, ApiError> {
        JsonBody::from_bytes(text.as_bytes())
    }

    #[test]
    fn money_keeps_its_exact_text() {
        let b = body(r#"{"amount": 0.29, "other": 1e3}"#).unwrap();
        assert_eq!(b.money("amount").unwrap().unwrap().minor(), 29);
        assert_eq!(b.money("other").unwrap().unwrap().minor(), 100_000);
        assert_eq!(b.money("missing").unwrap(), None);
    }

    #[test]
    fn field_errors_name_the_field() {
        let b = body(r#"{"amount": "12", "flag": 1, "items": {}}"#).unwrap();
        assert_eq!(b.money("amount"), Err(ApiError::bad_request("amount must be a number")));
        assert_eq!(b.bool("flag"), Err(ApiError::bad_request("flag must be true or false")));
        assert!(matches!(b.objects("items", 5), Err(ApiError::BadRequest(m)) if m.contains("items")));
        let b = body(r#"{"amount": 1.005}"#).unwrap();
        assert_eq!(b.money("amount"), Err(ApiError::bad_request("amount must have at most 2 decimal places")));
    }

    #[test]
    fn mobile_may_be_a_number_or_a_string() {
        let b = body(r#"{"a": 9876543210, "b": "+91 98765 43210"}"#).unwrap();
        assert_eq!(b.mobile("a").unwrap().unwrap().as_str(), "9876543210");
        assert_eq!(b.mobile("b").unwrap().unwrap().as_str(), "9876543210");
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        for text in ["", "  ", "[]", "12", "\"x\"", "{", "null"] {
            assert!(matches!(body(text), Err(ApiError::BadRequest(_))), "{text}");
        }
        let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(body(&big).err(), Some(ApiError::PayloadTooLarge(MAX_BODY_BYTES)));
    }

    #[test]
    fn text_limits() {
        let b = body(r#"{"name": "  Ravi  ", "bad": "a\u0000b", "empty": ""}"#).unwrap();
        assert_eq!(b.text("name", 10).unwrap().as_deref(), Some("Ravi"));
        assert!(b.text("name", 3).is_err());
        assert!(b.text("bad", 10).is_err());
        assert_eq!(b.text("empty", 10).unwrap(), None);
    }
}
