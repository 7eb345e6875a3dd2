//! API keys, shaped like GitHub's tokens: `mg_live_` / `mg_test_`, the tenant's slug and
//! `_`, then 30 random base62 characters (about 178 bits), then 6 base62 characters of
//! the CRC32 of everything before them. The checksum is no secret (anyone can compute
//! it): it lets a function refuse a mistyped or made-up key from its text alone, without
//! a table read, so a flood of forged keys costs no read capacity. The slug lets a
//! function start reading the tenant's program while the key is read; it is never
//! trusted: the stored record's tenant authorises, and a key whose slug is not its
//! record's tenant is refused. Only the SHA-256 of a key is stored; a separate key id
//! names it in listings and logs.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::TenantSlug;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters after the prefix: 62^30 is about 2^178.
const RANDOM_LEN: usize = 30;
/// A CRC32 in base62 at fixed width: 62^6 is more than 2^32.
const CHECKSUM_LEN: usize = 6;
const LIVE_PREFIX: &str = "mg_live_";
const TEST_PREFIX: &str = "mg_test_";
/// The random part and the checksum: the fixed tail of every key.
const TAIL_LEN: usize = RANDOM_LEN + CHECKSUM_LEN;
/// The longest slug (`TenantSlug`).
const MAX_SLUG_LEN: usize = 63;
/// The length of the longest key: prefix, slug, `_`, random part, checksum.
pub const MAX_KEY_LEN: usize = LIVE_PREFIX.len() + MAX_SLUG_LEN + 1 + TAIL_LEN;

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

/// Where a key is used, which decides what it may do beside its scopes.
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
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Channel {
    /// A till: everything but spending a member's points on a reward, which at a till
    /// happens only through the member's one-time code on a bill.
    Pos,
    /// A customer-facing app or site where the member signed in: may also redeem
    /// rewards for that member.
    App,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Pos, Channel::App];

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
    pub channel: Channel,
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

/// A presented key that has the right shape. Holding one proves nothing about validity,
/// and its `tenant` is only the one the text claims: the key's record decides.
pub struct PresentedKey<'a> {
    text: &'a str,
    pub mode: KeyMode,
    /// The tenant the key's text names (checked against its record, never trusted).
    pub tenant: TenantSlug,
}

impl<'a> PresentedKey<'a> {
    /// Checks the shape and the checksum only, so malformed and made-up keys are refused
    /// without a database read.
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim();
        let mode = if text.starts_with(LIVE_PREFIX) {
            KeyMode::Live
        } else if text.starts_with(TEST_PREFIX) {
            KeyMode::Test
        } else {
            return None;
        };
        if text.len() > MAX_KEY_LEN {
            return None;
        }
        // A slug has no `_`, so the last one ends it.
        let (slug, tail) = text[LIVE_PREFIX.len()..].rsplit_once('_')?;
        if tail.len() != TAIL_LEN || !tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let tenant = TenantSlug::parse(slug).ok()?;
        let (body, sum) = text.split_at(text.len() - CHECKSUM_LEN);
        (checksum(body).as_bytes() == sum.as_bytes()).then_some(Self { text, mode, tenant })
    }

    pub fn hash(&self) -> KeyHash {
        hash_key(self.text)
    }
}

impl fmt::Debug for PresentedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedKey({:?}, {}, <redacted>)", self.mode, self.tenant)
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

/// A new key of `tenant`'s, which its text names.
pub fn generate_key(mode: KeyMode, tenant: &TenantSlug) -> NewKey {
    let body = format!("mg_{}_{}_{}", mode.as_str(), tenant.as_str(), random_base62(RANDOM_LEN));
    let plain = format!("{body}{}", checksum(&body));
    let hash = hash_key(&plain);
    NewKey { plain, key_id: format!("key_{}", random_base62(16)), hash }
}

/// The CRC32 of a key's prefix and random part, in base62, zero-padded to
/// [`CHECKSUM_LEN`] characters. By hand: six divisions of a `u32` do not need a crate.
fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(n % 62) as usize];
        n /= 62;
    }
    digits.iter().map(|&b| b as char).collect()
}

fn random_base62(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len).map(|_| BASE62[rng.random_range(0..BASE62.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> TenantSlug {
        TenantSlug::parse("spice-garden").unwrap()
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = generate_key(KeyMode::Live, &shop());
        assert!(key.plain.starts_with("mg_live_spice-garden_"));
        assert_eq!(key.plain.len(), "mg_live_spice-garden_".len() + 36);
        let presented = PresentedKey::parse(&key.plain).expect("well formed");
        assert_eq!(presented.mode, KeyMode::Live);
        assert_eq!(presented.tenant, shop());
        assert_eq!(presented.hash(), key.hash);
        assert_eq!(key.hash.0.len(), 64);
        assert!(generate_key(KeyMode::Test, &shop()).plain.starts_with("mg_test_spice-garden_"));
        // The longest slug makes the longest key.
        let longest = TenantSlug::parse(&"a".repeat(63)).unwrap();
        let key = generate_key(KeyMode::Test, &longest).plain;
        assert_eq!(key.len(), MAX_KEY_LEN);
        assert!(PresentedKey::parse(&key).is_some());
    }

    #[test]
    fn two_keys_differ() {
        assert_ne!(generate_key(KeyMode::Live, &shop()).plain, generate_key(KeyMode::Live, &shop()).plain);
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        for bad in [
            "",
            "mg_live_",
            "mg_live_short",
            "mg_prod_0123456789012345678901",
            "mg_live_0123456789012345678901234567890123456",
            "mg_live_0123456789012345678901!",
            "Bearer x",
            // No slug, an invalid slug, no `_` before the tail.
            "mg_live_0123456789012345678901234567890123456",
            "mg_live_Spice_012345678901234567890123456789012345",
            "mg_live_spice-garden012345678901234567890123456789012345",
        ] {
            assert!(PresentedKey::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_key_with_a_wrong_checksum_is_refused() {
        let key = generate_key(KeyMode::Live, &shop()).plain;
        // Every change of one character, in the slug, the random part or the checksum.
        for at in LIVE_PREFIX.len()..key.len() {
            if key.as_bytes()[at] == b'_' || key.as_bytes()[at] == b'-' {
                continue;
            }
            let mut forged = key.clone().into_bytes();
            forged[at] = if forged[at] == b'a' { b'b' } else { b'a' };
            let forged = String::from_utf8(forged).unwrap();
            assert!(PresentedKey::parse(&forged).is_none(), "{forged}");
        }
        // The right shape with a made-up checksum: at most one in 2^32 passes.
        let refused = (0..1000)
            .filter(|_| PresentedKey::parse(&format!("mg_live_spice-garden_{}", random_base62(TAIL_LEN))).is_none())
            .count();
        assert!(refused >= 999, "{refused}");
        // A live key's random part and checksum under the test prefix.
        assert!(PresentedKey::parse(&key.replacen("mg_live_", "mg_test_", 1)).is_none());
        // Another tenant's slug before a real key's tail: the checksum covers the slug.
        assert!(PresentedKey::parse(&key.replacen("spice-garden", "other-shop", 1)).is_none());
        // Keys of older shapes (32 random characters, no checksum; no slug).
        assert!(PresentedKey::parse(&format!("mg_live_{}", random_base62(32))).is_none());
        assert!(PresentedKey::parse(&format!("mg_live_{}", random_base62(TAIL_LEN))).is_none());
    }

    #[test]
    fn the_checksum_is_fixed_width_base62() {
        assert_eq!(checksum("mg_live_"), checksum("mg_live_"));
        for body in ["", "mg_live_0", "mg_test_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"] {
            let sum = checksum(body);
            assert_eq!(sum.len(), CHECKSUM_LEN);
            assert!(sum.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        // u32::MAX still fits in six digits.
        assert!(62u64.pow(CHECKSUM_LEN as u32) > u64::from(u32::MAX));
    }

    #[test]
    fn channels_parse() {
        assert_eq!(Channel::parse("pos"), Some(Channel::Pos));
        assert_eq!(Channel::parse("app"), Some(Channel::App));
        assert_eq!(Channel::parse("web"), None);
        assert_eq!(Channel::App.as_str(), "app");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = generate_key(KeyMode::Live, &shop());
        let presented = PresentedKey::parse(&key.plain).unwrap();
        assert!(!format!("{presented:?}").contains(&key.plain[key.plain.len() - TAIL_LEN..]));
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
