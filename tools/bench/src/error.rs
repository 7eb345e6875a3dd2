//! The bench's one error type: it reports and stops, it never recovers by kind.

pub type Error = Box<dyn std::error::Error + Send + Sync>;
