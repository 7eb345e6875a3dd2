//! Property tests for every parser at the edge: no input panics, whatever parses is
//! valid, and normalising twice equals normalising once.

use crate::domain::{Code, CustomerId, Email, Mobile, Money, TenantSlug, MAX_MINOR};
use crate::keys::PresentedKey;
use proptest::prelude::*;

proptest! {
    #[test]
    fn money_never_panics_and_stays_in_range(text in "\\PC{0,40}") {
        if let Ok(m) = Money::parse(&text) {
            prop_assert!(m.minor() > 0 && m.minor() <= MAX_MINOR);
        }
    }

    #[test]
    fn money_from_decimal_text_is_exact(units in 0i64..10_000_000, cents in 0i64..100) {
        let minor = units * 100 + cents;
        prop_assume!(minor > 0);
        let text = format!("{units}.{cents:02}");
        prop_assert_eq!(Money::parse(&text).map(Money::minor), Ok(minor));
        // Written back and read again: the same amount.
        let again = Money::parse(&Money::parse(&text).unwrap().to_string()).map(Money::minor);
        prop_assert_eq!(again, Ok(minor));
    }

    #[test]
    fn money_with_exponent_matches_plain_digits(mantissa in 1i64..100_000, exp in 0u32..4) {
        let text = format!("{mantissa}e{exp}");
        let expected = mantissa * 10i64.pow(exp) * 100;
        prop_assert_eq!(Money::parse(&text).map(Money::minor).ok(), (expected <= MAX_MINOR).then_some(expected));
    }

    #[test]
    fn money_rejects_a_third_decimal(units in 0i64..1000, thousandths in 1i64..10) {
        let text = format!("{units}.00{thousandths}");
        prop_assert!(Money::parse(&text).is_err());
    }

    #[test]
    fn mobile_normalises_idempotently(text in "\\PC{0,20}") {
        if let Ok(m) = Mobile::parse(&text) {
            let kept = m.as_str();
            prop_assert!(
                (kept.len() == 10 && m.is_indian()) || (kept.starts_with('+') && (9..=16).contains(&kept.len())),
                "{}", kept
            );
            prop_assert_eq!(Mobile::parse(kept), Ok(m.clone()));
            prop_assert_eq!(Mobile::parse(&m.e164()), Ok(m.clone()));
        }
    }

    #[test]
    fn mobile_in_e164_normalises_idempotently(digits in "[1-9][0-9]{7,14}", spaced in any::<bool>()) {
        let text = if spaced { format!("+{} {}", &digits[..2], &digits[2..]) } else { format!("+{digits}") };
        if let Ok(m) = Mobile::parse(&text) {
            prop_assert_eq!(Mobile::parse(m.as_str()), Ok(m.clone()));
            prop_assert_eq!(Mobile::parse(&m.e164()), Ok(m.clone()));
            prop_assert!(m.e164().starts_with('+'));
        }
        // Only a +91 number of the wrong length is refused: India keeps its ten digits.
        if !digits.starts_with("91") {
            prop_assert_eq!(Mobile::parse(&text).map(|m| m.as_str().to_owned()), Ok(format!("+{digits}")));
        }
    }

    #[test]
    fn mobile_indian_forms_are_one_member(n in 1_000_000_000u64..9_999_999_999) {
        let digits = n.to_string();
        let ten = Mobile::parse(&digits);
        prop_assert!(ten.is_ok());
        prop_assert_eq!(Mobile::parse(&format!("+91{digits}")), ten.clone());
        prop_assert_eq!(Mobile::parse(&format!("+91 {digits}")), ten.clone());
        prop_assert_eq!(Mobile::parse(&format!("91{digits}")), ten.clone());
        let m = ten.unwrap();
        prop_assert_eq!(m.as_str(), digits.as_str());
        prop_assert_eq!(m.e164(), format!("+91{digits}"));
    }

    #[test]
    fn mobile_outside_both_forms_is_refused(digits in "[0-9]{1,20}") {
        let plus = format!("+{digits}");
        let e164 = (8..=15).contains(&digits.len()) && !digits.starts_with('0');
        let indian_plus = digits.len() == 12 && digits.starts_with("91") && !digits[2..].starts_with('0');
        if digits.starts_with("91") {
            prop_assert_eq!(Mobile::parse(&plus).is_ok(), indian_plus);
        } else {
            prop_assert_eq!(Mobile::parse(&plus).is_ok(), e164);
        }
    }

    #[test]
    fn mobile_accepts_formatted_numbers(n in 6_000_000_000u64..9_999_999_999, style in 0usize..4) {
        let digits = n.to_string();
        let text = match style {
            0 => digits.clone(),
            1 => format!("+91 {} {}", &digits[..5], &digits[5..]),
            2 => format!("0{digits}"),
            _ => format!("{}-{}", &digits[..5], &digits[5..]),
        };
        prop_assert_eq!(Mobile::parse(&text).map(|m| m.as_str().to_owned()), Ok(digits));
    }

    #[test]
    fn email_normalises_idempotently(text in "\\PC{0,40}") {
        if let Ok(e) = Email::parse(&text) {
            prop_assert_eq!(e.as_str(), e.as_str().to_lowercase());
            prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
        }
    }

    #[test]
    fn email_of_simple_parts_parses(local in "[a-zA-Z0-9]{1,20}", domain in "[a-z0-9]{1,20}", tld in "[a-z]{2,6}") {
        let text = format!("{local}@{domain}.{tld}");
        prop_assert_eq!(Email::parse(&text).map(|e| e.as_str().to_owned()), Ok(text.to_lowercase()));
    }

    #[test]
    fn code_normalises_idempotently(text in "\\PC{0,50}") {
        if let Ok(c) = Code::parse(&text) {
            prop_assert_eq!(Code::parse(c.as_str()), Ok(c.clone()));
            prop_assert!(!c.as_str().chars().any(|ch| ch.is_ascii_lowercase()));
        }
    }

    #[test]
    fn slug_parse_is_stable(text in "\\PC{0,70}") {
        if let Ok(s) = TenantSlug::parse(&text) {
            prop_assert_eq!(TenantSlug::parse(s.as_str()), Ok(s.clone()));
        }
    }

    #[test]
    fn customer_id_round_trips(text in "\\PC{0,40}") {
        if let Ok(id) = CustomerId::parse(&text) {
            prop_assert_eq!(CustomerId::parse(&id.to_string()), Ok(id));
        }
    }

    #[test]
    fn api_key_shape_check_never_panics(text in "\\PC{0,80}") {
        if let Some(key) = PresentedKey::parse(&text) {
            prop_assert_eq!(key.hash().0.len(), 64);
        }
    }
}
