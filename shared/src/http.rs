//! The HTTP edge shared by every function: query parameters, and writing responses and
//! errors in the caller's dialect. Bodies are read by the `requests` module.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::error::{ApiError, Dialect};
use crate::store::WriteWatch;

/// Request bodies larger than this answer 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The response header that marks an answer replayed from an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Rejects control characters and over-long values; trims; empty is absent.
pub fn clean_text(name: &str, text: &str, max: usize) -> Result<Option<String>, ApiError> {
    clean(text, max).map_err(|e| ApiError::invalid(name, e))
}

/// `"{name} is required"`, naming the field when `name` is one (not "a or b").
pub fn required(name: &str) -> ApiError {
    if name.contains(' ') {
        ApiError::bad_request(format!("{name} is required"))
    } else {
        ApiError::invalid(name, "is required")
    }
}

/// Rejects control characters and over-long values; trims; empty is absent. The error
/// is the rest of a sentence that starts with the field's name.
pub fn clean(text: &str, max: usize) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(format!("may be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// A query-string parameter; empty counts as absent.
pub fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).map(str::trim).filter(|v| !v.is_empty())
}

/// A query-string parameter read by `parse` (such as `Email::parse`); absent is `None`,
/// and a parse error is the rest of a sentence that starts with the name.
pub fn query_parsed<T, E: std::fmt::Display>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    query(req, name).map(|v| parse(v).map_err(|e| ApiError::invalid(name, e.to_string()))).transpose()
}

/// Like [`query_parsed`], and absent is `"{name} is required"`.
pub fn required_query<T, E: std::fmt::Display>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    query_parsed(req, name, parse)?.ok_or_else(|| required(name))
}

/// `true`/`1`/`yes` or `false`/`0`/`no` (any case); absent is `false`.
pub fn query_flag(req: &Request, name: &str) -> Result<bool, ApiError> {
    match query(req, name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(_) => Err(ApiError::invalid(name, "must be true or false")),
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

/// The header naming the next page of an export (absent on the last page).
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

/// A page of CSV (`text/csv`), with the next page's cursor in [`NEXT_CURSOR_HEADER`].
pub fn csv_page(body: &str, next_cursor: Option<&str>) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_owned()));
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Some(cursor) = next_cursor.and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert(NEXT_CURSOR_HEADER, cursor);
    }
    resp
}

/// Marks a response as replayed from an earlier request.
pub fn replayed(mut resp: Response<Body>) -> Response<Body> {
    resp.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    resp
}

/// The response header naming the request, on every answer: the id the function logs
/// the request under (see [`request_id`]).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A Partner error body, its fields in this order: `error` (the contract's sentence),
/// `code` (the same enum as the Public dialect's `error.code`), `param` (the field at
/// fault, a JSON path), and on a 5xx `outcome` (when unknown) and `request_id`.
#[derive(Serialize)]
struct PartnerError<'a> {
    error: &'a str,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// Names the request on its answer (success, error or replay alike).
fn with_request_id(mut resp: Response<Body>, request_id: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        if !request_id.is_empty() {
            resp.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
    }
    resp
}

/// The error body in the caller's dialect; 5xx bodies carry the request id.
pub fn error_response(err: &ApiError, dialect: Dialect, request_id: &str) -> Response<Body> {
    let status = err.status(dialect);
    let message = err.message(dialect);
    let server = err.is_server_error();
    let body = match dialect {
        Dialect::Partner => serde_json::to_value(PartnerError {
            error: &message,
            code: err.code(),
            param: err.field(),
            outcome: (*err == ApiError::OutcomeUnknown).then_some("unknown"),
            request_id: server.then_some(request_id),
        })
        .unwrap_or_else(|_| serde_json::json!({ "error": message, "code": err.code() })),
        Dialect::Public => {
            let mut error = serde_json::json!({ "code": err.code(), "message": message });
            if server {
                error["requestId"] = request_id.into();
            }
            serde_json::json!({ "result": "error", "error": error })
        }
        Dialect::Admin => {
            let mut error = serde_json::json!({ "code": err.code(), "message": message });
            if let ApiError::Invalid { field, message } = err {
                error["field"] = field.as_str().into();
                // The console shows it next to the field: the sentence without its subject.
                error["message"] = message.as_str().into();
            }
            if server {
                error["request_id"] = request_id.into();
            }
            serde_json::json!({ "error": error })
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
/// logs one line per request. Time running out after a write was sent (and not known
/// to have failed) is [`ApiError::OutcomeUnknown`], before that [`ApiError::Unavailable`]. Every line logged while it runs carries the request id
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
        let writes = WriteWatch::default();
        // Boxed: the handler's future is large, and each wrapper's poll would copy it.
        let result = match tokio::time::timeout(REQUEST_BUDGET, writes.run(Box::pin(work))).await {
            Ok(result) => result,
            Err(_) => {
                let unsettled = writes.unsettled();
                tracing::error!(budget_ms = REQUEST_BUDGET.as_millis() as u64, unsettled, "request ran out of time");
                Err(if unsettled { ApiError::OutcomeUnknown } else { ApiError::Unavailable })
            }
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let resp = match result {
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
        };
        with_request_id(resp, &request_id)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(err: &ApiError) -> (u16, serde_json::Value) {
        let resp = error_response(err, Dialect::Admin, "req-1");
        let Body::Text(text) = resp.body() else { panic!("a text body") };
        (resp.status().as_u16(), serde_json::from_str(text).unwrap())
    }

    #[test]
    fn management_errors_name_their_field_and_say_sign_in_again() {
        let (status, b) = body(&ApiError::invalid("points", "must not be 0"));
        assert_eq!(status, 400);
        assert_eq!(
            b,
            serde_json::json!({"error": {"code": "invalid_request", "message": "must not be 0", "field": "points"}})
        );
        let (status, b) = body(&ApiError::Unauthorized);
        assert_eq!(status, 401);
        assert_eq!(b["error"]["code"], "unauthorized");
        assert!(b["error"]["message"].as_str().unwrap().contains("sign in again"));
        let (status, b) = body(&ApiError::StaffForbidden("no role"));
        assert_eq!((status, b["error"]["code"].as_str()), (403, Some("forbidden")));
        let (status, b) = body(&ApiError::InsufficientPoints { balance: 5, needed: 9 });
        assert_eq!((status, b["error"]["code"].as_str()), (422, Some("insufficient_points")));
        let (status, b) = body(&ApiError::Internal);
        assert_eq!((status, b["error"]["request_id"].as_str()), (500, Some("req-1")));
        assert!(b["error"].get("field").is_none());
    }

    #[test]
    fn the_dialects_keep_a_field_error_as_one_sentence() {
        let err = ApiError::invalid("items[1].amount", "must be a number");
        let resp = error_response(&err, Dialect::Partner, "r");
        let Body::Text(text) = resp.body() else { panic!("a text body") };
        assert_eq!(
            text,
            r#"{"error":"items[1].amount must be a number","code":"invalid_request","param":"items[1].amount"}"#
        );
    }

    fn partner(err: &ApiError) -> serde_json::Value {
        let resp = error_response(err, Dialect::Partner, "req-9");
        let Body::Text(text) = resp.body() else { panic!("a text body") };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn every_partner_error_keeps_its_sentence_and_has_the_public_code() {
        use crate::actor::{Permission, Role};
        use crate::keys::{Channel, Scope};
        let every = [
            ApiError::Unauthorized,
            ApiError::Forbidden(Scope::ALL[0]),
            ApiError::ForbiddenChannel(Channel::ALL[0]),
            ApiError::OffEdge,
            ApiError::Role { role: Role::Viewer, need: Permission::Manage },
            ApiError::StaffForbidden("no role"),
            ApiError::bad_request("mobile is required"),
            ApiError::invalid("bill_amount", "must be a number"),
            ApiError::PayloadTooLarge(MAX_BODY_BYTES),
            ApiError::NotFound("Customer"),
            ApiError::CodeExpired,
            ApiError::CodeUsed,
            ApiError::CodeNotUsed,
            ApiError::CodeUsedByOtherKey,
            ApiError::CodeReinstateTooLate,
            ApiError::InsufficientPoints { balance: 1, needed: 2 },
            ApiError::Otp("Invalid OTP".into()),
            ApiError::TooManyRequests { retry_after_secs: 30 },
            ApiError::Conflict("Reference reused".into()),
            ApiError::IdempotencyConflict("Idempotency-Key reused".into()),
            ApiError::Contended,
            ApiError::Unavailable,
            ApiError::OutcomeUnknown,
            ApiError::Internal,
        ];
        for err in &every {
            // A new variant fails to compile here until it is added to `every`.
            match err {
                ApiError::Unauthorized
                | ApiError::Forbidden(_)
                | ApiError::ForbiddenChannel(_)
                | ApiError::OffEdge
                | ApiError::Role { .. }
                | ApiError::StaffForbidden(_)
                | ApiError::BadRequest(_)
                | ApiError::Invalid { .. }
                | ApiError::PayloadTooLarge(_)
                | ApiError::NotFound(_)
                | ApiError::CodeExpired
                | ApiError::CodeUsed
                | ApiError::CodeNotUsed
                | ApiError::CodeUsedByOtherKey
                | ApiError::CodeReinstateTooLate
                | ApiError::InsufficientPoints { .. }
                | ApiError::Otp(_)
                | ApiError::TooManyRequests { .. }
                | ApiError::Conflict(_)
                | ApiError::IdempotencyConflict(_)
                | ApiError::Contended
                | ApiError::Unavailable
                | ApiError::OutcomeUnknown
                | ApiError::Internal => {}
            }
            let b = partner(err);
            assert_eq!(b["error"], serde_json::json!(err.to_string()), "{err:?}");
            assert_eq!(b["code"], serde_json::json!(err.code()), "{err:?}");
            assert!(ApiError::CODES.contains(&err.code()), "{err:?}: {} is not documented", err.code());
            assert_eq!(b["param"].as_str(), err.field(), "{err:?}");
            assert_eq!(b["request_id"].as_str(), err.is_server_error().then_some("req-9"), "{err:?}");
        }
        // Every code the enum has is some variant's.
        for code in ApiError::CODES {
            assert!(every.iter().any(|e| e.code() == code), "{code} is no variant's");
        }
    }
}
