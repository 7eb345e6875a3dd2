//! The one error type of the API. Each variant knows its HTTP status and its body in
//! both dialects; causes are logged where they happen and never shown to the client.

use http::StatusCode;

use crate::keys::{Channel, Scope};

/// Which public API a request came in on: decides error bodies and some statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `/api/{tenant}/pos/...`: `{"error": "..."}`.
    Partner,
    /// `/v1/public/loyalty/...`: `{"result": "error", "error": {"code", "message"}}`.
    Public,
    /// `/v1/admin/...` (the console's management API): `{"error": {"code", "message",
    /// "field"}}`, statuses as the Public dialect's.
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Missing, malformed, unknown or revoked key, or a key used on another tenant's
    /// slug: all answer the same.
    #[error("Missing or invalid API key")]
    Unauthorized,
    #[error("API key missing required scope: {0}")]
    Forbidden(Scope),
    /// A key of a channel the route does not serve (a till's key on reward redemption).
    #[error("API key channel {0} may not call this route")]
    ForbiddenChannel(Channel),
    /// A request that did not come through the stage's edge (CloudFront and its limits):
    /// the API's own address is not the one to call.
    #[error("Call the API at its published address")]
    OffEdge,
    /// A person whose role does not allow the operation (management API).
    #[error("The {} role may not do this", role.as_str())]
    Role { role: crate::actor::Role, need: crate::actor::Permission },
    /// A valid console session that names no tenant or no single role (`{0}` says
    /// which): the pool holds a person set up by hand.
    #[error("This sign-in has {0}: ask the program's owner")]
    StaffForbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// A 400 caused by one field of the request (its JSON path, e.g. `items[1].amount`):
    /// the message is the rest of a sentence that starts with the field.
    #[error("{field} {message}")]
    Invalid { field: String, message: String },
    #[error("Request body too large (at most {0} bytes)")]
    PayloadTooLarge(usize),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("Coupon expired")]
    CodeExpired,
    #[error("Coupon is used")]
    CodeUsed,
    /// Reinstating a coupon that is not used (never used, or reinstated already).
    #[error("Coupon is not used")]
    CodeNotUsed,
    /// Reinstating a coupon another API key used: only the key that used it may.
    #[error("Coupon was used by another API key; only that key may reinstate it")]
    CodeUsedByOtherKey,
    /// Reinstating a coupon used longer ago than the reinstatement window.
    #[error("Coupon was used more than 24 hours ago and can no longer be reinstated")]
    CodeReinstateTooLate,
    #[error("Insufficient points: balance {balance}, needed {needed}")]
    InsufficientPoints { balance: i64, needed: i64 },
    /// A one-time code that is wrong, expired, used or out of attempts.
    #[error("{0}")]
    Otp(String),
    /// Too many requests of a kind (one-time codes per mobile): retry after the delay.
    #[error("Too many requests; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// A reference (or idempotency key) reused for a different request.
    #[error("{0}")]
    Conflict(String),
    /// An `Idempotency-Key` reused with another body, or while its first request runs.
    #[error("{0}")]
    IdempotencyConflict(String),
    /// The store stayed busy (transaction conflicts) through every retry.
    #[error("Too many concurrent updates for this customer; retry the request")]
    Contended,
    /// The store is down, slow or throttling.
    #[error("Service temporarily unavailable; retry the request")]
    Unavailable,
    /// A write was sent and its answer lost (the store timed out or failed after
    /// receiving it, or the request ran out of time while it was in flight): it may
    /// have been applied. Not "retry the request", which could apply it twice.
    #[error(
        "The outcome of this request is unknown: it may have been applied. Look it up in the member's history by its \
         reference, or retry it with the same Idempotency-Key or reference, which answers the first result or \
         applies it once"
    )]
    OutcomeUnknown,
    /// Data in the store that the code cannot read: a bug, never the caller's fault.
    #[error("Internal error")]
    Internal,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    /// A 400 naming the field that caused it: `message` is the rest of a sentence that
    /// starts with the field's name ("must be a number").
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid { field: field.into(), message: message.into() }
    }

    /// The request field a 400 names, if one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Whether this is a 400 of a malformed request (with or without its field).
    pub fn is_bad_request(&self) -> bool {
        matches!(self, ApiError::BadRequest(_) | ApiError::Invalid { .. })
    }

    pub fn status(&self, dialect: Dialect) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_)
            | ApiError::ForbiddenChannel(_)
            | ApiError::OffEdge
            | ApiError::Role { .. }
            | ApiError::StaffForbidden(_)
            | ApiError::CodeUsedByOtherKey => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::CodeExpired
            | ApiError::CodeUsed
            | ApiError::CodeNotUsed
            | ApiError::CodeReinstateTooLate
            | ApiError::InsufficientPoints { .. }
            | ApiError::Otp(_) => match dialect {
                Dialect::Partner => StatusCode::BAD_REQUEST,
                Dialect::Public | Dialect::Admin => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ApiError::Conflict(_) | ApiError::IdempotencyConflict(_) => StatusCode::CONFLICT,
            ApiError::Contended | ApiError::Unavailable | ApiError::OutcomeUnknown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Every value [`ApiError::code`] can take: the documented enum (docs/integrators.md,
    /// `PublicErrorCode` in docs/openapi.yaml). A code is never renamed; a new one may be added.
    pub const CODES: [&'static str; 17] = [
        "unauthorized",
        "forbidden",
        "invalid_request",
        "payload_too_large",
        "not_found",
        "voucher_expired",
        "voucher_used",
        "voucher_not_used",
        "reinstate_window_passed",
        "insufficient_points",
        "otp_invalid",
        "rate_limited",
        "reference_conflict",
        "idempotency_conflict",
        "service_unavailable",
        "outcome_unknown",
        "internal_error",
    ];

    /// The machine-readable code of every dialect (Public `error.code`, Partner `code`,
    /// management `error.code`): one snake_case enum.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_)
            | ApiError::ForbiddenChannel(_)
            | ApiError::OffEdge
            | ApiError::Role { .. }
            | ApiError::StaffForbidden(_)
            | ApiError::CodeUsedByOtherKey => "forbidden",
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => "invalid_request",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::NotFound(_) => "not_found",
            ApiError::CodeExpired => "voucher_expired",
            ApiError::CodeUsed => "voucher_used",
            ApiError::CodeNotUsed => "voucher_not_used",
            ApiError::CodeReinstateTooLate => "reinstate_window_passed",
            ApiError::InsufficientPoints { .. } => "insufficient_points",
            ApiError::Otp(_) => "otp_invalid",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Conflict(_) => "reference_conflict",
            ApiError::IdempotencyConflict(_) => "idempotency_conflict",
            ApiError::Contended | ApiError::Unavailable => "service_unavailable",
            ApiError::OutcomeUnknown => "outcome_unknown",
            ApiError::Internal => "internal_error",
        }
    }

    /// The message in the caller's dialect: the Public dialect speaks of vouchers.
    pub fn message(&self, dialect: Dialect) -> String {
        match (self, dialect) {
            (ApiError::CodeExpired, Dialect::Public) => "Voucher expired".into(),
            (ApiError::CodeUsed, Dialect::Public) => "Voucher is used".into(),
            (ApiError::Unauthorized, Dialect::Admin) => "Missing, invalid or expired session: sign in again".into(),
            _ => self.to_string(),
        }
    }

    pub fn is_server_error(&self) -> bool {
        matches!(self, ApiError::Contended | ApiError::Unavailable | ApiError::OutcomeUnknown | ApiError::Internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_coupon_errors_are_the_documented_400s() {
        assert_eq!(ApiError::CodeExpired.status(Dialect::Partner), 400);
        assert_eq!(ApiError::CodeExpired.to_string(), "Coupon expired");
        assert_eq!(ApiError::CodeUsed.to_string(), "Coupon is used");
        assert_eq!(ApiError::NotFound("Coupon").to_string(), "Coupon not found");
    }

    #[test]
    fn an_unknown_outcome_is_a_503_of_its_own() {
        let e = ApiError::OutcomeUnknown;
        assert_eq!(e.status(Dialect::Public), 503);
        assert_eq!(e.status(Dialect::Partner), 503);
        assert_eq!(e.code(), "outcome_unknown");
        assert!(e.is_server_error());
        assert!(e.to_string().contains("same Idempotency-Key or reference"));
    }

    #[test]
    fn insufficient_points_is_422_in_the_public_dialect() {
        let e = ApiError::InsufficientPoints { balance: 1, needed: 2 };
        assert_eq!(e.status(Dialect::Public), 422);
        assert_eq!(e.status(Dialect::Partner), 400);
        assert_eq!(e.code(), "insufficient_points");
    }
}
