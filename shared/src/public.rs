//! Response bodies of the Public Loyalty dialect: `{"result": "success", "data": ...}`,
//! with camelCase fields as its reference page shows them. A sandbox answer carries
//! `"sandbox": true` beside `result` (not inside `data`, which may be an array).

use chrono::NaiveDate;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::domain::{Milli, MinorUnits};
use crate::engine::{CodeState, Redemption, SaleResult};
use crate::expiry::Expiring;
use crate::http::json;
use crate::model::{CodeKind, Coupon, Customer, Reward};
use crate::program::Program;
use crate::wire::rfc3339;

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    result: &'static str,
    data: &'a T,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    sandbox: bool,
}

/// `200 {"result": "success", "data": data}`.
pub fn success<T: Serialize>(data: &T, sandbox: bool) -> Response<Body> {
    json(StatusCode::OK, &Envelope { result: "success", data, sandbox })
}

/// The Public name of a code's kind: `discount` (percent), `voucher` (fixed amount),
/// `service`.
pub fn reward_type(kind: CodeKind) -> &'static str {
    match kind {
        CodeKind::Percent => "discount",
        CodeKind::Fixed => "voucher",
        CodeKind::Service => "service",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub customer_name: String,
    pub tier_name: String,
    pub tier_color: String,
    pub points_balance: i64,
    pub lifetime_points: i64,
    pub points_name: String,
    pub customer_id: String,
    pub email: Option<String>,
    pub redeemable_value: MinorUnits,
    /// The points that expire next, when the program's points expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_expiring: Option<i64>,
    /// The last day they can be spent (`YYYY-MM-DD`, in the program's zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points_expiring_at: Option<NaiveDate>,
}

impl Balance {
    /// `c` as a change now would see it (what is due expired), with what expires next
    /// ([`crate::expiry::view`]).
    pub fn new(program: &Program, c: &Customer, expiring: Option<Expiring>) -> Self {
        let tier = crate::tiers::tier_of(program, c);
        Balance {
            customer_name: c.name.clone(),
            tier_name: tier.name.clone(),
            tier_color: tier.color.clone(),
            points_balance: c.points_balance,
            lifetime_points: c.lifetime_points,
            points_name: program.points_name.clone(),
            customer_id: c.id.to_string(),
            email: c.email.as_ref().map(|e| e.to_string()),
            redeemable_value: MinorUnits(program.redeemable_minor(c.points_balance)),
            points_expiring: expiring.map(|e| e.points),
            points_expiring_at: expiring.map(|e| e.last_day),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Earned {
    pub points_earned: i64,
    pub multiplier_applied: Milli,
    pub new_balance: i64,
    pub tier_name: String,
    pub transaction_id: String,
    pub customer_id: String,
    pub reference: Option<String>,
    pub tier_upgraded: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
}

impl Earned {
    pub fn new(result: &SaleResult) -> Self {
        let o = &result.outcome;
        Earned {
            points_earned: o.points_earned,
            multiplier_applied: result.multiplier,
            new_balance: o.new_balance,
            tier_name: o.tier.clone(),
            transaction_id: o.transaction_id.clone(),
            customer_id: o.customer.customer_id.clone(),
            reference: o.reference.clone(),
            tier_upgraded: o.tier_upgraded,
            replayed: result.replayed,
            preview: result.preview,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redeemed {
    pub redemption_id: String,
    pub reward_name: String,
    pub points_spent: i64,
    pub new_balance: i64,
    pub voucher_code: String,
    pub expires_at: String,
    pub reward_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<MinorUnits>,
}

impl Redeemed {
    pub fn new(r: &Redemption) -> Self {
        let o = &r.outcome;
        Redeemed {
            redemption_id: o.redemption_id.clone(),
            reward_name: o.reward_name.clone(),
            points_spent: o.points_spent,
            new_balance: o.new_balance,
            voucher_code: o.voucher_code.clone(),
            expires_at: rfc3339(o.expires_at),
            reward_type: reward_type(o.voucher_kind),
            discount_percent: o.discount_percent,
            value: (o.voucher_kind == CodeKind::Fixed).then_some(MinorUnits(o.value_minor)),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RewardEntry {
    pub public_id: String,
    pub name: String,
    pub description: String,
    pub points_cost: i64,
    pub reward_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<MinorUnits>,
}

impl From<&Reward> for RewardEntry {
    fn from(r: &Reward) -> Self {
        RewardEntry {
            public_id: r.public_id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            points_cost: r.points_cost,
            reward_type: reward_type(r.kind),
            discount_percent: r.discount_percent,
            value: (r.kind == CodeKind::Fixed).then_some(MinorUnits(r.value_minor)),
        }
    }
}

/// A voucher check. `status`: `pending` (usable), `used`, or `expired`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub valid: bool,
    pub voucher_code: String,
    pub reward_name: Option<String>,
    pub reward_type: &'static str,
    pub status: &'static str,
    pub redeemed_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<MinorUnits>,
}

impl Verified {
    pub fn new(c: &Coupon, state: CodeState) -> Self {
        Verified {
            valid: state == CodeState::Usable,
            voucher_code: c.code.to_string(),
            reward_name: c.reward_name.clone(),
            reward_type: reward_type(c.kind),
            status: match state {
                CodeState::Usable => "pending",
                CodeState::Used => "used",
                CodeState::Expired => "expired",
            },
            redeemed_at: rfc3339(c.created_at),
            expires_at: rfc3339(c.expires_at),
            used_at: c.used_at.map(rfc3339),
            discount_percent: c.discount_percent,
            value: (c.kind == CodeKind::Fixed).then_some(MinorUnits(c.value_minor)),
        }
    }
}

/// One ledger entry in the Public dialect.
// A near-copy of `partner::EntryBody` by design: each dialect's own field names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
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

impl From<&crate::model::LedgerEntry> for Entry {
    fn from(e: &crate::model::LedgerEntry) -> Self {
        Entry {
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
#[serde(rename_all = "camelCase")]
pub struct History {
    pub transactions: Vec<Entry>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refunded {
    pub refund_id: String,
    pub transaction_id: String,
    pub reference: Option<String>,
    pub amount_refunded: MinorUnits,
    pub total_refunded: MinorUnits,
    pub remaining_refundable: MinorUnits,
    pub points_reversed: i64,
    pub points_restored: i64,
    pub new_balance: i64,
    pub balance_negative: bool,
    pub tier_name: String,
}

impl Refunded {
    pub fn new(r: &crate::engine::Refund) -> Self {
        let o = &r.outcome;
        Refunded {
            refund_id: o.refund_id.clone(),
            transaction_id: o.transaction_id.clone(),
            reference: o.sale_reference.clone(),
            amount_refunded: MinorUnits(o.amount_minor),
            total_refunded: MinorUnits(o.total_refunded_minor),
            remaining_refundable: MinorUnits(o.remaining_refundable_minor),
            points_reversed: o.points_reversed,
            points_restored: o.points_restored,
            new_balance: o.customer.points_balance,
            balance_negative: o.balance_negative(),
            tier_name: o.tier.clone(),
        }
    }
}
