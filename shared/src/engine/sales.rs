//! Recording a sale: points from the program's rules, written exactly once.
//!
//! A sale with a reference (`external_ref` / `reference`) is recorded under it in the
//! same transaction as the points. A retry of the same sale (same member, same amount)
//! answers the stored outcome and awards nothing; the same reference on a different
//! sale is a conflict. Both dialects share the reference namespace of a tenant.
//!
//! A bill may spend points (`redeem_points`, proven by a one-time code): the discount
//! is `redeem_points / redemption_rate`, never more than the bill, and points are
//! earned on the amount actually paid. Code, debit, earning and ledger entries are one
//! transaction.
//!
//! A bill may also consume a coupon (`coupon_code`): checked like `/pos/coupon/redeem`
//! and used in the bill's own transaction, so a refused bill uses nothing and a coupon
//! is never used by two bills. The answer (and a replay) says what the coupon was.

use chrono::{DateTime, Utc};

use super::commit::{change, commit, mutation_error, Attempt, Refused};
use super::expiry;
use super::members::{find_member, member_id, new_customer, taken_by};
use super::otp::{check_otp, read_otp, OtpReads};
use super::{MemberRef, NewMember};
use crate::auth::Caller;
use crate::deps::Deps;
use crate::domain::{Code, CustomerId, Milli, Mobile, Money};
use crate::error::ApiError;
use crate::expiry::ExpiryClock;
use crate::idempotency::Replayable;
use crate::model::{Coupon, Customer, CustomerSnapshot, EntryKind, LedgerEntry, Purchase, SaleOutcome, UsedCoupon};
use crate::program::{BillItem, Program};
use crate::store::{CouponUse, CustomerWrite, Mutation, MutationError, OtpUse, PurchaseWrite, SaleRecord};
use crate::tiers::{tier_of, TierChange, TierClock};

pub struct Sale {
    pub member: MemberRef,
    /// Enrol an unknown mobile or email with these details; `None` makes an unknown
    /// member a 404.
    pub enrol: Option<NewMember>,
    pub amount: Money,
    pub items: Vec<BillItem>,
    pub reference: Option<String>,
    pub description: Option<String>,
    /// Compute the full answer and write nothing.
    pub preview: bool,
    /// Points to spend on this bill (0 for none), with the member's one-time code.
    pub redeem_points: i64,
    pub otp: Option<String>,
    /// A coupon to consume in the bill's own transaction (`coupon_code`).
    pub coupon: Option<Code>,
    /// When the sale happened, for a bill posted late; `None` is now.
    pub sold_at: Option<SoldAt>,
}

/// A sale time as the request gave it, with the field that named it (`sold_at` or
/// `soldAt`), so a refusal names it in the caller's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoldAt {
    pub at: DateTime<Utc>,
    pub field: &'static str,
}

/// How far ahead of the server's clock a sale time may be (a till's clock skew).
pub const SOLD_AT_MAX_AHEAD: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// How late a bill may be posted.
pub const SOLD_AT_MAX_BEHIND: chrono::TimeDelta = chrono::TimeDelta::days(30);

impl Sale {
    /// The sale time, if given, is at most [`SOLD_AT_MAX_AHEAD`] after `now` and at most
    /// [`SOLD_AT_MAX_BEHIND`] before it; otherwise a 400 naming the field.
    pub fn check_sold_at(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let Some(SoldAt { at, field }) = self.sold_at else {
            return Ok(());
        };
        if at > now + SOLD_AT_MAX_AHEAD {
            return Err(ApiError::invalid(field, "must not be more than 5 minutes in the future"));
        }
        if at < now - SOLD_AT_MAX_BEHIND {
            return Err(ApiError::invalid(field, "must not be more than 30 days in the past"));
        }
        Ok(())
    }

    /// The time the sale is priced at: its sale time, else `now`.
    pub fn priced_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.sold_at.map_or(now, |s| s.at)
    }
}

pub struct SaleResult {
    pub outcome: SaleOutcome,
    /// Answered from the stored outcome of an earlier identical request.
    pub replayed: bool,
    pub multiplier: Milli,
    /// Computed for a preview: nothing was written.
    pub preview: bool,
}

/// Records a sale, in the order the bill's page states it: price the bill (the points
/// spent come off first), answer a recorded retry from its reference, read (or enrol)
/// the member, check the balance covers the points and the one-time code proves the
/// member, compute the earning, then write it all in one transaction.
pub async fn record_sale(
    deps: &Deps,
    caller: &Caller,
    program: &Program,
    sale: &Sale,
    idem: Option<&Replayable<'_, SaleResult>>,
) -> Result<SaleResult, ApiError> {
    let bill = Bill::price(program, sale)?;
    crate::test_values::amount(caller, sale.amount)?;
    if crate::test_values::unknown_member(caller, &sale.member) {
        return Err(ApiError::NotFound("Customer"));
    }
    let writes = !(caller.sandbox() || sale.preview);
    let first = Box::pin(FirstReads::read(deps, caller, sale, writes)).await?;
    if let Some(replay) = recorded_retry(deps, sale, first.recorded, first.member, writes, idem).await? {
        return Ok(replay);
    }
    // The first attempt bills from the first reads; one after a lost race reads again.
    let known = std::sync::Mutex::new(Some((first.member, first.coupon)));
    let otp_reads = std::sync::Mutex::new(first.otp);
    // Checked once, after the balance is known to cover the points: a refused bill does
    // not take one of the code's attempts.
    let otp_use = tokio::sync::OnceCell::new();
    let (bill, otp_use, known, otp_reads) = (&bill, &otp_use, &known, &otp_reads);
    let attempt = move || async move {
        let first = known.lock().ok().and_then(|mut k| k.take());
        let (existing, coupon_read) = match first {
            Some((Some(id), coupon)) => (deps.store.get_customer(&caller.tenant, &id).await?, coupon),
            Some((None, coupon)) => (None, coupon),
            None => (find_member(deps, &caller.tenant, &sale.member).await?, None),
        };
        // The time is read after the member, so an entry's `created_at` is never earlier
        // than that of a change this one was computed on.
        let now = deps.now();
        let (before, is_new) = match (existing, &sale.enrol) {
            (Some(c), _) => (c, false),
            (None, Some(new)) => (new_customer(new, now), true),
            (None, None) => return Err(ApiError::NotFound("Customer")),
        };
        // Points whose months have passed go first: they are never spendable.
        let clock = ExpiryClock::new(program, now);
        let mut settled = before.clone();
        let expired = expiry::settle(&clock, &mut settled, now);
        // A bill that spends nothing is never refused, even on a balance a refund left
        // below zero: earning is how the member gets back above it.
        if sale.redeem_points > 0 && sale.redeem_points > settled.points_balance {
            return Err(ApiError::InsufficientPoints { balance: settled.points_balance, needed: sale.redeem_points });
        }
        // The coupon is checked before the one-time code: a refused coupon takes none of
        // the code's attempts.
        let coupon = match &sale.coupon {
            Some(code) => Some(usable_coupon(deps, caller, code, coupon_read, now).await?),
            None => None,
        };
        let otp = otp_use
            .get_or_try_init(|| async {
                let reads = otp_reads.lock().ok().and_then(|mut r| r.take());
                otp_for(deps, caller, sale, reads).await
            })
            .await?;
        // A sale with a reference has the id its reference derives: its purchase item is
        // its reference, which a second sale on the reference finds taken.
        let txn_id = sale
            .reference
            .as_ref()
            .map_or_else(uuid::Uuid::new_v4, |r| crate::store::sale_id(&caller.tenant, &r.as_str().into()));
        let (after, mut result, late, tier) = bill.apply(program, &clock, sale, &settled, txn_id, now);
        result.outcome.coupon = coupon.as_ref().map(|c| UsedCoupon::new(c, now));
        if !writes {
            return Ok(Attempt::Answer(result));
        }
        let customer = if is_new {
            CustomerWrite::New(after)
        } else {
            CustomerWrite::Update { expected_version: before.version, after }
        };
        let trail = Trail { expired, after_redeem: settled.points_balance - sale.redeem_points, late, tier };
        let mutation = Mutation {
            otp: otp.clone(),
            coupon: coupon.map(|c| CouponUse {
                code: c.code,
                now,
                token: uuid::Uuid::new_v4().to_string(),
                key_id: caller.key_id.clone(),
            }),
            completion: idem.map(|i| i.completion(&result)),
            ..bill.mutation(sale, customer, trail, txn_id, &result, now)
        };
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result })
    };
    let refused = move |err, mutation: Box<Mutation>| async move {
        match err {
            MutationError::ReferenceTaken(recorded) => {
                // A first sale that enrolled this member concurrently holds the reference:
                // go again as an existing member and replay it.
                let enrolling = matches!(mutation.customer, CustomerWrite::New(_));
                if enrolling && find_member(deps, &caller.tenant, &sale.member).await?.is_some() {
                    return Ok(Refused::Retry);
                }
                answer_replay(deps, *recorded, written_member(&mutation.customer), sale, idem)
                    .await
                    .map(Refused::Answer)
            }
            // The member was enrolled concurrently: bill them as they now are.
            MutationError::Taken(taken) if taken_by(&taken, &sale.member) => Ok(Refused::Retry),
            other => Err(mutation_error(other)),
        }
    };
    let result = commit(deps, &caller.tenant, attempt, refused).await?;
    if writes && !result.replayed {
        let o = &result.outcome;
        tracing::info!(transaction_id = %o.transaction_id, customer_id = %o.customer.customer_id, points = o.points_earned, redeemed = o.points_redeemed, "sale recorded");
    }
    Ok(result)
}

/// A bill's money: what the points spent take off, what is paid, and the lines scaled to
/// the amount paid (points are earned on that).
struct Bill {
    amount: i64,
    discount: i64,
    paid: i64,
    items: Vec<BillItem>,
}

impl Bill {
    fn price(program: &Program, sale: &Sale) -> Result<Bill, ApiError> {
        let amount = sale.amount.minor();
        let items_total: i64 = sale.items.iter().map(|i| i.amount_minor).sum();
        if items_total > amount {
            return Err(ApiError::bad_request("items total more than amount"));
        }
        let discount = program.discount_minor(sale.redeem_points);
        if discount > amount {
            return Err(ApiError::bad_request(format!(
                "redeem_points are worth more than the bill (at most {} points on this bill)",
                amount * program.redemption_rate as i64 / crate::domain::MINOR_PER_UNIT
            )));
        }
        let paid = amount - discount;
        let items = sale
            .items
            .iter()
            .map(|i| BillItem {
                amount_minor: (i.amount_minor as i128 * paid as i128 / amount as i128) as i64,
                ..i.clone()
            })
            .collect();
        Ok(Bill { amount, discount, paid, items })
    }

    /// The member after this bill, the bill's outcome, the points it earned in a month
    /// already past its expiry (a late bill), which expire at once, and the tier it
    /// reached (a period program: an upgrade is immediate).
    fn apply(
        &self,
        program: &Program,
        clock: &ExpiryClock,
        sale: &Sale,
        before: &Customer,
        txn_id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> (Customer, SaleResult, i64, Option<TierChange>) {
        let tiers = TierClock::new(program, now);
        let mut after = before.clone();
        tiers.settle(&mut after);
        let tier_before = tier_of(program, &after).clone();
        let earning = program.earn_at(self.paid, &self.items, &tier_before);
        clock.remove(&mut after, sale.redeem_points, None);
        clock.add(&mut after, earning.points, sale.priced_at(now));
        let late = clock.settle(&mut after);
        after.lifetime_points = before.lifetime_points.saturating_add(earning.points);
        after.version = before.version + 1;
        tiers.earned(&mut after, earning.points, sale.priced_at(now));
        let change = tiers.upgrade(&mut after);
        let tier_after = tier_of(program, &after);
        let outcome = SaleOutcome {
            transaction_id: txn_id.to_string(),
            customer: CustomerSnapshot::from(&after),
            amount_minor: self.amount,
            points_earned: earning.points,
            points_redeemed: sale.redeem_points,
            discount_minor: self.discount,
            new_balance: after.points_balance,
            tier: tier_after.name.clone(),
            tier_upgraded: tier_after.min_lifetime_points > tier_before.min_lifetime_points,
            multiplier_milli: earning.tier_multiplier.0,
            reference: sale.reference.clone(),
            created_at: now,
            coupon: None,
        };
        let result =
            SaleResult { outcome, replayed: false, multiplier: earning.tier_multiplier, preview: sale.preview };
        (after, result, late, change)
    }

    /// The bill's write: the member, an `expire` entry for what was due, a redemption
    /// entry if points were spent, the earning entry, an `expire` entry for what the bill
    /// earned in a month already past, and the purchase a refund works from, which with
    /// a reference is also the reference's record (one item).
    fn mutation(
        &self,
        sale: &Sale,
        customer: CustomerWrite,
        trail: Trail,
        txn_id: uuid::Uuid,
        result: &SaleResult,
        now: DateTime<Utc>,
    ) -> Mutation {
        let outcome = &result.outcome;
        let customer_id = written_member(&customer);
        let sold_at = sale.sold_at.map(|s| s.at);
        let mut entries: Vec<LedgerEntry> = trail.expired.into_iter().collect();
        if sale.redeem_points > 0 {
            entries.push(LedgerEntry {
                txn_id: uuid::Uuid::new_v4(),
                customer_id,
                kind: EntryKind::Redeem,
                points: -sale.redeem_points,
                lifetime_points: 0,
                amount_minor: Some(self.discount),
                reference: sale.reference.clone(),
                description: Some("Points redeemed on a bill".into()),
                balance_after: trail.after_redeem,
                created_at: now,
                sold_at,
            });
        }
        entries.push(LedgerEntry {
            txn_id,
            customer_id,
            kind: EntryKind::Earn,
            points: outcome.points_earned,
            lifetime_points: outcome.points_earned,
            amount_minor: Some(self.amount),
            reference: sale.reference.clone(),
            description: sale.description.clone(),
            balance_after: outcome.new_balance + trail.late,
            created_at: now,
            sold_at,
        });
        if trail.late > 0 {
            entries.push(expiry::expire_entry(customer_id, trail.late, outcome.new_balance, now));
        }
        if let Some(change) = &trail.tier {
            entries.push(change.entry(customer_id, outcome.new_balance, now));
        }
        Mutation {
            entries,
            sale: sale.reference.as_ref().map(|reference| SaleRecord {
                reference: reference.as_str().into(),
                customer_id,
                amount_minor: self.amount,
                outcome: outcome.clone(),
            }),
            purchase: Some(PurchaseWrite::New(Purchase {
                txn_id,
                customer_id,
                amount_minor: self.amount,
                points_earned: outcome.points_earned,
                points_redeemed: sale.redeem_points,
                reference: sale.reference.clone(),
                created_at: now,
                sold_at,
                refunded_minor: 0,
                earn_reversed: 0,
                redeem_restored: 0,
                version: 0,
                coupon: outcome.coupon.clone(),
            })),
            ..change(customer)
        }
    }
}

/// The balances a bill's entries record beyond its outcome.
struct Trail {
    /// What was due before the bill, expired first.
    expired: Option<LedgerEntry>,
    /// The balance after the points spent.
    after_redeem: i64,
    /// Points the bill earned in a month already past its expiry.
    late: i64,
    /// The tier the bill's earning reached, if it moved up.
    tier: Option<TierChange>,
}

/// What a bill reads before the member's profile, all at once since none needs another:
/// the reference's record (for a bill answered from it, below), the member's id from the
/// lookup, the bill's coupon and the one-time code's reads. So a bill spending points
/// with a code is three round trips: these, the profile, the transaction.
struct FirstReads {
    recorded: Option<SaleRecord>,
    member: Option<CustomerId>,
    /// The coupon's item as read (`Some(None)`: no such coupon).
    coupon: Option<Option<Coupon>>,
    otp: Option<OtpReads>,
}

impl FirstReads {
    async fn read(deps: &Deps, caller: &Caller, sale: &Sale, writes: bool) -> Result<FirstReads, ApiError> {
        let reference = sale.reference.as_ref().filter(|_| sale.redeem_points > 0 || sale.coupon.is_some() || !writes);
        let recorded = async {
            match reference {
                Some(reference) => {
                    Ok::<_, ApiError>(deps.store.get_sale(&caller.tenant, &reference.as_str().into()).await?)
                }
                None => Ok(None),
            }
        };
        let coupon = async {
            match &sale.coupon {
                Some(code) => Ok::<_, ApiError>(Some(deps.store.get_code(&caller.tenant, code).await?)),
                None => Ok(None),
            }
        };
        let otp = async {
            match otp_mobile(sale) {
                Some(mobile) => Ok::<_, ApiError>(Some(read_otp(deps, caller, mobile).await?)),
                None => Ok(None),
            }
        };
        let (recorded, member, coupon, otp) =
            tokio::try_join!(recorded, member_id(deps, &caller.tenant, &sale.member), coupon, otp)?;
        Ok(FirstReads { recorded, member, coupon, otp })
    }
}

/// A bill that spends points is answered from its reference before anything else: its
/// retry would find the one-time code used. A sandbox or preview bill writes nothing, so
/// it answers what the recorded sale answered. The member's id is the lookup's: a
/// lookup is written with its profile, so it needs no read of the profile.
async fn recorded_retry(
    deps: &Deps,
    sale: &Sale,
    recorded: Option<SaleRecord>,
    member: Option<CustomerId>,
    writes: bool,
    idem: Option<&Replayable<'_, SaleResult>>,
) -> Result<Option<SaleResult>, ApiError> {
    let Some(recorded) = recorded else {
        return Ok(None);
    };
    // An unknown member cannot be the one the reference was recorded for.
    let id = member.unwrap_or_else(CustomerId::new_random);
    answer_replay(deps, recorded, id, sale, if writes { idem } else { None }).await.map(Some)
}

/// The bill's coupon, checked: not found (404), used or expired (400). Read here unless
/// the first reads brought it (`read`). The transaction that records the bill uses it
/// under the same condition, so of two bills racing for one coupon exactly one is
/// recorded.
async fn usable_coupon(
    deps: &Deps,
    caller: &Caller,
    code: &Code,
    read: Option<Option<Coupon>>,
    now: DateTime<Utc>,
) -> Result<Coupon, ApiError> {
    crate::test_values::coupon(caller, code)?;
    let coupon = match read {
        Some(read) => read,
        None => deps.store.get_code(&caller.tenant, code).await?,
    }
    .ok_or(ApiError::NotFound("Coupon"))?;
    match super::codes::CodeState::of(&coupon, now) {
        super::codes::CodeState::Usable => Ok(coupon),
        super::codes::CodeState::Used => Err(ApiError::CodeUsed),
        super::codes::CodeState::Expired => Err(ApiError::CodeExpired),
    }
}

/// The member a write changes.
fn written_member(customer: &CustomerWrite) -> CustomerId {
    match customer {
        CustomerWrite::New(c) | CustomerWrite::Update { after: c, .. } => c.id,
    }
}

/// The mobile whose one-time code a bill checks: one that spends points (not a preview)
/// by mobile with a code.
fn otp_mobile(sale: &Sale) -> Option<&Mobile> {
    match &sale.member {
        MemberRef::Mobile(mobile) if sale.redeem_points > 0 && !sale.preview && sale.otp.is_some() => Some(mobile),
        _ => None,
    }
}

/// Spending points needs the member's one-time code (by mobile: that is where it went).
/// A preview spends nothing, so it neither needs nor checks one. `reads`: the code's
/// reads from the bill's first reads (read here if a lost race took them).
async fn otp_for(
    deps: &Deps,
    caller: &Caller,
    sale: &Sale,
    reads: Option<OtpReads>,
) -> Result<Option<OtpUse>, ApiError> {
    if sale.redeem_points == 0 || sale.preview {
        return Ok(None);
    }
    let MemberRef::Mobile(mobile) = &sale.member else {
        return Err(ApiError::bad_request("redeem_points needs the member's mobile (the one-time code goes there)"));
    };
    let code = sale.otp.as_deref().ok_or_else(|| ApiError::bad_request("otp is required to redeem points"))?;
    let reads = match reads {
        Some(reads) => reads,
        None => Box::pin(read_otp(deps, caller, mobile)).await?,
    };
    Box::pin(check_otp(deps, caller, mobile, code, reads)).await
}

/// The recorded outcome for a retry of the same sale, or 409 for another sale on the
/// same reference. A retry that carried an idempotency key stores the answer under it.
async fn answer_replay(
    deps: &Deps,
    recorded: SaleRecord,
    customer_id: CustomerId,
    sale: &Sale,
    idem: Option<&Replayable<'_, SaleResult>>,
) -> Result<SaleResult, ApiError> {
    if recorded.customer_id != customer_id || recorded.amount_minor != sale.amount.minor() {
        return Err(ApiError::Conflict(format!(
            "reference {} was already used for a different sale",
            recorded.reference
        )));
    }
    let multiplier = Milli(recorded.outcome.multiplier_milli);
    let result = SaleResult { outcome: recorded.outcome, replayed: true, multiplier, preview: sale.preview };
    if let Some(idem) = idem {
        deps.store.complete_idempotency(&idem.completion(&result)).await?;
    }
    Ok(result)
}
