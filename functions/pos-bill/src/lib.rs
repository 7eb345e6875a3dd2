//! `POST /api/{tenant}/pos/bill` (`write:transactions`)
//!
//! Posts a bill for a member named by `mobile` or `customer_id`; an unknown mobile is
//! enrolled (with `name`, and `email` if given). Points follow the program's rules,
//! the tier multiplier and category bonuses for `items`. A bill repeated with the same
//! `external_ref` answers the first bill's result and awards nothing; the same
//! `external_ref` on a different bill is `409`. An `Idempotency-Key` header makes any
//! retry safe the same way. `"preview": true` computes the whole answer and writes
//! nothing. `redeem_points` with the member's `otp` (from `POST /pos/otp`) spends
//! points on the bill: the discount is returned, and points are earned on the amount
//! actually paid.

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::auth;
use loyalty::domain::CustomerId;
use loyalty::engine::{self, MemberRef, NewMember, Sale, SaleResult};
use loyalty::http::{json, replayed, respond, JsonBody};
use loyalty::idempotency::{self, Begin, Replayable};
use loyalty::keys::Scope;
use loyalty::partner::BillBody;
use loyalty::program::BillItem;
use loyalty::{ApiError, Deps, Dialect};

/// At most this many bill lines.
pub const MAX_ITEMS: usize = 100;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Partner, &req, post_bill(deps, &req)).await
}

async fn post_bill(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::partner(deps, req, Scope::WriteTransactions).await?;

    let sale = parse_bill(&JsonBody::parse(req)?)?;
    let program = auth::program(deps, &caller.tenant).await?;
    // A preview writes nothing, so it has nothing to make idempotent.
    let claim = if sale.preview {
        None
    } else {
        match idempotency::begin(deps, &caller, req, "pos-bill").await? {
            Begin::Replay(stored) => return Ok(stored),
            Begin::Proceed(claim) => claim,
        }
    };
    let render = |r: &SaleResult| json(StatusCode::OK, &BillBody::new(r, false));
    let idem = claim.as_ref().map(|claim| Replayable { claim, render: &render });
    let work = async {
        let result = engine::record_sale(deps, &caller, &program, &sale, idem.as_ref()).await?;
        let resp = json(StatusCode::OK, &BillBody::new(&result, caller.sandbox()));
        Ok(if result.replayed { replayed(resp) } else { resp })
    };
    idempotency::finish(deps, claim.clone(), work).await
}

fn parse_bill(body: &JsonBody) -> Result<Sale, ApiError> {
    let customer_id = body
        .text("customer_id", 64)?
        .map(|id| CustomerId::parse(&id).map_err(|e| ApiError::bad_request(format!("customer_id {e}"))))
        .transpose()?;
    let mobile = body.mobile("mobile")?;
    let amount = body.money("amount")?.ok_or_else(|| ApiError::bad_request("amount is required"))?;
    let name = body.text("name", 100)?;
    let email = body.email("email")?;
    let external_ref = body.text_or_number("external_ref", 128)?;
    let items = body.objects("items", MAX_ITEMS)?.iter().map(bill_item).collect::<Result<Vec<_>, _>>()?;
    let preview = body.bool("preview")?.unwrap_or(false);
    let redeem_points = match body.raw("redeem_points") {
        None => 0,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=1_000_000_000_000).contains(p))
            .ok_or_else(|| ApiError::bad_request("redeem_points must be a whole number of points, 0 or more"))?,
    };
    let otp = body.text_or_number("otp", 12)?;
    let member = match (customer_id, &mobile) {
        (Some(id), _) => MemberRef::Id(id),
        (None, Some(m)) => MemberRef::Mobile(m.clone()),
        (None, None) => return Err(ApiError::bad_request("mobile or customer_id is required")),
    };
    let enrol = matches!(member, MemberRef::Mobile(_)).then(|| NewMember { name, mobile, email });
    Ok(Sale { member, enrol, amount, items, reference: external_ref, description: None, preview, redeem_points, otp })
}

fn bill_item(item: &JsonBody) -> Result<BillItem, ApiError> {
    Ok(BillItem {
        category: item.text("category", 64)?.unwrap_or_default(),
        name: item.text("name", 200)?.unwrap_or_default(),
        amount_minor: item.money("amount")?.ok_or_else(|| ApiError::bad_request("items[].amount is required"))?.minor(),
    })
}
