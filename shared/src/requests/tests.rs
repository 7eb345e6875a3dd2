use serde::Deserialize;

use super::*;

/// Every field type, under the names the old field-by-field reader was tested with.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Probe {
    amount: Amount,
    other: Amount,
    missing: Amount,
    flag: Flag,
    items: List<Item, 5>,
    a: MobileField,
    b: MobileField,
    name: Text<10>,
    short: Text<3>,
    bad: Text<10>,
    empty: Text<10>,
    number: TextOrNumber<10>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Item {
    amount: Amount,
}

fn body(text: &str) -> Result<Probe, ApiError> {
    from_bytes(text.as_bytes())
}

/// The error as one sentence (a field's error names the field first).
fn err(text: &str) -> ApiError {
    match body(text) {
        Err(e @ ApiError::Invalid { .. }) => ApiError::bad_request(e.to_string()),
        Err(e) => e,
        Ok(_) => ApiError::bad_request(format!("{text} parsed")),
    }
}

#[test]
fn money_keeps_its_exact_text() {
    let b = body(r#"{"amount": 0.29, "other": 1e3}"#).unwrap();
    assert_eq!(b.amount.0.unwrap().minor(), 29);
    assert_eq!(b.other.0.unwrap().minor(), 100_000);
    assert_eq!(b.missing.0, None);
    assert_eq!(body(r#"{"amount": null}"#).unwrap().amount.0, None);
}

#[test]
fn field_errors_name_the_field() {
    assert_eq!(err(r#"{"amount": "12"}"#), ApiError::bad_request("amount must be a number"));
    assert_eq!(err(r#"{"flag": 1}"#), ApiError::bad_request("flag must be true or false"));
    assert!(matches!(err(r#"{"items": {}}"#), ApiError::BadRequest(m) if m.contains("items")));
    let nested = body(r#"{"items": [{"amount": "x"}]}"#).unwrap_err();
    assert_eq!(nested, ApiError::invalid("items[0].amount", "must be a number"), "the field is kept apart");
    assert_eq!(err(r#"{"amount": 1.005}"#), ApiError::bad_request("amount must have at most 2 decimal places"));
}

#[test]
fn nested_errors_name_their_path() {
    assert_eq!(err(r#"{"items": {}}"#), ApiError::bad_request("items must be an array"));
    assert_eq!(
        err(r#"{"items": [{"amount": 1}, {"amount": "x"}]}"#),
        ApiError::bad_request("items[1].amount must be a number")
    );
    assert_eq!(err(r#"{"items": [{"amount": 1}, [1]]}"#), ApiError::bad_request("items[1] must be an object"));
    assert_eq!(
        err(r#"{"items": [{}, {}, {}, {}, {}, {}]}"#),
        ApiError::bad_request("items may have at most 5 entries")
    );
    assert_eq!(body(r#"{"items": null}"#).unwrap().items.0.len(), 0);
    assert_eq!(body(r#"{"items": [{}, {"amount": 2}]}"#).unwrap().items.0.len(), 2);
}

#[test]
fn mobile_may_be_a_number_or_a_string() {
    let b = body(r#"{"a": 9876543210, "b": "+91 98765 43210"}"#).unwrap();
    assert_eq!(b.a.0.unwrap().as_str(), "9876543210");
    assert_eq!(b.b.0.unwrap().as_str(), "9876543210");
    assert_eq!(err(r#"{"a": 12345}"#), ApiError::bad_request(format!("a {MOBILE}")));
    let b = body(r#"{"a": "+44 7911 123456", "b": "+919876543210"}"#).unwrap();
    assert_eq!(b.a.0.unwrap().as_str(), "+447911123456");
    assert_eq!(b.b.0.unwrap().as_str(), "9876543210");
}

const MOBILE: &str = "must be a 10-digit mobile number, or + and the country code (8 to 15 digits in all)";

proptest::proptest! {
    /// Whatever a client sends as a mobile, it parses or is a 400 that names the field.
    #[test]
    fn an_invalid_mobile_is_a_400_naming_the_field(text in "[+0-9 ()a-z.-]{0,24}") {
        let json = serde_json::json!({ "a": text }).to_string();
        match body(&json) {
            Ok(b) => proptest::prop_assert_eq!(b.a.0, crate::domain::Mobile::parse(&text).ok()),
            Err(_) => {
                let e = err(&json);
                proptest::prop_assert!(e.is_bad_request());
                proptest::prop_assert!(e == ApiError::bad_request(format!("a {MOBILE}")) || text.trim().is_empty(), "{:?}", e);
            }
        }
    }
}

#[test]
fn bodies_that_are_not_objects_are_refused() {
    for text in ["", "  ", "[]", "12", "\"x\"", "{", "null", "[{\"amount\": 1}]"] {
        assert!(body(text).is_err_and(|e| e.is_bad_request()), "{text}");
    }
    assert_eq!(err("[]"), ApiError::bad_request("Request body must be a JSON object"));
    assert!(matches!(err("{"), ApiError::BadRequest(m) if m.starts_with("Request body is not valid JSON")));
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    assert_eq!(body(&big).err(), Some(ApiError::PayloadTooLarge(MAX_BODY_BYTES)));
}

#[test]
fn text_limits() {
    let b = body(r#"{"name": "  Ravi  ", "empty": "", "unknown": [1, {"x": 2}]}"#).unwrap();
    assert_eq!(b.name.0.as_deref(), Some("Ravi"));
    assert_eq!(b.empty.0, None);
    assert_eq!(err(r#"{"short": "Ravi"}"#), ApiError::bad_request("short may be at most 3 characters"));
    assert_eq!(err(r#"{"bad": "a\u0000b"}"#), ApiError::bad_request("bad must not contain control characters"));
    assert_eq!(err(r#"{"name": 12}"#), ApiError::bad_request("name must be a string"));
}

#[test]
fn numbers_are_taken_as_their_text_where_allowed() {
    assert_eq!(body(r#"{"number": 12.50}"#).unwrap().number.0.as_deref(), Some("12.50"));
    assert_eq!(body(r#"{"number": " INV-1 "}"#).unwrap().number.0.as_deref(), Some("INV-1"));
    assert_eq!(err(r#"{"number": -5}"#), ApiError::bad_request("number must be a string"));
    assert_eq!(err(r#"{"number": true}"#), ApiError::bad_request("number must be a string"));
}

#[test]
fn a_repeated_name_means_its_last_value() {
    let b = body(r#"{"amount": "x", "amount": 2, "items": [{"amount": 1, "amount": 3.5}]}"#).unwrap();
    assert_eq!(b.amount.0.map(Money::minor), Some(200));
    assert_eq!(b.items.0[0].amount.0.map(Money::minor), Some(350));
}

#[test]
fn identifiers_refuse_invisible_and_direction_changing_characters() {
    for hostile in ["INV\u{202E}1", "INV\u{200B}1", "\u{2066}INV-1\u{2069}", "INV-1\u{FEFF}", "INV\u{2060}1"] {
        let text = serde_json::to_string(hostile).unwrap();
        assert_eq!(
            err(&format!(r#"{{"number": {text}}}"#)),
            ApiError::bad_request("number must not contain invisible or direction-changing characters"),
            "{hostile:?}"
        );
    }
    assert_eq!(body(r#"{"number": "INV-1"}"#).unwrap().number.0.as_deref(), Some("INV-1"));
}

#[test]
fn names_are_read_in_nfc() {
    let b = body("{\"name\": \"Jose\u{301}\"}").unwrap();
    assert_eq!(b.name.0.as_deref(), Some("Jos\u{e9}"));
}
