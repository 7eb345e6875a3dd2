//! The loyalty engine: what each endpoint does, independent of its dialect. Sandbox
//! callers get the same answers computed from real data, and nothing is written.

mod codes;
mod history;
mod members;
mod otp;
mod refunds;
mod rewards;
mod sales;

use std::time::Duration;

/// A page of a member's history, newest first.
pub use crate::store::LedgerPage as HistoryPage;
pub use codes::{check_code, redeem_code, CodeState};
pub use history::{history, page_limit, MAX_PAGE};
pub use members::{enrol, find_member, lookup_member, member_id, MemberLookup, MemberRef, NewMember};
pub use otp::{check_otp, send_otp, OtpSent, SANDBOX_CODE};
pub use refunds::{refund, Refund, SaleKey};
pub use rewards::{catalog, redeem_reward, Redemption};
pub use sales::{record_sale, Sale, SaleResult};

/// How many times a write that lost a race (the member changed, a transaction
/// conflicted) is re-read and retried before answering 503. Each loss means another
/// write to the same member succeeded, so this bounds the contention one member
/// can see from concurrent tills.
pub const MAX_ATTEMPTS: u32 = 16;

/// Exponential backoff with jitter: 4 ms, 8 ms, ... capped at 200 ms.
pub(crate) async fn backoff(attempt: u32) {
    let base = 4u64.saturating_mul(1 << attempt.min(6)).min(200);
    let jitter = rand::random_range(0..=base / 2 + 1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}
