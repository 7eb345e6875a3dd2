use aws_sdk_dynamodb::types::AttributeValue;
use chrono::TimeZone;

use super::super::item_key::{GSI1PK, GSI1SK, GSI3PK, GSI3SK};
use super::*;
use crate::store::TTL_ATTRIBUTE;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn tenant() -> TenantSlug {
    TenantSlug::parse("acme").unwrap()
}

fn coupon() -> Coupon {
    Coupon {
        coupon_id: uuid::Uuid::nil(),
        code: Code::parse("COUP-XY12").unwrap(),
        customer_id: Some(CustomerId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301").unwrap()),
        kind: CodeKind::Percent,
        value_minor: 0,
        discount_percent: Some(10),
        source: "campaign".into(),
        reward_id: None,
        reward_name: None,
        status: CodeStatus::Active,
        expires_at: now(),
        expiry_date: now().date_naive(),
        created_at: now(),
        used_at: None,
    }
}

fn code_attrs() -> Attrs {
    let c = coupon();
    encode(&ItemKey::code(&tenant(), &c.code), &CodeItem::new(&tenant(), &c)).unwrap()
}

#[test]
fn a_code_round_trips_with_its_index_keys_and_no_empty_attributes() {
    let attrs = code_attrs();
    assert_eq!(attrs["PK"].as_s().unwrap(), "TENANT#acme#CODE#COUP-XY12");
    assert!(attrs["GSI1PK"].as_s().unwrap().starts_with("TENANT#acme#CUST#"));
    // Sorted by expiry in the member's index partition.
    assert_eq!(attrs["GSI1SK"].as_s().unwrap(), "CODE#0000001795435200000#COUP-XY12");
    assert_eq!(attrs["status"].as_s().unwrap(), "active");
    assert_eq!(attrs["expires_at"].as_s().unwrap(), "2026-11-23T12:00:00.000Z");
    assert_eq!(attrs["discount_percent"].as_n().unwrap(), "10");
    assert!(!attrs.contains_key("used_at") && !attrs.contains_key("reward_id"));
    assert_eq!(Coupon::from(decode::<CodeItem>(&attrs).unwrap()), coupon());
}

#[test]
fn an_unknown_code_status_is_an_error_naming_the_item_and_field() {
    let mut attrs = code_attrs();
    attrs.insert("status".into(), AttributeValue::S("expired".into()));
    let err = decode::<CodeItem>(&attrs).unwrap_err();
    let StoreError::Corrupt(message) = err else { panic!("{err:?}") };
    assert!(message.contains("code item TENANT#acme#CODE#COUP-XY12/CODE"), "{message}");
    assert!(message.contains("field status"), "{message}");
}

#[test]
fn a_missing_or_mistyped_field_is_an_error_naming_it() {
    let mut attrs = code_attrs();
    attrs.remove("value_minor");
    let StoreError::Corrupt(message) = decode::<CodeItem>(&attrs).unwrap_err() else { panic!() };
    assert!(message.contains("value_minor"), "{message}");
    let mut attrs = code_attrs();
    attrs.insert("customer_id".into(), AttributeValue::S("not-an-id".into()));
    let StoreError::Corrupt(message) = decode::<CodeItem>(&attrs).unwrap_err() else { panic!() };
    assert!(message.contains("field customer_id"), "{message}");
}

/// The names conditions use on their own are attributes the structs write.
#[test]
fn expression_names_are_attributes_of_the_items() {
    fn names<T: Serialize>(item: &T) -> Vec<String> {
        serde_dynamo::to_item::<_, Attrs>(item).unwrap().into_keys().collect()
    }
    let code = names(&CodeItem::new(&tenant(), &coupon()));
    for a in [attr::STATUS, attr::EXPIRES_AT_MS, attr::COUPON_ID] {
        assert!(code.contains(&a.to_owned()), "{a}");
    }
    let otp = names(&OtpItem {
        code_hash: "h".into(),
        issued_at_ms: 1,
        expires_at_ms: 2,
        attempts_left: 5,
        used: false,
        window_start_ms: 1,
        window_count: 1,
        expires_at_epoch: 3,
        send_token: Some("s".into()),
        attempt_tokens: vec!["a".into()],
    });
    for a in [
        attr::CODE_HASH,
        attr::USED,
        attr::ATTEMPTS_LEFT,
        attr::ISSUED_AT_MS,
        attr::EXPIRES_AT_MS,
        attr::SEND_TOKEN,
        attr::ATTEMPT_TOKENS,
        TTL_ATTRIBUTE,
    ] {
        assert!(otp.contains(&a.to_owned()), "{a}");
    }
    let claim = names(&IdempotencyItem {
        state: ClaimState::InFlight,
        token: "t".into(),
        request_hash: "h".into(),
        lease_until_ms: 1,
        created_at: now(),
        expires_at_ms: 2,
        expires_at_epoch: 3,
        status_code: None,
        response: None,
    });
    for a in [attr::STATE, attr::TOKEN, attr::LEASE_UNTIL_MS, attr::EXPIRES_AT_MS, TTL_ATTRIBUTE] {
        assert!(claim.contains(&a.to_owned()), "{a}");
    }
    let listed =
        names(&TenantIndexItem { tenant: TenantSlug::parse("acme").unwrap(), name: "A".into(), created_at: now() });
    let renamed = names(&TenantIndexName { tenant: TenantSlug::parse("acme").unwrap(), name: "B" });
    assert!(renamed.iter().all(|n| listed.contains(n)) && listed.contains(&attr::CREATED_AT.to_owned()));
    let done = names(&IdempotencyDone { state: ClaimState::Done, status_code: 200, response: "{}" });
    assert!(done.iter().all(|n| ["state", "status_code", "response"].contains(&n.as_str())));
    let mut member = Customer::new(CustomerId::new_random(), "A".into(), None, None, now());
    member.points_expiry = crate::expiry::Buckets::from_pairs([(crate::expiry::Month::new(2026, 1).unwrap(), 5)]);
    member.points_expiry_months = Some(12);
    member.tier = Some(crate::tiers::TierState { name: "Gold".into(), ..Default::default() });
    let acme = TenantSlug::parse("acme").unwrap();
    let profile = names(&ProfileItem::new(&acme, &member, now()).in_tier(&acme, Some("Gold")));
    let buckets = Some(&member.points_expiry);
    let index = expiry_index_keys(&acme, &member).unwrap();
    assert!(index.0.starts_with("EXPIRY#2027-02#"), "due the month after 2027-01: {index:?}");
    let balance = names(&ProfileBalance {
        points_balance: 1,
        lifetime_points: 1,
        version: 1,
        updated_at: now(),
        points_expiry: buckets,
        tier: member.tier.as_ref(),
        index_pk: Some(index.0),
        index_sk: Some(index.1),
        members_pk: Some("MEMBERS#acme#00".into()),
        members_sk: Some("Gold#x".into()),
    });
    assert!(balance.iter().all(|n| profile.contains(n)), "{balance:?}");
    assert!(profile.contains(&"GSI2PK".to_owned()) && profile.contains(&"GSI2SK".to_owned()));
    assert!(balance.contains(&attr::POINTS_EXPIRY.to_owned()) && balance.contains(&attr::TIER.to_owned()));
    assert!(balance.contains(&GSI3PK.to_owned()) && balance.contains(&GSI3SK.to_owned()));
    // The expiry keys are the keys-only GSI3's: neither write puts the profile in GSI1.
    for names in [&profile, &balance] {
        assert!(!names.contains(&GSI1PK.to_owned()) && !names.contains(&GSI1SK.to_owned()), "{names:?}");
    }
    assert!(profile.contains(&GSI3PK.to_owned()) && profile.contains(&GSI3SK.to_owned()));
    member.points_expiry_months = None;
    assert_eq!(expiry_index_keys(&acme, &member), None, "a program without expiry indexes nobody");
    assert!(profile.contains(&attr::VERSION.to_owned()));
    let lookup = names(&LookupItem { customer_id: CustomerId::new_random() });
    assert_eq!(lookup, vec![attr::CUSTOMER_ID.to_owned()]);
}

#[test]
fn update_sets_every_field_of_a_patch() {
    let mut e = Expr::default();
    let set = e.set(&CodeUse { status: CodeStatus::Used, used_at: now(), used_by: "t", used_key: "k" }).unwrap();
    assert_eq!(set, "SET #status = :v0, #used_at = :v1, #used_by = :v2, #used_key = :v3");
    assert_eq!(e.names["#status"], "status");
    assert_eq!(e.values[":v0"], AttributeValue::S("used".into()));
}
