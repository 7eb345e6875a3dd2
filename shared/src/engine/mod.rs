//! The loyalty engine: what each endpoint does, independent of its dialect. Sandbox
//! callers get the same answers computed from real data, and nothing is written.

mod codes;
pub(crate) mod commit;
mod expire;
pub(crate) mod expiry;
mod history;
mod members;
mod otp;
mod otp_quota;
mod refunds;
mod rewards;
mod sales;
mod tier_review;

/// A page of a member's history, newest first.
pub use crate::store::LedgerPage as HistoryPage;
pub use codes::{check_code, redeem_code, reinstate_code, CodeState, REINSTATE_WINDOW};
pub use expire::{expire_due, AsOf, ExpiryRun, JobLimits, LOOKBACK_MONTHS};
pub use history::{history, page_limit, MAX_PAGE};
pub use members::{enrol, find_member, lookup_member, member_id, MemberLookup, MemberRef, NewMember};
pub use otp::{check_otp, send_otp, OtpSent, SANDBOX_CODE};
pub use refunds::{refund, Refund, SaleKey};
pub use rewards::{catalog, redeem_reward, Redemption};
pub use sales::{record_sale, Sale, SaleResult, SoldAt, SOLD_AT_MAX_AHEAD, SOLD_AT_MAX_BEHIND};
pub use tier_review::{review_tiers, TierRun};

pub use commit::MAX_ATTEMPTS;
