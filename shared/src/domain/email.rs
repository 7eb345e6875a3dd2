//! Email addresses: trimmed, lower-cased, one `@`, a dotted domain, at most 254 characters.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a valid email address")]
pub struct EmailError;

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = input.trim().to_lowercase();
        if email.is_empty() || email.len() > 254 {
            return Err(EmailError);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError)?;
        let valid_local = !local.is_empty()
            && local.len() <= 64
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-'!#$&*/=?^`{|}~".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let valid_domain = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if valid_local && valid_domain {
            Ok(Self(email))
        } else {
            Err(EmailError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(Email::parse("  John@Example.COM ").unwrap().as_str(), "john@example.com");
        assert_eq!(Email::parse("a.b+tag@mail.example.in").unwrap().as_str(), "a.b+tag@mail.example.in");
    }

    #[test]
    fn rejects_malformed() {
        for input in [
            "",
            "john",
            "john@",
            "@example.com",
            "john@example",
            "jo hn@example.com",
            "john@@example.com",
            "john@-x.com",
            ".j@example.com",
            "j..k@example.com",
        ] {
            assert_eq!(Email::parse(input), Err(EmailError), "{input}");
        }
    }
}
