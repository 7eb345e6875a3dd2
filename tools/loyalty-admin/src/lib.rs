//! Operator actions for the loyalty table (tenants, keys, coupons, rewards, the demo
//! program), used by the `loyalty-admin` command line, the benchmark and the
//! integration tests. Kept out of the `loyalty` runtime crate so no function links
//! them.

pub mod admin;
pub mod identity;
pub mod settings;
pub mod stream;

pub use admin::*;
