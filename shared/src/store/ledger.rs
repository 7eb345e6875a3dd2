//! Ledger entries: `TENANT#{t}#CUST#{id}` / `TXN#{version}#{n}`, in the member's
//! partition, so a member's history is one query, newest first.
//!
//! The sort key is the member's version after the change (zero-padded), then the
//! entry's place within that change: every balance change bumps the version exactly
//! once, under a condition, so this is the order the balance actually moved in, and
//! each entry's `balance_after` follows from the one before it. Clock time (which two
//! writers can disagree on, or share to the millisecond) is kept as an attribute.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{key, n, put_opt, s, ts, Attrs, Item};
use super::{pk, Store, StoreError};
use crate::domain::{CustomerId, TenantSlug};
use crate::model::{EntryKind, LedgerEntry};

/// The sort key of the `n`th entry written by the change that took the member to
/// `version`.
pub(crate) fn entry_sk(version: u64, n: usize) -> String {
    format!("TXN#{version:012}#{n:02}")
}

pub(crate) fn entry_attrs(tenant: &TenantSlug, e: &LedgerEntry, version: u64, place: usize) -> Attrs {
    let sk = entry_sk(version, place);
    let mut attrs = key(pk::customer(tenant, &e.customer_id), &sk);
    attrs.insert("txn_id".into(), s(e.txn_id.to_string()));
    attrs.insert("customer_id".into(), s(e.customer_id.to_string()));
    attrs.insert("type".into(), s(e.kind.as_str()));
    attrs.insert("points".into(), n(e.points));
    attrs.insert("lifetime_points".into(), n(e.lifetime_points));
    put_opt(&mut attrs, "amount_minor", e.amount_minor.map(n));
    put_opt(&mut attrs, "reference", e.reference.as_deref().map(s));
    put_opt(&mut attrs, "description", e.description.as_deref().map(s));
    attrs.insert("balance_after".into(), n(e.balance_after));
    attrs.insert("created_at".into(), ts(e.created_at));
    attrs
}

fn decode_entry(attrs: &Attrs) -> Result<LedgerEntry, StoreError> {
    let item = Item(attrs);
    Ok(LedgerEntry {
        txn_id: item.parsed("txn_id", uuid::Uuid::parse_str)?,
        customer_id: item.parsed("customer_id", CustomerId::parse)?,
        kind: item.parsed("type", |k| EntryKind::parse(k).ok_or(()))?,
        points: item.int("points")?,
        lifetime_points: item.opt_int("lifetime_points")?.unwrap_or(0),
        amount_minor: item.opt_int("amount_minor")?,
        reference: item.opt_str("reference")?.map(str::to_owned),
        description: item.opt_str("description")?.map(str::to_owned),
        balance_after: item.int("balance_after")?,
        created_at: item.time("created_at")?,
    })
}

/// A page of a member's ledger and the cursor of the next page, if any.
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: Option<String>,
}

/// A cursor is the hex of the last entry's sort key: opaque to callers, and checked to
/// be a ledger key so it cannot steer the query anywhere else.
pub fn encode_cursor(sk: &str) -> String {
    hex::encode(sk)
}

pub fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > 400 {
        return None;
    }
    String::from_utf8(hex::decode(cursor).ok()?).ok().filter(|sk| sk.starts_with("TXN#"))
}

impl Store {
    /// Newest first. `cursor` is a sort key from [`decode_cursor`].
    pub async fn ledger_page(
        &self,
        tenant: &TenantSlug,
        id: &CustomerId,
        limit: i32,
        after_sk: Option<String>,
    ) -> Result<LedgerPage, StoreError> {
        let pk = pk::customer(tenant, id);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":prefix", s("TXN#"))
            .scan_index_forward(false)
            .limit(limit);
        if let Some(sk) = after_sk {
            query = query.exclusive_start_key("PK", s(pk)).exclusive_start_key("SK", s(sk));
        }
        let out = query.send().await.map_err(StoreError::from_sdk)?;
        let entries = out.items().iter().map(decode_entry).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = out.last_evaluated_key().and_then(|k| k.get("SK")).and_then(|v| {
            if let AttributeValue::S(sk) = v {
                Some(encode_cursor(sk))
            } else {
                None
            }
        });
        Ok(LedgerPage { entries, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_by_version_then_place() {
        assert!(entry_sk(9, 1) < entry_sk(10, 0));
        assert!(entry_sk(10, 0) < entry_sk(10, 1));
        assert_eq!(entry_sk(7, 0), "TXN#000000000007#00");
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let sk = entry_sk(42, 1);
        let sk = sk.as_str();
        assert_eq!(decode_cursor(&encode_cursor(sk)).as_deref(), Some(sk));
        assert_eq!(decode_cursor(&encode_cursor("PROFILE")), None);
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
        assert_eq!(decode_cursor(""), None);
    }
}
