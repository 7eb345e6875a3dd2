//! Response bodies of the Partner (POS) dialect, field for field as its reference page
//! shows them. Extra fields are additions; none of the documented ones is renamed.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::{Milli, MinorUnits};
use crate::engine::{MemberLookup, SaleResult};
use crate::expiry::Expiring;
use crate::model::{CodeKind, CodeStatus, Coupon, Customer, CustomerSnapshot, UsedCoupon};
use crate::program::Program;
use crate::wire::rfc3339;

#[derive(Serialize)]
pub struct CustomerBody {
    pub customer_id: String,
    pub name: String,
    pub mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub points_balance: i64,
    pub lifetime_points: i64,
    pub segment: String,
}

impl From<&CustomerSnapshot> for CustomerBody {
    fn from(c: &CustomerSnapshot) -> Self {
        CustomerBody {
            customer_id: c.customer_id.clone(),
            name: c.name.clone(),
            mobile: c.mobile.clone(),
            email: c.email.clone(),
            points_balance: c.points_balance,
            lifetime_points: c.lifetime_points,
            segment: c.segment.clone(),
        }
    }
}

impl From<&Customer> for CustomerBody {
    fn from(c: &Customer) -> Self {
        CustomerBody::from(&CustomerSnapshot::from(c))
    }
}

/// A coupon or voucher as the POS sees it. Percent and service vouchers have
/// `value: 0` with `discount_percent` / `reward_type`.
#[derive(Serialize)]
pub struct CouponBody {
    pub coupon_id: String,
    pub code: String,
    pub value: MinorUnits,
    pub source: String,
    pub expiry_date: String,
    pub status: &'static str,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
}

impl From<&Coupon> for CouponBody {
    fn from(c: &Coupon) -> Self {
        CouponBody {
            coupon_id: c.coupon_id.to_string(),
            code: c.code.to_string(),
            value: MinorUnits(if c.kind == CodeKind::Fixed { c.value_minor } else { 0 }),
            source: c.source.clone(),
            expiry_date: c.expiry_date.to_string(),
            status: c.status.as_str(),
            expires_at: rfc3339(c.expires_at),
            discount_percent: c.discount_percent,
            reward_type: match c.kind {
                CodeKind::Fixed => None,
                CodeKind::Percent => Some("discount"),
                CodeKind::Service => Some("service"),
            },
            reward_name: c.reward_name.clone(),
            customer_id: c.customer_id.map(|id| id.to_string()),
            used_at: c.used_at.map(rfc3339),
        }
    }
}

impl From<&UsedCoupon> for CouponBody {
    fn from(c: &UsedCoupon) -> Self {
        CouponBody {
            coupon_id: c.coupon_id.clone(),
            code: c.code.clone(),
            value: MinorUnits(if c.kind == CodeKind::Fixed { c.value_minor } else { 0 }),
            source: c.source.clone(),
            expiry_date: c.expiry_date.to_string(),
            status: CodeStatus::Used.as_str(),
            expires_at: rfc3339(c.expires_at),
            discount_percent: c.discount_percent,
            reward_type: match c.kind {
                CodeKind::Fixed => None,
                CodeKind::Percent => Some("discount"),
                CodeKind::Service => Some("service"),
            },
            reward_name: c.reward_name.clone(),
            customer_id: c.customer_id.clone(),
            used_at: Some(rfc3339(c.used_at)),
        }
    }
}

/// `/pos/coupon/reinstate`: the coupon, active again.
#[derive(Serialize)]
pub struct CouponReinstateBody {
    pub reinstated: bool,
    pub coupon: CouponBody,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

impl CouponReinstateBody {
    pub fn new(coupon: &Coupon, sandbox: bool) -> Self {
        CouponReinstateBody { reinstated: true, coupon: CouponBody::from(coupon), sandbox }
    }
}

/// The coupon a bill consumed, as `/pos/coupon/redeem` answers it (without `sandbox`).
#[derive(Serialize)]
pub struct BillCouponBody {
    pub valid: bool,
    pub value: MinorUnits,
    pub source: String,
    pub coupon: CouponBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward_type: Option<&'static str>,
}

impl From<&UsedCoupon> for BillCouponBody {
    fn from(c: &UsedCoupon) -> Self {
        let body = CouponBody::from(c);
        BillCouponBody {
            valid: true,
            value: body.value,
            source: body.source.clone(),
            discount_percent: body.discount_percent,
            reward_type: body.reward_type,
            coupon: body,
        }
    }
}

#[derive(Serialize)]
pub struct LookupBody {
    pub found: bool,
    pub customer: CustomerBody,
    pub points_balance: i64,
    pub redeemable_value: MinorUnits,
    pub redemption_rate: u32,
    pub tier: String,
    pub priority_service: bool,
    pub active_coupons: Vec<CouponBody>,
    pub lifetime_points: i64,
    pub enrolled: bool,
    /// The points that expire next, when the program's points expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_expiring: Option<i64>,
    /// The last day they can be spent (`YYYY-MM-DD`, in the program's zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_expiring_at: Option<NaiveDate>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

impl LookupBody {
    /// `found` as a change now would see it (what is due expired), with what expires
    /// next ([`crate::expiry::view`]).
    pub fn new(program: &Program, found: &MemberLookup, expiring: Option<Expiring>, sandbox: bool) -> Self {
        let c = &found.customer;
        let tier = crate::tiers::tier_of(program, c);
        LookupBody {
            found: true,
            customer: CustomerBody::from(c),
            points_balance: c.points_balance,
            redeemable_value: MinorUnits(program.redeemable_minor(c.points_balance)),
            redemption_rate: program.redemption_rate,
            tier: tier.name.clone(),
            priority_service: tier.priority_service,
            active_coupons: found.active_codes.iter().map(CouponBody::from).collect(),
            lifetime_points: c.lifetime_points,
            enrolled: found.enrolled,
            points_expiring: expiring.map(|e| e.points),
            points_expiring_at: expiring.map(|e| e.last_day),
            sandbox,
        }
    }
}

#[derive(Serialize)]
pub struct NotFoundBody<'a> {
    pub found: bool,
    pub mobile: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

#[derive(Serialize)]
pub struct BillBody {
    pub transaction_id: String,
    pub customer_id: String,
    pub amount: MinorUnits,
    pub points_earned: i64,
    pub points_redeemed: i64,
    /// What `points_redeemed` took off the bill.
    pub discount: MinorUnits,
    /// `amount - discount`: what the member pays, and earns points on.
    pub amount_payable: MinorUnits,
    pub new_balance: i64,
    pub tier: String,
    pub tier_upgraded: bool,
    pub multiplier: Milli,
    pub external_ref: Option<String>,
    pub customer: CustomerBody,
    /// The coupon the bill consumed (`coupon_code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<BillCouponBody>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

impl BillBody {
    pub fn new(result: &SaleResult, sandbox: bool) -> Self {
        let o = &result.outcome;
        BillBody {
            transaction_id: o.transaction_id.clone(),
            customer_id: o.customer.customer_id.clone(),
            amount: MinorUnits(o.amount_minor),
            points_earned: o.points_earned,
            points_redeemed: o.points_redeemed,
            discount: MinorUnits(o.discount_minor),
            amount_payable: MinorUnits(o.amount_minor - o.discount_minor),
            new_balance: o.new_balance,
            tier: o.tier.clone(),
            tier_upgraded: o.tier_upgraded,
            multiplier: result.multiplier,
            external_ref: o.reference.clone(),
            customer: CustomerBody::from(&o.customer),
            coupon: o.coupon.as_ref().map(BillCouponBody::from),
            replayed: result.replayed,
            preview: result.preview,
            sandbox,
        }
    }
}

#[derive(Serialize)]
pub struct CouponRedeemBody {
    pub valid: bool,
    pub value: MinorUnits,
    pub source: String,
    pub coupon: CouponBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward_type: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

impl CouponRedeemBody {
    pub fn new(coupon: &Coupon, sandbox: bool) -> Self {
        let body = CouponBody::from(coupon);
        CouponRedeemBody {
            valid: true,
            value: body.value,
            source: body.source.clone(),
            discount_percent: body.discount_percent,
            reward_type: body.reward_type,
            coupon: body,
            sandbox,
        }
    }
}

/// One ledger entry as the POS sees it.
// A near-copy of `public::Entry` by design: each dialect's own field names.
#[derive(Serialize)]
pub struct EntryBody {
    pub transaction_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub points: i64,
    pub amount: Option<MinorUnits>,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub balance_after: i64,
    pub created_at: String,
}

impl From<&crate::model::LedgerEntry> for EntryBody {
    fn from(e: &crate::model::LedgerEntry) -> Self {
        EntryBody {
            transaction_id: e.txn_id.to_string(),
            kind: e.kind.as_str(),
            points: e.points,
            amount: e.amount_minor.map(MinorUnits),
            reference: e.reference.clone(),
            description: e.description.clone(),
            balance_after: e.balance_after,
            created_at: rfc3339(e.created_at),
        }
    }
}

#[derive(Serialize)]
pub struct HistoryBody {
    pub transactions: Vec<EntryBody>,
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

#[derive(Serialize)]
pub struct OtpBody {
    pub sent: bool,
    pub mobile: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

#[derive(Serialize)]
pub struct RefundBody {
    pub refund_id: String,
    pub transaction_id: String,
    pub external_ref: Option<String>,
    pub amount: MinorUnits,
    pub total_refunded: MinorUnits,
    pub remaining_refundable: MinorUnits,
    pub points_reversed: i64,
    pub points_restored: i64,
    pub new_balance: i64,
    /// The refund took back points the member had already spent.
    pub balance_negative: bool,
    pub tier: String,
    pub customer: CustomerBody,
    /// The coupon the refunded bill consumed: a refund does not give it back
    /// (`/pos/coupon/reinstate` does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<BillCouponBody>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

impl RefundBody {
    pub fn new(r: &crate::engine::Refund, sandbox: bool) -> Self {
        let o = &r.outcome;
        RefundBody {
            refund_id: o.refund_id.clone(),
            transaction_id: o.transaction_id.clone(),
            external_ref: o.sale_reference.clone(),
            amount: MinorUnits(o.amount_minor),
            total_refunded: MinorUnits(o.total_refunded_minor),
            remaining_refundable: MinorUnits(o.remaining_refundable_minor),
            points_reversed: o.points_reversed,
            points_restored: o.points_restored,
            new_balance: o.customer.points_balance,
            balance_negative: o.balance_negative(),
            tier: o.tier.clone(),
            customer: CustomerBody::from(&o.customer),
            coupon: o.coupon.as_deref().map(BillCouponBody::from),
            sandbox,
        }
    }
}
