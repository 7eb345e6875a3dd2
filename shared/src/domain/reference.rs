//! A sale's reference (`external_ref` in the Partner dialect, `reference` in the public
//! one): the POS's own name for a bill, unique per tenant across both dialects.

use std::fmt;

/// Any reference the edge accepted; the store keys the sale under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Reference(String);

impl Reference {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Reference {
    fn from(text: String) -> Self {
        Reference(text)
    }
}

impl From<&str> for Reference {
    fn from(text: &str) -> Self {
        Reference(text.to_owned())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
