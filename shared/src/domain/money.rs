//! Money in integer minor units (paise, cents), parsed from the decimal text of a JSON
//! number so that no value ever passes through a float.

use std::fmt;

/// Minor units per currency unit. Every supported currency (INR, USD, EUR, ...) has two
/// decimals.
pub const MINOR_PER_UNIT: i64 = 100;

/// The largest amount one request may carry: 10,000,000.00 in the program's currency.
pub const MAX_MINOR: i64 = 1_000_000_000;

/// A positive amount of money, at most [`MAX_MINOR`] minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a number")]
    NotANumber,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("must have at most 2 decimal places")]
    TooManyDecimals,
    #[error("must be at most 10000000")]
    TooLarge,
}

impl Money {
    /// Parses the text of a JSON number (`1500`, `150.00`, `0.29`, `1e3`) exactly.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let minor = parse_minor_units(text.trim())?;
        Self::from_minor(minor)
    }

    pub fn from_minor(minor: i64) -> Result<Self, MoneyError> {
        if minor <= 0 {
            Err(MoneyError::NotPositive)
        } else if minor > MAX_MINOR {
            Err(MoneyError::TooLarge)
        } else {
            Ok(Self(minor))
        }
    }

    pub fn minor(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_minor(self.0))
    }
}

/// Renders minor units as the shortest exact decimal: `150000` -> `1500`,
/// `150050` -> `1500.5`, `29` -> `0.29`, `-250` -> `-2.5`.
pub fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let units = abs / MINOR_PER_UNIT as u64;
    let cents = abs % MINOR_PER_UNIT as u64;
    match cents {
        0 => format!("{sign}{units}"),
        c if c % 10 == 0 => format!("{sign}{units}.{}", c / 10),
        c => format!("{sign}{units}.{c:02}"),
    }
}

/// Serialises as a JSON number written from the exact decimal text.
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MinorUnits(self.0).serialize(serializer)
    }
}

/// A signed amount in minor units that serialises as an exact JSON number (used for
/// values such as `redeemable_value` that may be zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorUnits(pub i64);

impl serde::Serialize for MinorUnits {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::domain::json_number(&format_minor(self.0), serializer)
    }
}

/// Digits of a JSON number: `-? int (. frac)? ([eE] [+-]? exp)?`, scaled to minor units.
fn parse_minor_units(text: &str) -> Result<i64, MoneyError> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty()
        || !all_digits(int_part)
        || !all_digits(frac_part)
        || (mantissa.contains('.') && frac_part.is_empty())
    {
        return Err(MoneyError::NotANumber);
    }
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err(MoneyError::NotANumber);
            }
            // Anything beyond a few digits of exponent is out of range either way.
            let magnitude: i64 = if digits.trim_start_matches('0').len() > 4 {
                10_000
            } else {
                digits.parse().map_err(|_| MoneyError::NotANumber)?
            };
            if e.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    // value = digits * 10^(exp - frac_len); in minor units: * 10^2.
    let digits: String = format!("{int_part}{frac_part}");
    let significant = digits.trim_start_matches('0');
    let trimmed = significant.trim_end_matches('0');
    if trimmed.is_empty() {
        return Err(MoneyError::NotPositive);
    }
    let trailing_zeros = (significant.len() - trimmed.len()) as i64;
    let scale = exp - frac_part.len() as i64 + trailing_zeros + 2;
    if scale < 0 {
        return Err(MoneyError::TooManyDecimals);
    }
    if negative {
        return Err(MoneyError::NotPositive);
    }
    // MAX_MINOR has 10 digits: more than that cannot fit under the cap.
    if trimmed.len() as i64 + scale > 10 {
        return Err(MoneyError::TooLarge);
    }
    let base: i64 = trimmed.parse().map_err(|_| MoneyError::TooLarge)?;
    let minor = base.checked_mul(10_i64.pow(scale as u32)).ok_or(MoneyError::TooLarge)?;
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(text: &str) -> Result<i64, MoneyError> {
        Money::parse(text).map(Money::minor)
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(minor("0.29"), Ok(29));
        assert_eq!(minor("1.1"), Ok(110));
        assert_eq!(minor("150.00"), Ok(15000));
        assert_eq!(minor("1500"), Ok(150000));
        assert_eq!(minor("1.50"), Ok(150));
        assert_eq!(minor("1.500"), Ok(150));
    }

    #[test]
    fn exponents_are_exact() {
        assert_eq!(minor("1e3"), Ok(100000));
        assert_eq!(minor("1E+3"), Ok(100000));
        assert_eq!(minor("2.5e1"), Ok(2500));
        assert_eq!(minor("123e-2"), Ok(123));
        assert_eq!(minor("1000e-5"), Ok(1));
    }

    #[test]
    fn more_than_two_decimals_is_rejected() {
        assert_eq!(minor("1.005"), Err(MoneyError::TooManyDecimals));
        assert_eq!(minor("0.001"), Err(MoneyError::TooManyDecimals));
        assert_eq!(minor("1e-3"), Err(MoneyError::TooManyDecimals));
    }

    #[test]
    fn zero_and_negative_are_rejected() {
        assert_eq!(minor("0"), Err(MoneyError::NotPositive));
        assert_eq!(minor("0.00"), Err(MoneyError::NotPositive));
        assert_eq!(minor("-5"), Err(MoneyError::NotPositive));
        assert_eq!(minor("-0"), Err(MoneyError::NotPositive));
    }

    #[test]
    fn the_cap_holds() {
        assert_eq!(minor("10000000"), Ok(MAX_MINOR));
        assert_eq!(minor("10000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(minor("1e300"), Err(MoneyError::TooLarge));
        assert_eq!(minor("99999999999999999999999"), Err(MoneyError::TooLarge));
        assert_eq!(minor("1e99999999999"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn non_numbers_are_rejected() {
        for text in ["", "-", "abc", "\"12\"", "1.", ".5", "1e", "1e+", "true", "1.2.3", "0x10"] {
            assert_eq!(minor(text), Err(MoneyError::NotANumber), "{text}");
        }
    }

    #[test]
    fn formatting_is_the_shortest_exact_decimal() {
        assert_eq!(format_minor(150000), "1500");
        assert_eq!(format_minor(150050), "1500.5");
        assert_eq!(format_minor(29), "0.29");
        assert_eq!(format_minor(-250), "-2.5");
        assert_eq!(format_minor(0), "0");
    }

    #[test]
    fn serialises_as_an_exact_json_number() {
        let json = serde_json::to_string(&Money::parse("1500.5").unwrap()).unwrap();
        assert_eq!(json, "1500.5");
    }
}
