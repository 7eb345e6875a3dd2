//! Events from the table's stream: one stream record (one item, as it was and as it is)
//! becomes zero or more [`Event`]s a tenant's webhooks receive. Pure: no I/O, the
//! caller reads the stream (the `stream-events` function on Lambda, `loyalty-admin
//! stream follow` locally) and enqueues the deliveries.
//!
//! | item, change | event |
//! |---|---|
//! | ledger entry or sale item (its sale's entry), insert | `points.earned` / `points.redeemed` / `points.refunded` / `points.adjusted` (also an imported `opening` balance) / `points.expired`, by the entry's type |
//! | member profile, insert | `member.enrolled` |
//! | member profile, modify that moves lifetime points across a tier's threshold, or (a program whose tiers qualify on a period) changes the tier it holds | `member.tier_changed` (needs the tenant's program) |
//! | code, insert | `voucher.issued` (a voucher or a coupon) |
//! | code, modify from active to used | `coupon.redeemed` |
//!
//! Every other item (keys, audit, idempotency, OTP, quotas, references, programs,
//! webhooks' own items) makes none, nor does a sale item's refund (a modify), nor a
//! removal (TTL). A sale item's insert is read under its history keys (the ledger
//! entry's key it would have had), so its event has that entry's id.
//!
//! An event's id is a hash of the item's key and its version (a ledger entry's key
//! holds the member's version; a profile has `version`; a code moves once, from issued
//! to used), so a redelivered record makes the same id and the outbox keeps one. The
//! `transaction_id` of the events of one change to a member is the same: a hash of the
//! member and the version the change wrote, which every ledger entry's key and the
//! profile carry (a bill's earning and spending entries and the tier change it causes
//! share it). A code's events carry none: its item holds nothing of the change that
//! wrote it (a redemption's ledger entry names the voucher's code as its `reference`).

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::{CustomerId, TenantSlug};
use crate::model::CodeStatus;
use crate::program::ProgramVersions;
use crate::store::item_key::{stream_key, KeyOf, PK, SK};
use crate::store::items::{CodeItem, LedgerEntryItem, ProfileItem, StoredItem};
use crate::webhooks::Event;

pub mod consumer;

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Insert,
    Modify,
    Remove,
}

impl Change {
    /// A stream record's `eventName`.
    pub fn parse(event_name: &str) -> Option<Self> {
        match event_name {
            "INSERT" => Some(Change::Insert),
            "MODIFY" => Some(Change::Modify),
            "REMOVE" => Some(Change::Remove),
            _ => None,
        }
    }
}

/// One stream record: the item's key and its images (empty when absent).
#[derive(Debug, Clone)]
pub struct Record {
    pub change: Change,
    pub keys: serde_dynamo::Item,
    pub old_image: serde_dynamo::Item,
    pub new_image: serde_dynamo::Item,
}

/// A record whose item does not read as its key says (a bug or a hand edit): the caller
/// reports it and does not retry it forever.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream record {key}: {reason}")]
pub struct Unreadable {
    pub key: String,
    pub reason: String,
}

/// The tenant a record's item belongs to, when it is one that may make events.
pub fn tenant_of(record: &Record) -> Option<TenantSlug> {
    let (pk, sk) = record_key(record)?;
    match KeyOf::of(&pk, &sk) {
        KeyOf::Profile { tenant, .. } | KeyOf::LedgerEntry { tenant, .. } | KeyOf::Code { tenant, .. } => Some(tenant),
        KeyOf::Other => None,
    }
}

/// Whether the record may make a `member.tier_changed`, so the caller fetches the
/// tenant's program for it: a profile whose lifetime points or held tier moved.
pub fn needs_program(record: &Record) -> bool {
    let Some((pk, sk)) = key_text(&record.keys) else { return false };
    if record.change != Change::Modify || !matches!(KeyOf::of(&pk, &sk), KeyOf::Profile { .. }) {
        return false;
    }
    let lifetime = |image: &serde_dynamo::Item| match image.get("lifetime_points") {
        Some(serde_dynamo::AttributeValue::N(n)) => Some(n.clone()),
        _ => None,
    };
    // A period program's profile holds its tier: a review moves it alone.
    let tier = |image: &serde_dynamo::Item| image.get("tier").cloned();
    lifetime(&record.old_image) != lifetime(&record.new_image) || tier(&record.old_image) != tier(&record.new_image)
}

/// The events one record makes. `program`: the tenant's program versions, needed only
/// when [`needs_program`] says so; without it a tier change makes no event.
pub fn events_of(record: &Record, program: Option<&ProgramVersions>) -> Result<Vec<Event>, Unreadable> {
    let Some((pk, sk)) = record_key(record) else { return Ok(Vec::new()) };
    let key = format!("{pk}/{sk}");
    let unreadable = |reason: String| Unreadable { key: key.clone(), reason };
    let event = |tenant: &TenantSlug, kind: &str, version: &str, at: DateTime<Utc>, txn: Option<String>, data| Event {
        id: event_id(&pk, &sk, version),
        r#type: kind.to_owned(),
        tenant: tenant.to_string(),
        timestamp: at,
        transaction_id: txn,
        data,
    };
    match (KeyOf::of(&pk, &sk), record.change) {
        (KeyOf::LedgerEntry { tenant, customer, at }, Change::Insert) => {
            let e: LedgerEntryItem = decode(&record.new_image).map_err(unreadable)?;
            let Some(kind) = points_event(e.kind.as_str()) else { return Ok(Vec::new()) };
            let data = json!({
                "member_id": e.customer_id.to_string(),
                "entry_id": e.txn_id.to_string(),
                "entry_type": e.kind.as_str(),
                "points": e.points,
                "lifetime_points_change": e.lifetime_points,
                "balance_after": e.balance_after,
                "amount_minor": e.amount_minor,
                "reference": e.reference,
                "description": e.description,
                "sold_at": e.sold_at,
            });
            let txn = change_id(&tenant, &customer, at.version);
            Ok(vec![event(&tenant, kind, "", e.created_at, Some(txn), data)])
        }
        (KeyOf::Profile { tenant, customer }, Change::Insert) => {
            let p: ProfileItem = decode(&record.new_image).map_err(unreadable)?;
            let data = json!({
                "member_id": p.customer_id.to_string(),
                "name": p.name,
                "mobile": p.mobile.as_ref().map(ToString::to_string),
                "email": p.email.as_ref().map(ToString::to_string),
                "points_balance": p.points_balance,
                "lifetime_points": p.lifetime_points,
            });
            let txn = change_id(&tenant, &customer, p.version);
            Ok(vec![event(&tenant, "member.enrolled", &p.version.to_string(), p.created_at, Some(txn), data)])
        }
        (KeyOf::Profile { tenant, customer }, Change::Modify) => {
            let Some(program) = program else { return Ok(Vec::new()) };
            let before: ProfileItem = decode(&record.old_image).map_err(&unreadable)?;
            let after: ProfileItem = decode(&record.new_image).map_err(&unreadable)?;
            // A period program's profile holds its tier (a review moves it without a
            // change of lifetime points); a lifetime program's follows lifetime points.
            let period = before.tier.is_some() || after.tier.is_some();
            if !period && before.lifetime_points == after.lifetime_points {
                return Ok(Vec::new());
            }
            let rules = program.at(after.updated_at);
            let held = |p: &ProfileItem| {
                let stored =
                    p.tier.as_ref().and_then(|s| rules.tiers.iter().find(|t| t.name.eq_ignore_ascii_case(&s.name)));
                stored.unwrap_or_else(|| rules.tier_for(p.lifetime_points))
            };
            let (from, to) = (held(&before), held(&after));
            if from.name == to.name {
                return Ok(Vec::new());
            }
            let data = json!({
                "member_id": after.customer_id.to_string(),
                "from_tier": from.name,
                "to_tier": to.name,
                "upgraded": to.min_lifetime_points > from.min_lifetime_points,
                "lifetime_points": after.lifetime_points,
                "points_balance": after.points_balance,
            });
            let txn = change_id(&tenant, &customer, after.version);
            let version = after.version.to_string();
            Ok(vec![event(&tenant, "member.tier_changed", &version, after.updated_at, Some(txn), data)])
        }
        (KeyOf::Code { tenant, .. }, Change::Insert) => {
            let c: CodeItem = decode(&record.new_image).map_err(unreadable)?;
            let data = json!({
                "code": c.code.to_string(),
                "coupon_id": c.coupon_id.to_string(),
                "member_id": c.customer_id.map(|id| id.to_string()),
                "kind": c.kind.as_str(),
                "value_minor": c.value_minor,
                "discount_percent": c.discount_percent,
                "source": c.source,
                "reward_id": c.reward_id,
                "reward_name": c.reward_name,
                "expires_at": c.expires_at,
            });
            Ok(vec![event(&tenant, "voucher.issued", "issued", c.created_at, None, data)])
        }
        (KeyOf::Code { tenant, .. }, Change::Modify) => {
            let before: CodeItem = decode(&record.old_image).map_err(&unreadable)?;
            let after: CodeItem = decode(&record.new_image).map_err(&unreadable)?;
            if before.status == CodeStatus::Used || after.status != CodeStatus::Used {
                return Ok(Vec::new());
            }
            let at = after.used_at.unwrap_or(after.created_at);
            let data = json!({
                "code": after.code.to_string(),
                "coupon_id": after.coupon_id.to_string(),
                "member_id": after.customer_id.map(|id| id.to_string()),
                "kind": after.kind.as_str(),
                "value_minor": after.value_minor,
                "discount_percent": after.discount_percent,
                "source": after.source,
                "reward_id": after.reward_id,
                "used_at": at,
            });
            Ok(vec![event(&tenant, "coupon.redeemed", "used", at, None, data)])
        }
        _ => Ok(Vec::new()),
    }
}

/// The event of a ledger entry's type (its stored text, so a type added later maps
/// without a match arm to forget: `expire` is the expiry's).
fn points_event(entry_type: &str) -> Option<&'static str> {
    match entry_type {
        "earn" => Some("points.earned"),
        "redeem" | "coupon" => Some("points.redeemed"),
        "refund" => Some("points.refunded"),
        // An imported opening balance is an adjustment to an integrator; its
        // `entry_type` says `opening`.
        "adjustment" | "opening" => Some("points.adjusted"),
        "expire" => Some("points.expired"),
        _ => None,
    }
}

/// `evt_` + hex SHA-256 of the item's key and its version: the same record read twice
/// makes the same id.
pub fn event_id(pk: &str, sk: &str, version: &str) -> String {
    let mut h = Sha256::new();
    for part in [pk, sk, version] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("evt_{}", hex::encode(h.finalize()))
}

/// The id of one change to a member: every item it wrote under the member's version.
fn change_id(tenant: &TenantSlug, customer: &CustomerId, version: u64) -> String {
    let mut h = Sha256::new();
    h.update(format!("{tenant}\0{customer}\0{version}").as_bytes());
    format!("txn_{}", &hex::encode(h.finalize())[..32])
}

/// The key the record is read under ([`stream_key`]: a sale item's insert under its
/// entry's history keys).
fn record_key(record: &Record) -> Option<(String, String)> {
    let (pk, sk) = key_text(&record.keys)?;
    Some(stream_key(pk, sk, (record.change == Change::Insert).then_some(&record.new_image)))
}

fn key_text(keys: &serde_dynamo::Item) -> Option<(String, String)> {
    let text = |name: &str| match keys.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    Some((text(PK)?, text(SK)?))
}

fn decode<T: StoredItem>(image: &serde_dynamo::Item) -> Result<T, String> {
    if image.is_empty() {
        return Err(format!("{} without its image", T::KIND));
    }
    let de = serde_dynamo::Deserializer::from_attribute_value(serde_dynamo::AttributeValue::M(image.clone().into()));
    serde_path_to_error::deserialize(de).map_err(|e| format!("{}: field {}: {}", T::KIND, e.path(), e.inner()))
}

#[cfg(test)]
mod tests;
