//! Coupon and voucher items: `TENANT#{t}#CODE#{code}` / `CODE`, indexed on GSI1 under
//! the owning member (`GSI1PK = TENANT#{t}#CUST#{id}`, `GSI1SK = CODE#{code}`) while
//! unused.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};

use super::idempotency::{completion_item, Completion};
use super::item::{key, n, put_opt, s, ts, Attrs, Item};
use super::mutation::TransactError;
use super::{condition_held, pk, Store, StoreError};
use crate::domain::{Code, CustomerId, TenantSlug};
use crate::model::{CodeKind, CodeStatus, Coupon};

/// Marks a code used (with `:used`, `:now`, `#status`) and takes it out of GSI1: the
/// index holds a member's unused codes only, so the customer lookup reads those and
/// not a growing history.
const USE_CODE: &str = "SET #status = :used, used_at = :now REMOVE GSI1PK, GSI1SK";
/// A code that exists, is unused and unexpired at `:now_ms` (with `:active`, `#status`).
const USABLE_CODE: &str = "attribute_exists(PK) AND #status = :active AND expires_at_ms > :now_ms";

/// Why a code could not be consumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumeError {
    NotFound,
    Used,
    Expired,
    /// The idempotency claim was taken over: nothing was written.
    ClaimLost,
    Store(StoreError),
}

pub(crate) fn code_attrs(tenant: &TenantSlug, c: &Coupon) -> Attrs {
    let mut attrs = key(pk::code(tenant, &c.code), "CODE");
    attrs.insert("coupon_id".into(), s(c.coupon_id.to_string()));
    attrs.insert("code".into(), s(c.code.as_str()));
    if let Some(owner) = &c.customer_id {
        attrs.insert("customer_id".into(), s(owner.to_string()));
        attrs.insert("GSI1PK".into(), s(pk::customer(tenant, owner)));
        attrs.insert("GSI1SK".into(), s(format!("CODE#{}", c.code)));
    }
    attrs.insert("kind".into(), s(c.kind.as_str()));
    attrs.insert("value_minor".into(), n(c.value_minor));
    put_opt(&mut attrs, "discount_percent", c.discount_percent.map(n));
    attrs.insert("source".into(), s(&c.source));
    put_opt(&mut attrs, "reward_id", c.reward_id.as_deref().map(s));
    put_opt(&mut attrs, "reward_name", c.reward_name.as_deref().map(s));
    attrs.insert("status".into(), s(c.status.as_str()));
    attrs.insert("expires_at".into(), ts(c.expires_at));
    attrs.insert("expires_at_ms".into(), n(c.expires_at.timestamp_millis()));
    attrs.insert("expiry_date".into(), s(c.expiry_date.to_string()));
    attrs.insert("created_at".into(), ts(c.created_at));
    put_opt(&mut attrs, "used_at", c.used_at.map(ts));
    attrs
}

pub(crate) fn decode_code(attrs: &Attrs) -> Result<Coupon, StoreError> {
    let item = Item(attrs);
    Ok(Coupon {
        coupon_id: item.parsed("coupon_id", uuid::Uuid::parse_str)?,
        code: item.parsed("code", Code::parse)?,
        customer_id: item.opt_parsed("customer_id", CustomerId::parse)?,
        kind: item.parsed("kind", |k| CodeKind::parse(k).ok_or(()))?,
        value_minor: item.int("value_minor")?,
        discount_percent: item.opt_int("discount_percent")?,
        source: item.str("source")?.to_owned(),
        reward_id: item.opt_str("reward_id")?.map(str::to_owned),
        reward_name: item.opt_str("reward_name")?.map(str::to_owned),
        status: match item.str("status")? {
            "active" => CodeStatus::Active,
            _ => CodeStatus::Used,
        },
        expires_at: item.time("expires_at")?,
        expiry_date: item.parsed("expiry_date", |d| d.parse::<NaiveDate>())?,
        created_at: item.time("created_at")?,
        used_at: item.opt_time("used_at")?,
    })
}

impl Store {
    /// Writes a new code; `false` if the code already exists for this tenant.
    pub async fn put_code(&self, tenant: &TenantSlug, coupon: &Coupon) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(code_attrs(tenant, coupon)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        condition_held(result)
    }

    pub async fn get_code(&self, tenant: &TenantSlug, code: &Code) -> Result<Option<Coupon>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk::code(tenant, code), "CODE")))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item().map(decode_code).transpose()
    }

    /// Marks a code used and completes an idempotency claim in one transaction.
    /// `used` is the code as it will read once used (the transaction returns no item).
    pub async fn consume_code_completing(
        &self,
        tenant: &TenantSlug,
        used: &Coupon,
        completion: &Completion,
    ) -> Result<(), ConsumeError> {
        let now = used.used_at.unwrap_or_else(Utc::now);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk::code(tenant, &used.code), "CODE")))
            .update_expression(USE_CODE)
            .condition_expression(USABLE_CODE)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":used", s("used"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":now", ts(now))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| ConsumeError::Store(StoreError::Corrupt(e.to_string())))?;
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            completion_item(&self.table, completion).map_err(ConsumeError::Store)?,
        ];
        let reasons = match self.transact(items).await {
            Ok(()) => return Ok(()),
            Err(TransactError::Store(e)) => return Err(ConsumeError::Store(e)),
            Err(TransactError::Cancelled(reasons)) => reasons,
        };
        let failed = |i: usize| reasons.get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed");
        if failed(0) {
            return match reasons.first().and_then(|r| r.item()) {
                None => Err(ConsumeError::NotFound),
                Some(old) => match decode_code(old).map_err(ConsumeError::Store)?.status {
                    CodeStatus::Used => Err(ConsumeError::Used),
                    CodeStatus::Active => Err(ConsumeError::Expired),
                },
            };
        }
        if failed(1) {
            return Err(ConsumeError::ClaimLost);
        }
        Err(ConsumeError::Store(StoreError::Unavailable(format!("transaction cancelled: {reasons:?}"))))
    }

    /// Marks an active, unexpired code used: one conditional write, so of two cashiers
    /// racing for one code exactly one succeeds. On failure the old item (returned by
    /// the failed condition) says why, with no second read.
    pub async fn consume_code(
        &self,
        tenant: &TenantSlug,
        code: &Code,
        now: DateTime<Utc>,
    ) -> Result<Coupon, ConsumeError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk::code(tenant, code), "CODE")))
            .update_expression(USE_CODE)
            .condition_expression(USABLE_CODE)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":used", s("used"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":now", ts(now))
            .expression_attribute_values(":now_ms", n(now.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes() {
                Some(attrs) => decode_code(attrs).map_err(ConsumeError::Store),
                None => Err(ConsumeError::Store(StoreError::Corrupt("update returned no item".into()))),
            },
            Err(err) => {
                let service = err.into_service_error();
                match &service {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                        failed,
                    ) => match failed.item() {
                        None => Err(ConsumeError::NotFound),
                        Some(old) => {
                            let old = decode_code(old).map_err(ConsumeError::Store)?;
                            if old.status == CodeStatus::Used {
                                Err(ConsumeError::Used)
                            } else {
                                Err(ConsumeError::Expired)
                            }
                        }
                    },
                    _ => Err(ConsumeError::Store(StoreError::Unavailable(DisplayErrorContext(&service).to_string()))),
                }
            }
        }
    }
}
