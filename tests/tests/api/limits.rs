//! What the edge cannot know, and text that would mislead a person: per-tenant SMS
//! quotas and a daily cap on wrong one-time-code guesses per mobile; invisible and
//! direction-changing characters refused in identifiers, names kept in NFC, and every
//! program field an operator sets validated.

use chrono::Duration;
use loyalty::domain::Mobile;
use loyalty::keys::{Channel, KeyMode, Scope};
use loyalty_admin as admin;
use serde_json::json;

use super::public::earn;
use super::support::{instant, start_time, Call, Route, Tenant, TestEnv};

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi@example.com";
const HOSTILE: &str = "must not contain invisible or direction-changing characters";

#[tokio::test]
async fn references_and_codes_with_invisible_or_direction_changing_characters_are_400_and_write_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "100").await;
    env.issue_coupon(&t, MOBILE, "50", super::support::date(2026, 12, 31), Some("COUP-XY12")).await;
    let before = env.scan().await;

    for c in ['\u{202E}', '\u{2066}', '\u{200B}', '\u{200D}', '\u{2060}', '\u{FEFF}'] {
        let reference = format!("INV-{c}21");
        env.bill(&t, json!({ "mobile": MOBILE, "amount": 10, "external_ref": reference }))
            .await
            .assert_error(400, &format!("external_ref {HOSTILE}"));
        earn(&env, &t.live, json!({ "email": EMAIL, "amount": 10, "reference": reference })).await.assert_public_error(
            400,
            "invalid_request",
            &format!("reference {HOSTILE}"),
        );
        Call::new(Route::Refund, t.slug())
            .key(&t.live)
            .json(&json!({ "external_ref": reference, "amount": 1 }))
            .send(&env.deps)
            .await
            .assert_error(400, &format!("external_ref {HOSTILE}"));
        env.redeem(&t, &t.live, &format!("COUP-XY12{c}")).await.assert_error(400, &format!("code {HOSTILE}"));
        Call::verify(&format!("COUP{c}-XY12")).key(&t.live).send(&env.deps).await.assert_public_error(
            400,
            "invalid_request",
            &format!("code {HOSTILE}"),
        );
    }
    assert_eq!(env.scan().await, before, "nothing was written");
}

#[tokio::test]
async fn a_members_name_is_kept_in_nfc() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    // "José" with a combining accent, as some keyboards send it.
    env.bill(&t, json!({ "mobile": MOBILE, "name": "Jose\u{301}", "amount": 10 }))
        .await
        .assert_ok(&json!({ "customer": { "name": "Jos\u{e9}" } }));
    env.lookup(&t, MOBILE).await.assert_ok(&json!({ "customer": { "name": "Jos\u{e9}" } }));

    // Enrolled by a lookup with `create=true`, the name from the query string.
    Call::customer(t.slug())
        .key(&t.live)
        .query("mobile", "9876543219")
        .query("create", "true")
        .query("name", "Zoe\u{308}")
        .send(&env.deps)
        .await
        .assert_ok(&json!({ "customer": { "name": "Zo\u{eb}" } }));
}

#[tokio::test]
async fn key_labels_slugs_and_program_fields_are_validated_by_the_engine() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    for label in ["Till\u{202E}1", "Till\u{200B}1", "Till\n1"] {
        let refused =
            admin::issue_key(&env.deps, &t.slug, KeyMode::Live, Channel::Pos, vec![Scope::ReadCustomers], label).await;
        assert!(matches!(refused, Err(admin::AdminError::Invalid(_))), "{label:?}");
    }
    let issued =
        admin::issue_key(&env.deps, &t.slug, KeyMode::Live, Channel::Pos, vec![Scope::ReadCustomers], " Till 1 ").await;
    assert_eq!(issued.expect("a plain label").record.label, "Till 1");

    for slug in ["spice\u{200B}garden", "spice\u{202E}garden"] {
        assert!(loyalty::domain::TenantSlug::parse(slug).is_err(), "{slug:?}");
    }

    let mut program = admin::demo_program();
    program.voucher_validity_days = u32::MAX;
    let slug = loyalty::domain::TenantSlug::parse("huge-vouchers").unwrap();
    let refused = admin::create_tenant(&env.deps, &slug, &program).await;
    assert!(matches!(refused, Err(admin::AdminError::Invalid(ref m)) if m.contains("voucher_validity_days")));

    let mut program = admin::demo_program();
    program.name = "Cafe\u{301}".into();
    let slug = loyalty::domain::TenantSlug::parse("cafe").unwrap();
    assert!(admin::create_tenant(&env.deps, &slug, &program).await.expect("created"));
    let stored = env.store.get_program(&slug).await.unwrap().unwrap();
    assert_eq!(stored.name, "Caf\u{e9}");

    let mut reward = admin::demo_rewards().remove(0);
    reward.name = "Cre\u{300}me bru\u{302}le\u{301}e".into();
    admin::add_reward(&env.deps, &slug, &reward).await.expect("added");
    let stored = env.store.get_reward(&slug, &reward.public_id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Cr\u{e8}me br\u{fb}l\u{e9}e");
}

#[tokio::test]
async fn a_voucher_validity_that_escaped_validation_is_a_500_not_a_panic() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    earn(&env, &t.live, json!({ "email": EMAIL, "amount": 100 }))
        .await
        .assert_success(&json!({ "newBalance": 10_000 }));
    // A program written before the rule existed, straight to the store.
    let mut program = admin::demo_program();
    program.voucher_validity_days = u32::MAX;
    env.store.put_program(&t.slug, &program, true, env.now()).await.unwrap();
    let fresh = env.fresh_deps();
    let reply = Call::public(Route::RewardRedeem)
        .key(&t.live)
        .json(&json!({ "email": EMAIL, "rewardId": "rwd-001" }))
        .send(&fresh)
        .await;
    assert_eq!(reply.status, 500, "{}", reply.text);
}

fn otp(t: &Tenant, mobile: &str) -> Call {
    Call::new(Route::Otp, t.slug()).key(&t.live).json(&json!({ "mobile": mobile }))
}

fn redeeming_bill(t: &Tenant, code: &str) -> Call {
    Call::bill(t.slug())
        .key(&t.live)
        .json(&json!({ "mobile": MOBILE, "amount": 100, "redeem_points": 1000, "otp": code }))
}

#[tokio::test]
async fn a_tenant_sends_no_more_codes_than_its_hourly_and_daily_sms_quotas() {
    let env = TestEnv::new().await;
    let mut program = admin::demo_program();
    program.otp_sms_per_hour = 2;
    program.otp_sms_per_day = 3;
    let t = env.tenant_with("spice-garden", &program).await;
    let mobiles = ["9876543210", "9876543211", "9876543212", "9876543213", "9876543214"];
    for m in mobiles {
        env.seed_member(&t, m, "Member", "10").await;
    }
    let (deps, outbox) = env.with_outbox();
    assert_eq!(start_time(), instant("2026-03-15T06:30:00Z"));

    // Two codes this hour, each to another mobile (so the per-mobile limit is not what stops them).
    otp(&t, mobiles[0]).send(&deps).await.assert_ok(&json!({ "sent": true }));
    otp(&t, mobiles[1]).send(&deps).await.assert_ok(&json!({ "sent": true }));
    let reply = otp(&t, mobiles[2]).send(&deps).await;
    reply.assert_error(429, "Too many requests; retry in 1800 s");
    assert_eq!(reply.header("retry-after"), Some("1800"), "until the hour ends");
    assert_eq!(outbox.messages().len(), 2, "no SMS for a refused request");

    // The next hour has room, the day has one more.
    env.clock.set(instant("2026-03-15T07:00:00Z"));
    otp(&t, mobiles[2]).send(&deps).await.assert_ok(&json!({ "sent": true }));
    let reply = otp(&t, mobiles[3]).send(&deps).await;
    reply.assert_error(429, "Too many requests; retry in 61200 s");
    assert_eq!(reply.header("retry-after"), Some("61200"), "until the UTC day ends");
    assert_eq!(outbox.messages().len(), 3);
    let day = loyalty::store::SmsWindow::Day(start_time().date_naive());
    assert_eq!(env.store.sms_sent(&t.slug, &day).await.unwrap(), 3);

    // Another tenant's quota is its own.
    let other = env.tenant_with("other-tenant", &program).await;
    env.seed_member(&other, mobiles[4], "Member", "10").await;
    otp(&other, mobiles[4]).send(&deps).await.assert_ok(&json!({ "sent": true }));

    // A sandbox key sends nothing, so it counts nothing and is never refused.
    Call::new(Route::Otp, t.slug())
        .key(&t.test)
        .json(&json!({ "mobile": mobiles[4] }))
        .send(&deps)
        .await
        .assert_ok(&json!({ "sent": true, "sandbox": true }));
    assert_eq!(env.store.sms_sent(&t.slug, &day).await.unwrap(), 3);

    env.clock.set(instant("2026-03-16T00:00:00Z"));
    otp(&t, mobiles[4]).send(&deps).await.assert_ok(&json!({ "sent": true }));
}

#[tokio::test]
async fn a_mobile_gets_ten_wrong_guesses_a_day_across_its_codes() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi", "500").await;
    let (deps, outbox) = env.with_outbox();
    let wrong = |code: &str| format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);

    for _ in 0..2 {
        otp(&t, MOBILE).send(&deps).await.assert_ok(&json!({ "sent": true }));
        let code = outbox.last_code();
        for _ in 0..5 {
            redeeming_bill(&t, &wrong(&code)).send(&deps).await.assert_error(400, "Invalid OTP");
        }
        env.advance(Duration::minutes(1));
    }

    // Ten wrong guesses today: a fresh code is refused without being compared.
    otp(&t, MOBILE).send(&deps).await.assert_ok(&json!({ "sent": true }));
    let code = outbox.last_code();
    let reply = redeeming_bill(&t, &code).send(&deps).await;
    reply.assert_error(429, "Too many requests; retry in 62880 s");
    assert_eq!(reply.header("retry-after"), Some("62880"), "until the UTC day ends");
    assert_eq!(env.balance(&t, MOBILE).await, 50_000, "nothing was spent");
    let mobile = Mobile::parse(MOBILE).unwrap();
    let record = env.store.get_otp(&t.slug, &mobile).await.unwrap().unwrap();
    assert_eq!(record.attempts_left, 5, "the refused check took no attempt");

    // A new UTC day: guesses again.
    env.clock.set(instant("2026-03-16T00:00:00Z"));
    otp(&t, MOBILE).send(&deps).await.assert_ok(&json!({ "sent": true }));
    redeeming_bill(&t, &outbox.last_code())
        .send(&deps)
        .await
        .assert_ok(&json!({ "new_balance": 50_000 - 1000 + 9_000 }));
}

/// The text after `name` on the first line of `text` that has it, unquoted.
fn yaml_value<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map(|v| v.trim().trim_matches('\''))
        .unwrap_or_else(|| panic!("no line with {name}"))
}

/// The edge's 429 says what the API's own 429 says, in each dialect; its rules limit
/// per key and per address; the distribution in front of the API carries the ACL.
#[test]
fn the_edge_limits_per_key_and_per_address_and_answers_429_as_the_api_does() {
    let repo = super::layout::repo();
    let acl = std::fs::read_to_string(repo.join("infra/edge-acl.yaml")).expect("infra/edge-acl.yaml");
    let template = std::fs::read_to_string(repo.join("infra/template.yaml")).expect("infra/template.yaml");

    let too_many = loyalty::ApiError::TooManyRequests { retry_after_secs: 60 };
    for (dialect, body_name) in [
        (loyalty::error::Dialect::Partner, "partner-rate-limited:"),
        (loyalty::error::Dialect::Public, "public-rate-limited:"),
    ] {
        let api = loyalty::http::error_response(&too_many, dialect, "-");
        let lambda_http::Body::Text(api_body) = api.body() else { panic!("a text body") };
        let block = acl.split(body_name).nth(1).unwrap_or_else(|| panic!("a custom body {body_name}"));
        let content = yaml_value(block, "Content: !Sub").replace("${RetryAfterSeconds}", "60");
        let edge_body: serde_json::Value = serde_json::from_str(&content).expect("JSON");
        assert_eq!(edge_body, serde_json::from_str::<serde_json::Value>(api_body).unwrap(), "{dialect:?}");
        assert_eq!(api.status(), 429);
        assert_eq!(api.headers()["retry-after"], "60");
    }
    assert!(acl.contains("Scope: CLOUDFRONT"));
    assert_eq!(acl.matches("RateBasedStatement:").count(), 2, "one rule per key, one per address");
    assert_eq!(yaml_value(&acl, "Name: x-api-key"), "");
    assert!(acl.contains("AggregateKeyType: IP"));
    assert_eq!(acl.matches("ResponseCode: 429").count(), 2);
    assert_eq!(acl.matches("Name: Retry-After").count(), 2);
    assert!(acl.contains("Default: 60") && acl.contains("EvaluationWindowSec: 60"), "Retry-After is the window");
    assert_eq!(acl.matches("Value: !Ref RetryAfterSeconds").count(), 2, "the header says what the body says");
    assert!(acl.contains("Assert: !Equals [!Ref \"AWS::Region\", us-east-1]"));

    assert!(template.contains("Type: AWS::CloudFront::Distribution"));
    assert!(template.contains("WebACLId: !If [HasEdgeWebAcl, !Ref EdgeWebAclArn, !Ref \"AWS::NoValue\"]"));
    assert!(template.contains("Assert: !Not [!Equals [!Ref EdgeWebAclArn, \"\"]]"), "live needs its limits");
}
