//! API keys: `mg_live_` / `mg_test_` followed by 32 base62 characters (about 190 bits).
//! Only the SHA-256 of a key is stored; a separate key id names it in listings and logs.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::TenantSlug;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SECRET_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
pub enum KeyMode {
    /// Real effects.
    #[strum(to_string = "live")]
    Live,
    /// Sandbox: reads real data, writes nothing.
    #[strum(to_string = "test", serialize = "sandbox")]
    Test,
}

impl KeyMode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
pub enum Scope {
    #[serde(rename = "read:customers")]
    #[strum(serialize = "read:customers")]
    ReadCustomers,
    #[serde(rename = "write:transactions")]
    #[strum(serialize = "write:transactions")]
    WriteTransactions,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::ReadCustomers, Scope::WriteTransactions];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.trim().parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What the table holds about a key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: String,
    pub hash: KeyHash,
    pub tenant: TenantSlug,
    pub mode: KeyMode,
    pub scopes: Vec<Scope>,
    pub status: KeyStatus,
    pub label: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl KeyRecord {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// The hex SHA-256 of a presented key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(pub String);

/// A presented key that has the right shape. Holding one proves nothing about validity.
pub struct PresentedKey<'a> {
    text: &'a str,
    pub mode: KeyMode,
}

impl<'a> PresentedKey<'a> {
    /// Checks the shape only, so malformed keys are refused without a database read.
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim();
        let (mode, secret) = if let Some(s) = text.strip_prefix("mg_live_") {
            (KeyMode::Live, s)
        } else if let Some(s) = text.strip_prefix("mg_test_") {
            (KeyMode::Test, s)
        } else {
            return None;
        };
        let well_formed = (22..=64).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_alphanumeric());
        well_formed.then_some(Self { text, mode })
    }

    pub fn hash(&self) -> KeyHash {
        hash_key(self.text)
    }
}

impl fmt::Debug for PresentedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedKey({:?}, <redacted>)", self.mode)
    }
}

pub fn hash_key(key: &str) -> KeyHash {
    KeyHash(hex::encode(Sha256::digest(key.as_bytes())))
}

/// A newly made key: the plain text is shown once and then dropped.
pub struct NewKey {
    pub plain: String,
    pub key_id: String,
    pub hash: KeyHash,
}

pub fn generate_key(mode: KeyMode) -> NewKey {
    let secret = random_base62(SECRET_LEN);
    let plain = format!("mg_{}_{secret}", mode.as_str());
    let hash = hash_key(&plain);
    NewKey { plain, key_id: format!("key_{}", random_base62(16)), hash }
}

fn random_base62(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len).map(|_| BASE62[rng.random_range(0..BASE62.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = generate_key(KeyMode::Live);
        assert!(key.plain.starts_with("mg_live_"));
        assert_eq!(key.plain.len(), "mg_live_".len() + SECRET_LEN);
        let presented = PresentedKey::parse(&key.plain).expect("well formed");
        assert_eq!(presented.mode, KeyMode::Live);
        assert_eq!(presented.hash(), key.hash);
        assert_eq!(key.hash.0.len(), 64);
        assert!(generate_key(KeyMode::Test).plain.starts_with("mg_test_"));
    }

    #[test]
    fn two_keys_differ() {
        assert_ne!(generate_key(KeyMode::Live).plain, generate_key(KeyMode::Live).plain);
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        for bad in [
            "",
            "mg_live_",
            "mg_live_short",
            "mg_prod_0123456789012345678901",
            "mg_live_0123456789012345678901!",
            "Bearer x",
        ] {
            assert!(PresentedKey::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = generate_key(KeyMode::Live);
        let presented = PresentedKey::parse(&key.plain).unwrap();
        assert!(!format!("{presented:?}").contains(&key.plain[8..]));
    }

    #[test]
    fn modes_parse_with_their_alias() {
        assert_eq!(KeyMode::Test.as_str(), "test");
        assert_eq!(KeyMode::Live.as_str(), "live");
        assert_eq!(KeyMode::parse("sandbox"), Some(KeyMode::Test));
        assert_eq!(KeyMode::parse("live"), Some(KeyMode::Live));
        assert_eq!(KeyMode::parse("prod"), None);
        assert_eq!(KeyStatus::Revoked.as_str(), "revoked");
        assert_eq!(Scope::WriteTransactions.to_string(), "write:transactions");
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(Scope::parse("read:customers"), Some(Scope::ReadCustomers));
        assert_eq!(Scope::parse(" write:transactions"), Some(Scope::WriteTransactions));
        assert_eq!(Scope::parse("admin"), None);
    }
}
