//! Importing opening balances: CSV rows `mobile,name,email,points,reference`, at most
//! [`MAX_IMPORT_ROWS`] a request. Each row enrols the member (by mobile) if new and
//! writes an `opening` ledger entry of its points, in the member's one write loop with
//! its audit entry. A row is idempotent by its reference (the request item of route
//! `admin-import` under it): importing the same file again changes nothing and answers
//! `duplicate` for each row. Opening points are balance only (earn-dated at the import
//! for expiry), never lifetime points, so they move no tier.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::{json, Change, MAX_NAME_CHARS};
use crate::actor::{Actor, Permission};
use crate::domain::{Email, IdempotencyKey, Mobile};
use crate::engine::commit::{change, commit, mutation_error, Attempt, Refused};
use crate::error::ApiError;
use crate::expiry::ExpiryClock;
use crate::model::{Customer, EntryKind, LedgerEntry};
use crate::program::Program;
use crate::store::{CustomerWrite, EnrolError, Mutation, MutationError};
use crate::Deps;

/// The most rows one import request may hold (the console sends a bigger file in parts).
pub const MAX_IMPORT_ROWS: usize = 500;
/// The largest opening balance of one member.
pub const MAX_OPENING_POINTS: i64 = 100_000_000;
/// The header an import's CSV starts with.
pub const IMPORT_COLUMNS: [&str; 5] = ["mobile", "name", "email", "points", "reference"];
/// How many rows are written at once.
const IMPORT_CONCURRENCY: usize = 8;

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// Imported now.
    Ok,
    /// Its reference was imported before: nothing changed.
    Duplicate,
    /// Not imported: `reason` says why.
    Error,
}

/// One row's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowResult {
    /// The row's line in the file (the header is line 1).
    pub line: usize,
    pub reference: Option<String>,
    pub status: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Whether the row enrolled the member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrolled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An import's answer: a result per row, in the file's order, and their counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub ok: usize,
    pub duplicate: usize,
    pub error: usize,
    pub rows: Vec<RowResult>,
}

/// A row that read well.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    mobile: Mobile,
    name: String,
    email: Option<Email>,
    points: i64,
    reference: IdempotencyKey,
}

/// What a row that was written answers (kept as its request item's result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Imported {
    customer_id: String,
    enrolled: bool,
    balance_after: i64,
}

fn error_row(line: usize, reference: Option<String>, reason: impl Into<String>) -> RowResult {
    RowResult {
        line,
        reference,
        status: RowStatus::Error,
        customer_id: None,
        enrolled: None,
        balance_after: None,
        reason: Some(reason.into()),
    }
}

/// Reads one record: the row, or why not.
fn read_row(record: &csv::StringRecord) -> Result<Row, String> {
    let field = |i: usize| record.get(i).map(str::trim).unwrap_or_default();
    if record.len() != IMPORT_COLUMNS.len() {
        return Err(format!("has {} fields, not {}", record.len(), IMPORT_COLUMNS.len()));
    }
    let mobile = Mobile::parse(field(0)).map_err(|e| format!("bad mobile: {e}"))?;
    let name = crate::domain::nfc(field(1));
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("bad name: must be 1 to {MAX_NAME_CHARS} characters"));
    }
    let email = match field(2) {
        "" => None,
        text => Some(Email::parse(text).map_err(|e| format!("bad email: {e}"))?),
    };
    let points: i64 = field(3).parse().map_err(|_| "bad points: must be a whole number".to_owned())?;
    if points < 0 {
        return Err("negative points".into());
    }
    if points > MAX_OPENING_POINTS {
        return Err(format!("points above {MAX_OPENING_POINTS}"));
    }
    let reference = IdempotencyKey::parse(field(4))
        .map_err(|_| "bad reference: must be 1 to 255 visible ASCII characters".to_owned())?;
    Ok(Row { mobile, name, email, points, reference })
}

/// Reads the CSV text: each data row read or refused, with its line. A missing or
/// different header, or more than [`MAX_IMPORT_ROWS`] rows, refuses the whole request.
/// A data row: its line, its reference as written (if any), and the row or why not.
type ReadRow = (usize, Option<String>, Result<Row, String>);

fn read_rows(text: &str) -> Result<Vec<ReadRow>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|_| ApiError::invalid("body", "is not CSV text"))?;
    let names: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    if names != IMPORT_COLUMNS {
        return Err(ApiError::invalid("body", format!("must start with the header {}", IMPORT_COLUMNS.join(","))));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        if rows.len() == MAX_IMPORT_ROWS {
            return Err(ApiError::invalid("body", format!("has more than {MAX_IMPORT_ROWS} rows: send it in parts")));
        }
        match record {
            Ok(record) => {
                let reference = record.get(4).map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
                rows.push((line, reference, read_row(&record)));
            }
            Err(e) => rows.push((line, None, Err(format!("unreadable: {e}")))),
        }
    }
    if rows.is_empty() {
        return Err(ApiError::invalid("body", "has no rows"));
    }
    Ok(rows)
}

/// Imports the rows of `text`. Owners and managers.
pub async fn import_members(deps: &Deps, actor: &Actor, text: &str) -> Result<ImportReport, ApiError> {
    actor.require(Permission::Manage)?;
    let rows = read_rows(text)?;
    let program = crate::auth::program(deps, &actor.tenant).await?;
    let program = &program;
    // A reference repeated in the file is the later row's duplicate, whatever order the
    // rows are written in.
    let mut first_line = std::collections::HashMap::new();
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(line, reference, row)| {
            let earlier = match &row {
                Ok(r) => first_line.get(r.reference.as_str()).copied().or_else(|| {
                    first_line.insert(r.reference.as_str().to_owned(), line);
                    None
                }),
                Err(_) => None,
            };
            (line, reference, row, earlier)
        })
        .collect();
    let mut results: Vec<RowResult> = stream::iter(rows)
        .map(|(line, reference, row, earlier)| async move {
            match (row, earlier) {
                (Err(reason), _) => error_row(line, reference, reason),
                (Ok(_), Some(first)) => RowResult {
                    line,
                    reference,
                    status: RowStatus::Duplicate,
                    customer_id: None,
                    enrolled: None,
                    balance_after: None,
                    reason: Some(format!("reference repeated in this file (line {first})")),
                },
                (Ok(row), None) => import_row(deps, actor, program, line, &row).await,
            }
        })
        .buffer_unordered(IMPORT_CONCURRENCY)
        .collect()
        .await;
    results.sort_by_key(|r| r.line);
    let count = |s: RowStatus| results.iter().filter(|r| r.status == s).count();
    Ok(ImportReport {
        ok: count(RowStatus::Ok),
        duplicate: count(RowStatus::Duplicate),
        error: count(RowStatus::Error),
        rows: results,
    })
}

/// One row, answered whatever happens (a failure is that row's error).
async fn import_row(deps: &Deps, actor: &Actor, program: &Arc<Program>, line: usize, row: &Row) -> RowResult {
    let reference = Some(row.reference.as_str().to_owned());
    let done = |status: RowStatus, i: Option<Imported>| RowResult {
        line,
        reference: reference.clone(),
        status,
        customer_id: i.as_ref().map(|i| i.customer_id.clone()),
        enrolled: i.as_ref().map(|i| i.enrolled),
        balance_after: i.as_ref().map(|i| i.balance_after),
        reason: None,
    };
    match write_row(deps, actor, program, row).await {
        Ok(Written::Now(i)) => done(RowStatus::Ok, Some(i)),
        Ok(Written::Before) => {
            RowResult { reason: Some("reference imported before".into()), ..done(RowStatus::Duplicate, None) }
        }
        Err(e) => error_row(line, reference.clone(), reason_of(&e)),
    }
}

fn reason_of(e: &ApiError) -> String {
    match e {
        ApiError::Conflict(m) | ApiError::BadRequest(m) => m.clone(),
        ApiError::Contended => "the member was busy: import the row again".into(),
        _ => "could not be written: import the row again".into(),
    }
}

enum Written {
    Now(Imported),
    /// Its reference was imported before (by anyone, with any content).
    Before,
}

async fn write_row(deps: &Deps, actor: &Actor, program: &Program, row: &Row) -> Result<Written, ApiError> {
    #[derive(Serialize)]
    struct RowAsk<'a> {
        mobile: String,
        name: &'a str,
        email: Option<String>,
        points: i64,
    }
    let ask = RowAsk {
        mobile: row.mobile.to_string(),
        name: &row.name,
        email: row.email.as_ref().map(|e| e.to_string()),
        points: row.points,
    };
    let change_ = Change::new(actor, "admin-import", Some(&row.reference), &ask)?;
    if deps.store.get_admin_request(&actor.tenant, "admin-import", &row.reference).await?.is_some() {
        return Ok(Written::Before);
    }
    let change_ = &change_;
    let attempt = move || async move {
        let now = deps.now();
        let found = match deps.store.customer_id_by_mobile(&actor.tenant, &row.mobile).await? {
            Some(id) => deps.store.get_customer(&actor.tenant, &id).await?,
            None => None,
        };
        let clock = ExpiryClock::new(program, now);
        let (before, mut after) = match &found {
            Some(c) => (Some(c.clone()), c.clone()),
            None => {
                let new = Customer::new(
                    crate::domain::CustomerId::new_random(),
                    row.name.clone(),
                    Some(row.mobile.clone()),
                    row.email.clone(),
                    now,
                );
                (None, new)
            }
        };
        let expired = crate::engine::expiry::settle(&clock, &mut after, now);
        clock.add(&mut after, row.points, now);
        after.version += 1;
        let entry = LedgerEntry {
            txn_id: uuid::Uuid::new_v4(),
            customer_id: after.id,
            kind: EntryKind::Opening,
            points: row.points,
            lifetime_points: 0,
            amount_minor: None,
            reference: Some(row.reference.as_str().to_owned()),
            description: Some("Opening balance".into()),
            balance_after: after.points_balance,
            created_at: now,
            sold_at: None,
        };
        let result = Imported {
            customer_id: after.id.to_string(),
            enrolled: before.is_none(),
            balance_after: after.points_balance,
        };
        #[derive(Serialize)]
        struct Balance {
            points_balance: i64,
        }
        let was = before.as_ref().map(|b| Balance { points_balance: b.points_balance });
        let is = Balance { points_balance: after.points_balance };
        let admin = change_.record(now, "member.import", after.id.to_string(), json(&was), json(&is), &result)?;
        let customer = match before {
            Some(b) => CustomerWrite::Update { expected_version: b.version, after },
            None => CustomerWrite::New(after),
        };
        let mutation =
            Mutation { entries: expired.into_iter().chain([entry]).collect(), admin: Some(admin), ..change(customer) };
        Ok(Attempt::Write { mutation: Box::new(mutation), now, result: Written::Now(result) })
    };
    let refused = move |err, _: Box<Mutation>| async move {
        match err {
            MutationError::AdminDone(_) => Ok(Refused::Answer(Written::Before)),
            // Enrolled meanwhile by someone else: read again and add to them.
            MutationError::Taken(EnrolError::MobileTaken) => Ok(Refused::Retry),
            MutationError::Taken(EnrolError::EmailTaken) => {
                Err(ApiError::Conflict("email already belongs to another member".into()))
            }
            other => Err(mutation_error(other)),
        }
    };
    commit(deps, &actor.tenant, attempt, refused).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(text: &str) -> Vec<Result<(), String>> {
        read_rows(text).unwrap().into_iter().map(|(_, _, r)| r.map(|_| ())).collect()
    }

    #[test]
    fn rows_are_read_and_bad_ones_named() {
        let text = "mobile,name,email,points,reference\n\
                    9876500001,Asha,asha@example.com,1200,r1\n\
                    12,Ravi,,10,r2\n\
                    9876500003,Meera,,-5,r3\n\
                    9876500004,\"Rao, K\",,0,r4\n\
                    9876500005,,,5,r5\n\
                    9876500006,Anu,not-an-email,5,r6\n\
                    9876500007,Anu,,5,\n";
        let got = reasons(text);
        assert_eq!(got[0], Ok(()));
        assert!(got[1].as_ref().is_err_and(|e| e.starts_with("bad mobile")), "{:?}", got[1]);
        assert_eq!(got[2], Err("negative points".into()));
        assert_eq!(got[3], Ok(()), "a quoted name with a comma");
        assert!(got[4].as_ref().is_err_and(|e| e.starts_with("bad name")));
        assert!(got[5].as_ref().is_err_and(|e| e.starts_with("bad email")));
        assert!(got[6].as_ref().is_err_and(|e| e.starts_with("bad reference")));
    }

    #[test]
    fn a_request_without_the_header_or_with_too_many_rows_is_refused() {
        assert!(read_rows("phone,name\n1,2\n").is_err());
        assert!(read_rows("mobile,name,email,points,reference\n").is_err());
        let mut big = String::from("mobile,name,email,points,reference\n");
        for i in 0..=MAX_IMPORT_ROWS {
            big.push_str(&format!("98765{i:05},N,,1,r{i}\n"));
        }
        assert!(read_rows(&big).is_err());
    }
}
