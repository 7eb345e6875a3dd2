//! Request bodies of the Partner (POS) dialect, snake_case as its reference page shows.

use serde::Deserialize;

use super::{required, Amount, EmailField, Flag, Instant, List, MobileField, Points, Text, TextOrNumber};
use crate::domain::{check_identifier, Code, CustomerId, Mobile};
use crate::engine::{MemberRef, NewMember, Sale, SaleKey, SoldAt};
use crate::error::ApiError;
use crate::program::BillItem;

/// At most this many bill lines.
pub const MAX_ITEMS: usize = 100;

/// `POST /pos/bill`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BillRequest {
    pub customer_id: Text<64>,
    pub mobile: MobileField,
    pub amount: Amount,
    pub name: Text<100>,
    pub email: EmailField,
    pub external_ref: TextOrNumber<128>,
    pub items: List<BillItemRequest, MAX_ITEMS>,
    pub preview: Flag,
    pub redeem_points: Points,
    pub otp: TextOrNumber<12>,
    /// When the sale happened, for a bill posted late (RFC 3339).
    pub sold_at: Instant,
    /// A coupon or voucher to consume with the bill, in its own transaction.
    pub coupon_code: Text<64>,
}

/// One line of a bill.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BillItemRequest {
    pub category: Text<64>,
    pub name: Text<200>,
    pub amount: Amount,
}

impl TryFrom<BillRequest> for Sale {
    type Error = ApiError;

    fn try_from(b: BillRequest) -> Result<Sale, ApiError> {
        let customer_id = b
            .customer_id
            .0
            .map(|id| CustomerId::parse(&id).map_err(|e| ApiError::bad_request(format!("customer_id {e}"))))
            .transpose()?;
        let amount = b.amount.0.ok_or_else(|| required("amount"))?;
        let items = b.items.0.into_iter().map(BillItem::try_from).collect::<Result<Vec<_>, _>>()?;
        let member = match (customer_id, &b.mobile.0) {
            (Some(id), _) => MemberRef::Id(id),
            (None, Some(m)) => MemberRef::Mobile(m.clone()),
            (None, None) => return Err(required("mobile or customer_id")),
        };
        let coupon = b.coupon_code.0.map(|c| parse_code(&c, "coupon_code")).transpose()?;
        let enrol = matches!(member, MemberRef::Mobile(_)).then(|| NewMember {
            name: b.name.0,
            mobile: b.mobile.0,
            email: b.email.0,
        });
        Ok(Sale {
            member,
            enrol,
            amount,
            items,
            reference: b.external_ref.0,
            description: None,
            preview: b.preview.0.unwrap_or(false),
            redeem_points: b.redeem_points.0,
            otp: b.otp.0,
            coupon,
            sold_at: b.sold_at.0.map(|at| SoldAt { at, field: "sold_at" }),
        })
    }
}

impl TryFrom<BillItemRequest> for BillItem {
    type Error = ApiError;

    fn try_from(item: BillItemRequest) -> Result<BillItem, ApiError> {
        Ok(BillItem {
            category: item.category.0.unwrap_or_default(),
            name: item.name.0.unwrap_or_default(),
            amount_minor: item.amount.0.ok_or_else(|| required("items[].amount"))?.minor(),
        })
    }
}

/// `POST /pos/coupon/redeem`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CouponRedeemRequest {
    pub code: Text<64>,
}

impl TryFrom<CouponRedeemRequest> for Code {
    type Error = ApiError;

    fn try_from(r: CouponRedeemRequest) -> Result<Code, ApiError> {
        let code = r.code.0.ok_or_else(|| required("code"))?;
        parse_code(&code, "code")
    }
}

/// A coupon code named by `field`: malformed is 400, well-formed but impossible is
/// simply not found.
fn parse_code(code: &str, field: &str) -> Result<Code, ApiError> {
    check_identifier(code).map_err(|e| ApiError::bad_request(format!("{field} {e}")))?;
    Code::parse(code).map_err(|_| ApiError::NotFound("Coupon"))
}

/// `POST /pos/otp`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OtpRequest {
    pub mobile: MobileField,
}

impl TryFrom<OtpRequest> for Mobile {
    type Error = ApiError;

    fn try_from(r: OtpRequest) -> Result<Mobile, ApiError> {
        r.mobile.0.ok_or_else(|| required("mobile"))
    }
}

/// `POST /pos/refund`: the sale by `external_ref` or `transaction_id`, the amount, and
/// the refund's own reference `refund_ref`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PosRefundRequest {
    pub external_ref: TextOrNumber<128>,
    pub transaction_id: Text<64>,
    pub amount: Amount,
    pub refund_ref: TextOrNumber<128>,
}

/// A refund of `amount` of the sale named by `sale`, once per `refund_ref`.
#[derive(Debug, Clone)]
pub struct RefundOf {
    pub sale: SaleKey,
    pub amount: crate::domain::Money,
    pub refund_ref: Option<String>,
}

impl TryFrom<PosRefundRequest> for RefundOf {
    type Error = ApiError;

    fn try_from(r: PosRefundRequest) -> Result<RefundOf, ApiError> {
        let transaction_id = r
            .transaction_id
            .0
            .map(|id| uuid::Uuid::parse_str(&id).map_err(|_| ApiError::bad_request("transaction_id must be a UUID")))
            .transpose()?;
        let sale = match (transaction_id, r.external_ref.0) {
            (Some(id), _) => SaleKey::Transaction(id),
            (None, Some(reference)) => SaleKey::Reference(reference),
            (None, None) => return Err(required("external_ref or transaction_id")),
        };
        Ok(RefundOf { sale, amount: r.amount.0.ok_or_else(|| required("amount"))?, refund_ref: r.refund_ref.0 })
    }
}
