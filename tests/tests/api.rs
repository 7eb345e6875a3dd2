//! Integration tests of the Partner (POS) API: every function's `handle`, called with
//! requests shaped like API Gateway's, against DynamoDB Local (one table per test).
//!
//! Run: `scripts/dynamodb-local.sh start`, then `cargo test -p loyalty-tests`
//! (`LOYALTY_TEST_DYNAMODB` names another endpoint; default `http://127.0.0.1:8000`).
//! One test binary on purpose: each binary links the whole AWS SDK. Its modules live in
//! `api/` (a test crate's root looks beside itself, hence the `#[path]`s).

#[path = "api/support.rs"]
mod support;

#[path = "api/agreement.rs"]
mod agreement;
#[path = "api/auth.rs"]
mod auth;
#[path = "api/bill.rs"]
mod bill;
#[path = "api/concurrency.rs"]
mod concurrency;
#[path = "api/coupon.rs"]
mod coupon;
#[path = "api/cross_dialect.rs"]
mod cross_dialect;
#[path = "api/customer.rs"]
mod customer;
#[path = "api/events.rs"]
mod events;
#[path = "api/faults.rs"]
mod faults;
#[path = "api/idempotency.rs"]
mod idempotency;
#[path = "api/isolation.rs"]
mod isolation;
#[path = "api/matrix.rs"]
mod matrix;
#[path = "api/public.rs"]
mod public;
#[path = "api/races.rs"]
mod races;
#[path = "api/sandbox.rs"]
mod sandbox;
#[path = "api/soak.rs"]
mod soak;
#[path = "api/till.rs"]
mod till;
