//! Coupon and voucher codes: upper-cased on input, 3 to 40 of `A-Z 0-9 - _`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 3 to 40 letters, digits, '-' or '_'")]
pub struct CodeError;

impl Code {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let code = input.trim().to_ascii_uppercase();
        let valid = (3..=40).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(code))
        } else {
            Err(CodeError)
        }
    }

    /// A fresh code such as `COUP-7KQ2XM9A`: 8 characters from an alphabet without
    /// look-alikes (no 0/O, 1/I/L), about 40 bits.
    pub fn generate(prefix: &str) -> Self {
        const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
        let suffix: String = (0..8).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect();
        Self(format!("{prefix}-{suffix}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_cases_and_checks() {
        assert_eq!(Code::parse(" coup-xy12 ").unwrap().as_str(), "COUP-XY12");
        for bad in ["", "ab", "COUP XY", "COUP#1", &"A".repeat(41)] {
            assert_eq!(Code::parse(bad), Err(CodeError), "{bad}");
        }
    }

    #[test]
    fn generated_codes_parse() {
        let code = Code::generate("VOUCH");
        assert_eq!(Code::parse(code.as_str()), Ok(code));
    }
}
