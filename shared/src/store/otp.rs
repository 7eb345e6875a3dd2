//! One-time codes for a member at the till: `TENANT#{t}#OTP#{mobile}` / `OTP`. Only a
//! hash of the code is stored, with its expiry, the attempts left, whether it was used,
//! and the sending window that limits how many codes one mobile gets.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{key, n, s, Item};
use super::{condition_held, Store, StoreError, TTL_ATTRIBUTE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRecord {
    pub code_hash: String,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    pub attempts_left: u32,
    pub used: bool,
    /// Start of the current sending window, and how many codes were sent in it.
    pub window_start_ms: i64,
    pub window_count: u32,
}

impl Store {
    pub async fn get_otp(&self, pk: &str) -> Result<Option<OtpRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.to_owned(), "OTP")))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(attrs) = out.item() else { return Ok(None) };
        let item = Item(attrs);
        Ok(Some(OtpRecord {
            code_hash: item.str("code_hash")?.to_owned(),
            issued_at_ms: item.int("issued_at_ms")?,
            expires_at_ms: item.int("expires_at_ms")?,
            attempts_left: item.int("attempts_left")?,
            used: matches!(attrs.get("used"), Some(AttributeValue::Bool(true))),
            window_start_ms: item.int("window_start_ms")?,
            window_count: item.int("window_count")?,
        }))
    }

    /// Writes a new code over the previous one, if the previous one is still the one
    /// read (`previous_issued_at_ms`); `false` if another code was issued meanwhile.
    pub async fn put_otp(
        &self,
        pk: &str,
        r: &OtpRecord,
        previous_issued_at_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut item = key(pk.to_owned(), "OTP");
        item.insert("code_hash".into(), s(&r.code_hash));
        item.insert("issued_at_ms".into(), n(r.issued_at_ms));
        item.insert("expires_at_ms".into(), n(r.expires_at_ms));
        item.insert("attempts_left".into(), n(r.attempts_left));
        item.insert("used".into(), AttributeValue::Bool(r.used));
        item.insert("window_start_ms".into(), n(r.window_start_ms));
        item.insert("window_count".into(), n(r.window_count));
        // Kept a day after its window for the rate limit, then removed by TTL.
        item.insert(TTL_ATTRIBUTE.into(), n(r.window_start_ms / 1000 + 86_400));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let put = match previous_issued_at_ms {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(prev) => {
                put.condition_expression("issued_at_ms = :prev").expression_attribute_values(":prev", n(prev))
            }
        };
        condition_held(put.send().await)
    }

    /// Takes one attempt at the code issued at `issued_at_ms`, before the guess is
    /// compared: `false` if none is left. Taking it first is what holds the limit
    /// against guesses sent in parallel.
    pub async fn take_otp_attempt(&self, pk: &str, issued_at_ms: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.to_owned(), "OTP")))
            .update_expression("SET attempts_left = attempts_left - :one")
            .condition_expression("attempts_left > :zero AND issued_at_ms = :issued")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":issued", n(issued_at_ms))
            .send()
            .await;
        condition_held(result)
    }
}
