//! How the engine answers when DynamoDB conflicts, throttles or fails: conditions that
//! fail are 4xx and never retried; transaction conflicts are retried with backoff a
//! bounded number of times and then answer 503; throttling is retried by the client and
//! then answers 503. DynamoDB Local never conflicts or throttles, so these use the
//! SDK's mock client.

use std::sync::Arc;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, TransactionCanceledException};
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use chrono::{TimeZone, Utc};

use super::item_key::{Attrs, ItemKey};
use super::items::{encode, CodeItem, ProfileItem};
use super::Store;
use crate::auth::Caller;
use crate::deps::{Deps, FixedClock};
use crate::domain::{Code, CustomerId, Mobile, Money, TenantSlug};
use crate::engine::{self, MemberRef, Sale, MAX_ATTEMPTS};
use crate::error::ApiError;
use crate::keys::KeyMode;
use crate::model::{CodeKind, CodeStatus, Coupon, Customer};

fn profile_attrs(t: &TenantSlug, c: &Customer, now: chrono::DateTime<Utc>) -> Attrs {
    encode(&ItemKey::profile(t, &c.id), &ProfileItem::new(t, c, now)).unwrap()
}

fn code_attrs(t: &TenantSlug, c: &Coupon) -> Attrs {
    encode(&ItemKey::code(t, &c.code), &CodeItem::new(t, c)).unwrap()
}
use crate::program::default_program;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn tenant() -> TenantSlug {
    TenantSlug::parse("acme").unwrap()
}

fn member() -> Customer {
    let mut c = Customer::new(
        CustomerId::parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301").unwrap(),
        "Asha".into(),
        Some(Mobile::parse("9876543210").unwrap()),
        None,
        now(),
    );
    c.points_balance = 500;
    c.lifetime_points = 500;
    c.version = 3;
    c
}

fn deps(client: Client) -> Deps {
    Deps::new(Store::new(client, "loyalty"), Arc::new(FixedClock::new(now())))
}

fn caller() -> Caller {
    Caller { tenant: tenant(), key_id: "key_test".into(), mode: KeyMode::Live }
}

fn sale() -> Sale {
    Sale {
        member: MemberRef::Id(member().id),
        enrol: None,
        amount: Money::parse("10").unwrap(),
        items: vec![],
        reference: None,
        description: None,
        preview: false,
        redeem_points: 0,
        coupon: None,
        otp: None,
        sold_at: None,
    }
}

fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
    let mut e = TransactionCanceledException::builder().message("cancelled");
    for code in codes {
        e = e.cancellation_reasons(CancellationReason::builder().code(*code).build());
    }
    TransactWriteItemsError::TransactionCanceledException(e.build())
}

fn throttled() -> HttpResponse {
    HttpResponse::new(
        400.try_into().unwrap(),
        SdkBody::from(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#,
        ),
    )
}

fn with_retries(conf: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
    conf.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(3))
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_and_then_succeeds() {
    let profile = mock!(Client::get_item)
        .then_output(|| GetItemOutput::builder().set_item(Some(profile_attrs(&tenant(), &member(), now()))).build());
    let txn = mock!(Client::transact_write_items)
        .sequence()
        .error(|| cancelled(&["TransactionConflict", "None"]))
        .times(2)
        .output(|| TransactWriteItemsOutput::builder().build())
        .build();
    let deps = deps(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&profile, &txn]));

    let result = engine::record_sale(&deps, &caller(), &default_program("Acme"), &sale(), None).await;

    let result = result.expect("succeeds on the third attempt");
    assert_eq!(result.outcome.new_balance, 500 + 1000);
    assert_eq!(txn.num_calls(), 3);
}

#[tokio::test]
async fn endless_conflicts_answer_503_after_a_bounded_number_of_attempts() {
    let profile = mock!(Client::get_item)
        .then_output(|| GetItemOutput::builder().set_item(Some(profile_attrs(&tenant(), &member(), now()))).build());
    let txn = mock!(Client::transact_write_items).then_error(|| cancelled(&["TransactionConflict", "None"]));
    let deps = deps(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&profile, &txn]));

    let result = engine::record_sale(&deps, &caller(), &default_program("Acme"), &sale(), None).await;

    assert_eq!(result.err(), Some(ApiError::Contended));
    assert_eq!(ApiError::Contended.status(crate::Dialect::Partner), 503);
    assert_eq!(txn.num_calls(), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn throttling_is_retried_by_the_client() {
    let profile = mock!(Client::get_item)
        .sequence()
        .http_response(throttled)
        .times(2)
        .output(|| GetItemOutput::builder().set_item(Some(profile_attrs(&tenant(), &member(), now()))).build())
        .build();
    let txn = mock!(Client::transact_write_items).then_output(|| TransactWriteItemsOutput::builder().build());
    let deps = deps(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&profile, &txn], with_retries));

    let result = engine::record_sale(&deps, &caller(), &default_program("Acme"), &sale(), None).await;

    assert!(result.is_ok(), "{:?}", result.err());
    assert_eq!(profile.num_calls(), 3);
    assert_eq!(txn.num_calls(), 1);
}

#[tokio::test]
async fn throttling_that_does_not_stop_answers_503_and_writes_nothing() {
    let profile = mock!(Client::get_item).then_http_response(throttled);
    let txn = mock!(Client::transact_write_items).then_output(|| TransactWriteItemsOutput::builder().build());
    let deps = deps(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&profile, &txn], with_retries));

    let result = engine::record_sale(&deps, &caller(), &default_program("Acme"), &sale(), None).await;

    assert_eq!(result.err(), Some(ApiError::Unavailable));
    assert_eq!(profile.num_calls(), 3);
    assert_eq!(txn.num_calls(), 0);
}

#[tokio::test]
async fn a_failed_condition_is_a_4xx_and_never_retried() {
    let used = Coupon {
        coupon_id: uuid::Uuid::new_v4(),
        code: Code::parse("COUP-1").unwrap(),
        customer_id: Some(member().id),
        kind: CodeKind::Fixed,
        value_minor: 10_000,
        discount_percent: None,
        source: "campaign".into(),
        reward_id: None,
        reward_name: None,
        status: CodeStatus::Used,
        expires_at: now() + chrono::Duration::days(1),
        expiry_date: now().date_naive(),
        created_at: now(),
        used_at: Some(now()),
    };
    let update = mock!(Client::update_item).then_error(move || {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().set_item(Some(code_attrs(&tenant(), &used))).build(),
        )
    });
    let deps = deps(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update], with_retries));

    let result = engine::redeem_code(&deps, &caller(), &Code::parse("COUP-1").unwrap(), None).await;

    assert_eq!(result.err(), Some(ApiError::CodeUsed));
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn a_store_error_on_the_write_answers_503() {
    let profile = mock!(Client::get_item)
        .then_output(|| GetItemOutput::builder().set_item(Some(profile_attrs(&tenant(), &member(), now()))).build());
    let txn = mock!(Client::transact_write_items)
        .then_http_response(|| HttpResponse::new(500.try_into().unwrap(), SdkBody::from("{}")));
    let deps = deps(mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&profile, &txn], with_retries));

    let result = engine::record_sale(&deps, &caller(), &default_program("Acme"), &sale(), None).await;

    // A 5xx says nothing of whether the transaction committed: the outcome is unknown.
    assert_eq!(result.err(), Some(ApiError::OutcomeUnknown));
    assert_eq!(txn.num_calls(), 3, "5xx is retried by the client, then given up");
}
