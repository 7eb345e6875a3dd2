//! A tenant's loyalty program: currency, earn and redemption rates, tiers and category
//! bonuses, and the point math over them.
//!
//! # Rounding rule
//! Points are whole numbers. A sale's points are computed exactly as a rational number
//! (amount in minor units x base rate x category multiplier x tier multiplier) and
//! rounded **down once**, at the end, to a whole point. No intermediate rounding, no
//! floating point: all factors are integers (rates and multipliers in thousandths) and
//! the arithmetic is done in `i128`, which cannot overflow for capped amounts.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{check_identifier, nfc, Milli, MINOR_PER_UNIT};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    /// ISO 4217 code; every supported currency has two decimals.
    pub currency: String,
    /// What members call their points (`"Stars"`, `"Points"`).
    pub points_name: String,
    /// Points earned per currency unit, in thousandths (100 points per ₹1 = 100_000).
    pub earn_rate_milli: u32,
    /// Points per currency unit of discount (100 = 100 points buy ₹1 off).
    pub redemption_rate: u32,
    /// Tiers by lifetime points earned, lowest first; the first starts at 0.
    pub tiers: Vec<Tier>,
    /// Extra multipliers for bill items in a category.
    #[serde(default)]
    pub category_bonuses: Vec<CategoryBonus>,
    /// The program's offset from UTC in minutes (IST = 330): a date-only expiry ends at
    /// the end of that day there.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// How long a voucher issued for a reward stays valid.
    #[serde(default = "default_voucher_days")]
    pub voucher_validity_days: u32,
    /// One-time codes the tenant may send by SMS in a clock hour and in a UTC day, all
    /// mobiles together: the bound on what SMS pumping through a leaked key can cost.
    #[serde(default = "default_otp_sms_per_hour")]
    pub otp_sms_per_hour: u32,
    #[serde(default = "default_otp_sms_per_day")]
    pub otp_sms_per_day: u32,
    /// Wrong one-time-code guesses one mobile may make in a UTC day, across codes.
    #[serde(default = "default_otp_wrong_guesses_per_day")]
    pub otp_wrong_guesses_per_day: u32,
    /// Points earned in a month can be spent until the end of the month this many months
    /// later, then expire; `None`: they never expire (see [`crate::expiry`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_expiry_months: Option<u32>,
    /// Tiers qualify on the points earned in the last this many months (the current one
    /// included) and are reviewed monthly; `None`: on lifetime points, never reviewed
    /// (see [`crate::tiers`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_qualifying_months: Option<u32>,
    /// Months of reviews a member may fail to qualify before it moves down.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tier_grace_months: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn default_voucher_days() -> u32 {
    30
}

fn default_otp_sms_per_hour() -> u32 {
    DEFAULT_OTP_SMS_PER_HOUR
}

fn default_otp_sms_per_day() -> u32 {
    DEFAULT_OTP_SMS_PER_DAY
}

fn default_otp_wrong_guesses_per_day() -> u32 {
    DEFAULT_OTP_WRONG_GUESSES_PER_DAY
}

/// A busy restaurant chain's tills send a few hundred codes an hour at peak.
pub const DEFAULT_OTP_SMS_PER_HOUR: u32 = 500;
pub const DEFAULT_OTP_SMS_PER_DAY: u32 = 5_000;
/// Two codes' worth of guesses (five each): a member who mistypes still gets through.
pub const DEFAULT_OTP_WRONG_GUESSES_PER_DAY: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub name: String,
    pub min_lifetime_points: i64,
    pub multiplier_milli: u32,
    pub priority_service: bool,
    #[serde(default)]
    pub color: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryBonus {
    /// Matched case-insensitively against an item's `category`.
    pub category: String,
    /// Multiplier on the item's base points (2000 = double points).
    pub multiplier_milli: u32,
}

/// One bill line that may carry a category bonus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillItem {
    pub category: String,
    pub name: String,
    pub amount_minor: i64,
}

/// What a sale earns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    pub points: i64,
    pub tier_multiplier: Milli,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    #[error("a program needs at least one tier, the first starting at 0 lifetime points")]
    NoBaseTier,
    #[error("tiers must be in increasing order of lifetime points")]
    TiersOutOfOrder,
    #[error("the redemption rate must be at least 1")]
    ZeroRedemptionRate,
    #[error("multipliers must be at least 1")]
    MultiplierBelowOne,
    #[error("multipliers may be at most 100, the earn rate at most 1,000,000 points per unit")]
    OutOfRange,
    #[error("{0} must be 1 to {1} characters, without control, invisible or direction-changing characters")]
    BadText(&'static str, usize),
    #[error("currency must be a three-letter ISO 4217 code such as INR")]
    BadCurrency,
    #[error("a tier's color must be empty or #RRGGBB")]
    BadColor,
    #[error("at most {MAX_TIERS} tiers and {MAX_CATEGORY_BONUSES} category bonuses, each named once")]
    TooManyOrRepeated,
    #[error("utc_offset_minutes must be from -720 to 840")]
    BadUtcOffset,
    #[error("voucher_validity_days must be 1 to {MAX_VOUCHER_VALIDITY_DAYS}")]
    BadVoucherValidity,
    #[error("OTP limits must be at least 1, at most {MAX_OTP_LIMIT}, and the daily SMS limit at least the hourly one")]
    BadOtpLimits,
    #[error(
        "points_expiry_months must be {} to {}, or none",
        crate::expiry::MIN_EXPIRY_MONTHS,
        crate::expiry::MAX_EXPIRY_MONTHS
    )]
    BadPointsExpiry,
    #[error(
        "tier_qualifying_months must be {} to {}, or none (lifetime points); tier_grace_months at most {}, and only with a period",
        crate::tiers::MIN_QUALIFYING_MONTHS,
        crate::tiers::MAX_QUALIFYING_MONTHS,
        crate::tiers::MAX_GRACE_MONTHS
    )]
    BadTierPeriod,
}

pub const MAX_TIERS: usize = 20;
pub const MAX_CATEGORY_BONUSES: usize = 100;
/// Ten years: a voucher's expiry stays a real date, whatever the program says.
pub const MAX_VOUCHER_VALIDITY_DAYS: u32 = 3_650;
pub const MAX_OTP_LIMIT: u32 = 10_000_000;

/// Caps that keep every product of the point math far inside `i128` and every result
/// inside `i64`.
pub const MAX_MULTIPLIER_MILLI: u32 = 100_000;
pub const MAX_EARN_RATE_MILLI: u32 = 1_000_000_000;

impl Program {
    pub fn validate(&self) -> Result<(), ProgramError> {
        match self.tiers.first() {
            Some(t) if t.min_lifetime_points == 0 => {}
            _ => return Err(ProgramError::NoBaseTier),
        }
        if self.tiers.windows(2).any(|w| w[0].min_lifetime_points >= w[1].min_lifetime_points) {
            return Err(ProgramError::TiersOutOfOrder);
        }
        if self.redemption_rate == 0 {
            return Err(ProgramError::ZeroRedemptionRate);
        }
        let multipliers = self
            .tiers
            .iter()
            .map(|t| t.multiplier_milli)
            .chain(self.category_bonuses.iter().map(|b| b.multiplier_milli));
        let multipliers: Vec<u32> = multipliers.collect();
        if multipliers.iter().any(|m| *m < 1000) {
            return Err(ProgramError::MultiplierBelowOne);
        }
        if multipliers.iter().any(|m| *m > MAX_MULTIPLIER_MILLI) || self.earn_rate_milli > MAX_EARN_RATE_MILLI {
            return Err(ProgramError::OutOfRange);
        }
        text("name", &self.name, 100)?;
        text("points_name", &self.points_name, 40)?;
        let currency_ok = self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase());
        if !currency_ok {
            return Err(ProgramError::BadCurrency);
        }
        for t in &self.tiers {
            text("a tier's name", &t.name, 40)?;
            let hex = t.color.strip_prefix('#').unwrap_or("");
            let rgb = hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit());
            if !(t.color.is_empty() || rgb) {
                return Err(ProgramError::BadColor);
            }
        }
        for b in &self.category_bonuses {
            text("a bonus's category", &b.category, 64)?;
        }
        let mut tier_names: Vec<String> = self.tiers.iter().map(|t| t.name.to_lowercase()).collect();
        let mut categories: Vec<String> =
            self.category_bonuses.iter().map(|b| b.category.trim().to_lowercase()).collect();
        tier_names.sort();
        tier_names.dedup();
        categories.sort();
        categories.dedup();
        if self.tiers.len() > MAX_TIERS
            || self.category_bonuses.len() > MAX_CATEGORY_BONUSES
            || tier_names.len() != self.tiers.len()
            || categories.len() != self.category_bonuses.len()
        {
            return Err(ProgramError::TooManyOrRepeated);
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(ProgramError::BadUtcOffset);
        }
        if !(1..=MAX_VOUCHER_VALIDITY_DAYS).contains(&self.voucher_validity_days) {
            return Err(ProgramError::BadVoucherValidity);
        }
        let limits = [self.otp_sms_per_hour, self.otp_sms_per_day, self.otp_wrong_guesses_per_day];
        if limits.iter().any(|l| !(1..=MAX_OTP_LIMIT).contains(l)) || self.otp_sms_per_day < self.otp_sms_per_hour {
            return Err(ProgramError::BadOtpLimits);
        }
        let expiry = crate::expiry::MIN_EXPIRY_MONTHS..=crate::expiry::MAX_EXPIRY_MONTHS;
        if self.points_expiry_months.is_some_and(|m| !expiry.contains(&m)) {
            return Err(ProgramError::BadPointsExpiry);
        }
        let period = crate::tiers::MIN_QUALIFYING_MONTHS..=crate::tiers::MAX_QUALIFYING_MONTHS;
        let bad_period = self.tier_qualifying_months.is_some_and(|m| !period.contains(&m));
        let bad_grace = self.tier_grace_months > crate::tiers::MAX_GRACE_MONTHS
            || (self.tier_grace_months > 0 && self.tier_qualifying_months.is_none());
        if bad_period || bad_grace {
            return Err(ProgramError::BadTierPeriod);
        }
        Ok(())
    }

    /// The program with every name in Unicode NFC, as it is stored.
    pub fn normalised(mut self) -> Program {
        self.name = nfc(self.name.trim());
        self.points_name = nfc(self.points_name.trim());
        for t in &mut self.tiers {
            t.name = nfc(t.name.trim());
        }
        for b in &mut self.category_bonuses {
            b.category = nfc(b.category.trim());
        }
        self
    }

    /// The tier for a member's lifetime points (points earned, never reduced by spending).
    pub fn tier_for(&self, lifetime_points: i64) -> &Tier {
        self.tiers
            .iter()
            .rev()
            .find(|t| lifetime_points >= t.min_lifetime_points)
            .or(self.tiers.first())
            .unwrap_or(&FALLBACK_TIER)
    }

    /// Points for a sale of `amount_minor`, of which `items` may earn category bonuses,
    /// for a member with `lifetime_points` so far.
    pub fn earn(&self, amount_minor: i64, items: &[BillItem], lifetime_points: i64) -> Earning {
        self.earn_at(amount_minor, items, self.tier_for(lifetime_points))
    }

    /// Points for a sale for a member in `tier`.
    pub fn earn_at(&self, amount_minor: i64, items: &[BillItem], tier: &Tier) -> Earning {
        // The amount weighted by category multipliers, in minor units x 1000.
        let mut weighted: i128 = amount_minor as i128 * 1000;
        for item in items {
            if let Some(bonus) =
                self.category_bonuses.iter().find(|b| b.category.eq_ignore_ascii_case(item.category.trim()))
            {
                weighted += item.amount_minor as i128 * (bonus.multiplier_milli as i128 - 1000);
            }
        }
        let numerator = weighted * self.earn_rate_milli as i128 * tier.multiplier_milli as i128;
        let denominator = 1000_i128 * MINOR_PER_UNIT as i128 * 1000 * 1000;
        Earning { points: (numerator / denominator) as i64, tier_multiplier: Milli(tier.multiplier_milli) }
    }

    /// The discount `points` buy at the redemption rate, in minor units, rounded down.
    pub fn discount_minor(&self, points: i64) -> i64 {
        self.redeemable_minor(points)
    }

    /// The discount a balance buys, in minor units, rounded down to the minor unit.
    /// A negative balance buys nothing.
    pub fn redeemable_minor(&self, balance: i64) -> i64 {
        if balance <= 0 {
            return 0;
        }
        let rate = self.redemption_rate.max(1) as i128;
        (balance as i128 * MINOR_PER_UNIT as i128 / rate) as i64
    }
}

/// A name an operator sets: 1 to `max` characters, none of them control, invisible or
/// direction-changing (a name shown on a receipt must read as it is stored).
fn text(field: &'static str, value: &str, max: usize) -> Result<(), ProgramError> {
    let value = value.trim();
    let ok = (1..=max).contains(&value.chars().count())
        && !value.chars().any(char::is_control)
        && check_identifier(value).is_ok();
    ok.then_some(()).ok_or(ProgramError::BadText(field, max))
}

static FALLBACK_TIER: Tier = Tier {
    name: String::new(),
    min_lifetime_points: 0,
    multiplier_milli: 1000,
    priority_service: false,
    color: String::new(),
};

/// The rules a new tenant starts with unless told otherwise.
pub fn default_program(name: &str) -> Program {
    Program {
        name: name.to_owned(),
        currency: "INR".into(),
        points_name: "Points".into(),
        earn_rate_milli: 100_000,
        redemption_rate: 100,
        tiers: vec![
            tier("Silver", 0, 1000, false, "#C0C0C0"),
            tier("Gold", 250_000, 1000, false, "#FFD700"),
            tier("Platinum", 1_000_000, 1500, true, "#E5E4E2"),
        ],
        category_bonuses: vec![],
        utc_offset_minutes: 330,
        voucher_validity_days: 30,
        otp_sms_per_hour: DEFAULT_OTP_SMS_PER_HOUR,
        otp_sms_per_day: DEFAULT_OTP_SMS_PER_DAY,
        otp_wrong_guesses_per_day: DEFAULT_OTP_WRONG_GUESSES_PER_DAY,
        points_expiry_months: None,
        tier_qualifying_months: None,
        tier_grace_months: 0,
    }
}

pub fn tier(name: &str, min: i64, multiplier_milli: u32, priority: bool, color: &str) -> Tier {
    Tier {
        name: name.into(),
        min_lifetime_points: min,
        multiplier_milli,
        priority_service: priority,
        color: color.into(),
    }
}

/// A tenant's program over time: each version is in force from its `effective_from`
/// until the next one's. A change is a new version; none is ever rewritten, so a sale is
/// priced by the version in force at its sale time, whenever it is posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramVersions {
    /// In force from the beginning, whatever its date.
    oldest: ProgramVersion,
    /// Later versions, oldest first.
    newer: Vec<ProgramVersion>,
}

/// One version of a program's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramVersion {
    /// `None`: the rules the tenant was created with, in force from the beginning.
    pub effective_from: Option<DateTime<Utc>>,
    pub rules: Arc<Program>,
}

impl ProgramVersions {
    /// The versions in any order; `None` when there are none (no such tenant).
    pub fn new(mut versions: Vec<ProgramVersion>) -> Option<Self> {
        versions.sort_by_key(|v| v.effective_from);
        let mut versions = versions.into_iter();
        let oldest = versions.next()?;
        Some(ProgramVersions { oldest, newer: versions.collect() })
    }

    /// The rules in force at `at`: the newest version effective at or before it (the
    /// oldest version for an instant before every version).
    pub fn at(&self, at: DateTime<Utc>) -> &Arc<Program> {
        let in_force = self.newer.iter().rev().find(|v| v.effective_from.is_none_or(|from| from <= at));
        &in_force.unwrap_or(&self.oldest).rules
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = &ProgramVersion> {
        std::iter::once(&self.oldest).chain(&self.newer)
    }

    /// The newest version, in force or scheduled.
    pub fn latest(&self) -> &ProgramVersion {
        self.newer.last().unwrap_or(&self.oldest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> Program {
        let mut p = default_program("Test");
        p.tiers = vec![
            tier("Silver", 0, 1000, false, ""),
            tier("Gold", 10_000, 1500, false, ""),
            tier("Platinum", 50_000, 2000, true, ""),
        ];
        p.category_bonuses = vec![CategoryBonus { category: "Beverages".into(), multiplier_milli: 2000 }];
        p
    }

    fn item(category: &str, minor: i64) -> BillItem {
        BillItem { category: category.into(), name: "x".into(), amount_minor: minor }
    }

    #[test]
    fn base_rate_times_amount() {
        // 1500 x 100 base rate, as in the reference page.
        assert_eq!(program().earn(150_000, &[], 0).points, 150_000);
    }

    #[test]
    fn rounds_down_once_at_the_end() {
        let mut p = program();
        p.earn_rate_milli = 1_000; // 1 point per rupee
                                   // ₹0.99 earns 0.99 points -> 0; ₹1.99 -> 1.
        assert_eq!(p.earn(99, &[], 0).points, 0);
        assert_eq!(p.earn(199, &[], 0).points, 1);
        // Gold 1.5x on ₹1.99 = 2.985 -> 2 (one rounding, not 1 x 1.5 = 1).
        assert_eq!(p.earn(199, &[], 10_000).points, 2);
    }

    #[test]
    fn tier_multiplier_follows_lifetime_points() {
        let p = program();
        assert_eq!(p.earn(100, &[], 9_999).points, 100);
        assert_eq!(p.earn(100, &[], 10_000).points, 150);
        assert_eq!(p.earn(100, &[], 50_000).points, 200);
        assert_eq!(p.earn(100, &[], 50_000).tier_multiplier, Milli(2000));
    }

    #[test]
    fn category_bonus_applies_to_matching_items_only() {
        let p = program();
        // ₹10 bill, ₹4 of it beverages at 2x: 10 + 4 = 14 rupees' worth x 100.
        let items = [item("beverages", 400), item("food", 600)];
        assert_eq!(p.earn(1_000, &items, 0).points, 1_400);
        // And the tier multiplier applies on top: Gold 1.5x -> 2_100.
        assert_eq!(p.earn(1_000, &items, 10_000).points, 2_100);
    }

    #[test]
    fn tier_is_from_lifetime_points() {
        let p = program();
        assert_eq!(p.tier_for(0).name, "Silver");
        assert_eq!(p.tier_for(10_000).name, "Gold");
        assert_eq!(p.tier_for(-5).name, "Silver");
        assert_eq!(p.tier_for(i64::MAX).name, "Platinum");
    }

    #[test]
    fn largest_bill_does_not_overflow() {
        let p = program();
        let points = p.earn(crate::domain::MAX_MINOR, &[item("beverages", crate::domain::MAX_MINOR)], i64::MAX).points;
        assert_eq!(points, 10_000_000 * 100 * 2 * 2);
    }

    #[test]
    fn redeemable_value_rounds_down_to_the_minor_unit() {
        let p = program(); // 100 points = ₹1
        assert_eq!(p.redeemable_minor(3_400), 3_400);
        assert_eq!(p.redeemable_minor(3_450), 3_450);
        assert_eq!(p.redeemable_minor(-10), 0);
        let mut q = program();
        q.redemption_rate = 3;
        assert_eq!(q.redeemable_minor(10), 333);
    }

    #[test]
    fn validation() {
        assert_eq!(program().validate(), Ok(()));
        let mut p = program();
        p.tiers[0].min_lifetime_points = 5;
        assert_eq!(p.validate(), Err(ProgramError::NoBaseTier));
        let mut p = program();
        p.tiers.swap(1, 2);
        assert_eq!(p.validate(), Err(ProgramError::TiersOutOfOrder));
        let mut p = program();
        p.redemption_rate = 0;
        assert_eq!(p.validate(), Err(ProgramError::ZeroRedemptionRate));
        let mut p = program();
        p.tiers[2].multiplier_milli = MAX_MULTIPLIER_MILLI + 1;
        assert_eq!(p.validate(), Err(ProgramError::OutOfRange));
    }

    #[test]
    fn every_field_an_operator_sets_is_validated() {
        type Change = fn(&mut Program);
        let cases: [(Change, ProgramError); 19] = [
            (|p| p.tier_qualifying_months = Some(0), ProgramError::BadTierPeriod),
            (|p| p.tier_qualifying_months = Some(37), ProgramError::BadTierPeriod),
            (|p| p.tier_grace_months = 1, ProgramError::BadTierPeriod),
            (|p| p.points_expiry_months = Some(0), ProgramError::BadPointsExpiry),
            (|p| p.points_expiry_months = Some(121), ProgramError::BadPointsExpiry),
            (|p| p.voucher_validity_days = u32::MAX, ProgramError::BadVoucherValidity),
            (|p| p.voucher_validity_days = 0, ProgramError::BadVoucherValidity),
            (|p| p.utc_offset_minutes = i32::MAX, ProgramError::BadUtcOffset),
            (|p| p.name = String::new(), ProgramError::BadText("name", 100)),
            (|p| p.name = "Spice\u{202E}Garden".into(), ProgramError::BadText("name", 100)),
            (|p| p.points_name = "x".repeat(41), ProgramError::BadText("points_name", 40)),
            (|p| p.currency = "rupees".into(), ProgramError::BadCurrency),
            (|p| p.tiers[1].name = "Go\u{200B}ld".into(), ProgramError::BadText("a tier's name", 40)),
            (|p| p.tiers[1].color = "gold".into(), ProgramError::BadColor),
            (|p| p.tiers[1].name = "silver".into(), ProgramError::TooManyOrRepeated),
            (|p| p.category_bonuses[0].category = " ".into(), ProgramError::BadText("a bonus's category", 64)),
            (|p| p.otp_sms_per_hour = 0, ProgramError::BadOtpLimits),
            (|p| p.otp_sms_per_day = p.otp_sms_per_hour - 1, ProgramError::BadOtpLimits),
            (|p| p.otp_wrong_guesses_per_day = 0, ProgramError::BadOtpLimits),
        ];
        for (i, (change, expected)) in cases.into_iter().enumerate() {
            let mut p = program();
            change(&mut p);
            assert_eq!(p.validate(), Err(expected), "case {i}");
        }
        let mut p = program();
        p.voucher_validity_days = MAX_VOUCHER_VALIDITY_DAYS;
        p.tiers[1].color = "#FFD700".into();
        p.points_expiry_months = Some(120);
        p.tier_qualifying_months = Some(12);
        p.tier_grace_months = 3;
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(default_program("Spice Garden").validate(), Ok(()));
    }

    #[test]
    fn a_stored_program_without_otp_limits_gets_the_defaults() {
        let mut json = serde_json::to_value(default_program("x")).unwrap();
        for field in ["otp_sms_per_hour", "otp_sms_per_day", "otp_wrong_guesses_per_day"] {
            json.as_object_mut().unwrap().remove(field);
        }
        let p: Program = serde_json::from_value(json).unwrap();
        assert_eq!((p.otp_sms_per_hour, p.otp_sms_per_day, p.otp_wrong_guesses_per_day), (500, 5_000, 10));
    }

    #[test]
    fn names_are_stored_in_nfc() {
        let mut p = program();
        p.name = " Jose\u{301} ".into();
        assert_eq!(p.normalised().name, "Jos\u{e9}");
    }

    #[test]
    fn a_sale_is_priced_by_the_version_in_force_at_its_time() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        let rate = |earn_rate_milli| Arc::new(Program { earn_rate_milli, ..program() });
        let versions = ProgramVersions::new(vec![
            ProgramVersion { effective_from: Some(at("2026-04-01T00:00:00Z")), rules: rate(200_000) },
            ProgramVersion { effective_from: None, rules: rate(100_000) },
            ProgramVersion { effective_from: Some(at("2026-05-01T00:00:00Z")), rules: rate(300_000) },
        ])
        .unwrap();
        assert_eq!(versions.at(at("2020-01-01T00:00:00Z")).earn_rate_milli, 100_000);
        assert_eq!(versions.at(at("2026-03-31T23:59:59.999Z")).earn_rate_milli, 100_000);
        assert_eq!(versions.at(at("2026-04-01T00:00:00Z")).earn_rate_milli, 200_000, "in force from its instant");
        assert_eq!(versions.at(at("2026-06-01T00:00:00Z")).earn_rate_milli, 300_000);
        assert_eq!(versions.latest().rules.earn_rate_milli, 300_000);
        let froms: Vec<_> = versions.versions().map(|v| v.effective_from).collect();
        assert_eq!(froms, vec![None, Some(at("2026-04-01T00:00:00Z")), Some(at("2026-05-01T00:00:00Z"))]);
        assert_eq!(ProgramVersions::new(vec![]), None);
    }
}
