//! Ledger entries: `TENANT#{t}#CUST#{id}` / `TXN#{version}#{n}`, in the member's
//! partition, so a member's history is one query, newest first.
//!
//! The sort key is the member's version after the change (zero-padded), then the
//! entry's place within that change: every balance change bumps the version exactly
//! once, under a condition, so this is the order the balance actually moved in, and
//! each entry's `balance_after` follows from the one before it. Clock time (which two
//! writers can disagree on, or share to the millisecond) is kept as an attribute.

use super::client::{Store, StoreError};
use super::item_key::{member_partition, ItemKey, LedgerCursor, LEDGER_PREFIX, PK, SK};
use super::items::{decode, value, LedgerEntryItem};
use crate::domain::{CustomerId, TenantSlug};
use crate::model::LedgerEntry;

/// A page of a member's ledger and the cursor of the next page, if any.
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: Option<String>,
}

/// A cursor is the hex of the last entry's sort key: opaque to callers, and checked to
/// be a ledger key so it cannot steer the query anywhere else.
pub fn encode_cursor(at: LedgerCursor) -> String {
    hex::encode(at.sort_key())
}

pub fn decode_cursor(cursor: &str) -> Option<LedgerCursor> {
    if cursor.len() > 400 {
        return None;
    }
    let sk = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    LedgerCursor::from_sort_key(&sk)
}

impl Store {
    /// Newest first, after `after` (from [`decode_cursor`]) if given.
    pub async fn ledger_page(
        &self,
        tenant: &TenantSlug,
        id: &CustomerId,
        limit: i32,
        after: Option<LedgerCursor>,
    ) -> Result<LedgerPage, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :prefix)"))
            .expression_attribute_values(":pk", value(member_partition(tenant, id))?)
            .expression_attribute_values(":prefix", value(LEDGER_PREFIX)?)
            .scan_index_forward(false)
            .limit(limit);
        if let Some(at) = after {
            query = query.set_exclusive_start_key(Some(ItemKey::ledger_entry(tenant, id, at).attrs()));
        }
        let out = query.send().await.map_err(StoreError::from_sdk)?;
        let entries = out
            .items()
            .iter()
            .map(|attrs| decode::<LedgerEntryItem>(attrs).map(LedgerEntry::from))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| k.get(SK))
            .and_then(|v| v.as_s().ok())
            .and_then(|sk| LedgerCursor::from_sort_key(sk))
            .map(encode_cursor);
        Ok(LedgerPage { entries, next_cursor })
    }
}

impl Store {
    /// A member's whole ledger, oldest first (an export reads it; the history pages).
    pub async fn ledger_of(&self, tenant: &TenantSlug, id: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("{PK} = :pk AND begins_with({SK}, :prefix)"))
            .expression_attribute_values(":pk", value(member_partition(tenant, id))?)
            .expression_attribute_values(":prefix", value(LEDGER_PREFIX)?)
            .into_paginator()
            .items()
            .send();
        let mut entries = Vec::new();
        while let Some(attrs) = pages.next().await {
            entries.push(decode::<LedgerEntryItem>(&attrs.map_err(StoreError::from_sdk)?).map(LedgerEntry::from)?);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let at = LedgerCursor { version: 42, place: 1 };
        assert_eq!(decode_cursor(&encode_cursor(at)), Some(at));
        assert_eq!(decode_cursor(&hex::encode("PROFILE")), None);
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
        assert_eq!(decode_cursor(""), None);
    }
}
