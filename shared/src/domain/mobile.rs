//! Mobile numbers. Two spellings, one member each:
//!
//! - India's ten digits (the reference page's form), once spaces, dashes, dots, brackets
//!   and a leading `+91`, `91` (on twelve digits) or `0` are stripped. Kept, shown and
//!   looked up as the ten digits, as before numbers beyond India were accepted; so
//!   `+919876543210` is the same member as `9876543210`.
//! - Any other country in E.164: `+`, then 8 to 15 digits, the first not 0 (separators
//!   as above are stripped). Kept, shown and looked up as `+` and the digits.
//!
//! SMS goes to [`Mobile::e164`] for both.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a 10-digit mobile number, or + and the country code (8 to 15 digits in all)")]
pub struct MobileError;

/// India's country calling code: a number under it is kept as its ten national digits.
const INDIA: &str = "91";

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, MobileError> {
        let trimmed = input.trim();
        if trimmed.len() > 32 {
            return Err(MobileError);
        }
        let has_plus = trimmed.starts_with('+');
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(16);
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(MobileError),
            }
        }
        if has_plus {
            if let Some(national) = digits.strip_prefix(INDIA) {
                return Self::indian(national);
            }
            if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
                return Err(MobileError);
            }
            return Ok(Self(format!("+{digits}")));
        }
        let national = if digits.len() == 12 {
            digits.strip_prefix(INDIA).ok_or(MobileError)?
        } else if digits.len() == 11 {
            digits.strip_prefix('0').ok_or(MobileError)?
        } else {
            &digits
        };
        Self::indian(national)
    }

    fn indian(national: &str) -> Result<Self, MobileError> {
        if national.len() != 10 || national.starts_with('0') {
            return Err(MobileError);
        }
        Ok(Self(national.to_owned()))
    }

    /// The form members see and lookups use: ten digits for India, E.164 elsewhere.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an Indian number (kept as its ten national digits).
    pub fn is_indian(&self) -> bool {
        !self.0.starts_with('+')
    }

    /// E.164 (`+919876543210`, `+447911123456`): what an SMS is addressed to.
    pub fn e164(&self) -> String {
        if self.is_indian() {
            format!("+{INDIA}{}", self.0)
        } else {
            self.0.clone()
        }
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings() {
        for input in [
            "9876543210",
            " 98765 43210 ",
            "98765-43210",
            "+91 98765 43210",
            "+919876543210",
            "919876543210",
            "09876543210",
            "(987) 654-3210",
        ] {
            assert_eq!(Mobile::parse(input).map(|m| m.0), Ok("9876543210".into()), "{input}");
        }
    }

    #[test]
    fn accepts_numbers_beyond_india_in_e164() {
        for (input, kept) in [
            ("+447911123456", "+447911123456"),
            ("+44 7911 123456", "+447911123456"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("+1 9876543210", "+19876543210"),
            ("+6591234567", "+6591234567"),
            ("+12345678", "+12345678"),
            ("+123456789012345", "+123456789012345"),
        ] {
            let m = Mobile::parse(input).unwrap_or_else(|_| panic!("{input}"));
            assert_eq!((m.as_str(), m.e164().as_str(), m.is_indian()), (kept, kept, false), "{input}");
        }
        assert_eq!(Mobile::parse("9876543210").map(|m| m.e164()), Ok("+919876543210".into()));
    }

    #[test]
    fn rejects_everything_else() {
        for input in [
            "",
            "12345",
            "98765432101",
            "98765abc10",
            "0000000000",
            "+91",
            "98765432１0",
            "+91 98765 4321",
            "+91 98765 432100",
            "+91 0876543210",
            "+1234567",
            "+1234567890123456",
            "+0447911123456",
            "++447911123456",
            "447911123456",
        ] {
            assert_eq!(Mobile::parse(input), Err(MobileError), "{input}");
        }
    }

    #[test]
    fn normalising_twice_equals_once() {
        for input in ["+91 98765-43210", "+44 7911 123456"] {
            let once = Mobile::parse(input).unwrap();
            assert_eq!(Mobile::parse(once.as_str()).unwrap(), once);
        }
    }
}
