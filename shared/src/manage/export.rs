//! Exports for the console: every member of the tenant, and the tenant's ledger over a
//! date range, as CSV pages. Both walk the members index ([`Store::members_page`]),
//! never a scan; the console joins the pages into one download.
//!
//! [`Store::members_page`]: crate::store::Store::members_page

use chrono::{DateTime, NaiveDate, Utc};

use crate::actor::{Actor, Permission};
use crate::error::ApiError;
use crate::model::LedgerEntry;
use crate::program::Program;
use crate::store::MembersCursor;
use crate::Deps;

/// The columns of a members export, in order.
pub const MEMBER_COLUMNS: [&str; 8] =
    ["customer_id", "name", "mobile", "email", "tier", "balance", "lifetime_points", "enrolled_at"];
/// The columns of a ledger export, in order.
pub const LEDGER_COLUMNS: [&str; 10] = [
    "customer_id",
    "txn_id",
    "type",
    "points",
    "balance_after",
    "lifetime_points",
    "amount_minor",
    "reference",
    "description",
    "created_at",
];
/// How many members' ledgers one ledger export page reads: small enough that a page of
/// long histories stays well inside the API's time limit.
pub const LEDGER_MEMBERS_PER_PAGE: usize = 20;
/// The longest range one ledger export may ask for.
pub const MAX_LEDGER_DAYS: i64 = 366;

/// A page of CSV text (the header row on the first page only) and the next page's cursor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CsvPage {
    pub csv: String,
    pub next_cursor: Option<String>,
}

fn cursor(text: Option<&str>, tier: Option<&str>) -> Result<Option<MembersCursor>, ApiError> {
    text.map(|t| {
        MembersCursor::decode(t, tier).ok_or_else(|| ApiError::invalid("cursor", "is not one this API gave out"))
    })
    .transpose()
}

/// The tier a filter names, as the program spells it; unknown is a 400.
fn tier_named<'p>(program: &'p Program, name: &str) -> Result<&'p str, ApiError> {
    program
        .tiers
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
        .map(|t| t.name.as_str())
        .ok_or_else(|| ApiError::invalid("tier", "is not one of the program's tiers"))
}

fn writer(first: bool, columns: &[&str]) -> Result<csv::Writer<Vec<u8>>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if first {
        w.write_record(columns).map_err(csv_error)?;
    }
    Ok(w)
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<String, ApiError> {
    let bytes = w.into_inner().map_err(|e| internal(&e))?;
    String::from_utf8(bytes).map_err(|e| internal(&e))
}

fn csv_error(e: csv::Error) -> ApiError {
    internal(&e)
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(cause = %e, "export did not write");
    ApiError::Internal
}

/// A page of the tenant's members (of one tier when `tier` is given) as CSV: customer id,
/// name, mobile, email, tier, balance (as a change now would see it), lifetime points,
/// enrolled at. Owners and managers.
pub async fn export_members(
    deps: &Deps,
    actor: &Actor,
    tier: Option<&str>,
    cursor_text: Option<&str>,
) -> Result<CsvPage, ApiError> {
    actor.require(Permission::Manage)?;
    let program = crate::auth::program(deps, &actor.tenant).await?;
    let tier = tier.map(|t| tier_named(&program, t)).transpose()?;
    let at = cursor(cursor_text, tier)?;
    let page = deps.store.members_page(&actor.tenant, tier, at).await?;
    let now = deps.now();
    let mut w = writer(cursor_text.is_none(), &MEMBER_COLUMNS)?;
    for member in &page.members {
        let (c, _) = crate::expiry::view(&program, member, now);
        w.write_record([
            c.id.to_string(),
            c.name.clone(),
            c.mobile.as_ref().map(|m| m.to_string()).unwrap_or_default(),
            c.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            crate::tiers::tier_of(&program, &c).name.clone(),
            c.points_balance.to_string(),
            c.lifetime_points.to_string(),
            c.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ])
        .map_err(csv_error)?;
    }
    Ok(CsvPage { csv: finish(w)?, next_cursor: page.next.map(|n| n.encode()) })
}

/// A date range of a ledger export, both days included (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DateRange, ApiError> {
        if to < from {
            return Err(ApiError::invalid("to", "must not be before from"));
        }
        if (to - from).num_days() >= MAX_LEDGER_DAYS {
            return Err(ApiError::invalid("to", format!("must be within {MAX_LEDGER_DAYS} days of from")));
        }
        Ok(DateRange { from, to })
    }

    fn holds(&self, at: DateTime<Utc>) -> bool {
        let day = at.date_naive();
        self.from <= day && day <= self.to
    }
}

/// A page of the tenant's ledger entries written in `range`, as CSV, member by member
/// ([`LEDGER_MEMBERS_PER_PAGE`] members' ledgers a page, each oldest first). A page may
/// hold no rows and still have a next one. Owners and managers.
pub async fn export_ledger(
    deps: &Deps,
    actor: &Actor,
    range: DateRange,
    cursor_text: Option<&str>,
) -> Result<CsvPage, ApiError> {
    actor.require(Permission::Manage)?;
    let at = cursor(cursor_text, None)?;
    let page = deps.store.members_page_of(&actor.tenant, None, at, LEDGER_MEMBERS_PER_PAGE).await?;
    let reads = page.members.iter().map(|m| deps.store.ledger_of(&actor.tenant, &m.id));
    let ledgers = futures_util::future::try_join_all(reads).await?;
    let mut w = writer(cursor_text.is_none(), &LEDGER_COLUMNS)?;
    for entries in ledgers {
        for e in entries.iter().filter(|e| range.holds(e.created_at)) {
            w.write_record(ledger_row(e)).map_err(csv_error)?;
        }
    }
    Ok(CsvPage { csv: finish(w)?, next_cursor: page.next.map(|n| n.encode()) })
}

fn ledger_row(e: &LedgerEntry) -> [String; 10] {
    [
        e.customer_id.to_string(),
        e.txn_id.to_string(),
        e.kind.as_str().to_owned(),
        e.points.to_string(),
        e.balance_after.to_string(),
        e.lifetime_points.to_string(),
        e.amount_minor.map(|a| a.to_string()).unwrap_or_default(),
        e.reference.clone().unwrap_or_default(),
        e.description.clone().unwrap_or_default(),
        e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn ranges_are_ordered_and_bounded() {
        assert!(DateRange::new(day(3, 1), day(3, 31)).is_ok());
        assert!(DateRange::new(day(3, 2), day(3, 1)).is_err());
        assert!(DateRange::new(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), day(3, 1)).is_err());
        let r = DateRange::new(day(3, 1), day(3, 1)).unwrap();
        assert!(r.holds(DateTime::parse_from_rfc3339("2026-03-01T23:59:59Z").unwrap().to_utc()));
        assert!(!r.holds(DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z").unwrap().to_utc()));
    }

    #[test]
    fn fields_with_commas_and_quotes_are_quoted() {
        let mut w = writer(true, &["a", "b"]).unwrap();
        w.write_record(["Ann, \"Annie\"", "x"]).unwrap();
        assert_eq!(finish(w).unwrap(), "a,b\n\"Ann, \"\"Annie\"\"\",x\n");
    }
}
