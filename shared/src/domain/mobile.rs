//! Indian mobile numbers: ten digits once spaces, dashes, dots, brackets and a leading
//! `+91`, `91` (on twelve digits) or `0` are stripped.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a 10-digit mobile number")]
pub struct MobileError;

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, MobileError> {
        let trimmed = input.trim();
        if trimmed.len() > 32 {
            return Err(MobileError);
        }
        let has_plus = trimmed.starts_with('+');
        let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(12);
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(MobileError),
            }
        }
        let national = if has_plus || digits.len() == 12 {
            digits.strip_prefix("91").ok_or(MobileError)?
        } else if digits.len() == 11 {
            digits.strip_prefix('0').ok_or(MobileError)?
        } else {
            &digits
        };
        if national.len() != 10 || national.starts_with('0') {
            return Err(MobileError);
        }
        Ok(Self(national.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    fn rejects_everything_else() {
        for input in ["", "12345", "98765432101", "+1 9876543210", "98765abc10", "0000000000", "+91", "98765432１0"] {
            assert_eq!(Mobile::parse(input), Err(MobileError), "{input}");
        }
    }

    #[test]
    fn normalising_twice_equals_once() {
        let once = Mobile::parse("+91 98765-43210").unwrap();
        assert_eq!(Mobile::parse(once.as_str()).unwrap(), once);
    }
}
