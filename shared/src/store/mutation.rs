//! Every balance change is one `TransactWriteItems`: the member's profile (created, or
//! updated under its version), the ledger entries, and the items that make the change
//! happen once (the sale reference, issued codes). Nothing is ever half-written. A
//! sale's entry, purchase and reference are one item, the sale item.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::audit::{admin_items, AdminRecord, DoneRequest};
use super::client::{Store, StoreError};
use super::item_key::{members_index, tier_review_index, ItemKey, LedgerCursor, GSI3PK, GSI3SK};
use super::items::{
    attr, decode, encode, expiry_index_keys, value, AdminRequestItem, CodeItem, Expr, LedgerEntryItem, LookupItem,
    ProfileBalance, ProfileItem, PurchaseRefund, RedemptionReferenceItem, RefundReferenceItem, SaleItem,
    SaleReferenceItem, StoredSaleOutcome, TierReviewItem,
};
use super::transact::{completion_item, condition_failed, put_new, update, Completion, TransactError};
use crate::domain::{CustomerId, Mobile, Reference, TenantSlug};
use crate::model::{Coupon, Customer, EntryKind, LedgerEntry, Purchase, RedemptionOutcome, RefundOutcome, SaleOutcome};

/// Why an enrolment could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrolError {
    MobileTaken,
    EmailTaken,
}

pub enum CustomerWrite {
    /// Enrol: profile and lookups must not exist yet.
    New(Customer),
    /// Balance change on a member read at `expected_version`.
    Update { expected_version: u64, after: Customer },
}

/// A sale's reference (`external_ref` / `reference`), what identifies the sale, and the
/// outcome to answer a retry with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRecord {
    pub reference: Reference,
    pub customer_id: CustomerId,
    pub amount_minor: i64,
    pub outcome: SaleOutcome,
}

/// A refund's own reference (`refund_ref` / `refundReference`), what identifies the
/// refund (the sale and the amount), and the outcome to answer a retry with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub refund_ref: Reference,
    pub sale: uuid::Uuid,
    pub amount_minor: i64,
    pub outcome: RefundOutcome,
}

/// A reward redemption's `reference`, what identifies it (the member and the reward),
/// and the outcome to answer a retry with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRecord {
    pub reference: Reference,
    pub customer_id: CustomerId,
    pub reward_id: String,
    pub outcome: RedemptionOutcome,
}

/// The reference that makes a refund or a reward redemption happen once: recorded in
/// the change's own transaction, so two racing requests with one reference apply once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeReference {
    Refund(RefundRecord),
    Redemption(RedemptionRecord),
}

pub enum PurchaseWrite {
    New(Purchase),
    /// A refund on a purchase read at `expected_version`.
    Refund {
        expected_version: u64,
        after: Purchase,
    },
}

/// Consumes the one-time code of `mobile` (in the mutation's tenant): it must still
/// match, be unused and unexpired.
#[derive(Debug, Clone)]
pub struct OtpUse {
    pub mobile: Mobile,
    pub code_hash: String,
    /// The code's issue time, as read: the attempt is taken on that code only.
    pub issued_at_ms: i64,
    pub now_ms: i64,
}

/// Uses a coupon in a bill's transaction: it must exist, be active and unexpired at
/// `now`. `key_id` is the API key using it (only it may reinstate it).
#[derive(Debug, Clone)]
pub struct CouponUse {
    pub code: crate::domain::Code,
    pub now: DateTime<Utc>,
    pub token: String,
    pub key_id: String,
}

pub struct Mutation {
    pub customer: CustomerWrite,
    /// A coupon the change consumes (a bill's `coupon_code`).
    pub coupon: Option<CouponUse>,
    pub entries: Vec<LedgerEntry>,
    pub sale: Option<SaleRecord>,
    pub purchase: Option<PurchaseWrite>,
    pub otp: Option<OtpUse>,
    pub new_codes: Vec<Coupon>,
    /// The idempotency record this change completes, if the request carried a key.
    pub completion: Option<Completion>,
    /// The refund's or redemption's own reference, if the request named one.
    pub outcome_ref: Option<OutcomeReference>,
    /// A management change's audit entry and request item, if it is one.
    pub admin: Option<AdminRecord>,
    /// The tier the member holds after the change, which lists them in the members
    /// index (set by the write loop from the program in force; `None` leaves the
    /// index entry as it is).
    pub members_tier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MutationError {
    /// The member changed (or was created) since it was read: read again and retry.
    Stale,
    Taken(EnrolError),
    /// The reference is already recorded, for this sale or another.
    ReferenceTaken(Box<SaleRecord>),
    /// The refund's or redemption's reference is already recorded, for this one or
    /// another.
    OutcomeReferenceTaken(Box<OutcomeReference>),
    /// A code with the same text exists (generated codes collide rarely): retry with a new one.
    CodeTaken,
    /// The request's idempotency claim is no longer its own (its lease ran out and
    /// another request took it over): nothing was written.
    ClaimLost,
    /// The one-time code stopped being valid (used, expired) since it was checked.
    OtpRejected,
    /// The coupon could not be used: why (not found, used, expired).
    CouponRefused(super::ConsumeError),
    /// DynamoDB reported a transaction conflict: retry after a pause.
    Conflict,
    /// The management request's `Idempotency-Key` was used already: nothing was
    /// written.
    AdminDone(DoneRequest),
    Store(StoreError),
}

#[derive(Clone, Copy)]
enum Role {
    Profile,
    Mobile,
    Email,
    Entry,
    Sale,
    Code,
    Claim,
    Purchase,
    Otp,
    Coupon,
    OutcomeRef,
    Audit,
    AdminRequest,
    Review,
}

impl From<SaleReferenceItem> for SaleRecord {
    fn from(item: SaleReferenceItem) -> Self {
        SaleRecord {
            reference: item.reference.clone(),
            customer_id: item.customer_id,
            amount_minor: item.amount_minor,
            outcome: SaleOutcome::from(item),
        }
    }
}

impl From<&RefundRecord> for RefundReferenceItem {
    fn from(r: &RefundRecord) -> Self {
        RefundReferenceItem {
            refund_ref: r.refund_ref.clone(),
            sale: r.sale,
            amount_minor: r.amount_minor,
            outcome: r.outcome.clone(),
            created_at: r.outcome.created_at,
        }
    }
}

impl From<RefundReferenceItem> for RefundRecord {
    fn from(item: RefundReferenceItem) -> Self {
        RefundRecord {
            refund_ref: item.refund_ref,
            sale: item.sale,
            amount_minor: item.amount_minor,
            outcome: item.outcome,
        }
    }
}

impl From<&RedemptionRecord> for RedemptionReferenceItem {
    fn from(r: &RedemptionRecord) -> Self {
        RedemptionReferenceItem {
            reference: r.reference.clone(),
            customer_id: r.customer_id,
            reward_id: r.reward_id.clone(),
            outcome: r.outcome.clone(),
            created_at: r.outcome.created_at,
        }
    }
}

impl From<RedemptionReferenceItem> for RedemptionRecord {
    fn from(item: RedemptionReferenceItem) -> Self {
        RedemptionRecord {
            reference: item.reference,
            customer_id: item.customer_id,
            reward_id: item.reward_id,
            outcome: item.outcome,
        }
    }
}

/// The put of an outcome reference (that must be new, returning the one there if not).
fn outcome_ref_put(table: &str, tenant: &TenantSlug, r: &OutcomeReference) -> Result<TransactWriteItem, StoreError> {
    let attrs = match r {
        OutcomeReference::Refund(r) => {
            encode(&ItemKey::refund_reference(tenant, &r.refund_ref), &RefundReferenceItem::from(r))
        }
        OutcomeReference::Redemption(r) => {
            encode(&ItemKey::redemption_reference(tenant, &r.reference), &RedemptionReferenceItem::from(r))
        }
    }?;
    put_new(table, attrs, true)
}

impl Store {
    /// Writes a mutation atomically. `now` stamps the profile's `updated_at`.
    pub async fn apply(&self, tenant: &TenantSlug, m: &Mutation, now: DateTime<Utc>) -> Result<(), MutationError> {
        let mut items = Vec::new();
        let mut roles = Vec::new();
        let mut push = |item: Result<TransactWriteItem, StoreError>, role: Role| -> Result<(), MutationError> {
            items.push(item.map_err(MutationError::Store)?);
            roles.push(role);
            Ok(())
        };
        let table = self.table.as_str();
        match &m.customer {
            CustomerWrite::New(c) => {
                push(
                    encode(
                        &ItemKey::profile(tenant, &c.id),
                        &ProfileItem::new(tenant, c, now).in_tier(tenant, m.members_tier.as_deref()),
                    )
                    .and_then(|a| put_new(table, a, false)),
                    Role::Profile,
                )?;
                let lookup = LookupItem { customer_id: c.id };
                if let Some(mobile) = &c.mobile {
                    push(
                        encode(&ItemKey::mobile_lookup(tenant, mobile), &lookup).and_then(|a| put_new(table, a, false)),
                        Role::Mobile,
                    )?;
                }
                if let Some(email) = &c.email {
                    push(
                        encode(&ItemKey::email_lookup(tenant, email), &lookup).and_then(|a| put_new(table, a, false)),
                        Role::Email,
                    )?;
                }
            }
            CustomerWrite::Update { expected_version, after } => {
                push(
                    balance_update(table, tenant, *expected_version, after, m.members_tier.as_deref(), now),
                    Role::Profile,
                )?;
            }
        }
        let (version, member) = match &m.customer {
            CustomerWrite::New(c) => (c.version, c),
            CustomerWrite::Update { after, .. } => (after.version, after),
        };
        if let Some(item) = tier_review_write(table, tenant, member) {
            push(item, Role::Review)?;
        }
        // A new purchase's entry is its sale's (same transaction id, an earning): both
        // are written as one sale item, below; every other entry is a ledger item. All
        // are listed in the member's history (GSI1) under `TXN#{version}#{place}`.
        let sale_entry = match &m.purchase {
            Some(PurchaseWrite::New(p)) => {
                let place = m.entries.iter().position(|e| e.kind == EntryKind::Earn && e.txn_id == p.txn_id);
                let Some(place) = place else {
                    return Err(MutationError::Store(StoreError::Corrupt(
                        "a purchase without its sale's entry".into(),
                    )));
                };
                Some(place)
            }
            _ => None,
        };
        for (place, entry) in m.entries.iter().enumerate() {
            if Some(place) == sale_entry {
                continue;
            }
            let at = LedgerCursor { version, place };
            let key = ItemKey::ledger_entry(tenant, &entry.customer_id, at);
            let item = LedgerEntryItem::from(entry).in_history(tenant, at);
            push(encode(&key, &item).and_then(|a| put_new(table, a, false)), Role::Entry)?;
        }
        // A sale's reference is its purchase item (the id derives from the reference), so
        // one put records both and its `attribute_not_exists` makes the reference pay once.
        let merged = match (&m.sale, &m.purchase) {
            (Some(sale), Some(PurchaseWrite::New(p))) if p.txn_id == super::sale_id(tenant, &sale.reference) => {
                Some(sale)
            }
            (None, _) => None,
            (Some(_), _) => {
                return Err(MutationError::Store(StoreError::Corrupt(
                    "a sale's reference without its purchase under the id it derives".into(),
                )))
            }
        };
        for code in &m.new_codes {
            let key = ItemKey::code(tenant, &code.code);
            push(encode(&key, &CodeItem::new(tenant, code)).and_then(|a| put_new(table, a, false)), Role::Code)?;
        }
        match &m.purchase {
            Some(PurchaseWrite::New(p)) => {
                let key = ItemKey::purchase(tenant, &p.txn_id);
                let place = sale_entry.unwrap_or_default();
                let Some(entry) = m.entries.get(place) else {
                    return Err(MutationError::Store(StoreError::Corrupt(
                        "a purchase without its sale's entry".into(),
                    )));
                };
                if entry.amount_minor != Some(p.amount_minor)
                    || entry.reference != p.reference
                    || entry.points != p.points_earned
                    || entry.customer_id != p.customer_id
                {
                    return Err(MutationError::Store(StoreError::Corrupt(
                        "a sale's entry and purchase disagree".into(),
                    )));
                }
                let item = SaleItem {
                    entry: LedgerEntryItem::from(entry).in_history(tenant, LedgerCursor { version, place }),
                    points_redeemed: p.points_redeemed,
                    refunded_minor: p.refunded_minor,
                    earn_reversed: p.earn_reversed,
                    redeem_restored: p.redeem_restored,
                    version: p.version,
                    coupon: p.coupon.clone(),
                    outcome: merged.map(|sale| StoredSaleOutcome::from(&sale.outcome)),
                };
                let role = if merged.is_some() { Role::Sale } else { Role::Purchase };
                push(encode(&key, &item).and_then(|a| put_new(table, a, merged.is_some())), role)?
            }
            Some(PurchaseWrite::Refund { expected_version, after }) => {
                push(refund_update(table, tenant, *expected_version, after), Role::Purchase)?;
            }
            None => {}
        }
        if let Some(otp) = &m.otp {
            push(otp_use(table, tenant, otp), Role::Otp)?;
        }
        if let Some(coupon) = &m.coupon {
            let item =
                super::codes::use_code(coupon.now, &coupon.token, &coupon.key_id).and_then(|(set, condition, e)| {
                    update(table, &ItemKey::code(tenant, &coupon.code), set, condition, e, true)
                });
            push(item, Role::Coupon)?;
        }
        if let Some(completion) = &m.completion {
            push(completion_item(table, completion), Role::Claim)?;
        }
        if let Some(outcome_ref) = &m.outcome_ref {
            push(outcome_ref_put(table, tenant, outcome_ref), Role::OutcomeRef)?;
        }
        if let Some(admin) = &m.admin {
            let n = admin_items(table, tenant, admin).map_err(MutationError::Store)?;
            for (i, item) in n.into_iter().enumerate() {
                push(Ok(item), if i == 0 { Role::Audit } else { Role::AdminRequest })?;
            }
        }

        let reasons = match self.transact(items).await {
            Ok(()) => return Ok(()),
            Err(TransactError::Store(e)) => return Err(MutationError::Store(e)),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed = |wanted: fn(Role) -> bool| {
            reasons.iter().zip(&roles).find(|(r, role)| wanted(**role) && condition_failed(r)).map(|(r, _)| r)
        };
        if let Some(reason) = failed(|r| matches!(r, Role::Sale)) {
            return match reason.item() {
                Some(old) => Err(MutationError::ReferenceTaken(Box::new(
                    decode::<SaleReferenceItem>(old).map_err(MutationError::Store)?.into(),
                ))),
                None => Err(MutationError::Conflict),
            };
        }
        if let Some(reason) = failed(|r| matches!(r, Role::OutcomeRef)) {
            let (Some(old), Some(wanted)) = (reason.item(), &m.outcome_ref) else {
                return Err(MutationError::Conflict);
            };
            let recorded = match wanted {
                OutcomeReference::Refund(_) => {
                    OutcomeReference::Refund(decode::<RefundReferenceItem>(old).map_err(MutationError::Store)?.into())
                }
                OutcomeReference::Redemption(_) => OutcomeReference::Redemption(
                    decode::<RedemptionReferenceItem>(old).map_err(MutationError::Store)?.into(),
                ),
            };
            return Err(MutationError::OutcomeReferenceTaken(Box::new(recorded)));
        }
        if let Some(reason) = failed(|r| matches!(r, Role::AdminRequest)) {
            return match reason.item() {
                Some(old) => {
                    let old = decode::<AdminRequestItem>(old).map_err(MutationError::Store)?;
                    Err(MutationError::AdminDone(DoneRequest { request_hash: old.request_hash, result: old.result }))
                }
                None => Err(MutationError::Conflict),
            };
        }
        if failed(|r| matches!(r, Role::Claim)).is_some() {
            return Err(MutationError::ClaimLost);
        }
        if failed(|r| matches!(r, Role::Otp)).is_some() {
            return Err(MutationError::OtpRejected);
        }
        if let Some(reason) = failed(|r| matches!(r, Role::Coupon)) {
            return Err(MutationError::CouponRefused(super::codes::refused(reason.item())));
        }
        if failed(|r| matches!(r, Role::Profile | Role::Purchase)).is_some() {
            return Err(MutationError::Stale);
        }
        if failed(|r| matches!(r, Role::Mobile)).is_some() {
            return Err(MutationError::Taken(EnrolError::MobileTaken));
        }
        if failed(|r| matches!(r, Role::Email)).is_some() {
            return Err(MutationError::Taken(EnrolError::EmailTaken));
        }
        if failed(|r| matches!(r, Role::Code)).is_some() {
            return Err(MutationError::CodeTaken);
        }
        if failed(|r| matches!(r, Role::Entry | Role::Audit)).is_some() {
            return Err(MutationError::Conflict);
        }
        if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
            return Err(MutationError::Conflict);
        }
        Err(MutationError::Store(StoreError::Unavailable(format!("transaction cancelled: {reasons:?}"))))
    }

    /// A recorded sale by reference, if any: its purchase item, under the id the
    /// reference derives.
    pub async fn get_sale(&self, tenant: &TenantSlug, reference: &Reference) -> Result<Option<SaleRecord>, StoreError> {
        let key = ItemKey::purchase(tenant, &super::sale_id(tenant, reference));
        let item = self.get_consistent(&key).await?;
        item.map(|attrs| decode::<SaleReferenceItem>(&attrs).map(SaleRecord::from)).transpose()
    }
}

impl Store {
    /// A recorded refund by its own reference, if any.
    pub async fn get_refund_reference(
        &self,
        tenant: &TenantSlug,
        refund_ref: &Reference,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let key = ItemKey::refund_reference(tenant, refund_ref);
        let item = self.get_consistent(&key).await?;
        item.map(|attrs| decode::<RefundReferenceItem>(&attrs).map(RefundRecord::from)).transpose()
    }

    /// A recorded reward redemption by its reference, if any.
    pub async fn get_redemption_reference(
        &self,
        tenant: &TenantSlug,
        reference: &Reference,
    ) -> Result<Option<RedemptionRecord>, StoreError> {
        let key = ItemKey::redemption_reference(tenant, reference);
        let item = self.get_consistent(&key).await?;
        item.map(|attrs| decode::<RedemptionReferenceItem>(&attrs).map(RedemptionRecord::from)).transpose()
    }

    async fn get_consistent(&self, key: &ItemKey) -> Result<Option<super::item_key::Attrs>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
    }
}

/// A balance change on a profile still at `expected_version`.
fn balance_update(
    table: &str,
    tenant: &TenantSlug,
    expected_version: u64,
    after: &Customer,
    members_tier: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, StoreError> {
    let mut e = Expr::default();
    let (members_pk, members_sk) = members_tier.map(|tier| members_index(tenant, &after.id, tier)).unzip();
    let buckets = (!after.points_expiry.is_empty()).then_some(&after.points_expiry);
    let index = expiry_index_keys(tenant, after);
    let indexed = index.is_some();
    let (index_pk, index_sk) = index.unzip();
    let mut set = e.set(&ProfileBalance {
        points_balance: after.points_balance,
        lifetime_points: after.lifetime_points,
        version: after.version,
        updated_at: now,
        points_expiry: buckets,
        tier: after.tier.as_ref(),
        index_pk,
        index_sk,
        members_pk,
        members_sk,
    })?;
    // What is absent goes: the buckets when there are none, the member's expiry index
    // entry when nothing will expire (a balance spent, a rule switched off). The expiry
    // index is keys only: a change that keeps the due month writes nothing to it.
    let mut remove = Vec::new();
    if buckets.is_none() {
        remove.push(e.name(attr::POINTS_EXPIRY));
    }
    if after.tier.is_none() {
        remove.push(e.name(attr::TIER));
    }
    if !indexed {
        remove.push(e.name(GSI3PK));
        remove.push(e.name(GSI3SK));
    }
    if !remove.is_empty() {
        set = format!("{set} REMOVE {}", remove.join(", "));
    }
    let condition =
        format!("attribute_exists(PK) AND {} = {}", e.name(attr::VERSION), e.value(value(expected_version)?));
    update(table, &ItemKey::profile(tenant, &after.id), set, condition, e, false)
}

/// The member's review item when its review month changed: put under the new month, or
/// deleted when there is no review any more. Unconditional: the profile's version
/// condition orders every write of one member.
fn tier_review_write(table: &str, tenant: &TenantSlug, c: &Customer) -> Option<Result<TransactWriteItem, StoreError>> {
    let review = c.tier.as_ref().and_then(|t| t.review);
    if review == c.tier_review_read {
        return None;
    }
    let key = ItemKey::tier_review(tenant, &c.id);
    let item = match review {
        Some(due) => {
            let (index_pk, index_sk) = tier_review_index(tenant, &c.id, due);
            encode(&key, &TierReviewItem { customer_id: c.id, index_pk, index_sk }).and_then(|attrs| {
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(attrs))
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
        }
        None => Delete::builder()
            .table_name(table)
            .set_key(Some(key.attrs()))
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
            .map(|d| TransactWriteItem::builder().delete(d).build()),
    };
    Some(item)
}

/// A refund on a purchase still at `expected_version` that leaves no more refunded than
/// was paid.
fn refund_update(
    table: &str,
    tenant: &TenantSlug,
    expected_version: u64,
    after: &Purchase,
) -> Result<TransactWriteItem, StoreError> {
    let mut e = Expr::default();
    let set = e.set(&PurchaseRefund {
        refunded_minor: after.refunded_minor,
        earn_reversed: after.earn_reversed,
        redeem_restored: after.redeem_restored,
        version: after.version,
    })?;
    let condition = format!(
        "{} = {} AND {} >= {}",
        e.name(attr::VERSION),
        e.value(value(expected_version)?),
        e.name(attr::AMOUNT_MINOR),
        e.value(value(after.refunded_minor)?)
    );
    update(table, &ItemKey::purchase(tenant, &after.txn_id), set, condition, e, false)
}

/// Uses a one-time code and takes the right guess's attempt: the transaction commits
/// only while an attempt is left, so a right guess among parallel wrong ones is one of
/// the code's five tries like any other.
fn otp_use(table: &str, tenant: &TenantSlug, otp: &OtpUse) -> Result<TransactWriteItem, StoreError> {
    let mut e = Expr::default();
    let used = e.name(attr::USED);
    let attempts = e.name(attr::ATTEMPTS_LEFT);
    let set = format!("SET {used} = {}, {attempts} = {attempts} - {}", e.value(value(true)?), e.value(value(1)?));
    let condition = format!(
        "{} = {} AND {used} = {} AND {} > {} AND {} = {} AND {attempts} > {}",
        e.name(attr::CODE_HASH),
        e.value(value(&otp.code_hash)?),
        e.value(value(false)?),
        e.name(attr::EXPIRES_AT_MS),
        e.value(value(otp.now_ms)?),
        e.name(attr::ISSUED_AT_MS),
        e.value(value(otp.issued_at_ms)?),
        e.value(value(0)?)
    );
    update(table, &ItemKey::otp(tenant, &otp.mobile), set, condition, e, false)
}
