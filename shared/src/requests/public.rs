//! Request bodies of the Public Loyalty dialect, camelCase as its reference page shows.

use serde::Deserialize;

use super::partner::RefundOf;
use super::{required, Amount, EmailField, Flag, Instant, Text, TextOrNumber};
use crate::domain::Email;
use crate::engine::{MemberRef, NewMember, Sale, SaleKey, SoldAt};
use crate::error::ApiError;

/// `POST /earn`: an unknown email is enrolled.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EarnRequest {
    pub email: EmailField,
    pub amount: Amount,
    pub reference: TextOrNumber<128>,
    pub description: Text<500>,
    pub name: Text<100>,
    pub preview: Flag,
    /// When the sale happened, for an order posted late (RFC 3339).
    #[serde(rename = "soldAt")]
    pub sold_at: Instant,
}

impl TryFrom<EarnRequest> for Sale {
    type Error = ApiError;

    fn try_from(r: EarnRequest) -> Result<Sale, ApiError> {
        let email = r.email.0.ok_or_else(|| required("email"))?;
        let amount = r.amount.0.ok_or_else(|| required("amount"))?;
        Ok(Sale {
            member: MemberRef::Email(email.clone()),
            enrol: Some(NewMember { name: r.name.0, mobile: None, email: Some(email) }),
            amount,
            items: vec![],
            reference: r.reference.0,
            description: r.description.0,
            preview: r.preview.0.unwrap_or(false),
            redeem_points: 0,
            coupon: None,
            otp: None,
            sold_at: r.sold_at.0.map(|at| SoldAt { at, field: "soldAt" }),
        })
    }
}

/// `POST /redeem`: a catalog reward for a member's points.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RewardRedeemRequest {
    pub email: EmailField,
    #[serde(rename = "rewardId")]
    pub reward_id: TextOrNumber<64>,
    /// Optional: the redemption's own reference, so that a retry answers the first
    /// redemption instead of spending again.
    pub reference: TextOrNumber<128>,
}

/// Who spends points on which reward, once per `reference`.
#[derive(Debug, Clone)]
pub struct RewardFor {
    pub member: MemberRef,
    pub reward_id: String,
    pub reference: Option<String>,
}

impl TryFrom<RewardRedeemRequest> for RewardFor {
    type Error = ApiError;

    fn try_from(r: RewardRedeemRequest) -> Result<RewardFor, ApiError> {
        let email: Email = r.email.0.ok_or_else(|| required("email"))?;
        let reward_id = r.reward_id.0.ok_or_else(|| required("rewardId"))?;
        Ok(RewardFor { member: MemberRef::Email(email), reward_id, reference: r.reference.0 })
    }
}

/// `POST /refund`: the order by its `reference`, the amount, and the refund's own
/// reference `refundReference`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublicRefundRequest {
    pub reference: TextOrNumber<128>,
    pub amount: Amount,
    #[serde(rename = "refundReference")]
    pub refund_reference: TextOrNumber<128>,
}

impl TryFrom<PublicRefundRequest> for RefundOf {
    type Error = ApiError;

    fn try_from(r: PublicRefundRequest) -> Result<RefundOf, ApiError> {
        let reference = r.reference.0.ok_or_else(|| required("reference"))?;
        let amount = r.amount.0.ok_or_else(|| required("amount"))?;
        Ok(RefundOf { sale: SaleKey::Reference(reference), amount, refund_ref: r.refund_reference.0 })
    }
}
