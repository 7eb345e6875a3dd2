//! The one place that talks to DynamoDB: a single table, generic keys `PK`/`SK`, the
//! index `GSI1` (`GSI1PK`/`GSI1SK`) the keys-only members index `GSI2` and the keys-only expiry index `GSI3`. Every tenant item's key starts with `TENANT#{slug}`,
//! so no key condition can reach across tenants. See `docs/architecture.md` for the item
//! types and access patterns.
//!
//! Modules depend one way:
//! - `item_key` (every key) and `items` (one storage struct per item type) know nothing
//!   of the others but `client` (the table, `StoreError`);
//! - `transact` sends a `TransactWriteItems` and reads why it was cancelled;
//! - the operations (`customers`, `codes`, `ledger`, `mutation`, `idempotency`, `otp`, `otp_quota`,
//!   `members`, `programs`, `purchases`, `rewards`, `api_keys`, `table`, `webhooks`) use those, never each other,
//!   but for `audit`: the audit entry and request item every management change writes
//!   in its own transaction.

mod api_keys;
mod audit;
mod campaigns;
mod client;
mod codes;
mod customers;
mod figures;
mod idempotency;
pub(crate) mod item_key;
pub(crate) mod items;
mod ledger;
mod member_data;
mod members;
mod mutation;
mod otp;
mod otp_quota;
mod programs;
mod purchases;
mod rewards;
mod table;
mod transact;
mod webhooks;

pub use api_keys::KeyInfo;
pub use audit::{
    decode_audit_cursor, encode_audit_cursor, AdminRecord, AdminRequest, AdminWriteError, AuditEntry, AuditPage,
    DoneRequest,
};
pub use campaigns::{CampaignBatch, CampaignRecord, CodePut, PART_SIZE};
pub use client::{
    Store, StoreError, WriteWatch, ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, GSI1, GSI2, GSI3, OPERATION_TIMEOUT, TTL_ATTRIBUTE,
};
pub use codes::{CodeUseRecord, ConsumeError, ReinstateError};
pub use customers::{DueMembers, IndexCursor};
pub use figures::FiguresWrite;
pub use idempotency::{ClaimResult, LEASE_SECONDS, RECORD_LIFETIME_HOURS};
pub use item_key::{AuditCursor, IdempotencyScope, LedgerCursor, SmsWindow, EXPIRY_SHARDS, MEMBERS_SHARDS};
pub use ledger::{decode_cursor, encode_cursor, HistoryCursor, LedgerPage};
pub use member_data::{DetailsError, Scrubbed};
pub use members::{MembersCursor, MembersPage, MEMBERS_PAGE};
pub use mutation::{
    CouponUse, CustomerWrite, EnrolError, Mutation, MutationError, OtpUse, OutcomeReference, PurchaseWrite,
    RedemptionRecord, RefundRecord, SaleRecord,
};
pub use otp::{OtpIssue, OtpRecord, SmsQuota};
pub use programs::TenantEntry;
pub use purchases::sale_id;
pub use transact::Completion;
pub use webhooks::AttemptOutcome;

#[cfg(test)]
mod fault_tests;
