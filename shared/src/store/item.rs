//! Reading and writing attribute maps without panics: a missing or mistyped attribute
//! is a `StoreError::Corrupt` naming it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::StoreError;

pub type Attrs = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn ts(at: DateTime<Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

pub struct Item<'a>(pub &'a Attrs);

impl<'a> Item<'a> {
    pub fn str(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_str(name)?.ok_or_else(|| StoreError::Corrupt(format!("missing attribute {name}")))
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.as_str())),
            Some(_) => Err(StoreError::Corrupt(format!("attribute {name} is not a string"))),
        }
    }

    pub fn int<T: std::str::FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.opt_int(name)?.ok_or_else(|| StoreError::Corrupt(format!("missing attribute {name}")))
    }

    pub fn opt_int<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => {
                v.parse().map(Some).map_err(|_| StoreError::Corrupt(format!("attribute {name} is not an integer")))
            }
            Some(_) => Err(StoreError::Corrupt(format!("attribute {name} is not a number"))),
        }
    }

    pub fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time(name)?.ok_or_else(|| StoreError::Corrupt(format!("missing attribute {name}")))
    }

    pub fn opt_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_str(name)?
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not a time")))
            })
            .transpose()
    }

    /// Parses a string attribute with a domain parser.
    pub fn parsed<T, E>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, StoreError> {
        parse(self.str(name)?).map_err(|_| StoreError::Corrupt(format!("attribute {name} does not parse")))
    }

    pub fn opt_parsed<T, E>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, StoreError> {
        self.opt_str(name)?
            .map(|v| parse(v).map_err(|_| StoreError::Corrupt(format!("attribute {name} does not parse"))))
            .transpose()
    }
}

/// Puts `Some` values only: DynamoDB has no use for absent attributes.
pub fn put_opt(attrs: &mut Attrs, name: &str, value: Option<AttributeValue>) {
    if let Some(v) = value {
        attrs.insert(name.to_owned(), v);
    }
}

pub fn key(pk: String, sk: &str) -> Attrs {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}
