//! Request bodies: each POST body is a `#[derive(Deserialize)]` struct of the field
//! types below, converted by `TryFrom` into the engine's type. Every field type reads
//! its value's raw JSON text (so money never passes through a float, and a number is
//! taken as its text where POS systems send one), treats `null` as absent, and fails
//! with the rest of a sentence ("must be a number"); the 400 names the field's path
//! before it ("items[1].amount must be a number"). Unknown fields are ignored.

#[cfg(feature = "console")]
pub mod admin;
mod partner;
mod public;

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::domain::{check_identifier, nfc, Email, Mobile, Money, MoneyError};
use crate::engine::{page_limit, MemberRef};
use crate::error::ApiError;
use crate::http::{clean, query, required, required_query};

pub use crate::http::MAX_BODY_BYTES;
pub use partner::{
    BillItemRequest, BillRequest, CouponRedeemRequest, OtpRequest, PosRefundRequest, RefundOf, MAX_ITEMS,
};
pub use public::{EarnRequest, PublicRefundRequest, RewardFor, RewardRedeemRequest};

/// Parses the request's body as `R` and converts it into the engine's type.
pub fn parse<R, T>(req: &Request) -> Result<T, ApiError>
where
    R: DeserializeOwned,
    T: TryFrom<R, Error = ApiError>,
{
    T::try_from(from_bytes::<R>(body_bytes(req))?)
}

/// A refund's body parsed as `R`. A refund must name its own reference (`field`) or
/// carry an `Idempotency-Key`: otherwise a retry after a lost answer could refund twice.
pub fn parse_refund<R>(req: &Request, field: &str) -> Result<RefundOf, ApiError>
where
    R: DeserializeOwned,
    RefundOf: TryFrom<R, Error = ApiError>,
{
    let refund = parse::<R, RefundOf>(req)?;
    if refund.refund_ref.is_none() && !req.headers().contains_key(crate::idempotency::HEADER) {
        return Err(ApiError::bad_request(format!("{field} or an Idempotency-Key header is required")));
    }
    Ok(refund)
}

/// The request's body as bytes; no body is empty.
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    }
}

/// A JSON object body of at most [`MAX_BODY_BYTES`] as `R`. Errors: 413 when too large;
/// 400 when empty, not JSON or not an object; 400 naming the field's path otherwise.
pub fn from_bytes<R: DeserializeOwned>(bytes: &[u8]) -> Result<R, ApiError> {
    from_bytes_up_to(bytes, MAX_BODY_BYTES)
}

/// As [`from_bytes`], for the one route whose body may be larger (a campaign's list of
/// mobiles): at most `limit` bytes.
pub fn from_bytes_up_to<R: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<R, ApiError> {
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("Request body must be a JSON object"));
    }
    let value: Box<RawValue> = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
    if !value.get().trim_start().starts_with('{') {
        return Err(ApiError::bad_request("Request body must be a JSON object"));
    }
    let text =
        last_wins(value.get()).map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut de).map_err(field_error)
}

/// The JSON text with each object's names once, the last one winning (as a JSON map
/// reads them, and as the idempotency hash does), every other value's text as it was.
/// A derived struct would refuse a repeated name instead.
fn last_wins(text: &str) -> Result<String, serde_json::Error> {
    let text = text.trim();
    Ok(match text.as_bytes().first() {
        Some(b'{') => {
            let map: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
            let fields = map
                .into_iter()
                .map(|(name, value)| Ok(format!("{}:{}", serde_json::to_string(&name)?, last_wins(value.get())?)))
                .collect::<Result<Vec<_>, serde_json::Error>>()?;
            format!("{{{}}}", fields.join(","))
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            let items = items.into_iter().map(|v| last_wins(v.get())).collect::<Result<Vec<_>, _>>()?;
            format!("[{}]", items.join(","))
        }
        _ => text.to_owned(),
    })
}

/// The field's path and the message (`"{path} {message}"` as text), the message without serde_json's position (the path says
/// where).
fn field_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let text = inner.to_string();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    let message = text.strip_suffix(&position).unwrap_or(&text);
    if path == "." {
        ApiError::bad_request(message)
    } else {
        ApiError::invalid(path, message)
    }
}

/// A page of a member's history: `?{member}=&limit=&cursor=`.
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub member: MemberRef,
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The member from the required parameter `name`, read by `member`.
    pub fn parse<E: fmt::Display>(
        req: &Request,
        name: &str,
        member: impl FnOnce(&str) -> Result<MemberRef, E>,
    ) -> Result<PageQuery, ApiError> {
        let member = required_query(req, name, member)?;
        let limit = page_limit(query(req, "limit"))?;
        Ok(PageQuery { member, limit, cursor: query(req, "cursor").map(str::to_owned) })
    }
}

/// A field's raw JSON text; `null` is absent.
fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    Ok((raw.get().trim() != "null").then_some(raw))
}

fn text_of(raw: &str) -> Option<String> {
    serde_json::from_str::<String>(raw).ok()
}

/// A string of at most `MAX` characters, trimmed, in Unicode NFC (names typed on two
/// keyboards are one name); empty is absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<const MAX: usize>(pub Option<String>);

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(raw) = raw(d)? else { return Ok(Text(None)) };
        let text = text_of(raw.get().trim()).ok_or_else(|| de::Error::custom("must be a string"))?;
        clean(&nfc(&text), MAX).map(Text).map_err(de::Error::custom)
    }
}

/// Like [`Text`], but a JSON number is taken as its text too: POS systems send mobile,
/// invoice and one-time-code numbers either way. These are identifiers (references,
/// reward ids, codes), so invisible and direction-changing characters are refused.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TextOrNumber<const MAX: usize>(pub Option<String>);

impl<'de, const MAX: usize> Deserialize<'de> for TextOrNumber<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(raw) = raw(d)? else { return Ok(TextOrNumber(None)) };
        let raw = raw.get().trim();
        let text = if raw.starts_with(|c: char| c.is_ascii_digit()) {
            raw.to_owned()
        } else {
            text_of(raw).ok_or_else(|| de::Error::custom("must be a string"))?
        };
        check_identifier(&text).map_err(de::Error::custom)?;
        clean(&nfc(&text), MAX).map(TextOrNumber).map_err(de::Error::custom)
    }
}

/// An amount of money from the exact decimal text of a JSON number.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Option<Money>);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(raw) = raw(d)? else { return Ok(Amount(None)) };
        Money::parse(raw.get()).map(|m| Amount(Some(m))).map_err(|e| match e {
            MoneyError::NotANumber => de::Error::custom("must be a number"),
            other => de::Error::custom(other),
        })
    }
}

/// `true` or `false`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match raw(d)?.as_deref().map(|r| r.get().trim()) {
            None => Ok(Flag(None)),
            Some("true") => Ok(Flag(Some(true))),
            Some("false") => Ok(Flag(Some(false))),
            Some(_) => Err(de::Error::custom("must be true or false")),
        }
    }
}

/// A mobile number, as a string or a number.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MobileField(pub Option<Mobile>);

impl<'de> Deserialize<'de> for MobileField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let TextOrNumber::<32>(text) = TextOrNumber::deserialize(d)?;
        text.map(|m| Mobile::parse(&m).map_err(de::Error::custom)).transpose().map(MobileField)
    }
}

/// An email address.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EmailField(pub Option<Email>);

impl<'de> Deserialize<'de> for EmailField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text::<254>(text) = Text::deserialize(d)?;
        text.map(|e| Email::parse(&e).map_err(de::Error::custom)).transpose().map(EmailField)
    }
}

/// An instant as RFC 3339 text with its offset (`2026-03-15T12:00:00+05:30`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub Option<DateTime<Utc>>);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text::<64>(text) = Text::deserialize(d)?;
        let Some(text) = text else { return Ok(Instant(None)) };
        DateTime::parse_from_rfc3339(&text)
            .map(|at| Instant(Some(at.to_utc())))
            .map_err(|_| de::Error::custom("must be an RFC 3339 date and time such as 2026-03-15T12:00:00+05:30"))
    }
}

/// A whole number of points, 0 or more; absent is 0.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Points(pub i64);

/// The most points one request may name.
pub const MAX_POINTS: i64 = 1_000_000_000_000;

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(raw) = raw(d)? else { return Ok(Points(0)) };
        raw.get()
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=MAX_POINTS).contains(p))
            .map(Points)
            .ok_or_else(|| de::Error::custom("must be a whole number of points, 0 or more"))
    }
}

/// A visitor's answer to a JSON scalar (string, number, boolean): `message`.
macro_rules! refuse_scalars {
    ($message:literal) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom($message))
        }
    };
}

/// An array of at most `MAX` objects, each an `T`; absent is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T, const MAX: usize>(pub Vec<T>);

impl<T, const MAX: usize> Default for List<T, MAX> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for List<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor<T, const MAX: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for ListVisitor<T, MAX> {
            type Value = List<T, MAX>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(List(Vec::new()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(Object(item)) = seq.next_element::<Object<T>>()? {
                    if items.len() == MAX {
                        return Err(de::Error::custom(format!("may have at most {MAX} entries")));
                    }
                    items.push(item);
                }
                Ok(List(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
                Err(de::Error::custom("must be an array"))
            }

            refuse_scalars!("must be an array");
        }

        d.deserialize_any(ListVisitor::<T, MAX>(PhantomData))
    }
}

/// A JSON object as `T` (serde would also take an array for a struct).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
                Err(de::Error::custom("must be an object"))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Err(E::custom("must be an object"))
            }

            refuse_scalars!("must be an object");
        }

        d.deserialize_any(ObjectVisitor::<T>(PhantomData))
    }
}

#[cfg(test)]
mod tests;
