//! Formats both dialects put on the wire, so that neither imports the other.

use chrono::{DateTime, SecondsFormat, Utc};

/// An instant as RFC 3339 in UTC, to the second: `2026-03-01T10:00:00Z`.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
