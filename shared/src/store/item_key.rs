//! Every DynamoDB key of the table is built here and nowhere else: the partition and
//! sort keys of each item type, the index keys, and the ledger's sort-key cursor. Each
//! builder takes typed values, so a tenant item's key starts with `TENANT#{slug}` by
//! construction and no key condition can reach across tenants.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{Code, CustomerId, Email, IdempotencyKey, Mobile, Reference, TenantSlug};
use crate::keys::{KeyHash, KeyMode};

/// An item's attributes as the SDK holds them.
pub(crate) type Attrs = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = "PK";
pub(crate) const SK: &str = "SK";
pub(crate) const GSI1PK: &str = "GSI1PK";
pub(crate) const GSI1SK: &str = "GSI1SK";
/// The members index (`GSI2`, keys only): every member of a tenant, by shard and tier.
pub(crate) const GSI2PK: &str = "GSI2PK";
pub(crate) const GSI2SK: &str = "GSI2SK";
/// The expiry index (`GSI3`, keys only): members by the month their oldest points fall due.
pub(crate) const GSI3PK: &str = "GSI3PK";
pub(crate) const GSI3SK: &str = "GSI3SK";

/// The sort-key prefixes a query reads a range of.
pub(crate) const REWARD_PREFIX: &str = "REWARD#";
pub(crate) const LEDGER_PREFIX: &str = "TXN#";
pub(crate) const CODE_INDEX_PREFIX: &str = "CODE#";
pub(crate) const AUDIT_PREFIX: &str = "AUDIT#";
/// A tenant's program items: the rules it was created with (`PROGRAM`) and each later
/// version (`PROGRAM#{effective_from}`), read with one Query.
pub(crate) const PROGRAM_PREFIX: &str = "PROGRAM";
/// A tenant's webhook endpoints and an endpoint's deliveries.
pub(crate) const WEBHOOK_ENDPOINT_PREFIX: &str = "EP#";
pub(crate) const WEBHOOK_DELIVERY_PREFIX: &str = "DLV#";
/// The `GSI1PK` listing every tenant's webhook endpoints (the sender's round).
pub(crate) const WEBHOOK_ENDPOINTS_INDEX: &str = "WEBHOOK#ENDPOINTS";
/// A tenant's daily figures: `TENANT#{t}#FIGURES`, sort keys `DAY#{date}#{part}`.
pub(crate) const FIGURES_DAY_PREFIX: &str = "DAY#";
/// The partition of the figures' checkpoints, one item per stream shard.
pub(crate) const FIGURES_CHECKPOINT_PK: &str = "FIGURES#CHECKPOINT";
/// The partition listing every tenant.
pub(crate) const TENANTS_PK: &str = "TENANTS";
/// `GSI3PK` prefix of the expiry index (`GSI3`, keys only): members by the month their
/// oldest points fall due.
pub(crate) const EXPIRY_INDEX_PREFIX: &str = "EXPIRY#";
/// How many index partitions one due month is spread over, so that the members whose
/// points fall due in one month do not all write one index partition.
pub const EXPIRY_SHARDS: u32 = 16;
/// `GSI1PK` prefix of the tier review index: members of a period program by the month
/// of their next review, one small review item each. Sharded as the expiry index is.
pub(crate) const TIER_REVIEW_INDEX_PREFIX: &str = "TIERREVIEW#";

/// How many partitions a tenant's members index is spread over (by customer id), so a
/// big tenant's enrolments do not all write one index partition.
pub const MEMBERS_SHARDS: u32 = 16;

/// What an idempotency record is for: the tenant, the API key's mode and the route
/// scope the client's `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyScope {
    pub tenant: TenantSlug,
    pub mode: KeyMode,
    pub route: String,
    pub key: IdempotencyKey,
}

/// A window an SMS quota counts in: a UTC clock hour or a UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsWindow {
    Hour(chrono::DateTime<chrono::Utc>),
    Day(chrono::NaiveDate),
}

impl SmsWindow {
    fn label(&self) -> String {
        match self {
            SmsWindow::Hour(at) => format!("H#{}", at.format("%Y%m%d%H")),
            SmsWindow::Day(day) => format!("D#{}", day.format("%Y%m%d")),
        }
    }
}

/// One item's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemKey {
    pub pk: String,
    pub sk: String,
}

pub(crate) fn figures_partition(t: &TenantSlug) -> String {
    format!("TENANT#{t}#FIGURES")
}

fn tenant_pk(t: &TenantSlug) -> String {
    format!("TENANT#{t}")
}

impl ItemKey {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        ItemKey { pk, sk: sk.into() }
    }

    pub fn program(t: &TenantSlug) -> Self {
        Self::new(tenant_pk(t), "PROGRAM")
    }
    /// A program version in force from `from`: RFC 3339 in UTC with milliseconds, fixed
    /// width, so that text order is time order (and after the `PROGRAM` item).
    pub fn program_version(t: &TenantSlug, from: chrono::DateTime<chrono::Utc>) -> Self {
        Self::new(
            tenant_pk(t),
            format!("{PROGRAM_PREFIX}#{}", from.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        )
    }
    /// A tenant's line in the list of tenants (`TENANTS`).
    pub fn tenant_index(t: &TenantSlug) -> Self {
        Self::new(TENANTS_PK.to_owned(), tenant_pk(t))
    }
    pub fn reward(t: &TenantSlug, public_id: &str) -> Self {
        Self::new(tenant_pk(t), format!("{REWARD_PREFIX}{public_id}"))
    }
    pub fn profile(t: &TenantSlug, id: &CustomerId) -> Self {
        Self::new(member_partition(t, id), "PROFILE")
    }
    pub fn ledger_entry(t: &TenantSlug, id: &CustomerId, at: LedgerCursor) -> Self {
        Self::new(member_partition(t, id), at.sort_key())
    }
    /// A member's review item (period tiers): in the member's partition, indexed by its
    /// review month.
    pub fn tier_review(t: &TenantSlug, id: &CustomerId) -> Self {
        Self::new(member_partition(t, id), "TIERREVIEW")
    }
    pub fn mobile_lookup(t: &TenantSlug, m: &Mobile) -> Self {
        Self::new(format!("TENANT#{t}#MOBILE#{m}"), "LOOKUP")
    }
    pub fn email_lookup(t: &TenantSlug, e: &Email) -> Self {
        Self::new(format!("TENANT#{t}#EMAIL#{e}"), "LOOKUP")
    }
    pub fn code(t: &TenantSlug, c: &Code) -> Self {
        Self::new(format!("TENANT#{t}#CODE#{c}"), "CODE")
    }
    /// A refund's own reference (`refund_ref` / `refundReference`).
    pub fn refund_reference(t: &TenantSlug, r: &Reference) -> Self {
        Self::new(format!("TENANT#{t}#REFUNDREF#{r}"), "REFUNDREF")
    }
    /// A reward redemption's `reference`.
    pub fn redemption_reference(t: &TenantSlug, r: &Reference) -> Self {
        Self::new(format!("TENANT#{t}#REDEEMREF#{r}"), "REDEEMREF")
    }
    pub fn purchase(t: &TenantSlug, txn_id: &uuid::Uuid) -> Self {
        Self::new(format!("TENANT#{t}#SALE#{txn_id}"), SALE_SK)
    }
    pub fn otp(t: &TenantSlug, m: &Mobile) -> Self {
        Self::new(format!("TENANT#{t}#OTP#{m}"), "OTP")
    }
    /// A tenant's SMS count in one window (`H#2026113009` an hour, `D#20261130` a day).
    pub fn sms_count(t: &TenantSlug, window: &SmsWindow) -> Self {
        Self::new(format!("TENANT#{t}#SMS#{}", window.label()), "SMS")
    }
    /// Wrong one-time-code guesses for a mobile on a UTC day, across its codes.
    pub fn otp_misses(t: &TenantSlug, m: &Mobile, day: chrono::NaiveDate) -> Self {
        Self::new(format!("TENANT#{t}#OTPMISS#{m}#{}", day.format("%Y%m%d")), "OTPMISS")
    }
    pub fn idempotency(s: &IdempotencyScope) -> Self {
        Self::new(format!("TENANT#{}#IDEMP#{}#{}#{}", s.tenant, s.mode.as_str(), s.route, s.key), "IDEMP")
    }
    pub fn api_key(hash: &KeyHash) -> Self {
        Self::new(format!("APIKEY#{}", hash.0), "APIKEY")
    }
    pub fn key_id(id: &str) -> Self {
        Self::new(format!("KEYID#{id}"), "KEYID")
    }
    /// One entry of a tenant's audit log: newest first by its sort key.
    pub fn audit_entry(t: &TenantSlug, at: &AuditCursor) -> Self {
        Self::new(audit_partition(t), at.sort_key())
    }
    /// A management write's `Idempotency-Key`, under its route: written in the change's
    /// own transaction, so a second submission applies nothing.
    pub fn admin_request(t: &TenantSlug, route: &str, key: &IdempotencyKey) -> Self {
        Self::new(format!("TENANT#{t}#ADMINREQ#{route}#{key}"), "ADMINREQ")
    }
    /// A tenant's webhook endpoint (all of a tenant's under one partition: one Query).
    pub fn webhook_endpoint(t: &TenantSlug, endpoint_id: &str) -> Self {
        Self::new(webhook_endpoints_partition(t), format!("{WEBHOOK_ENDPOINT_PREFIX}{endpoint_id}"))
    }
    /// One event's delivery to one endpoint (an endpoint's deliveries share a partition).
    pub fn webhook_delivery(t: &TenantSlug, endpoint_id: &str, event_id: &str) -> Self {
        Self::new(format!("TENANT#{t}#WHDLV#{endpoint_id}"), format!("{WEBHOOK_DELIVERY_PREFIX}{event_id}"))
    }
    /// One part of a tenant's figures of one day (the program's day; a part per group
    /// of stream shards, see `figures`). A tenant's figures share a partition, in date
    /// order.
    pub fn figures_day(t: &TenantSlug, day: chrono::NaiveDate, part: u32) -> Self {
        Self::new(figures_partition(t), format!("{FIGURES_DAY_PREFIX}{}#{part:02}", day.format("%Y-%m-%d")))
    }
    /// The last stream sequence number counted into the figures, of one stream shard.
    pub fn figures_checkpoint(shard: &str) -> Self {
        Self::new(FIGURES_CHECKPOINT_PK.to_owned(), shard.to_owned())
    }
    /// The item `warm_up` reads (it never exists).
    pub fn warm_up() -> Self {
        Self::new("WARMUP".into(), "WARMUP")
    }

    pub fn attrs(&self) -> Attrs {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

/// A tenant's campaigns: `TENANT#{t}#CAMPAIGNS` / `CAMPAIGN#{id}` (ids are time-ordered,
/// so one Query lists them newest first).
pub(crate) const CAMPAIGN_PREFIX: &str = "CAMPAIGN#";
/// A campaign's audience parts (`PART#{n}`) and batch results (`BATCH#{start}`), in the
/// campaign's own partition.
pub(crate) const CAMPAIGN_PART_PREFIX: &str = "PART#";
pub(crate) const CAMPAIGN_BATCH_PREFIX: &str = "BATCH#";

/// A tenant's campaign list partition.
pub(crate) fn campaigns_partition(t: &TenantSlug) -> String {
    format!("TENANT#{t}#CAMPAIGNS")
}

/// One campaign's partition: its audience parts and batch results.
pub(crate) fn campaign_partition(t: &TenantSlug, campaign_id: &str) -> String {
    format!("TENANT#{t}#CAMPAIGN#{campaign_id}")
}

impl ItemKey {
    pub fn campaign(t: &TenantSlug, campaign_id: &str) -> Self {
        Self::new(campaigns_partition(t), format!("{CAMPAIGN_PREFIX}{campaign_id}"))
    }
    pub fn campaign_part(t: &TenantSlug, campaign_id: &str, part: u32) -> Self {
        Self::new(campaign_partition(t, campaign_id), format!("{CAMPAIGN_PART_PREFIX}{part:04}"))
    }
    /// The results of the batch that starts at list position `start` (zero-padded, so
    /// text order is list order).
    pub fn campaign_batch(t: &TenantSlug, campaign_id: &str, start: u64) -> Self {
        Self::new(campaign_partition(t, campaign_id), format!("{CAMPAIGN_BATCH_PREFIX}{start:08}"))
    }
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.pk, self.sk)
    }
}

/// The tenant's own partition: the program and the reward catalog.
pub(crate) fn tenant_partition(t: &TenantSlug) -> String {
    tenant_pk(t)
}

/// A member's partition (profile and ledger), also the `GSI1PK` of their unused codes.
pub(crate) fn member_partition(t: &TenantSlug, id: &CustomerId) -> String {
    format!("TENANT#{t}#CUST#{id}")
}

/// `GSI1SK` of a code in its owner's index partition: its expiry in epoch milliseconds,
/// zero-padded to the width of any `i64` so that text order is time order, then the
/// code.
pub(crate) fn code_index_sk(expires_at_ms: i64, c: &Code) -> String {
    format!("{CODE_INDEX_PREFIX}{:019}#{c}", expires_at_ms.max(0))
}

/// The `GSI1SK` range (both ends included) of the codes still unexpired at `now_ms`
/// (a code is usable while `now < expires_at`): from the first millisecond after now to
/// the end of the code entries (`~` sorts after every digit).
pub(crate) fn unexpired_codes(now_ms: i64) -> (String, String) {
    (format!("{CODE_INDEX_PREFIX}{:019}", now_ms.saturating_add(1).max(0)), format!("{CODE_INDEX_PREFIX}~"))
}

/// The expiry index's keys for a member whose oldest points fall due (expire at the first
/// instant of) `due`: `EXPIRY#{yyyy-mm}#{shard}` / `TENANT#{t}#CUST#{id}`. The shard comes
/// from the member's id, so a member stays in one shard.
pub(crate) fn expiry_index(t: &TenantSlug, id: &CustomerId, due: crate::expiry::Month) -> (String, String) {
    let shard = id.shard(EXPIRY_SHARDS);
    (expiry_index_partition(due, shard), member_partition(t, id))
}

/// One partition of the expiry index: the members of one shard due in `due`.
pub(crate) fn expiry_index_partition(due: crate::expiry::Month, shard: u32) -> String {
    format!("{EXPIRY_INDEX_PREFIX}{due}#{shard:02}")
}

/// The review index's keys for a member reviewed in `due`:
/// `TIERREVIEW#{yyyy-mm}#{shard}` / `TENANT#{t}#CUST#{id}`.
pub(crate) fn tier_review_index(t: &TenantSlug, id: &CustomerId, due: crate::expiry::Month) -> (String, String) {
    (tier_review_partition(due, id.shard(EXPIRY_SHARDS)), member_partition(t, id))
}

/// One partition of the review index: the members of one shard reviewed in `due`.
pub(crate) fn tier_review_partition(due: crate::expiry::Month, shard: u32) -> String {
    format!("{TIER_REVIEW_INDEX_PREFIX}{due}#{shard:02}")
}

/// The members index's keys of a member holding `tier`:
/// `MEMBERS#{t}#{shard}` / `{tier}#{customer_id}`. The shard comes from the member's id,
/// so a member stays in one shard; a tier change moves only the sort key.
pub(crate) fn members_index(t: &TenantSlug, id: &CustomerId, tier: &str) -> (String, String) {
    (members_index_partition(t, id.shard(MEMBERS_SHARDS)), format!("{}{id}", members_tier_prefix(tier)))
}

/// One partition of a tenant's members index.
pub(crate) fn members_index_partition(t: &TenantSlug, shard: u32) -> String {
    format!("MEMBERS#{t}#{shard:02}")
}

/// The `GSI2SK` prefix of one tier's members (tier names are compared as stored).
pub(crate) fn members_tier_prefix(tier: &str) -> String {
    format!("{tier}#")
}

/// The member a members index sort key names (the text after the last `#`).
pub(crate) fn member_of_members_sk(sk: &str) -> Option<CustomerId> {
    CustomerId::parse(sk.rsplit_once('#')?.1).ok()
}

/// The sort key prefix of one tenant's members in the expiry and review indexes.
pub(crate) fn tenant_members_prefix(t: &TenantSlug) -> String {
    format!("TENANT#{t}#CUST#")
}

/// The tenant and member of an expiry index sort key (a member partition); `None` for
/// any other text.
pub(crate) fn member_of_partition(key: &str) -> Option<(TenantSlug, CustomerId)> {
    let (tenant, id) = key.strip_prefix("TENANT#")?.split_once("#CUST#")?;
    Some((TenantSlug::parse(tenant).ok()?, CustomerId::parse(id).ok()?))
}

/// `GSI1PK` of a tenant's API keys.
pub(crate) fn tenant_keys_index(t: &TenantSlug) -> String {
    format!("TENANT#{t}#KEYS")
}

/// `GSI1SK` of an API key.
pub(crate) fn key_index_sk(key_id: &str) -> String {
    format!("KEY#{key_id}")
}

/// A tenant's webhook endpoints.
pub(crate) fn webhook_endpoints_partition(t: &TenantSlug) -> String {
    format!("TENANT#{t}#WEBHOOKS")
}

/// `GSI1SK` of an endpoint in the list of every tenant's endpoints.
pub(crate) fn webhook_endpoint_index_sk(t: &TenantSlug, endpoint_id: &str) -> String {
    format!("{t}#{endpoint_id}")
}

/// `GSI1PK` of an endpoint's pending deliveries: its own due queue, so one endpoint's
/// backlog is never in another's way.
pub(crate) fn webhook_due_index(t: &TenantSlug, endpoint_id: &str) -> String {
    format!("WEBHOOK#DUE#{t}#{endpoint_id}")
}

/// `GSI1SK` of a pending delivery: when it is due (epoch milliseconds, zero-padded so
/// text order is time order), then its event.
pub(crate) fn webhook_due_sk(next_attempt_ms: i64, event_id: &str) -> String {
    format!("{:019}#{event_id}", next_attempt_ms.max(0))
}

/// The `GSI1SK` bound (inclusive) of the deliveries due at `now_ms`.
pub(crate) fn webhook_due_until(now_ms: i64) -> String {
    format!("{:019}#~", now_ms.max(0))
}

/// A tenant's audit log partition.
pub(crate) fn audit_partition(t: &TenantSlug) -> String {
    format!("TENANT#{t}#AUDIT")
}

/// Where an audit entry sits in its tenant's log: its time in epoch milliseconds
/// (zero-padded, so text order is time order), then its id (two entries in one
/// millisecond both stay).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AuditCursor {
    pub at_ms: i64,
    pub id: uuid::Uuid,
}

impl AuditCursor {
    pub fn sort_key(&self) -> String {
        format!("{AUDIT_PREFIX}{:019}#{}", self.at_ms.max(0), self.id)
    }

    /// The cursor of an audit sort key; `None` for any other text.
    pub fn from_sort_key(sk: &str) -> Option<Self> {
        let (at, id) = sk.strip_prefix(AUDIT_PREFIX)?.split_once('#')?;
        if at.len() != 19 || !at.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(AuditCursor { at_ms: at.parse().ok()?, id: uuid::Uuid::parse_str(id).ok()? })
    }
}

/// Where a ledger entry sits in its member's partition: the member's version after the
/// change (zero-padded), then the entry's place within that change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LedgerCursor {
    pub version: u64,
    pub place: usize,
}

impl LedgerCursor {
    pub fn sort_key(self) -> String {
        format!("{LEDGER_PREFIX}{:012}#{:02}", self.version, self.place)
    }

    /// The cursor of a ledger sort key; `None` for any other key.
    pub fn from_sort_key(sk: &str) -> Option<Self> {
        let (version, place) = sk.strip_prefix(LEDGER_PREFIX)?.split_once('#')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(version) || !digits(place) {
            return None;
        }
        Some(LedgerCursor { version: version.parse().ok()?, place: place.parse().ok()? })
    }
}

/// What the item under a stream record's key is, as far as events care: the keys built
/// above, read back. Everything else (keys, audit, idempotency, OTP, quotas, sales,
/// references, programs) is `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyOf {
    Profile { tenant: TenantSlug, customer: CustomerId },
    LedgerEntry { tenant: TenantSlug, customer: CustomerId, at: LedgerCursor },
    Code { tenant: TenantSlug, code: Code },
    Other,
}

impl KeyOf {
    pub fn of(pk: &str, sk: &str) -> Self {
        Self::parse(pk, sk).unwrap_or(KeyOf::Other)
    }

    fn parse(pk: &str, sk: &str) -> Option<Self> {
        let (tenant, rest) = pk.strip_prefix("TENANT#")?.split_once('#')?;
        let tenant = TenantSlug::parse(tenant).ok()?;
        let (kind, id) = rest.split_once('#')?;
        match (kind, sk) {
            ("CUST", "PROFILE") => Some(KeyOf::Profile { tenant, customer: CustomerId::parse(id).ok()? }),
            ("CUST", _) => Some(KeyOf::LedgerEntry {
                tenant,
                customer: CustomerId::parse(id).ok()?,
                at: LedgerCursor::from_sort_key(sk)?,
            }),
            ("CODE", "CODE") => Some(KeyOf::Code { tenant, code: Code::parse(id).ok()? }),
            _ => None,
        }
    }
}

/// The key a stream record of an item is read under: its own, but for a sale item's
/// insert, which is its sale's ledger entry and is read under the entry's history keys
/// (`GSI1PK`/`GSI1SK`), so it makes the events and figures an entry makes, with the
/// entry's ids. A sale item's later changes (refunds) stay under its own key, which
/// makes none: a sale counts once.
pub(crate) fn stream_key(pk: String, sk: String, inserted: Option<&serde_dynamo::Item>) -> (String, String) {
    let text = |image: &serde_dynamo::Item, name: &str| match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    match inserted {
        Some(image) if sk == SALE_SK && pk.contains("#SALE#") => match (text(image, GSI1PK), text(image, GSI1SK)) {
            (Some(ipk), Some(isk)) if isk.starts_with(LEDGER_PREFIX) => (ipk, isk),
            _ => (pk, sk),
        },
        _ => (pk, sk),
    }
}

/// The sort key of a sale item.
pub(crate) const SALE_SK: &str = "SALE";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_by_version_then_place() {
        let at = |version, place| LedgerCursor { version, place }.sort_key();
        assert!(at(9, 1) < at(10, 0));
        assert!(at(10, 0) < at(10, 1));
        assert_eq!(at(7, 0), "TXN#000000000007#00");
        assert_eq!(LedgerCursor::from_sort_key(&at(42, 3)), Some(LedgerCursor { version: 42, place: 3 }));
        for bad in ["PROFILE", "TXN#", "TXN#12", "TXN#x#01", "TXN#1#", "CODE#1#2"] {
            assert_eq!(LedgerCursor::from_sort_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn audit_keys_order_by_time_and_parse_back() {
        let at = |ms: i64| AuditCursor { at_ms: ms, id: uuid::Uuid::nil() };
        assert!(at(999).sort_key() < at(1_000).sort_key());
        let c = AuditCursor { at_ms: 1_700_000_000_000, id: uuid::Uuid::new_v4() };
        assert_eq!(AuditCursor::from_sort_key(&c.sort_key()), Some(c));
        for bad in [
            "AUDIT#",
            "AUDIT#12#x",
            "TXN#000000000001#00",
            "AUDIT#000000000000000000x#00000000-0000-0000-0000-000000000000",
        ] {
            assert_eq!(AuditCursor::from_sort_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn code_index_keys_order_by_expiry_and_the_range_starts_after_now() {
        let code = |c: &str| Code::parse(c).unwrap();
        let sk = |ms: i64, c: &str| code_index_sk(ms, &code(c));
        assert_eq!(sk(1_700_000_000_000, "COUP-1"), "CODE#0000001700000000000#COUP-1");
        assert!(sk(999, "COUP-Z") < sk(1_000, "COUP-A"));
        assert!(sk(9_999_999_999_999, "COUP-A") < sk(10_000_000_000_000, "COUP-A"), "past 13 digits too");
        assert!(sk(i64::MAX, "COUP-Z") < format!("{CODE_INDEX_PREFIX}~"));
        let (from, to) = unexpired_codes(1_000);
        let within = |k: &String| *k >= from && *k <= to;
        assert!(!within(&sk(999, "COUP-A")) && !within(&sk(1_000, "COUP-Z")), "expired at now");
        assert!(within(&sk(1_001, "COUP-A")) && within(&sk(i64::MAX, "COUP-Z")));
    }

    #[test]
    fn tenant_items_are_under_the_tenant() {
        let t = TenantSlug::parse("acme").unwrap();
        let id = CustomerId::new_random();
        for key in [
            ItemKey::program(&t),
            ItemKey::program_version(&t, chrono::DateTime::UNIX_EPOCH),
            ItemKey::reward(&t, "r1"),
            ItemKey::profile(&t, &id),
            ItemKey::code(&t, &Code::parse("COUP-1").unwrap()),
            ItemKey::refund_reference(&t, &Reference::from("return-1")),
            ItemKey::redemption_reference(&t, &Reference::from("order-1")),
            ItemKey::otp(&t, &Mobile::parse("9876543210").unwrap()),
            ItemKey::sms_count(&t, &SmsWindow::Day(chrono::NaiveDate::MIN)),
            ItemKey::otp_misses(&t, &Mobile::parse("9876543210").unwrap(), chrono::NaiveDate::MIN),
            ItemKey::audit_entry(&t, &AuditCursor { at_ms: 1, id: uuid::Uuid::nil() }),
            ItemKey::admin_request(&t, "admin-adjust", &IdempotencyKey::parse("k-1").unwrap()),
            ItemKey::webhook_endpoint(&t, "ep_1"),
            ItemKey::webhook_delivery(&t, "ep_1", "evt_1"),
        ] {
            assert!(key.pk == "TENANT#acme" || key.pk.starts_with("TENANT#acme#"), "{key}");
        }
    }

    #[test]
    fn stream_keys_read_back_as_the_items_they_name() {
        let t = TenantSlug::parse("acme").unwrap();
        let id = CustomerId::new_random();
        let code = Code::parse("COUP-1").unwrap();
        let of = |k: ItemKey| KeyOf::of(&k.pk, &k.sk);
        assert_eq!(of(ItemKey::profile(&t, &id)), KeyOf::Profile { tenant: t.clone(), customer: id });
        let at = LedgerCursor { version: 7, place: 1 };
        assert_eq!(of(ItemKey::ledger_entry(&t, &id, at)), KeyOf::LedgerEntry { tenant: t.clone(), customer: id, at });
        assert_eq!(of(ItemKey::code(&t, &code)), KeyOf::Code { tenant: t.clone(), code });
        for other in [
            ItemKey::program(&t),
            ItemKey::reward(&t, "r1"),
            ItemKey::purchase(&t, &uuid::Uuid::nil()),
            ItemKey::otp(&t, &Mobile::parse("9876543210").unwrap()),
            ItemKey::sms_count(&t, &SmsWindow::Day(chrono::NaiveDate::MIN)),
            ItemKey::audit_entry(&t, &AuditCursor { at_ms: 1, id: uuid::Uuid::nil() }),
            ItemKey::admin_request(&t, "admin-adjust", &IdempotencyKey::parse("k-1").unwrap()),
            ItemKey::api_key(&KeyHash("ab".into())),
            ItemKey::key_id("key_1"),
            ItemKey::tenant_index(&t),
            ItemKey::warm_up(),
        ] {
            assert_eq!(of(other.clone()), KeyOf::Other, "{other}");
        }
    }

    #[test]
    fn expiry_index_keys_never_meet_the_other_index_keys_and_parse_back() {
        let t = TenantSlug::parse("acme").unwrap();
        let id = CustomerId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301").unwrap();
        let due = crate::expiry::Month::parse("2027-04").unwrap();
        let (pk, sk) = expiry_index(&t, &id, due);
        assert!(pk.starts_with("EXPIRY#2027-04#") && pk.len() == "EXPIRY#2027-04#00".len(), "{pk}");
        assert_eq!(expiry_index(&t, &id, due).0, pk, "a member keeps its shard");
        for other in [member_partition(&t, &id), tenant_keys_index(&t)] {
            assert!(!other.starts_with(EXPIRY_INDEX_PREFIX), "{other}");
        }
        assert_eq!(sk, "TENANT#acme#CUST#3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        assert!(sk.starts_with(&tenant_members_prefix(&t)));
        assert!(!sk.starts_with(&tenant_members_prefix(&TenantSlug::parse("acm").unwrap())));
        assert_eq!(member_of_partition(&sk), Some((t, id)));
        for bad in
            ["TENANT#acme#KEYS", "TENANT#acme#CUST#x", "KEY#1", "TENANT#A#CUST#3f2504e0-4f89-11d3-9a0c-0305e82c3301"]
        {
            assert_eq!(member_of_partition(bad), None, "{bad}");
        }
        let shards: std::collections::BTreeSet<u32> =
            (0..200).map(|_| CustomerId::new_random().shard(EXPIRY_SHARDS)).collect();
        assert_eq!(shards.len(), EXPIRY_SHARDS as usize, "members spread over every shard");
    }

    #[test]
    fn program_versions_sort_by_time_after_the_first_rules() {
        let t = TenantSlug::parse("acme").unwrap();
        let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let v = |text: &str| ItemKey::program_version(&t, at(text)).sk;
        assert_eq!(v("2026-04-01T05:30:00+05:30"), "PROGRAM#2026-04-01T00:00:00.000Z");
        assert!(ItemKey::program(&t).sk < v("0001-01-01T00:00:00Z"));
        assert!(v("2026-04-01T00:00:00.999Z") < v("2026-04-01T00:00:01Z"));
        assert!(v("2026-12-31T23:59:59Z") < v("2027-01-01T00:00:00Z"));
        assert!(v("2026-04-01T00:00:00Z").starts_with(PROGRAM_PREFIX) && !REWARD_PREFIX.starts_with(PROGRAM_PREFIX));
        assert_eq!(ItemKey::tenant_index(&t), ItemKey { pk: "TENANTS".into(), sk: "TENANT#acme".into() });
    }
}
