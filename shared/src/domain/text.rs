//! Text that people and other systems send: what an identifier may not hide, and the
//! one form a name is kept in.
//!
//! Identifiers (sale and refund references, coupon and voucher codes, tenant slugs, key
//! labels) are compared and shown to cashiers and operators; a bidi override makes
//! `INV-1` + U+202E + `21` display as `INV-112`, and a zero-width character makes two
//! references that look the same differ. Such characters are refused there. Names keep
//! every script (joiners are part of some, so they are not refused) but are stored in
//! Unicode NFC, so a name typed precomposed or decomposed is the same name.

use unicode_normalization::UnicodeNormalization;

/// The rest of a sentence that starts with the field's name.
pub const HOSTILE_TEXT: &str = "must not contain invisible or direction-changing characters";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", HOSTILE_TEXT)]
pub struct HostileText;

/// Characters that change how text reads without being seen: bidi embeddings and
/// overrides (U+202A..U+202E), isolates (U+2066..U+2069) and marks (U+061C, U+200E,
/// U+200F); zero-width spaces and joiners (U+200B..U+200D), the word joiner and
/// invisible operators (U+2060..U+2064), the Mongolian vowel separator (U+180E), the
/// soft hyphen (U+00AD), the combining grapheme joiner (U+034F), the byte-order mark
/// (U+FEFF) and tag characters (U+E0000..U+E007F).
pub fn is_hostile(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{180E}'
            | '\u{00AD}'
            | '\u{034F}'
            | '\u{FEFF}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// `Ok` when `text` may be an identifier: none of [`is_hostile`]'s characters.
pub fn check_identifier(text: &str) -> Result<(), HostileText> {
    if text.chars().any(is_hostile) {
        Err(HostileText)
    } else {
        Ok(())
    }
}

/// `text` in Unicode Normalization Form C.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// A key's label as an operator gives it: trimmed, at most 100 characters, no control,
/// invisible or direction-changing characters, in NFC. Empty is allowed (no label).
pub fn key_label(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > 100 {
        return Err("label may be at most 100 characters".into());
    }
    if text.chars().any(char::is_control) {
        return Err("label must not contain control characters".into());
    }
    check_identifier(text).map_err(|e| format!("label {e}"))?;
    Ok(nfc(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_zero_width_characters_are_hostile() {
        for c in [
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{200B}',
            '\u{200D}',
            '\u{200F}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{061C}',
            '\u{2063}',
            '\u{180E}',
            '\u{00AD}',
            '\u{034F}',
            '\u{E0001}',
            '\u{E007F}',
        ] {
            assert_eq!(check_identifier(&format!("INV-{c}1")), Err(HostileText), "U+{:04X}", c as u32);
        }
        for fine in ["INV-1", "फ़ातिमा", "Ravi Kumar", "ORD/2026/0001"] {
            assert_eq!(check_identifier(fine), Ok(()), "{fine}");
        }
    }

    #[test]
    fn names_are_kept_in_nfc() {
        // "é" decomposed (e + combining acute) and precomposed are one name.
        assert_eq!(nfc("Jose\u{301}"), "Jos\u{e9}");
        assert_eq!(nfc("Jos\u{e9}"), "Jos\u{e9}");
    }

    proptest::proptest! {
        #[test]
        fn nfc_twice_is_nfc_once_and_identifiers_never_panic(text in "[\\PC\\u{200B}-\\u{200F}\\u{202A}-\\u{202E}\\u{2060}\\u{2066}-\\u{2069}\\u{FEFF}]{0,40}") {
            proptest::prop_assert_eq!(nfc(&nfc(&text)), nfc(&text));
            let hostile = text.chars().any(is_hostile);
            proptest::prop_assert_eq!(check_identifier(&text).is_err(), hostile);
            if let Ok(label) = key_label(&text) {
                proptest::prop_assert_eq!(key_label(&label), Ok(label.clone()));
            }
        }
    }

    #[test]
    fn key_labels() {
        assert_eq!(key_label("  Till 1 "), Ok("Till 1".into()));
        assert_eq!(key_label(""), Ok(String::new()));
        assert!(key_label("Till\u{202E}1").unwrap_err().contains("label must not contain invisible"));
        assert!(key_label("Till\n1").is_err());
        assert!(key_label(&"x".repeat(101)).is_err());
    }
}
