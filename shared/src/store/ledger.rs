//! A member's history: every ledger entry and sale item of the member, listed in GSI1
//! under `GSI1PK = TENANT#{t}#CUST#{id}`, `GSI1SK = TXN#{version}#{n}`, so it is one
//! query, newest first. Ledger entries are `TENANT#{t}#CUST#{id}` / `TXN#{version}#{n}`
//! in the member's partition; a sale's entry is its sale item (`TENANT#{t}#SALE#{id}` /
//! `SALE`), which also holds the purchase and the reference.
//!
//! The sort key is the member's version after the change (zero-padded), then the
//! entry's place within that change: every balance change bumps the version exactly
//! once, under a condition, so this is the order the balance actually moved in, and
//! each entry's `balance_after` follows from the one before it. Clock time (which two
//! writers can disagree on, or share to the millisecond) is kept as an attribute.
//!
//! The index is eventually consistent: a page read right after a change may miss it for
//! the index's lag (normally well under a second).

use super::client::{Store, StoreError, GSI1};
use super::item_key::{member_partition, ItemKey, LedgerCursor, GSI1PK, GSI1SK, LEDGER_PREFIX, PK, SK};
use super::items::{decode, value, LedgerEntryItem};
use crate::domain::{CustomerId, TenantSlug};
use crate::model::LedgerEntry;

/// A page of a member's ledger and the cursor of the next page, if any.
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: Option<String>,
}

/// Where a history page ends: the last entry's history sort key and, when it is a sale
/// item, the sale's id (the index's start key names the item's table key too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCursor {
    pub at: LedgerCursor,
    pub sale: Option<uuid::Uuid>,
}

/// A cursor is the hex of the last entry's history sort key (and `@` and its sale id, if
/// it is a sale): opaque to callers, and checked to be a ledger key and a sale id so it
/// cannot steer the query anywhere else.
pub fn encode_cursor(at: HistoryCursor) -> String {
    match at.sale {
        Some(sale) => hex::encode(format!("{}@{sale}", at.at.sort_key())),
        None => hex::encode(at.at.sort_key()),
    }
}

pub fn decode_cursor(cursor: &str) -> Option<HistoryCursor> {
    if cursor.len() > 400 {
        return None;
    }
    let text = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    let (sk, sale) = match text.split_once('@') {
        Some((sk, sale)) => (sk, Some(uuid::Uuid::parse_str(sale).ok()?)),
        None => (text.as_str(), None),
    };
    Some(HistoryCursor { at: LedgerCursor::from_sort_key(sk)?, sale })
}

/// The table key of the item a history entry is: its sale item, or its ledger item.
fn item_key(tenant: &TenantSlug, id: &CustomerId, at: HistoryCursor) -> ItemKey {
    match at.sale {
        Some(sale) => ItemKey::purchase(tenant, &sale),
        None => ItemKey::ledger_entry(tenant, id, at.at),
    }
}

/// The cursor after an item of the history (its keys as the index returned them).
fn cursor_of(tenant: &TenantSlug, key: &super::item_key::Attrs) -> Option<HistoryCursor> {
    let text = |name: &str| key.get(name).and_then(|v| v.as_s().ok());
    let at = LedgerCursor::from_sort_key(text(GSI1SK)?)?;
    let sale = match text(SK)?.as_str() {
        "SALE" => {
            let prefix = ItemKey::purchase(tenant, &uuid::Uuid::nil()).pk;
            let prefix = prefix.strip_suffix(&uuid::Uuid::nil().to_string())?;
            Some(uuid::Uuid::parse_str(text(PK)?.strip_prefix(prefix)?).ok()?)
        }
        _ => None,
    };
    Some(HistoryCursor { at, sale })
}

impl Store {
    /// The query of a member's history in GSI1.
    fn history_query(
        &self,
        tenant: &TenantSlug,
        id: &CustomerId,
    ) -> Result<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder, StoreError> {
        Ok(self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression(format!("{GSI1PK} = :pk AND begins_with({GSI1SK}, :prefix)"))
            .expression_attribute_values(":pk", value(member_partition(tenant, id))?)
            .expression_attribute_values(":prefix", value(LEDGER_PREFIX)?))
    }

    /// Newest first, after `after` (from [`decode_cursor`]) if given.
    pub async fn ledger_page(
        &self,
        tenant: &TenantSlug,
        id: &CustomerId,
        limit: i32,
        after: Option<HistoryCursor>,
    ) -> Result<LedgerPage, StoreError> {
        let mut query = self.history_query(tenant, id)?.scan_index_forward(false).limit(limit);
        if let Some(at) = after {
            let mut start = item_key(tenant, id, at).attrs();
            start.insert(GSI1PK.to_owned(), value(member_partition(tenant, id))?);
            start.insert(GSI1SK.to_owned(), value(at.at.sort_key())?);
            query = query.set_exclusive_start_key(Some(start));
        }
        let out = query.send().await.map_err(StoreError::from_sdk)?;
        let entries = out
            .items()
            .iter()
            .map(|attrs| decode::<LedgerEntryItem>(attrs).map(LedgerEntry::from))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = out.last_evaluated_key().and_then(|k| cursor_of(tenant, k)).map(encode_cursor);
        Ok(LedgerPage { entries, next_cursor })
    }
}

impl Store {
    /// A member's whole ledger, oldest first (an export reads it): the history index,
    /// eventually consistent.
    pub async fn ledger_of(&self, tenant: &TenantSlug, id: &CustomerId) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut pages = self.history_query(tenant, id)?.into_paginator().items().send();
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
        let at = HistoryCursor { at: LedgerCursor { version: 42, place: 1 }, sale: None };
        assert_eq!(decode_cursor(&encode_cursor(at)), Some(at));
        let sale = HistoryCursor { sale: Some(uuid::Uuid::new_v4()), ..at };
        assert_eq!(decode_cursor(&encode_cursor(sale)), Some(sale));
        assert_eq!(decode_cursor(&hex::encode("PROFILE")), None);
        assert_eq!(decode_cursor(&hex::encode("TXN#000000000042#01@not-an-id")), None);
        assert_eq!(decode_cursor(&hex::encode("PROFILE@00000000-0000-0000-0000-000000000000")), None);
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
        assert_eq!(decode_cursor(""), None);
    }

    #[test]
    fn a_cursor_names_the_table_key_of_a_sale_item() {
        let t = TenantSlug::parse("acme").unwrap();
        let id = CustomerId::new_random();
        let sale = uuid::Uuid::new_v4();
        let at = LedgerCursor { version: 3, place: 0 };
        let mut key = ItemKey::purchase(&t, &sale).attrs();
        key.insert(GSI1PK.to_owned(), value(member_partition(&t, &id)).unwrap());
        key.insert(GSI1SK.to_owned(), value(at.sort_key()).unwrap());
        assert_eq!(cursor_of(&t, &key), Some(HistoryCursor { at, sale: Some(sale) }));
        let mut key = ItemKey::ledger_entry(&t, &id, at).attrs();
        key.insert(GSI1SK.to_owned(), value(at.sort_key()).unwrap());
        assert_eq!(cursor_of(&t, &key), Some(HistoryCursor { at, sale: None }));
    }
}
