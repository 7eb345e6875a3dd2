//! Expiry inside a balance change: what is due is taken away first, as an `expire`
//! entry of the change's own transaction (see [`crate::expiry`]).

use chrono::{DateTime, Utc};

use crate::domain::CustomerId;
use crate::expiry::ExpiryClock;
use crate::model::{Customer, EntryKind, LedgerEntry};

/// Applies what is due to `member` (the change's `after`, not yet bumped) and returns
/// the `expire` entry to write first, if any points expired.
pub(crate) fn settle(clock: &ExpiryClock, member: &mut Customer, now: DateTime<Utc>) -> Option<LedgerEntry> {
    let due = clock.settle(member);
    (due > 0).then(|| expire_entry(member.id, due, member.points_balance, now))
}

/// The entry of `points` expired, leaving `balance_after`.
pub(crate) fn expire_entry(
    customer_id: CustomerId,
    points: i64,
    balance_after: i64,
    now: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        txn_id: uuid::Uuid::new_v4(),
        customer_id,
        kind: EntryKind::Expire,
        points: -points,
        lifetime_points: 0,
        amount_minor: None,
        reference: None,
        description: Some("Points expired".into()),
        balance_after,
        created_at: now,
        sold_at: None,
    }
}
