//! Tiers reviewed on a period: a program may qualify tiers on the points earned in the
//! last N months instead of lifetime points (`tier_qualifying_months`).
//!
//! For such a program a member keeps the tier it holds ([`TierState`], in the member
//! item) and the points it earned in each of the last N months (the current one
//! included), written in the same write as the balance. Earnings count (a sale's
//! `lifetime_points` part; a refund takes its part back from the sale's month);
//! adjustments never do. An upgrade is immediate, at the sale that qualifies. A
//! downgrade happens only at a review (the daily job's run in the member's review
//! month), once the member has failed to qualify for `tier_grace_months` months of
//! reviews; it goes to the tier the window's points give. A member above the lowest
//! tier is reviewed every month.
//!
//! A lifetime program (the default) keeps none of this: its tier is `tier_for(lifetime
//! points)`, as ever.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CustomerId;
use crate::expiry::{Buckets, Month};
use crate::model::{Customer, EntryKind, LedgerEntry};
use crate::program::{Program, Tier};

/// The fewest and most months a program's tier window may span, and the longest grace.
pub const MIN_QUALIFYING_MONTHS: u32 = 1;
pub const MAX_QUALIFYING_MONTHS: u32 = 36;
pub const MAX_GRACE_MONTHS: u32 = 24;

/// A member's tier in a period program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierState {
    /// The tier held.
    pub name: String,
    /// Points earned by month, the months of the window only.
    #[serde(default, skip_serializing_if = "Buckets::is_empty")]
    pub earned: Buckets,
    /// The first review month at which the member did not qualify for its tier (the
    /// grace period runs from it); `None` while it qualifies.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_month")]
    pub grace_from: Option<Month>,
    /// The month of the next review; `None` at the lowest tier (nothing to review).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_month")]
    pub review: Option<Month>,
}

mod opt_month {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::expiry::Month;

    pub fn serialize<S: Serializer>(m: &Option<Month>, s: S) -> Result<S::Ok, S::Error> {
        match m {
            Some(m) => s.serialize_str(&m.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Month>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => Month::parse(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("month {text:?} is not YYYY-MM"))),
        }
    }
}

/// The tier a member has under `program`: the stored one for a period program (the
/// lifetime tier for a member not yet written under it), else the lifetime tier.
pub fn tier_of<'p>(program: &'p Program, c: &Customer) -> &'p Tier {
    let stored = c
        .tier
        .as_ref()
        .filter(|_| program.tier_qualifying_months.is_some())
        .and_then(|s| program.tiers.iter().find(|t| t.name.eq_ignore_ascii_case(&s.name)));
    stored.unwrap_or_else(|| program.tier_for(c.lifetime_points))
}

/// A program's tier rule at one instant: what every earning and review computes with.
#[derive(Debug, Clone, Copy)]
pub struct TierClock<'p> {
    program: &'p Program,
    /// `None`: a lifetime program.
    months: Option<u32>,
    now: Month,
}

/// A change of tier, for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierChange {
    pub from: String,
    pub to: String,
}

impl TierChange {
    /// The `tier` entry of this change: 0 points, `"Gold -> Silver"`.
    pub fn entry(&self, customer_id: CustomerId, balance_after: i64, now: DateTime<Utc>) -> LedgerEntry {
        LedgerEntry {
            txn_id: uuid::Uuid::new_v4(),
            customer_id,
            kind: EntryKind::Tier,
            points: 0,
            lifetime_points: 0,
            amount_minor: None,
            reference: None,
            description: Some(format!("{} -> {}", self.from, self.to)),
            balance_after,
            created_at: now,
            sold_at: None,
        }
    }
}

impl<'p> TierClock<'p> {
    pub fn new(program: &'p Program, now: DateTime<Utc>) -> Self {
        TierClock { program, months: program.tier_qualifying_months, now: Month::of(now, program.utc_offset_minutes) }
    }

    /// The first month of the window.
    fn window_start(&self, months: u32) -> Month {
        self.now.minus(months.saturating_sub(1))
    }

    /// The points that qualify now: earned in the window.
    pub fn qualifying(&self, c: &Customer) -> i64 {
        let (Some(months), Some(state)) = (self.months, &c.tier) else {
            return c.lifetime_points;
        };
        let from = self.window_start(months);
        state.earned.iter().filter(|(m, _)| *m >= from && *m <= self.now).map(|(_, p)| p).sum()
    }

    /// Brings a member's tier state to this rule before a change: a lifetime program
    /// keeps none; a period program starts one (the tier the member has) and drops the
    /// months that left the window.
    pub fn settle(&self, c: &mut Customer) {
        let Some(months) = self.months else {
            c.tier = None;
            return;
        };
        let held = tier_of(self.program, c).name.clone();
        let state = c.tier.get_or_insert_with(TierState::default);
        state.name = held;
        let from = self.window_start(months);
        state.earned = Buckets::from_pairs(state.earned.iter().filter(|(m, _)| *m >= from));
    }

    /// The member earned `points` (may be negative: a refund taking back) in the month
    /// of `at` (never later than the current one). Call after [`TierClock::settle`].
    pub fn earned(&self, c: &mut Customer, points: i64, at: DateTime<Utc>) {
        let (Some(months), Some(state)) = (self.months, c.tier.as_mut()) else {
            return;
        };
        let month = Month::of(at, self.program.utc_offset_minutes).min(self.now);
        if month < self.window_start(months) {
            return;
        }
        let pairs =
            state.earned.iter().map(|(m, p)| (m, if m == month { p.saturating_add(points.min(0)).max(0) } else { p }));
        let mut next = Buckets::from_pairs(pairs);
        if points > 0 {
            next = Buckets::from_pairs(next.iter().chain(std::iter::once((month, points))));
        }
        state.earned = next;
    }

    /// After a change's earnings: an immediate upgrade when the window's points reach a
    /// higher tier, never a downgrade; the review month set for a member above the
    /// lowest tier. The change, if any, is returned for the history.
    pub fn upgrade(&self, c: &mut Customer) -> Option<TierChange> {
        self.months?;
        let qualified = self.program.tier_for(self.qualifying(c));
        let held = tier_of(self.program, c);
        let change = (qualified.min_lifetime_points > held.min_lifetime_points)
            .then(|| TierChange { from: held.name.clone(), to: qualified.name.clone() });
        let now = self.now;
        let lowest = self.program.tiers.first().map(|t| t.min_lifetime_points).unwrap_or(0);
        let state = c.tier.as_mut()?;
        if let Some(change) = &change {
            state.name = change.to.clone();
            state.grace_from = None;
        }
        let above_lowest = qualified.min_lifetime_points.max(held.min_lifetime_points) > lowest;
        state.review = match (above_lowest, state.review) {
            (false, _) => None,
            (true, Some(due)) => Some(due),
            (true, None) => Some(now.plus(1)),
        };
        change
    }

    /// The review of a member (settled): a member that qualifies keeps its tier (and
    /// its grace ends); one that does not is moved down to the tier its window's points
    /// give once its grace has run, counted in months from the first review it failed.
    /// The next review is next month, or none at the lowest tier.
    pub fn review(&self, c: &mut Customer) -> Option<TierChange> {
        self.months?;
        let grace = self.program.tier_grace_months;
        let qualified = self.program.tier_for(self.qualifying(c));
        let held = tier_of(self.program, c);
        let lowest = self.program.tiers.first().map(|t| t.min_lifetime_points).unwrap_or(0);
        let now = self.now;
        let mut change = None;
        let state = c.tier.as_mut()?;
        if qualified.min_lifetime_points >= held.min_lifetime_points {
            state.grace_from = None;
            if qualified.min_lifetime_points > held.min_lifetime_points {
                change = Some(TierChange { from: held.name.clone(), to: qualified.name.clone() });
            }
        } else {
            let from = *state.grace_from.get_or_insert(now);
            if now >= from.plus(grace) {
                change = Some(TierChange { from: held.name.clone(), to: qualified.name.clone() });
                state.grace_from = None;
            }
        }
        if let Some(change) = &change {
            state.name = change.to.clone();
        }
        let kept = change.as_ref().map_or(held.min_lifetime_points, |_| qualified.min_lifetime_points);
        state.review = (kept > lowest).then(|| now.plus(1));
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{default_program, tier};

    fn program(grace: u32) -> Program {
        let mut p = default_program("Test");
        p.utc_offset_minutes = 0;
        p.tiers = vec![tier("Silver", 0, 1000, false, ""), tier("Gold", 1_000, 1500, false, "")];
        p.tier_qualifying_months = Some(3);
        p.tier_grace_months = grace;
        p
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn member() -> Customer {
        Customer::new(CustomerId::new_random(), "A".into(), None, None, at("2027-01-01T00:00:00Z"))
    }

    fn earn(p: &Program, c: &mut Customer, points: i64, when: &str) -> Option<TierChange> {
        let clock = TierClock::new(p, at(when));
        clock.settle(c);
        clock.earned(c, points, at(when));
        c.lifetime_points += points.max(0);
        clock.upgrade(c)
    }

    fn review(p: &Program, c: &mut Customer, when: &str) -> Option<TierChange> {
        let clock = TierClock::new(p, at(when));
        clock.settle(c);
        clock.review(c)
    }

    #[test]
    fn up_at_once_down_only_at_a_review_after_the_grace() {
        let p = program(1);
        let mut c = member();
        assert_eq!(earn(&p, &mut c, 600, "2027-01-10T00:00:00Z"), None);
        let up = earn(&p, &mut c, 600, "2027-02-10T00:00:00Z");
        assert_eq!(up, Some(TierChange { from: "Silver".into(), to: "Gold".into() }));
        assert_eq!(c.tier.as_ref().unwrap().review, Month::new(2027, 3));
        // Still 1,200 in Jan..Mar: kept.
        assert_eq!(review(&p, &mut c, "2027-03-01T00:00:00Z"), None);
        // April's window (Feb..Apr) holds 600: the grace starts, nothing moves.
        assert_eq!(review(&p, &mut c, "2027-04-01T00:00:00Z"), None);
        assert_eq!(tier_of(&p, &c).name, "Gold");
        // A sale never moves it down.
        assert_eq!(earn(&p, &mut c, 10, "2027-04-02T00:00:00Z"), None);
        // May: the grace has run and the window (Mar..May) holds 10.
        let down = review(&p, &mut c, "2027-05-01T00:00:00Z");
        assert_eq!(down, Some(TierChange { from: "Gold".into(), to: "Silver".into() }));
        assert_eq!(c.tier.as_ref().unwrap().review, None, "nothing to review at the lowest tier");
        // And up again at once.
        assert!(earn(&p, &mut c, 1_000, "2027-05-03T00:00:00Z").is_some());
        assert_eq!(c.tier.as_ref().unwrap().earned.len(), 2, "only the window's months are kept");
    }

    #[test]
    fn a_refund_takes_back_from_the_sale_month() {
        let p = program(0);
        let mut c = member();
        earn(&p, &mut c, 1_200, "2027-01-10T00:00:00Z");
        let clock = TierClock::new(&p, at("2027-01-20T00:00:00Z"));
        clock.settle(&mut c);
        clock.earned(&mut c, -500, at("2027-01-10T00:00:00Z"));
        assert_eq!(clock.qualifying(&c), 700);
        assert_eq!(tier_of(&p, &c).name, "Gold", "a refund is no review");
        assert!(review(&p, &mut c, "2027-02-01T00:00:00Z").is_some(), "no grace: down at the review");
    }

    #[test]
    fn a_lifetime_program_keeps_no_state() {
        let mut p = program(0);
        p.tier_qualifying_months = None;
        let mut c = member();
        assert_eq!(earn(&p, &mut c, 5_000, "2027-01-10T00:00:00Z"), None);
        assert_eq!(c.tier, None);
        assert_eq!(tier_of(&p, &c).name, "Gold");
    }
}
