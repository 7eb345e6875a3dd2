//! Customer ids are UUIDs, written in their lower-case hyphenated form.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerId(uuid::Uuid);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a UUID")]
pub struct CustomerIdError;

impl CustomerId {
    pub fn parse(input: &str) -> Result<Self, CustomerIdError> {
        uuid::Uuid::parse_str(input.trim()).map(Self).map_err(|_| CustomerIdError)
    }

    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// A stable number below `shards` (> 0) from the id's last bytes (random in a v4 id).
    pub fn shard(&self, shards: u32) -> u32 {
        let b = self.0.as_bytes();
        u32::from_be_bytes([b[12], b[13], b[14], b[15]]) % shards.max(1)
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        let id = CustomerId::parse("3F2504E0-4F89-11D3-9A0C-0305E82C3301").unwrap();
        assert_eq!(id.to_string(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        assert!(CustomerId::parse("uuid...").is_err());
    }
}
