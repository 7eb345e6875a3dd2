//! Points that expire by the month they were earned.
//!
//! A program with `points_expiry_months = N` lets points earned in month M (in the
//! program's zone) be spent until the last day of month M+N; they expire at the first
//! instant of month M+N+1. A member's expiry state is a few month buckets kept in the
//! member item ([`Buckets`]), written in the same write as the balance, so tracking
//! expiry costs no extra round trip.
//!
//! The buckets always sum to the balance when it is positive and are empty when it is
//! zero or below (a refund can take a balance below zero; later earnings repay that
//! debt first). Every operation here keeps that, whatever it is given.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{local_date, Customer};
use crate::program::Program;

/// The fewest and most months a program may keep points for.
pub const MIN_EXPIRY_MONTHS: u32 = 1;
pub const MAX_EXPIRY_MONTHS: u32 = 120;

/// A calendar month, as months since year 0 (so months subtract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then(|| Month(year * 12 + month as i32 - 1))
    }

    pub fn of_date(date: NaiveDate) -> Month {
        Month(date.year() * 12 + date.month0() as i32)
    }

    /// The month of an instant in a zone `utc_offset_minutes` from UTC.
    pub fn of(at: DateTime<Utc>, utc_offset_minutes: i32) -> Month {
        Month::of_date(local_date(at, utc_offset_minutes))
    }

    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// 1 to 12.
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    pub fn plus(self, months: u32) -> Month {
        Month(self.0.saturating_add(months.min(i32::MAX as u32) as i32))
    }

    pub fn minus(self, months: u32) -> Month {
        Month(self.0.saturating_sub(months.min(i32::MAX as u32) as i32))
    }

    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1)
    }

    /// The last day of the month.
    pub fn last_day(self) -> Option<NaiveDate> {
        self.plus(1).first_day().and_then(|d| d.pred_opt())
    }

    /// `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        let ok = year.len() == 4 && month.len() == 2 && text.bytes().filter(|b| *b != b'-').all(|b| b.is_ascii_digit());
        if !ok {
            return None;
        }
        Month::new(year.parse().ok()?, month.parse().ok()?)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

/// A member's points by the month they were earned, oldest first; every bucket holds at
/// least one point. Stored as a map `{"YYYY-MM": points}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buckets(Vec<(Month, i64)>);

impl Buckets {
    /// Buckets from any pairs: months merged, empty ones dropped, oldest first.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Month, i64)>) -> Buckets {
        let mut b = Buckets::default();
        for (month, points) in pairs {
            b.put(month, points);
        }
        b
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Month, i64)> + '_ {
        self.0.iter().copied()
    }

    pub fn total(&self) -> i64 {
        self.0.iter().fold(0i64, |sum, (_, p)| sum.saturating_add(*p))
    }

    /// The oldest bucket: the next points to expire.
    pub fn oldest(&self) -> Option<(Month, i64)> {
        self.0.first().copied()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Adds `points` (> 0) to `month`'s bucket.
    fn put(&mut self, month: Month, points: i64) {
        if points <= 0 {
            return;
        }
        match self.0.binary_search_by_key(&month, |(m, _)| *m) {
            Ok(i) => self.0[i].1 = self.0[i].1.saturating_add(points),
            Err(i) => self.0.insert(i, (month, points)),
        }
    }

    /// Takes up to `points` from `month`'s bucket, if there is one; returns what is left
    /// to take.
    fn take_from(&mut self, month: Month, points: i64) -> i64 {
        let Ok(i) = self.0.binary_search_by_key(&month, |(m, _)| *m) else {
            return points;
        };
        let taken = self.0[i].1.min(points);
        self.0[i].1 -= taken;
        if self.0[i].1 == 0 {
            self.0.remove(i);
        }
        points - taken
    }

    /// Takes up to `points` from the oldest buckets first; returns what is left to take.
    fn take_oldest(&mut self, mut points: i64) -> i64 {
        while points > 0 {
            let Some((month, _)) = self.oldest() else { break };
            points = self.take_from(month, points);
        }
        points
    }

    /// Makes the buckets sum to `balance` when it is positive and empties them when it
    /// is not: a shortfall (a balance that predates expiry) counts as earned in `month`,
    /// an excess leaves the oldest buckets.
    pub fn reconcile(&mut self, balance: i64, month: Month) {
        let want = balance.max(0);
        let have = self.total();
        if have < want {
            self.put(month, want - have);
        } else if have > want {
            self.take_oldest(have - want);
        }
    }

    /// Removes the buckets due at `now` for a program keeping points `months` months:
    /// every month before `now - months`. Returns the points they held.
    pub fn take_due(&mut self, now: Month, months: u32) -> i64 {
        let keep_from = Month(now.0.saturating_sub(months.min(i32::MAX as u32) as i32));
        let due: i64 = self.0.iter().filter(|(m, _)| *m < keep_from).map(|(_, p)| *p).sum();
        self.0.retain(|(m, _)| *m >= keep_from);
        due
    }

    /// The balance goes from `balance` up by `points` (>= 0), earned in `month`: what
    /// repays a negative balance goes to no bucket, the rest to `month`'s.
    pub fn add(&mut self, balance: i64, points: i64, month: Month) {
        let after = balance.saturating_add(points.max(0));
        self.put(month, after.max(0) - balance.max(0));
    }

    /// The balance goes from `balance` down by `points` (>= 0): what was above zero
    /// leaves `first`'s bucket first (a refund of a sale: the sale's month), then the
    /// oldest.
    pub fn remove(&mut self, balance: i64, points: i64, first: Option<Month>) {
        let after = balance.saturating_sub(points.max(0));
        let mut left = balance.max(0) - after.max(0);
        if let Some(month) = first {
            left = self.take_from(month, left);
        }
        self.take_oldest(left);
    }
}

impl Serialize for Buckets {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(m, p)| (m.to_string(), *p)))
    }
}

impl<'de> Deserialize<'de> for Buckets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, i64>::deserialize(d)?;
        let mut pairs = Vec::with_capacity(map.len());
        for (month, points) in map {
            let month = Month::parse(&month)
                .ok_or_else(|| serde::de::Error::custom(format!("bucket month {month:?} is not YYYY-MM")))?;
            if points <= 0 {
                return Err(serde::de::Error::custom(format!("bucket {month} holds {points} points")));
            }
            pairs.push((month, points));
        }
        Ok(Buckets::from_pairs(pairs))
    }
}

/// A program's expiry rule at one instant: what every balance change computes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryClock {
    /// `None`: points never expire (and members keep no buckets).
    months: Option<u32>,
    utc_offset_minutes: i32,
    now: Month,
}

/// The points that expire next and the last day they can be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiring {
    pub points: i64,
    pub last_day: NaiveDate,
}

impl ExpiryClock {
    pub fn new(program: &Program, now: DateTime<Utc>) -> ExpiryClock {
        ExpiryClock {
            months: program.points_expiry_months,
            utc_offset_minutes: program.utc_offset_minutes,
            now: Month::of(now, program.utc_offset_minutes),
        }
    }

    /// The month points earned at `at` count in: never later than the current one (a
    /// till's clock may run a few minutes ahead across a month's end).
    pub fn month_of(&self, at: DateTime<Utc>) -> Month {
        Month::of(at, self.utc_offset_minutes).min(self.now)
    }

    /// Applies what is due before a change: builds the buckets of a balance that
    /// predates expiry (earned this month), then takes away the points whose months have
    /// passed. Returns the points expired (0 or more). A program without expiry clears
    /// the buckets and expires nothing.
    pub fn settle(&self, c: &mut Customer) -> i64 {
        c.points_expiry_months = self.months;
        let Some(months) = self.months else {
            c.points_expiry.clear();
            return 0;
        };
        c.points_expiry.reconcile(c.points_balance, self.now);
        let due = c.points_expiry.take_due(self.now, months);
        c.points_balance -= due;
        due
    }

    /// The member gains `points` (>= 0) earned at `at`.
    pub fn add(&self, c: &mut Customer, points: i64, at: DateTime<Utc>) {
        if self.months.is_some() {
            c.points_expiry.add(c.points_balance, points, self.month_of(at));
        }
        c.points_balance = c.points_balance.saturating_add(points.max(0));
    }

    /// The member loses `points` (>= 0): from the month of `first` first (a refunded
    /// sale's), then the oldest.
    pub fn remove(&self, c: &mut Customer, points: i64, first: Option<DateTime<Utc>>) {
        if self.months.is_some() {
            c.points_expiry.remove(c.points_balance, points, first.map(|at| self.month_of(at)));
        }
        c.points_balance = c.points_balance.saturating_sub(points.max(0));
    }

    /// What expires next for a member as they are (settled first, without writing) and
    /// the last day it can be spent; `None` when nothing will expire.
    pub fn expiring(&self, c: &Customer) -> Option<Expiring> {
        let months = self.months?;
        let (month, points) = c.points_expiry.oldest()?;
        let last_day = month.plus(months).last_day()?;
        Some(Expiring { points, last_day })
    }
}

/// The month at whose first instant a member's oldest points expire, by the rule they
/// were last settled with: what places them in the expiry index. `None` when nothing
/// will expire.
pub fn due_month(c: &Customer) -> Option<Month> {
    let months = c.points_expiry_months?;
    let (oldest, _) = c.points_expiry.oldest()?;
    Some(oldest.plus(months).plus(1))
}

/// A member as a change at `now` would see them (what is due taken away, unwritten), and
/// what expires next: what a lookup shows.
pub fn view(program: &Program, c: &Customer, now: DateTime<Utc>) -> (Customer, Option<Expiring>) {
    let clock = ExpiryClock::new(program, now);
    let mut settled = c.clone();
    clock.settle(&mut settled);
    let expiring = clock.expiring(&settled);
    (settled, expiring)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn m(text: &str) -> Month {
        Month::parse(text).unwrap()
    }

    fn pairs(b: &Buckets) -> Vec<(String, i64)> {
        b.iter().map(|(m, p)| (m.to_string(), p)).collect()
    }

    #[test]
    fn months_parse_print_and_count() {
        assert_eq!(m("2026-01").to_string(), "2026-01");
        assert_eq!(m("2026-11").plus(3).to_string(), "2027-02");
        assert_eq!(m("2026-02").last_day(), NaiveDate::from_ymd_opt(2026, 2, 28));
        assert_eq!(m("2028-02").last_day(), NaiveDate::from_ymd_opt(2028, 2, 29));
        for bad in ["2026-13", "2026-00", "26-01", "2026-1", "2026/01", "abcd-01", "+026-01"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        // 23:59 on 31 January in UTC is already February in India.
        let at = DateTime::parse_from_rfc3339("2026-01-31T23:59:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(Month::of(at, 330), m("2026-02"));
        assert_eq!(Month::of(at, 0), m("2026-01"));
    }

    #[test]
    fn spending_takes_the_oldest_first() {
        let mut b = Buckets::from_pairs([(m("2026-03"), 300), (m("2026-01"), 100), (m("2026-02"), 200)]);
        b.remove(600, 250, None);
        assert_eq!(pairs(&b), vec![("2026-02".into(), 50), ("2026-03".into(), 300)]);
    }

    #[test]
    fn a_refund_takes_from_the_sales_month_first() {
        let mut b = Buckets::from_pairs([(m("2026-01"), 100), (m("2026-02"), 200)]);
        b.remove(300, 250, Some(m("2026-02")));
        assert_eq!(pairs(&b), vec![("2026-01".into(), 50)]);
    }

    #[test]
    fn a_debt_is_repaid_before_a_bucket_fills() {
        let mut b = Buckets::default();
        // 100 points, a refund takes 150: balance -50, no buckets.
        b.add(0, 100, m("2026-01"));
        b.remove(100, 150, Some(m("2026-01")));
        assert!(b.is_empty());
        // Earning 80 repays the 50 first.
        b.add(-50, 80, m("2026-02"));
        assert_eq!(pairs(&b), vec![("2026-02".into(), 30)]);
    }

    #[test]
    fn due_months_expire_and_the_rest_stay() {
        // Three months' keeping: in May, January is due (valid to the end of April).
        let mut b = Buckets::from_pairs([(m("2026-01"), 100), (m("2026-02"), 200), (m("2026-05"), 5)]);
        assert_eq!(b.take_due(m("2026-04"), 3), 0);
        assert_eq!(b.take_due(m("2026-05"), 3), 100);
        assert_eq!(pairs(&b), vec![("2026-02".into(), 200), ("2026-05".into(), 5)]);
    }

    #[test]
    fn a_balance_from_before_expiry_counts_as_earned_now() {
        let mut b = Buckets::default();
        b.reconcile(700, m("2026-06"));
        assert_eq!(pairs(&b), vec![("2026-06".into(), 700)]);
        b.reconcile(-5, m("2026-06"));
        assert!(b.is_empty());
    }

    #[test]
    fn stored_as_a_map_of_months() {
        let b = Buckets::from_pairs([(m("2026-02"), 2), (m("2026-01"), 1)]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, r#"{"2026-01":1,"2026-02":2}"#);
        assert_eq!(serde_json::from_str::<Buckets>(&json).unwrap(), b);
        assert!(serde_json::from_str::<Buckets>(r#"{"2026-13":1}"#).is_err());
        assert!(serde_json::from_str::<Buckets>(r#"{"2026-01":0}"#).is_err());
    }

    #[test]
    fn the_clock_expires_what_is_due_and_says_what_is_next() {
        let mut p = crate::program::default_program("x");
        p.utc_offset_minutes = 0;
        p.points_expiry_months = Some(2);
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let mut c =
            Customer::new(crate::domain::CustomerId::new_random(), "A".into(), None, None, at("2026-01-01T00:00:00Z"));
        let jan = ExpiryClock::new(&p, at("2026-01-10T00:00:00Z"));
        jan.add(&mut c, 100, at("2026-01-10T00:00:00Z"));
        let feb = ExpiryClock::new(&p, at("2026-02-10T00:00:00Z"));
        feb.add(&mut c, 50, at("2026-02-10T00:00:00Z"));
        let expiring = feb.expiring(&c).unwrap();
        assert_eq!((expiring.points, expiring.last_day.to_string()), (100, "2026-03-31".into()));
        let (seen, _) = view(&p, &c, at("2026-03-31T23:59:59Z"));
        assert_eq!(seen.points_balance, 150);
        let (seen, next) = view(&p, &c, at("2026-04-01T00:00:00Z"));
        assert_eq!(seen.points_balance, 50);
        assert_eq!(next.unwrap().last_day.to_string(), "2026-04-30");
        // Switched off: nothing expires, the buckets go.
        p.points_expiry_months = None;
        let (seen, next) = view(&p, &c, at("2027-01-01T00:00:00Z"));
        assert_eq!((seen.points_balance, next, seen.points_expiry.is_empty()), (150, None, true));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(i64, i32),
        Remove(i64, Option<i32>),
        Due(i32, u32),
        Reconcile(i32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..10_000i64, 0..24i32).prop_map(|(p, m)| Op::Add(p, m)),
            (0..10_000i64, proptest::option::of(0..24i32)).prop_map(|(p, m)| Op::Remove(p, m)),
            (0..24i32, 1..13u32).prop_map(|(m, n)| Op::Due(m, n)),
            (0..24i32).prop_map(Op::Reconcile),
        ]
    }

    proptest! {
        #[test]
        fn buckets_never_go_negative_and_sum_to_a_positive_balance(ops in proptest::collection::vec(op(), 0..60)) {
            let base = m("2026-01");
            let month = |i: i32| Month(base.0 + i);
            let mut b = Buckets::default();
            let mut balance = 0i64;
            for op in ops {
                match op {
                    Op::Add(p, at) => { b.add(balance, p, month(at)); balance += p; }
                    Op::Remove(p, first) => { b.remove(balance, p, first.map(month)); balance -= p; }
                    Op::Due(now, n) => {
                        let due = b.take_due(month(now), n);
                        prop_assert!(due >= 0 && due <= balance.max(0));
                        balance -= due;
                        prop_assert!(b.iter().all(|(m, _)| m.0 >= month(now).0 - n as i32));
                    }
                    Op::Reconcile(now) => b.reconcile(balance, month(now)),
                }
                prop_assert!(b.iter().all(|(_, p)| p > 0), "{b:?}");
                prop_assert_eq!(b.total(), balance.max(0));
                prop_assert!(b.iter().zip(b.iter().skip(1)).all(|(x, y)| x.0 < y.0));
            }
        }
    }
}
