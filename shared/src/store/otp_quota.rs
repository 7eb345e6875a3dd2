//! What one-time codes may cost a tenant: its SMS count per UTC hour and per UTC day
//! (`TENANT#{t}#SMS#{window}` / `SMS`), and each mobile's wrong guesses per UTC day
//! across codes (`TENANT#{t}#OTPMISS#{mobile}#{day}` / `OTPMISS`). One small counter item
//! each, removed by TTL a day after its window. SMS is rare (a few per minute for a
//! busy tenant), so one counter per tenant per window is no hot partition.

use chrono::NaiveDate;

use super::client::{condition_held, Store, StoreError};
use super::item_key::{ItemKey, SmsWindow};
use super::items::{attr, decode, value, Expr, OtpMissesItem, SmsCountItem};
use crate::domain::{Mobile, TenantSlug};

impl Store {
    /// Counts one SMS in `window` unless `limit` were already sent there: `false` then.
    /// `expires_at_epoch` is when the counter may go.
    pub async fn take_sms_quota(
        &self,
        tenant: &TenantSlug,
        window: &SmsWindow,
        limit: u32,
        expires_at_epoch: i64,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::default();
        let sent = e.name(attr::SENT);
        let update = format!(
            "ADD {sent} {} SET {} = {}",
            e.value(value(1)?),
            e.name(attr::EXPIRES_AT_EPOCH),
            e.value(value(expires_at_epoch)?)
        );
        let condition = format!("attribute_not_exists({sent}) OR {sent} < {}", e.value(value(limit)?));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::sms_count(tenant, window).attrs()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await;
        condition_held(result)
    }

    /// SMS counted in `window` so far.
    pub async fn sms_sent(&self, tenant: &TenantSlug, window: &SmsWindow) -> Result<u32, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::sms_count(tenant, window).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item().map(decode::<SmsCountItem>).transpose()?.map_or(0, |i| i.sent))
    }

    /// Wrong guesses for `mobile` on `day` so far.
    pub async fn otp_misses(&self, tenant: &TenantSlug, mobile: &Mobile, day: NaiveDate) -> Result<u32, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::otp_misses(tenant, mobile, day).attrs()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item().map(decode::<OtpMissesItem>).transpose()?.map_or(0, |i| i.wrong))
    }

    /// Counts one wrong guess for `mobile` on `day`.
    pub async fn count_otp_miss(
        &self,
        tenant: &TenantSlug,
        mobile: &Mobile,
        day: NaiveDate,
        expires_at_epoch: i64,
    ) -> Result<(), StoreError> {
        let mut e = Expr::default();
        let update = format!(
            "ADD {} {} SET {} = {}",
            e.name(attr::WRONG),
            e.value(value(1)?),
            e.name(attr::EXPIRES_AT_EPOCH),
            e.value(value(expires_at_epoch)?)
        );
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(ItemKey::otp_misses(tenant, mobile, day).attrs()))
            .update_expression(update)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
