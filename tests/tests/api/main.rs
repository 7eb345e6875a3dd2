//! Integration tests of the Partner (POS) API: every function's `handle`, called with
//! requests shaped like API Gateway's, against DynamoDB Local (one table per test).
//!
//! Run: `scripts/dynamodb-local.sh start`, then `cargo test -p loyalty-tests`
//! (`LOYALTY_TEST_DYNAMODB` names another endpoint; default `http://127.0.0.1:8000`).
//! One test binary on purpose: each binary links the whole AWS SDK. Its modules live
//! beside this file in `tests/api/`.

mod support;

mod agreement;
mod auth;
mod bill;
mod bill_to_receiver;
mod campaigns;
mod capacity;
mod concurrency;
mod console;
mod coupon;
mod coupon_lifecycle;
mod cross_dialect;
mod customer;
mod deploy;
mod error_codes;
mod events;
mod expiry;
mod expiry_job;
mod faults;
mod figures;
mod idempotency;
mod isolation;
mod layout;
mod leading_keys;
mod lifecycle;
mod limits;
mod manage;
mod matrix;
mod member_data;
mod member_export;
mod program_rules;
mod public;
mod races;
mod reports;
mod round_trips;
mod sandbox;
mod sessions;
mod soak;
mod soak_years;
mod stream;
mod team;
mod tiers;
mod till;
mod webhooks;
