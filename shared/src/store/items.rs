//! One storage struct per item type, read and written through `serde_dynamo`. An item
//! that does not decode is [`StoreError::Corrupt`] naming its type, its key and the
//! field, never a silent default. Update expressions take their attribute names from
//! the same structs ([`Expr::set`] writes a patch struct's fields) or from [`attr`],
//! whose names a test checks against the structs.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::client::StoreError;
use super::item_key::{
    code_index_sk, expiry_index, key_index_sk, member_partition, tenant_keys_index, Attrs, ItemKey, LedgerCursor, PK,
    SK,
};
use crate::domain::{Code, CustomerId, Email, Mobile, Reference, TenantSlug};
use crate::expiry::Buckets;
use crate::keys::{Channel, KeyHash, KeyMode, KeyRecord, KeyStatus, Scope};
use crate::model::{
    CodeKind, CodeStatus, Coupon, Customer, EntryKind, LedgerEntry, Purchase, RedemptionOutcome, RefundOutcome, Reward,
    SaleOutcome,
};
use crate::program::Program;

/// Attribute names that conditions and updates use on their own.
pub(crate) mod attr {
    pub const VERSION: &str = "version";
    pub const AMOUNT_MINOR: &str = "amount_minor";
    pub const STATUS: &str = "status";
    pub const EXPIRES_AT_MS: &str = "expires_at_ms";
    pub const STATE: &str = "state";
    pub const TOKEN: &str = "token";
    pub const LEASE_UNTIL_MS: &str = "lease_until_ms";
    pub const CODE_HASH: &str = "code_hash";
    pub const USED: &str = "used";
    pub const ATTEMPTS_LEFT: &str = "attempts_left";
    pub const ISSUED_AT_MS: &str = "issued_at_ms";
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const SENT: &str = "sent";
    pub const WRONG: &str = "wrong";
    pub const EXPIRES_AT_EPOCH: &str = "expires_at_epoch";
    pub const COUPON_ID: &str = "coupon_id";
    pub const USED_BY: &str = "used_by";
    pub const USED_AT: &str = "used_at";
    pub const USED_KEY: &str = "used_key";
    pub const SEND_TOKEN: &str = "send_token";
    pub const ATTEMPT_TOKENS: &str = "attempt_tokens";
    pub const CREATED_AT: &str = "created_at";
    pub const POINTS_EXPIRY: &str = "points_expiry";
    pub const TIER: &str = "tier";
}

/// A storage struct and the name its errors give it.
pub(crate) trait StoredItem: Serialize + DeserializeOwned {
    const KIND: &'static str;
}

/// The attributes of `item` under `key`.
pub(crate) fn encode<T: StoredItem>(key: &ItemKey, item: &T) -> Result<Attrs, StoreError> {
    let mut attrs: Attrs =
        serde_dynamo::to_item(item).map_err(|e| StoreError::Corrupt(format!("{} item {key}: {e}", T::KIND)))?;
    attrs.extend(key.attrs());
    Ok(attrs)
}

/// Reads an item; a missing, mistyped or unknown value is an error naming the item and
/// the field.
pub(crate) fn decode<T: StoredItem>(attrs: &Attrs) -> Result<T, StoreError> {
    let item: serde_dynamo::Item = attrs.clone().into();
    let de = serde_dynamo::Deserializer::from_attribute_value(serde_dynamo::AttributeValue::M(item.into()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = |name: &str| attrs.get(name).and_then(|v| v.as_s().ok()).map_or("?", String::as_str);
        StoreError::Corrupt(format!("{} item {}/{}: field {}: {}", T::KIND, key(PK), key(SK), e.path(), e.inner()))
    })
}

impl super::client::Store {
    /// The item under `key` as `T`, read strongly consistent; `None` if there is none.
    pub(crate) async fn read<T: StoredItem>(&self, key: &ItemKey) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(decode::<T>).transpose()
    }
}

/// A value as an attribute, for expressions.
pub(crate) fn value<T: Serialize>(v: T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(|e| StoreError::Corrupt(format!("expression value: {e}")))
}

/// The names and values of an update or condition expression, aliased so that reserved
/// words (`status`, `state`, `token`, `response`) need no care.
#[derive(Default)]
pub(crate) struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// The alias of an attribute name.
    pub fn name(&mut self, attr: &str) -> String {
        let alias = format!("#{attr}");
        self.names.insert(alias.clone(), attr.to_owned());
        alias
    }

    /// The placeholder of a value.
    pub fn value(&mut self, v: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), v);
        placeholder
    }

    /// `SET` of every field of a patch struct, in name order.
    pub fn set<T: Serialize>(&mut self, patch: &T) -> Result<String, StoreError> {
        let attrs: Attrs = serde_dynamo::to_item(patch).map_err(|e| StoreError::Corrupt(format!("update: {e}")))?;
        let mut fields: Vec<(String, AttributeValue)> = attrs.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        let parts: Vec<String> =
            fields.into_iter().map(|(name, v)| format!("{} = {}", self.name(&name), self.value(v))).collect();
        Ok(format!("SET {}", parts.join(", ")))
    }
}

/// Domain values stored as their text.
pub(crate) trait Text: Sized {
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Result<Self, String>;
}

macro_rules! text_via_parse {
    ($($t:ty),*) => {$(
        impl Text for $t {
            fn to_text(&self) -> String {
                self.to_string()
            }
            fn from_text(text: &str) -> Result<Self, String> {
                <$t>::parse(text).map_err(|e| e.to_string())
            }
        }
    )*};
}
text_via_parse!(CustomerId, TenantSlug, Mobile, Email, Code);

impl Text for uuid::Uuid {
    fn to_text(&self) -> String {
        self.to_string()
    }
    fn from_text(text: &str) -> Result<Self, String> {
        uuid::Uuid::parse_str(text).map_err(|e| e.to_string())
    }
}

/// Instants as RFC 3339 text with milliseconds.
impl Text for DateTime<Utc> {
    fn to_text(&self) -> String {
        self.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
    fn from_text(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| e.to_string())
    }
}

mod text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Text;

    pub fn serialize<T: Text, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_text())
    }

    pub fn deserialize<'de, T: Text, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        T::from_text(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod opt_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Text;

    pub fn serialize<T: Text, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&v.to_text()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Text, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| T::from_text(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

/// A value kept as one JSON string attribute (a sale's outcome, a program's rules).
mod json_text {
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&serde_json::to_string(v).map_err(serde::ser::Error::custom)?)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        serde_json::from_str(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An optional value kept as one JSON string attribute, absent when `None`.
mod opt_json_text {
    use serde::{Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::json_text::serialize(v, s),
            None => s.serialize_none(),
        }
    }
}

// ---- members ----

/// `TENANT#{t}#CUST#{id}` / `PROFILE`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ProfileItem {
    #[serde(with = "text")]
    pub customer_id: CustomerId,
    pub name: String,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Mobile>,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    pub points_balance: i64,
    pub lifetime_points: i64,
    pub segment: String,
    pub version: u64,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "text")]
    pub updated_at: DateTime<Utc>,
    /// The balance by the month it was earned (`{"YYYY-MM": points}`), when the program's
    /// points expire; absent otherwise.
    #[serde(default, skip_serializing_if = "Buckets::is_empty")]
    pub points_expiry: Buckets,
    /// The tier held and the window's earnings, in a period program; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<crate::tiers::TierState>,
    /// The expiry index (GSI3, keys only): the month the oldest points fall due, when
    /// some will.
    #[serde(rename = "GSI3PK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_pk: Option<String>,
    #[serde(rename = "GSI3SK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
    /// The members index (GSI2): the tenant's shard and the tier held, when known.
    #[serde(rename = "GSI2PK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub members_pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub members_sk: Option<String>,
}

impl StoredItem for ProfileItem {
    const KIND: &'static str = "profile";
}

/// A member's expiry index keys (`GSI3PK`, `GSI3SK`): where the month their oldest
/// points fall due puts them; `None` when none will.
pub(crate) fn expiry_index_keys(t: &TenantSlug, c: &Customer) -> Option<(String, String)> {
    crate::expiry::due_month(c).map(|due| expiry_index(t, &c.id, due))
}

impl ProfileItem {
    pub fn new(t: &TenantSlug, c: &Customer, now: DateTime<Utc>) -> Self {
        let index = expiry_index_keys(t, c);
        ProfileItem {
            customer_id: c.id,
            name: c.name.clone(),
            mobile: c.mobile.clone(),
            email: c.email.clone(),
            points_balance: c.points_balance,
            lifetime_points: c.lifetime_points,
            segment: c.segment.clone(),
            version: c.version,
            created_at: c.created_at,
            updated_at: now,
            points_expiry: c.points_expiry.clone(),
            tier: c.tier.clone(),
            index_pk: index.as_ref().map(|(pk, _)| pk.clone()),
            index_sk: index.map(|(_, sk)| sk),
            members_pk: None,
            members_sk: None,
        }
    }

    /// The same, listed in the members index under `tier`.
    pub fn in_tier(self, t: &TenantSlug, tier: Option<&str>) -> Self {
        let keys = tier.map(|tier| crate::store::item_key::members_index(t, &self.customer_id, tier));
        let (members_pk, members_sk) = keys.unzip();
        ProfileItem { members_pk, members_sk, ..self }
    }
}

impl From<ProfileItem> for Customer {
    fn from(p: ProfileItem) -> Self {
        Customer {
            id: p.customer_id,
            name: p.name,
            mobile: p.mobile,
            email: p.email,
            points_balance: p.points_balance,
            lifetime_points: p.lifetime_points,
            segment: p.segment,
            version: p.version,
            created_at: p.created_at,
            points_expiry: p.points_expiry,
            points_expiry_months: None,
            tier_review_read: p.tier.as_ref().and_then(|t| t.review),
            tier: p.tier,
        }
    }
}

/// What a balance change rewrites on a profile. Buckets are set when there are some and
/// removed otherwise ([`attr::POINTS_EXPIRY`]), in the same update.
#[derive(Serialize)]
pub(crate) struct ProfileBalance<'a> {
    pub points_balance: i64,
    pub lifetime_points: i64,
    pub version: u64,
    #[serde(with = "text")]
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_expiry: Option<&'a Buckets>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<&'a crate::tiers::TierState>,
    /// The expiry index keys (GSI3, keys only), set when some points will expire and
    /// removed otherwise: writing the same values writes nothing to the index.
    #[serde(rename = "GSI3PK", skip_serializing_if = "Option::is_none")]
    pub index_pk: Option<String>,
    #[serde(rename = "GSI3SK", skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
    /// The members index keys, set (again) when the tier is known: writing the same
    /// key values writes nothing to the keys-only index.
    #[serde(rename = "GSI2PK", skip_serializing_if = "Option::is_none")]
    pub members_pk: Option<String>,
    #[serde(rename = "GSI2SK", skip_serializing_if = "Option::is_none")]
    pub members_sk: Option<String>,
}

/// `TENANT#{t}#CUST#{id}` / `TIERREVIEW`: a member of a period program above the lowest
/// tier, in the review index under the month of its next review.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TierReviewItem {
    #[serde(with = "text")]
    pub customer_id: CustomerId,
    #[serde(rename = "GSI1PK")]
    pub index_pk: String,
    #[serde(rename = "GSI1SK")]
    pub index_sk: String,
}

impl StoredItem for TierReviewItem {
    const KIND: &'static str = "tier review";
}

/// `...#MOBILE#{m}` or `...#EMAIL#{e}` / `LOOKUP`: which member has it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LookupItem {
    #[serde(with = "text")]
    pub customer_id: CustomerId,
}

impl StoredItem for LookupItem {
    const KIND: &'static str = "lookup";
}

// ---- codes ----

/// `TENANT#{t}#CODE#{code}` / `CODE`; in GSI1 under its owner while unused, sorted by
/// expiry (`CODE#{expires_at_ms}#{code}`), so the lookup reads from now on.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CodeItem {
    #[serde(with = "text")]
    pub coupon_id: uuid::Uuid,
    #[serde(with = "text")]
    pub code: Code,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    #[serde(rename = "GSI1PK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
    pub kind: CodeKind,
    pub value_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_name: Option<String>,
    pub status: CodeStatus,
    #[serde(with = "text")]
    pub expires_at: DateTime<Utc>,
    pub expires_at_ms: i64,
    pub expiry_date: NaiveDate,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
    /// The token of the write that used the code: its own retry meets it as done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    /// The id of the API key that used the code: only it may reinstate the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_key: Option<String>,
}

impl StoredItem for CodeItem {
    const KIND: &'static str = "code";
}

impl CodeItem {
    pub fn new(tenant: &TenantSlug, c: &Coupon) -> Self {
        let owner = c.customer_id.as_ref();
        CodeItem {
            coupon_id: c.coupon_id,
            code: c.code.clone(),
            customer_id: c.customer_id,
            index_pk: owner.map(|o| member_partition(tenant, o)),
            index_sk: owner.map(|_| code_index_sk(c.expires_at.timestamp_millis(), &c.code)),
            kind: c.kind,
            value_minor: c.value_minor,
            discount_percent: c.discount_percent,
            source: c.source.clone(),
            reward_id: c.reward_id.clone(),
            reward_name: c.reward_name.clone(),
            status: c.status,
            expires_at: c.expires_at,
            expires_at_ms: c.expires_at.timestamp_millis(),
            expiry_date: c.expiry_date,
            created_at: c.created_at,
            used_at: c.used_at,
            used_by: None,
            used_key: None,
        }
    }
}

impl From<CodeItem> for Coupon {
    fn from(c: CodeItem) -> Self {
        Coupon {
            coupon_id: c.coupon_id,
            code: c.code,
            customer_id: c.customer_id,
            kind: c.kind,
            value_minor: c.value_minor,
            discount_percent: c.discount_percent,
            source: c.source,
            reward_id: c.reward_id,
            reward_name: c.reward_name,
            status: c.status,
            expires_at: c.expires_at,
            expiry_date: c.expiry_date,
            created_at: c.created_at,
            used_at: c.used_at,
        }
    }
}

/// What using a code rewrites (it also leaves GSI1), with the token of the write.
#[derive(Serialize)]
pub(crate) struct CodeUse<'a> {
    pub status: CodeStatus,
    #[serde(with = "text")]
    pub used_at: DateTime<Utc>,
    pub used_by: &'a str,
    pub used_key: &'a str,
}

// ---- ledger, sales, purchases ----

/// `TENANT#{t}#CUST#{id}` / `TXN#{version}#{place}`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LedgerEntryItem {
    #[serde(with = "text")]
    pub txn_id: uuid::Uuid,
    #[serde(with = "text")]
    pub customer_id: CustomerId,
    #[serde(rename = "type")]
    pub kind: EntryKind,
    pub points: i64,
    pub lifetime_points: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub balance_after: i64,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_text")]
    pub sold_at: Option<DateTime<Utc>>,
    /// The member's history (GSI1): `TENANT#{t}#CUST#{id}` / `TXN#{version}#{place}`.
    #[serde(rename = "GSI1PK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
}

impl StoredItem for LedgerEntryItem {
    const KIND: &'static str = "ledger entry";
}

impl From<&LedgerEntry> for LedgerEntryItem {
    fn from(e: &LedgerEntry) -> Self {
        LedgerEntryItem {
            txn_id: e.txn_id,
            customer_id: e.customer_id,
            kind: e.kind,
            points: e.points,
            lifetime_points: e.lifetime_points,
            amount_minor: e.amount_minor,
            reference: e.reference.clone(),
            description: e.description.clone(),
            balance_after: e.balance_after,
            created_at: e.created_at,
            sold_at: e.sold_at,
            index_pk: None,
            index_sk: None,
        }
    }
}

impl LedgerEntryItem {
    /// The entry listed in its member's history under `at`.
    pub fn in_history(self, t: &TenantSlug, at: LedgerCursor) -> Self {
        LedgerEntryItem {
            index_pk: Some(member_partition(t, &self.customer_id)),
            index_sk: Some(at.sort_key()),
            ..self
        }
    }
}

impl From<LedgerEntryItem> for LedgerEntry {
    fn from(e: LedgerEntryItem) -> Self {
        LedgerEntry {
            txn_id: e.txn_id,
            customer_id: e.customer_id,
            kind: e.kind,
            points: e.points,
            lifetime_points: e.lifetime_points,
            amount_minor: e.amount_minor,
            reference: e.reference,
            description: e.description,
            balance_after: e.balance_after,
            created_at: e.created_at,
            sold_at: e.sold_at,
        }
    }
}

/// A sale item read for what its reference answers: the member, the amount and the
/// stored outcome, with the fields of the answer the item holds itself.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SaleReferenceItem {
    pub reference: Reference,
    #[serde(with = "text")]
    pub txn_id: uuid::Uuid,
    #[serde(with = "text")]
    pub customer_id: CustomerId,
    pub amount_minor: i64,
    /// The points the sale earned (its entry's `points`).
    pub points: i64,
    pub points_redeemed: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<crate::model::UsedCoupon>,
    #[serde(with = "json_text")]
    pub outcome: StoredSaleOutcome,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
}

/// A sale's answer as its sale item keeps it: what the item does not hold already (the
/// transaction id, reference, amount, points, coupon, time and member's id are the
/// item's own fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSaleOutcome {
    pub customer: StoredCustomer,
    #[serde(default)]
    pub discount_minor: i64,
    pub new_balance: i64,
    pub tier: String,
    pub tier_upgraded: bool,
    pub multiplier_milli: u32,
}

/// The member as the sale's answer saw them, without their id (the item's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredCustomer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub points_balance: i64,
    pub lifetime_points: i64,
    pub segment: String,
}

impl From<&SaleOutcome> for StoredSaleOutcome {
    fn from(o: &SaleOutcome) -> Self {
        let c = &o.customer;
        StoredSaleOutcome {
            customer: StoredCustomer {
                name: c.name.clone(),
                mobile: c.mobile.clone(),
                email: c.email.clone(),
                points_balance: c.points_balance,
                lifetime_points: c.lifetime_points,
                segment: c.segment.clone(),
            },
            discount_minor: o.discount_minor,
            new_balance: o.new_balance,
            tier: o.tier.clone(),
            tier_upgraded: o.tier_upgraded,
            multiplier_milli: o.multiplier_milli,
        }
    }
}

impl From<SaleReferenceItem> for SaleOutcome {
    fn from(item: SaleReferenceItem) -> Self {
        let o = item.outcome;
        SaleOutcome {
            transaction_id: item.txn_id.to_string(),
            customer: crate::model::CustomerSnapshot {
                customer_id: item.customer_id.to_string(),
                name: o.customer.name,
                mobile: o.customer.mobile,
                email: o.customer.email,
                points_balance: o.customer.points_balance,
                lifetime_points: o.customer.lifetime_points,
                segment: o.customer.segment,
            },
            amount_minor: item.amount_minor,
            points_earned: item.points,
            points_redeemed: item.points_redeemed,
            discount_minor: o.discount_minor,
            new_balance: o.new_balance,
            tier: o.tier,
            tier_upgraded: o.tier_upgraded,
            multiplier_milli: o.multiplier_milli,
            reference: Some(item.reference.as_str().to_owned()),
            created_at: item.created_at,
            coupon: item.coupon,
        }
    }
}

impl StoredItem for SaleReferenceItem {
    const KIND: &'static str = "sale reference";
}

/// `TENANT#{t}#REFUNDREF#{reference}` / `REFUNDREF`: the refund a refund reference
/// named (its sale and amount) and its outcome.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RefundReferenceItem {
    pub refund_ref: Reference,
    #[serde(with = "text")]
    pub sale: uuid::Uuid,
    pub amount_minor: i64,
    #[serde(with = "json_text")]
    pub outcome: RefundOutcome,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
}

impl StoredItem for RefundReferenceItem {
    const KIND: &'static str = "refund reference";
}

/// `TENANT#{t}#REDEEMREF#{reference}` / `REDEEMREF`: the redemption a reference named
/// (its member and reward) and its outcome.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RedemptionReferenceItem {
    pub reference: Reference,
    #[serde(with = "text")]
    pub customer_id: CustomerId,
    pub reward_id: String,
    #[serde(with = "json_text")]
    pub outcome: RedemptionOutcome,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
}

impl StoredItem for RedemptionReferenceItem {
    const KIND: &'static str = "redemption reference";
}

/// A sale item (`TENANT#{t}#SALE#{txnId}` / `SALE`) read as the purchase a refund works
/// from.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PurchaseItem {
    #[serde(with = "text")]
    pub txn_id: uuid::Uuid,
    #[serde(with = "text")]
    pub customer_id: CustomerId,
    pub amount_minor: i64,
    /// The sale's entry's `points`.
    #[serde(rename = "points")]
    pub points_earned: i64,
    pub points_redeemed: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_text")]
    pub sold_at: Option<DateTime<Utc>>,
    pub refunded_minor: i64,
    pub earn_reversed: i64,
    pub redeem_restored: i64,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<crate::model::UsedCoupon>,
}

impl StoredItem for PurchaseItem {
    const KIND: &'static str = "purchase";
}

impl From<&Purchase> for PurchaseItem {
    fn from(p: &Purchase) -> Self {
        PurchaseItem {
            txn_id: p.txn_id,
            customer_id: p.customer_id,
            amount_minor: p.amount_minor,
            points_earned: p.points_earned,
            points_redeemed: p.points_redeemed,
            reference: p.reference.clone(),
            created_at: p.created_at,
            sold_at: p.sold_at,
            refunded_minor: p.refunded_minor,
            earn_reversed: p.earn_reversed,
            redeem_restored: p.redeem_restored,
            version: p.version,
            coupon: p.coupon.clone(),
        }
    }
}

impl From<PurchaseItem> for Purchase {
    fn from(p: PurchaseItem) -> Self {
        Purchase {
            txn_id: p.txn_id,
            customer_id: p.customer_id,
            amount_minor: p.amount_minor,
            points_earned: p.points_earned,
            points_redeemed: p.points_redeemed,
            reference: p.reference,
            created_at: p.created_at,
            sold_at: p.sold_at,
            refunded_minor: p.refunded_minor,
            earn_reversed: p.earn_reversed,
            redeem_restored: p.redeem_restored,
            version: p.version,
            coupon: p.coupon,
        }
    }
}

/// `TENANT#{t}#SALE#{txnId}` / `SALE`: a sale's ledger entry, its purchase and, with a
/// reference (the id is [`sale_id`](super::sale_id) of it), its reference, as one item.
/// It decodes as a [`LedgerEntryItem`] (history), a [`PurchaseItem`] (refunds) and, with
/// a reference, a [`SaleReferenceItem`] (a retry), and is listed in the member's
/// history (GSI1) under its entry's keys.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SaleItem {
    #[serde(flatten)]
    pub entry: LedgerEntryItem,
    pub points_redeemed: i64,
    pub refunded_minor: i64,
    pub earn_reversed: i64,
    pub redeem_restored: i64,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<crate::model::UsedCoupon>,
    /// The sale's answer, kept for a retry of its reference (read as a
    /// [`SaleReferenceItem`]).
    #[serde(
        default,
        skip_deserializing,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_json_text::serialize"
    )]
    pub outcome: Option<StoredSaleOutcome>,
}

impl StoredItem for SaleItem {
    const KIND: &'static str = "sale";
}

/// What a refund rewrites on a purchase.
#[derive(Serialize)]
pub(crate) struct PurchaseRefund {
    pub refunded_minor: i64,
    pub earn_reversed: i64,
    pub redeem_restored: i64,
    pub version: u64,
}

// ---- idempotency, one-time codes ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClaimState {
    InFlight,
    Done,
}

/// `TENANT#{t}#IDEMP#{mode}#{route}#{key}` / `IDEMP`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct IdempotencyItem {
    pub state: ClaimState,
    pub token: String,
    pub request_hash: String,
    pub lease_until_ms: i64,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    pub expires_at_ms: i64,
    pub expires_at_epoch: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl StoredItem for IdempotencyItem {
    const KIND: &'static str = "idempotency record";
}

/// What completing a claim writes.
#[derive(Serialize)]
pub(crate) struct IdempotencyDone<'a> {
    pub state: ClaimState,
    pub status_code: u16,
    pub response: &'a str,
}

/// `TENANT#{t}#OTP#{mobile}` / `OTP`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct OtpItem {
    pub code_hash: String,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    pub attempts_left: u32,
    pub used: bool,
    pub window_start_ms: i64,
    pub window_count: u32,
    pub expires_at_epoch: i64,
    /// The token of the write that issued this code: its own retry meets it as done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_token: Option<String>,
    /// The tokens of the writes that took this code's attempts (at most five), for
    /// the same reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_tokens: Vec<String>,
}

impl StoredItem for OtpItem {
    const KIND: &'static str = "one-time code";
}

/// `TENANT#{t}#SMS#{window}` / `SMS`: codes sent by the tenant in one window.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SmsCountItem {
    pub sent: u32,
    pub expires_at_epoch: i64,
}

impl StoredItem for SmsCountItem {
    const KIND: &'static str = "SMS count";
}

/// `TENANT#{t}#OTPMISS#{mobile}#{day}` / `OTPMISS`: wrong guesses on a UTC day.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct OtpMissesItem {
    pub wrong: u32,
    pub expires_at_epoch: i64,
}

impl StoredItem for OtpMissesItem {
    const KIND: &'static str = "wrong OTP guesses";
}

// ---- program, rewards, API keys ----

/// `TENANT#{t}` / `PROGRAM`: the rules as one JSON attribute.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ProgramItem {
    #[serde(with = "text")]
    pub tenant: TenantSlug,
    pub name: String,
    #[serde(with = "json_text")]
    pub rules: Program,
    #[serde(with = "text")]
    pub updated_at: DateTime<Utc>,
}

impl StoredItem for ProgramItem {
    const KIND: &'static str = "program";
}

/// `TENANT#{t}` / `PROGRAM#{effective_from}`: a later version of the rules, never
/// rewritten.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ProgramVersionItem {
    #[serde(with = "text")]
    pub tenant: TenantSlug,
    #[serde(with = "text")]
    pub effective_from: DateTime<Utc>,
    #[serde(with = "json_text")]
    pub rules: Program,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
}

impl StoredItem for ProgramVersionItem {
    const KIND: &'static str = "program version";
}

/// `TENANTS` / `TENANT#{t}`: one line per tenant, so jobs and the operator list
/// programs without a scan.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TenantIndexItem {
    #[serde(with = "text")]
    pub tenant: TenantSlug,
    pub name: String,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
}

impl StoredItem for TenantIndexItem {
    const KIND: &'static str = "tenant index";
}

impl TenantIndexItem {
    /// An instant as this item stores it.
    pub fn time(at: DateTime<Utc>) -> String {
        at.to_text()
    }
}

/// What listing a tenant again rewrites (its first listing's `created_at` is kept).
#[derive(Serialize)]
pub(crate) struct TenantIndexName<'a> {
    #[serde(with = "text")]
    pub tenant: TenantSlug,
    pub name: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RewardStatus {
    Active,
    Archived,
}

/// `TENANT#{t}` / `REWARD#{publicId}`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RewardItem {
    pub public_id: String,
    pub name: String,
    pub description: String,
    pub points_cost: i64,
    pub kind: CodeKind,
    pub value_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    pub status: RewardStatus,
}

impl StoredItem for RewardItem {
    const KIND: &'static str = "reward";
}

impl From<&Reward> for RewardItem {
    fn from(r: &Reward) -> Self {
        RewardItem {
            public_id: r.public_id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            points_cost: r.points_cost,
            kind: r.kind,
            value_minor: r.value_minor,
            discount_percent: r.discount_percent,
            status: if r.active { RewardStatus::Active } else { RewardStatus::Archived },
        }
    }
}

impl From<RewardItem> for Reward {
    fn from(r: RewardItem) -> Self {
        Reward {
            public_id: r.public_id,
            name: r.name,
            description: r.description,
            points_cost: r.points_cost,
            kind: r.kind,
            value_minor: r.value_minor,
            discount_percent: r.discount_percent,
            active: r.status == RewardStatus::Active,
        }
    }
}

/// `APIKEY#{sha256}` / `APIKEY` and `KEYID#{id}` / `KEYID` (the latter in GSI1 by
/// tenant): the same attributes under both keys.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ApiKeyItem {
    pub key_id: String,
    pub key_hash: String,
    #[serde(with = "text")]
    pub tenant: TenantSlug,
    pub mode: KeyMode,
    /// Required: every key is issued for a channel (none were issued without one).
    pub channel: Channel,
    pub scopes: Vec<Scope>,
    pub status: KeyStatus,
    pub label: String,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "opt_text", default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The day (UTC) a request last authenticated with the key, written at most once an
    /// hour per key and process, on the `KEYID` item only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_on: Option<NaiveDate>,
    #[serde(rename = "GSI1PK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub index_sk: Option<String>,
}

impl StoredItem for ApiKeyItem {
    const KIND: &'static str = "API key";
}

impl ApiKeyItem {
    /// The item under the key's hash (`indexed == false`) or under its id, listed in
    /// GSI1 by tenant.
    pub fn new(r: &KeyRecord, indexed: bool) -> Self {
        ApiKeyItem {
            key_id: r.key_id.clone(),
            key_hash: r.hash.0.clone(),
            tenant: r.tenant.clone(),
            mode: r.mode,
            channel: r.channel,
            scopes: r.scopes.clone(),
            status: r.status,
            label: r.label.clone(),
            created_at: r.created_at,
            revoked_at: None,
            last_used_on: None,
            index_pk: indexed.then(|| tenant_keys_index(&r.tenant)),
            index_sk: indexed.then(|| key_index_sk(&r.key_id)),
        }
    }
}

impl From<ApiKeyItem> for KeyRecord {
    fn from(k: ApiKeyItem) -> Self {
        KeyRecord {
            key_id: k.key_id,
            hash: KeyHash(k.key_hash),
            tenant: k.tenant,
            mode: k.mode,
            channel: k.channel,
            scopes: k.scopes,
            status: k.status,
            label: k.label,
            created_at: k.created_at,
        }
    }
}

/// What revoking a key writes.
#[derive(Serialize)]
pub(crate) struct KeyRevocation {
    pub status: KeyStatus,
    #[serde(with = "text")]
    pub revoked_at: DateTime<Utc>,
}

/// What changing a key's scopes writes.
#[derive(Serialize)]
pub(crate) struct KeyScopes<'a> {
    pub scopes: &'a [Scope],
}

/// What noting a key's use writes.
#[derive(Serialize)]
pub(crate) struct KeyLastUsed {
    pub last_used_on: NaiveDate,
}

// ---- management: the audit log and its requests ----

/// `TENANT#{t}#AUDIT` / `AUDIT#{at_ms}#{id}`: one change, written in the change's own
/// transaction and never updated.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AuditItem {
    #[serde(with = "text")]
    pub id: uuid::Uuid,
    #[serde(with = "text")]
    pub at: DateTime<Utc>,
    pub who: String,
    pub role: crate::actor::Role,
    pub action: String,
    pub target: String,
    /// JSON text of the thing before the change, where one existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// JSON text of the thing after the change, where one remains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The `Idempotency-Key` the change was submitted with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_key: Option<String>,
}

impl StoredItem for AuditItem {
    const KIND: &'static str = "audit entry";
}

/// `TENANT#{t}#ADMINREQ#{route}#{key}` / `ADMINREQ`: a management write done under an
/// `Idempotency-Key`, what it was asked (a hash) and what it answered (JSON text).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AdminRequestItem {
    pub request_hash: String,
    pub result: String,
    #[serde(with = "text")]
    pub created_at: DateTime<Utc>,
    pub expires_at_epoch: i64,
}

impl StoredItem for AdminRequestItem {
    const KIND: &'static str = "management request";
}

// ---- webhooks ----

mod webhooks;
pub(crate) use webhooks::{DeliveryItem, DeliveryOutcome, EndpointChange, EndpointItem};

#[cfg(test)]
mod tests;
