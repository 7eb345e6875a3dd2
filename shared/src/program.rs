//! A tenant's loyalty program: currency, earn and redemption rates, tiers and category
//! bonuses, and the point math over them.
//!
//! # Rounding rule
//! Points are whole numbers. A sale's points are computed exactly as a rational number
//! (amount in minor units x base rate x category multiplier x tier multiplier) and
//! rounded **down once**, at the end, to a whole point. No intermediate rounding, no
//! floating point: all factors are integers (rates and multipliers in thousandths) and
//! the arithmetic is done in `i128`, which cannot overflow for capped amounts.

use serde::{Deserialize, Serialize};

use crate::domain::{Milli, MINOR_PER_UNIT};

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
}

fn default_voucher_days() -> u32 {
    30
}

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
}

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
        Ok(())
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
        let tier = self.tier_for(lifetime_points);
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
}
