//! The loyalty engine behind both public API dialects.
//!
//! # Words
//!
//! - **Dialect**: one of the two public APIs over the same engine and data. The
//!   **Partner** dialect (POS; `/api/{tenant}/pos/...`) is the `pos-*` functions; the
//!   **Public** dialect (`/v1/public/loyalty/...`) is the `public-*` functions. They
//!   differ in field names, error bodies and a few statuses, never in what happens.
//! - **API key**: the `X-API-Key` a tenant's system sends (`mg_live_...` or
//!   `mg_test_...`, ending in a checksum), stored only as a hash, with its tenant, mode,
//!   scopes and **channel** ([`keys`]): `pos` for a till, `app` for a customer's
//!   signed-in app, the only channel that may redeem rewards (`public-redeem`).
//!   Not a **DynamoDB key**: the `PK` / `SK` (and `GSI1PK` / `GSI1SK`) of an item, built
//!   only inside [`store`]. Not an **Idempotency-Key**: the header a client sends so a
//!   retried write answers the first one's result instead of writing twice.
//! - **Code**: what a member hands over at the till. A **coupon** is a code a campaign
//!   issues (`loyalty-admin coupon issue`); a **voucher** is a code issued for a reward
//!   bought with points (`public-redeem`). One model ([`model::Coupon`]), one store,
//!   one check: either is redeemed by `pos-coupon-redeem` and verified by
//!   `public-voucher-verify`.
//! - **Sale**: a purchase that earns points ([`engine::Sale`]). A **bill**
//!   (`pos-bill`) is a sale in the Partner dialect, with items and optionally points
//!   spent against a one-time code (OTP); an **earn** (`public-earn`) is a sale in the
//!   Public dialect. A bill's `external_ref` and an earn's `reference` are one namespace.
//!   A **refund** (`pos-refund`, `public-refund`) reverses part or all of a sale's points.
//!   A **redemption** spends points: on a bill (`redeem_points` with an OTP) or on a
//!   reward (`public-redeem`, which issues a voucher); redeeming a code marks it used.
//!   A **preview** (`"preview": true` on a bill) computes the whole answer and writes
//!   nothing. **Sandbox** is the mode of a test key (`mg_test_...`): real data is read,
//!   nothing is written, answers say `"sandbox": true`; the sandbox *stage* is a
//!   separate deployment.
//! - **Function kind**: a function crate is a **route** (an HTTP endpoint on
//!   `lambda_http`, the default), a **stream** consumer or a **schedule**d job (both on
//!   `lambda_runtime`), declared as `[package.metadata.loyalty] kind` in its Cargo.toml.
//!
//! # Modules
//!
//! - [`domain`]: values that parse at the edge (mobile, email, money, codes, slugs).
//! - [`program`]: a tenant's rules and the point math.
//! - [`keys`], [`auth`]: API keys, scopes and who is calling; [`session`]: who is
//!   signed in to the console (a Cognito ID token: tenant, role).
//! - [`actor`], [`manage`]: the people of a tenant (owner, manager, viewer) and what the
//!   management API does for them (keys, rewards, members, adjustments, the audit log).
//! - [`team`] (with the `cognito` feature): a tenant's people in the stage's user pool.
//! - [`engine`]: what each endpoint does, dialect-neutral, sandbox-aware.
//! - [`store`]: the one place that talks to DynamoDB.
//! - [`endpoint`]: the one order every route runs in (authenticate, parse, claim, run,
//!   render, finish); [`routes`]: the writes both dialects make with one engine call.
//! - [`http`], [`error`], [`requests`], [`partner`], [`public`], [`wire`]: the HTTP edge,
//!   request bodies, and each dialect's response bodies (they share only [`wire`]).
//! - [`events`]: webhook events from the table's stream, and the batch handler that
//!   enqueues their deliveries.
//! - [`deps`], [`lambda`], [`aws_env`], [`sms`], [`telemetry`]: what `main` builds and starts. The
//!   Amazon SNS sender is built only with the `sns` feature (only `pos-otp` enables it).
//!
//! Operator actions (tenants, keys, coupons, demo data) live in the `loyalty-admin`
//! crate, outside the runtime: no function links them.

pub mod actor;
#[cfg(feature = "console")]
pub mod admin;
pub mod auth;
pub mod aws_env;
pub mod deps;
pub mod domain;
pub mod endpoint;
pub mod engine;
pub mod error;
pub mod events;
pub mod expiry;
pub mod figures;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod lambda;
pub mod manage;
pub mod model;
pub mod partner;
pub mod program;
pub mod public;
pub mod requests;
pub mod routes;
#[cfg(feature = "console")]
pub mod session;
pub mod sms;
pub mod store;
#[cfg(feature = "cognito")]
pub mod team;
pub mod telemetry;
pub mod test_values;
pub mod tiers;
pub mod tls;
pub mod webhooks;
pub mod wire;

pub use deps::Deps;
pub use error::{ApiError, Dialect};
