//! Domain values that parse at the edge: once one exists, it is valid.

mod code;
mod email;
mod idempotency_key;
mod ids;
mod mobile;
mod money;
mod reference;
mod slug;
pub mod text;

pub use code::{Code, CodeError};
pub use email::{Email, EmailError};
pub use idempotency_key::{IdempotencyKey, IdempotencyKeyError, MAX_IDEMPOTENCY_KEY_LEN};
pub use ids::{CustomerId, CustomerIdError};
pub use mobile::{Mobile, MobileError};
pub use money::{format_minor, MinorUnits, Money, MoneyError, MAX_MINOR, MINOR_PER_UNIT};
pub use reference::Reference;
pub use slug::{TenantSlug, TenantSlugError};
pub use text::{check_identifier, nfc, HostileText, HOSTILE_TEXT};

/// Writes `text` (already a valid JSON number) as a JSON number, not a string.
pub(crate) fn json_number<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    match serde_json::value::RawValue::from_string(text.to_owned()) {
        Ok(raw) => raw.serialize(serializer),
        Err(e) => Err(serde::ser::Error::custom(e)),
    }
}

/// A multiplier held in thousandths (`1500` is 1.5x), shown as an exact JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Milli(pub u32);

impl Milli {
    pub const ONE: Milli = Milli(1000);

    pub fn to_decimal_string(self) -> String {
        let whole = self.0 / 1000;
        let frac = self.0 % 1000;
        if frac == 0 {
            return whole.to_string();
        }
        let digits = format!("{frac:03}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }

    /// Parses `1`, `1.5`, `1.25` (at most three decimals, at most 1000).
    pub fn parse(text: &str) -> Option<Milli> {
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        if whole.is_empty() || frac.len() > 3 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (text.contains('.') && frac.is_empty()) {
            return None;
        }
        let whole: u32 = whole.parse().ok().filter(|w| *w <= 1_000_000)?;
        let frac: u32 = format!("{frac:0<3}").parse().ok()?;
        Some(Milli(whole * 1000 + frac))
    }
}

impl serde::Serialize for Milli {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        json_number(&self.to_decimal_string(), serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milli_round_trips() {
        for (text, value) in [("1", 1000), ("1.5", 1500), ("1.25", 1250), ("0.001", 1), ("100", 100_000)] {
            assert_eq!(Milli::parse(text), Some(Milli(value)));
            assert_eq!(Milli(value).to_decimal_string(), text);
        }
        for bad in ["", "1.", ".5", "1.0001", "-1", "x"] {
            assert_eq!(Milli::parse(bad), None, "{bad}");
        }
        assert_eq!(serde_json::to_string(&Milli(1500)).unwrap(), "1.5");
    }
}

#[cfg(test)]
mod props;
