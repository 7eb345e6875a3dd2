//! Tenant slugs: the program's immutable id, `a-z 0-9 -`, 2 to 63 characters.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 2 to 63 lower-case letters, digits or '-', not starting or ending with '-'")]
pub struct TenantSlugError;

impl TenantSlug {
    pub fn parse(input: &str) -> Result<Self, TenantSlugError> {
        let valid = (2..=63).contains(&input.len())
            && input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !input.starts_with('-')
            && !input.ends_with('-');
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(TenantSlugError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(TenantSlug::parse("spice-garden").is_ok());
        for bad in ["", "a", "Spice", "-x", "x-", "a_b", "a#b", &"a".repeat(64)] {
            assert_eq!(TenantSlug::parse(bad), Err(TenantSlugError), "{bad}");
        }
    }
}
