//! Every balance change is one `TransactWriteItems`: the member's profile (created, or
//! updated under its version), the ledger entries, and the items that make the change
//! happen once (the sale reference, issued codes). Nothing is ever half-written.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};

use super::codes::code_attrs;
use super::customers::profile_attrs;
use super::idempotency::{completion_item, Completion};
use super::item::{key, n, s, ts, Attrs, Item};
use super::ledger::entry_attrs;
use super::purchases::{purchase_attrs, purchase_key};
use super::{pk, EnrolError, Store, StoreError};
use crate::domain::{CustomerId, TenantSlug};
use crate::model::{Coupon, Customer, LedgerEntry, Purchase, SaleOutcome};

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
    pub reference: String,
    pub customer_id: CustomerId,
    pub amount_minor: i64,
    pub outcome: SaleOutcome,
}

pub enum PurchaseWrite {
    New(Purchase),
    /// A refund on a purchase read at `expected_version`.
    Refund {
        expected_version: u64,
        after: Purchase,
    },
}

/// Consumes a one-time code: it must still match, be unused and unexpired.
#[derive(Debug, Clone)]
pub struct OtpUse {
    pub pk: String,
    pub code_hash: String,
    pub now_ms: i64,
}

pub struct Mutation {
    pub customer: CustomerWrite,
    pub entries: Vec<LedgerEntry>,
    pub sale: Option<SaleRecord>,
    pub purchase: Option<PurchaseWrite>,
    pub otp: Option<OtpUse>,
    pub new_codes: Vec<Coupon>,
    /// The idempotency record this change completes, if the request carried a key.
    pub completion: Option<Completion>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MutationError {
    /// The member changed (or was created) since it was read: read again and retry.
    Stale,
    Taken(EnrolError),
    /// The reference is already recorded, for this sale or another.
    ReferenceTaken(Box<SaleRecord>),
    /// A code with the same text exists (generated codes collide rarely): retry with a new one.
    CodeTaken,
    /// The request's idempotency claim is no longer its own (its lease ran out and
    /// another request took it over): nothing was written.
    ClaimLost,
    /// The one-time code stopped being valid (used, expired) since it was checked.
    OtpRejected,
    /// DynamoDB reported a transaction conflict: retry after a pause.
    Conflict,
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
}

fn sale_attrs(tenant: &TenantSlug, sale: &SaleRecord) -> Result<Attrs, StoreError> {
    let outcome = serde_json::to_string(&sale.outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut attrs = key(pk::reference(tenant, &sale.reference), "REF");
    attrs.insert("reference".into(), s(&sale.reference));
    attrs.insert("customer_id".into(), s(sale.customer_id.to_string()));
    attrs.insert("amount_minor".into(), n(sale.amount_minor));
    attrs.insert("outcome".into(), s(outcome));
    attrs.insert("created_at".into(), ts(sale.outcome.created_at));
    Ok(attrs)
}

fn decode_sale(attrs: &Attrs) -> Result<SaleRecord, StoreError> {
    let item = Item(attrs);
    Ok(SaleRecord {
        reference: item.str("reference")?.to_owned(),
        customer_id: item.parsed("customer_id", CustomerId::parse)?,
        amount_minor: item.int("amount_minor")?,
        outcome: serde_json::from_str(item.str("outcome")?)
            .map_err(|e| StoreError::Corrupt(format!("sale outcome: {e}")))?,
    })
}

fn put_new(table: &str, attrs: Attrs, return_old: bool) -> Result<TransactWriteItem, StoreError> {
    let mut put =
        Put::builder().table_name(table).set_item(Some(attrs)).condition_expression("attribute_not_exists(PK)");
    if return_old {
        put = put.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    }
    let put = put.build().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Why a transaction did not commit.
pub(crate) enum TransactError {
    /// Cancelled, with one reason per item, in order.
    Cancelled(Vec<CancellationReason>),
    Store(StoreError),
}

impl Store {
    /// Sends one `TransactWriteItems`. The SDK retries a call whose answer was lost (a
    /// timeout after the commit); with one `ClientRequestToken` per call DynamoDB answers
    /// such a retry as done instead of failing its conditions, which would look like a
    /// lost race and lead to a second application.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(()),
            Err(err) => err.into_service_error(),
        };
        match err {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                cancelled,
            ) => Err(TransactError::Cancelled(cancelled.cancellation_reasons.unwrap_or_default())),
            other => Err(TransactError::Store(StoreError::Unavailable(DisplayErrorContext(&other).to_string()))),
        }
    }

    /// Writes a mutation atomically. `now` stamps the profile's `updated_at`.
    pub async fn apply(&self, tenant: &TenantSlug, m: &Mutation, now: DateTime<Utc>) -> Result<(), MutationError> {
        let mut items = Vec::new();
        let mut roles = Vec::new();
        let mut push = |item: Result<TransactWriteItem, StoreError>, role: Role| -> Result<(), MutationError> {
            items.push(item.map_err(MutationError::Store)?);
            roles.push(role);
            Ok(())
        };
        match &m.customer {
            CustomerWrite::New(c) => {
                push(put_new(&self.table, profile_attrs(tenant, c, now), false), Role::Profile)?;
                if let Some(mobile) = &c.mobile {
                    let mut lookup = key(pk::mobile(tenant, mobile), "LOOKUP");
                    lookup.insert("customer_id".into(), s(c.id.to_string()));
                    push(put_new(&self.table, lookup, false), Role::Mobile)?;
                }
                if let Some(email) = &c.email {
                    let mut lookup = key(pk::email(tenant, email), "LOOKUP");
                    lookup.insert("customer_id".into(), s(c.id.to_string()));
                    push(put_new(&self.table, lookup, false), Role::Email)?;
                }
            }
            CustomerWrite::Update { expected_version, after } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk::customer(tenant, &after.id), "PROFILE")))
                    .update_expression(
                        "SET points_balance = :balance, lifetime_points = :lifetime, version = :next, updated_at = :now",
                    )
                    .condition_expression("attribute_exists(PK) AND version = :expected")
                    .expression_attribute_values(":balance", n(after.points_balance))
                    .expression_attribute_values(":lifetime", n(after.lifetime_points))
                    .expression_attribute_values(":next", n(after.version))
                    .expression_attribute_values(":expected", n(*expected_version))
                    .expression_attribute_values(":now", ts(now))
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()));
                push(update.map(|u| TransactWriteItem::builder().update(u).build()), Role::Profile)?;
            }
        }
        let version = match &m.customer {
            CustomerWrite::New(c) => c.version,
            CustomerWrite::Update { after, .. } => after.version,
        };
        for (n, entry) in m.entries.iter().enumerate() {
            push(put_new(&self.table, entry_attrs(tenant, entry, version, n), false), Role::Entry)?;
        }
        if let Some(sale) = &m.sale {
            let attrs = sale_attrs(tenant, sale).map_err(MutationError::Store)?;
            push(put_new(&self.table, attrs, true), Role::Sale)?;
        }
        for code in &m.new_codes {
            push(put_new(&self.table, code_attrs(tenant, code), false), Role::Code)?;
        }

        match &m.purchase {
            Some(PurchaseWrite::New(p)) => {
                push(put_new(&self.table, purchase_attrs(tenant, p), false), Role::Purchase)?
            }
            Some(PurchaseWrite::Refund { expected_version, after }) => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(purchase_key(tenant, &after.txn_id)))
                    .update_expression(
                        "SET refunded_minor = :refunded, earn_reversed = :reversed, redeem_restored = :restored, version = :next",
                    )
                    .condition_expression("version = :expected AND amount_minor >= :refunded")
                    .expression_attribute_values(":refunded", n(after.refunded_minor))
                    .expression_attribute_values(":reversed", n(after.earn_reversed))
                    .expression_attribute_values(":restored", n(after.redeem_restored))
                    .expression_attribute_values(":next", n(after.version))
                    .expression_attribute_values(":expected", n(*expected_version))
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()));
                push(update.map(|u| TransactWriteItem::builder().update(u).build()), Role::Purchase)?;
            }
            None => {}
        }
        if let Some(otp) = &m.otp {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(otp.pk.clone(), "OTP")))
                .update_expression("SET #used = :yes")
                // The attempt this check took was counted before the guess was compared.
                .condition_expression("code_hash = :hash AND #used = :no AND expires_at_ms > :now")
                .expression_attribute_names("#used", "used")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":hash", s(&otp.code_hash))
                .expression_attribute_values(":now", n(otp.now_ms))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()));
            push(update.map(|u| TransactWriteItem::builder().update(u).build()), Role::Otp)?;
        }
        if let Some(completion) = &m.completion {
            push(completion_item(&self.table, completion), Role::Claim)?;
        }

        let reasons = match self.transact(items).await {
            Ok(()) => return Ok(()),
            Err(TransactError::Store(e)) => return Err(MutationError::Store(e)),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed = |wanted: fn(Role) -> bool| {
            reasons
                .iter()
                .zip(&roles)
                .find(|(r, role)| wanted(**role) && r.code() == Some("ConditionalCheckFailed"))
                .map(|(r, _)| r)
        };
        if let Some(reason) = failed(|r| matches!(r, Role::Sale)) {
            return match reason.item() {
                Some(old) => {
                    Err(MutationError::ReferenceTaken(Box::new(decode_sale(old).map_err(MutationError::Store)?)))
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
        if failed(|r| matches!(r, Role::Entry)).is_some() {
            return Err(MutationError::Conflict);
        }
        if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
            return Err(MutationError::Conflict);
        }
        Err(MutationError::Store(StoreError::Unavailable(format!("transaction cancelled: {reasons:?}"))))
    }

    /// A recorded sale by reference, if any.
    pub async fn get_sale(&self, tenant: &TenantSlug, reference: &str) -> Result<Option<SaleRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk::reference(tenant, reference), "REF")))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(decode_sale).transpose()
    }
}
