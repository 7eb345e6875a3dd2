//! The records the engine keeps: members, codes (coupons and vouchers are one model),
//! ledger entries, rewards and the dialect-neutral outcome of a sale.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Code, CustomerId, Email, Mobile};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub mobile: Option<Mobile>,
    pub email: Option<Email>,
    pub points_balance: i64,
    /// Points ever earned; spending never lowers it. Decides the tier.
    pub lifetime_points: i64,
    pub segment: String,
    /// Bumped by every balance change: the optimistic lock that keeps `balance_after`
    /// in the ledger exact.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    /// The balance by the month it was earned, when the program's points expire; empty
    /// otherwise (and when the balance is not positive).
    pub points_expiry: crate::expiry::Buckets,
    /// The months points are kept under the rule the buckets were last settled with
    /// (`ExpiryClock::settle` sets it; `None`: they never expire). Not stored as such:
    /// with the oldest bucket it places the member in the expiry index when written.
    pub points_expiry_months: Option<u32>,
    /// The tier held and the window's earnings, in a program whose tiers are reviewed
    /// on a period; `None` in a lifetime program (see [`crate::tiers`]).
    pub tier: Option<crate::tiers::TierState>,
    /// The review month as it was read (not stored as such): a write moves the member's
    /// review item only when its `tier.review` differs.
    pub tier_review_read: Option<crate::expiry::Month>,
}

impl Customer {
    pub fn new(id: CustomerId, name: String, mobile: Option<Mobile>, email: Option<Email>, now: DateTime<Utc>) -> Self {
        Customer {
            id,
            name,
            mobile,
            email,
            points_balance: 0,
            lifetime_points: 0,
            segment: "regular".into(),
            version: 0,
            created_at: now,
            points_expiry: crate::expiry::Buckets::default(),
            points_expiry_months: None,
            tier: None,
            tier_review_read: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum CodeKind {
    /// A fixed amount off (`value`).
    Fixed,
    /// A percentage off (`discount_percent`).
    Percent,
    /// A service or item (`reward_type: "service"`).
    Service,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum CodeStatus {
    Active,
    Used,
}

impl CodeStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A coupon (issued by a campaign) or a voucher (issued for a reward): one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub coupon_id: uuid::Uuid,
    pub code: Code,
    pub customer_id: Option<CustomerId>,
    pub kind: CodeKind,
    /// Amount off for a fixed coupon, in minor units; 0 for percent and service codes.
    pub value_minor: i64,
    pub discount_percent: Option<u32>,
    /// `campaign`, `reward`, ...
    pub source: String,
    pub reward_id: Option<String>,
    pub reward_name: Option<String>,
    pub status: CodeStatus,
    /// The instant the code stops being valid.
    pub expires_at: DateTime<Utc>,
    /// The last day it is valid, in the program's time zone.
    pub expiry_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl Coupon {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.status == CodeStatus::Active && !self.is_expired(now)
    }
}

/// The end of `date` in a zone `utc_offset_minutes` from UTC: the first instant of the
/// next local day.
pub fn end_of_local_day(date: NaiveDate, utc_offset_minutes: i32) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    let local_midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    let utc = local_midnight - chrono::Duration::minutes(utc_offset_minutes as i64);
    DateTime::from_naive_utc_and_offset(utc, Utc)
}

/// The local calendar date of an instant in the program's zone.
pub fn local_date(at: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    (at.naive_utc() + chrono::Duration::minutes(utc_offset_minutes as i64)).date()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum EntryKind {
    Earn,
    Redeem,
    Coupon,
    Refund,
    Adjustment,
    /// Points whose months passed, taken away before a change.
    Expire,
    /// A change of tier (0 points), `"Gold -> Silver"` in its description.
    Tier,
    /// An opening balance brought from another system by an import (balance only: not
    /// toward lifetime points or tiers).
    Opening,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// One line of a member's points ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub txn_id: uuid::Uuid,
    pub customer_id: CustomerId,
    pub kind: EntryKind,
    /// Signed: earnings positive, spending negative.
    pub points: i64,
    /// Lifetime points this entry adds (earnings only).
    pub lifetime_points: i64,
    pub amount_minor: Option<i64>,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub balance_after: i64,
    /// When it was written: history's order.
    pub created_at: DateTime<Utc>,
    /// A late bill's sale time, when the request gave one.
    pub sold_at: Option<DateTime<Utc>>,
}

/// A member as the outcome of a sale saw them, kept with the outcome so a replay answers
/// exactly what the first call answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSnapshot {
    pub customer_id: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub points_balance: i64,
    pub lifetime_points: i64,
    pub segment: String,
}

impl From<&Customer> for CustomerSnapshot {
    fn from(c: &Customer) -> Self {
        CustomerSnapshot {
            customer_id: c.id.to_string(),
            name: c.name.clone(),
            mobile: c.mobile.as_ref().map(|m| m.to_string()),
            email: c.email.as_ref().map(|e| e.to_string()),
            points_balance: c.points_balance,
            lifetime_points: c.lifetime_points,
            segment: c.segment.clone(),
        }
    }
}

/// What a sale did, independent of the dialect that posted it. Stored with the sale's
/// reference and rendered in the caller's dialect on a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleOutcome {
    pub transaction_id: String,
    pub customer: CustomerSnapshot,
    pub amount_minor: i64,
    pub points_earned: i64,
    pub points_redeemed: i64,
    /// What the redeemed points took off the bill, in minor units.
    #[serde(default)]
    pub discount_minor: i64,
    pub new_balance: i64,
    pub tier: String,
    pub tier_upgraded: bool,
    pub multiplier_milli: u32,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The coupon the bill consumed (`coupon_code`), as it was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<UsedCoupon>,
}

/// A coupon or voucher as a bill consumed it: kept with the sale (answered again on a
/// retry) and with its purchase (a refund says what it was).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedCoupon {
    pub coupon_id: String,
    pub code: String,
    pub kind: CodeKind,
    pub value_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    pub expiry_date: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub used_at: DateTime<Utc>,
}

impl UsedCoupon {
    /// `coupon` as used at `at`.
    pub fn new(coupon: &Coupon, at: DateTime<Utc>) -> Self {
        UsedCoupon {
            coupon_id: coupon.coupon_id.to_string(),
            code: coupon.code.to_string(),
            kind: coupon.kind,
            value_minor: coupon.value_minor,
            discount_percent: coupon.discount_percent,
            source: coupon.source.clone(),
            reward_name: coupon.reward_name.clone(),
            customer_id: coupon.customer_id.map(|id| id.to_string()),
            expiry_date: coupon.expiry_date,
            expires_at: coupon.expires_at,
            used_at: at,
        }
    }
}

/// What a refund did, independent of the dialect that asked for it. Stored with the
/// refund's reference and rendered in the caller's dialect on a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundOutcome {
    pub refund_id: String,
    /// The refunded sale's transaction id.
    pub transaction_id: String,
    /// The refunded sale's reference (`external_ref` / `reference`).
    pub sale_reference: Option<String>,
    pub amount_minor: i64,
    pub total_refunded_minor: i64,
    pub remaining_refundable_minor: i64,
    pub points_reversed: i64,
    pub points_restored: i64,
    pub customer: CustomerSnapshot,
    pub tier: String,
    pub created_at: DateTime<Utc>,
    /// The coupon the refunded bill consumed; a refund does not give it back (see
    /// `/pos/coupon/reinstate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<Box<UsedCoupon>>,
}

impl RefundOutcome {
    /// The refund took back points the member had already spent.
    pub fn balance_negative(&self) -> bool {
        self.customer.points_balance < 0
    }
}

/// What a reward redemption did: stored with its `reference` and answered again for a
/// retry of the same redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionOutcome {
    pub redemption_id: String,
    pub reward_id: String,
    pub reward_name: String,
    pub points_spent: i64,
    pub new_balance: i64,
    pub voucher_code: String,
    pub voucher_kind: CodeKind,
    pub discount_percent: Option<u32>,
    pub value_minor: i64,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// An entry of the rewards catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    pub public_id: String,
    pub name: String,
    pub description: String,
    pub points_cost: i64,
    pub kind: CodeKind,
    pub value_minor: i64,
    pub discount_percent: Option<u32>,
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_round_trip() {
        assert_eq!(CodeKind::Percent.as_str(), "percent");
        assert_eq!(CodeKind::parse("service"), Some(CodeKind::Service));
        assert_eq!(CodeKind::parse("Service"), None);
        assert_eq!(CodeStatus::parse("used"), Some(CodeStatus::Used));
        assert_eq!(CodeStatus::parse("expired"), None);
        assert_eq!(EntryKind::Adjustment.as_str(), "adjustment");
        assert_eq!(EntryKind::Opening.as_str(), "opening");
        assert_eq!(EntryKind::parse("refund"), Some(EntryKind::Refund));
        assert_eq!(serde_json::to_string(&EntryKind::Earn).unwrap(), "\"earn\"");
    }

    #[test]
    fn a_date_only_expiry_ends_at_local_midnight() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        // IST is UTC+5:30: the day ends at 2026-12-31T18:30:00Z.
        assert_eq!(end_of_local_day(date, 330).to_rfc3339(), "2026-12-31T18:30:00+00:00");
        assert_eq!(end_of_local_day(date, 0).to_rfc3339(), "2027-01-01T00:00:00+00:00");
        let just_before = end_of_local_day(date, 330) - chrono::Duration::seconds(1);
        assert_eq!(local_date(just_before, 330), date);
    }
}

/// A recorded sale and how much of it has been refunded: what a refund works from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub txn_id: uuid::Uuid,
    pub customer_id: CustomerId,
    pub amount_minor: i64,
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub reference: Option<String>,
    pub created_at: DateTime<Utc>,
    /// A late bill's sale time, when the request gave one.
    pub sold_at: Option<DateTime<Utc>>,
    pub refunded_minor: i64,
    /// Earned points taken back by refunds so far.
    pub earn_reversed: i64,
    /// Redeemed points given back by refunds so far.
    pub redeem_restored: i64,
    pub version: u64,
    /// The coupon the bill consumed, if any.
    pub coupon: Option<UsedCoupon>,
}

/// What one refund of `refund_minor` does to a purchase. Proportions are computed on
/// the cumulative refunded amount and rounded down, so partial refunds add up exactly
/// to a full one and never exceed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundEffect {
    pub refunded_after: i64,
    pub points_reversed: i64,
    pub points_restored: i64,
}

impl Purchase {
    pub fn refundable_minor(&self) -> i64 {
        self.amount_minor - self.refunded_minor
    }

    /// `None` if `refund_minor` is more than what remains refundable.
    pub fn refund(&self, refund_minor: i64) -> Option<RefundEffect> {
        if refund_minor <= 0 || refund_minor > self.refundable_minor() {
            return None;
        }
        let refunded_after = self.refunded_minor + refund_minor;
        let share = |total: i64| (total as i128 * refunded_after as i128 / self.amount_minor.max(1) as i128) as i64;
        Some(RefundEffect {
            refunded_after,
            points_reversed: share(self.points_earned) - self.earn_reversed,
            points_restored: share(self.points_redeemed) - self.redeem_restored,
        })
    }
}

#[cfg(test)]
mod purchase_tests {
    use super::*;

    fn purchase() -> Purchase {
        Purchase {
            txn_id: uuid::Uuid::nil(),
            customer_id: CustomerId::new_random(),
            amount_minor: 1000,
            points_earned: 333,
            points_redeemed: 100,
            reference: None,
            created_at: Utc::now(),
            sold_at: None,
            refunded_minor: 0,
            earn_reversed: 0,
            redeem_restored: 0,
            version: 0,
            coupon: None,
        }
    }

    #[test]
    fn partial_refunds_add_up_to_the_full_refund() {
        let mut p = purchase();
        let mut reversed = 0;
        let mut restored = 0;
        for part in [300, 300, 400] {
            let e = p.refund(part).expect("within the refundable amount");
            reversed += e.points_reversed;
            restored += e.points_restored;
            p.refunded_minor = e.refunded_after;
            p.earn_reversed += e.points_reversed;
            p.redeem_restored += e.points_restored;
        }
        assert_eq!((reversed, restored), (333, 100));
        assert_eq!(p.refund(1), None, "nothing left to refund");
    }

    #[test]
    fn a_refund_over_what_remains_is_refused() {
        let p = purchase();
        assert_eq!(p.refund(1001), None);
        assert_eq!(p.refund(0), None);
        assert_eq!(p.refund(1000).map(|e| e.points_reversed), Some(333));
    }
}
