//! The loyalty engine behind both public API dialects.
//!
//! - [`domain`]: values that parse at the edge (mobile, email, money, codes, slugs).
//! - [`program`]: a tenant's rules and the point math.
//! - [`keys`], [`auth`]: API keys, scopes and who is calling.
//! - [`engine`]: what each endpoint does, dialect-neutral, sandbox-aware.
//! - [`store`]: the one place that talks to DynamoDB.
//! - [`http`], [`error`], [`partner`]: the HTTP edge and the dialects' bodies.

pub mod auth;
pub mod deps;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod lambda;
pub mod model;
pub mod partner;
pub mod program;
pub mod public;
pub mod sms;
pub mod store;
pub mod telemetry;

pub use deps::Deps;
pub use error::{ApiError, Dialect};
