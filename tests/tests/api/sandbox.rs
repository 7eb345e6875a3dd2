//! Sandbox keys (`mg_test_...`): real answers from real data, and not one byte written.

use serde_json::json;

use super::support::{date, Call, Route, TestEnv};

#[tokio::test]
async fn a_sandbox_lookup_with_create_enrols_nobody() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;
    let create = Call::customer(t.slug())
        .key(&t.test)
        .query("mobile", "9876543210")
        .query("create", "true")
        .query("name", "Ravi");

    let reply = create.send(&env.deps).await;

    reply.assert_ok(&json!({
        "found": true,
        "sandbox": true,
        "customer": {
            "name": "Ravi",
            "mobile": "9876543210",
            "points_balance": 0,
            "segment": "regular"
        },
        "points_balance": 0,
        "redeemable_value": 0,
        "redemption_rate": 100,
        "tier": "Silver",
        "priority_service": false,
        "active_coupons": []
    }));
    assert_eq!(env.scan().await, before, "the table is unchanged");

    let again = Call::customer(t.slug()).key(&t.test).query("mobile", "9876543210").send(&env.deps).await;
    assert_eq!((again.status, again.body), (200, json!({ "found": false, "mobile": "9876543210", "sandbox": true })));
    let live = env.lookup(&t, "9876543210").await;
    assert_eq!(live.body, json!({ "found": false, "mobile": "9876543210" }));
}

#[tokio::test]
async fn a_sandbox_lookup_reads_real_data() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let coupon = env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-XY12")).await;

    let reply = Call::customer(t.slug())
        .key(&t.test)
        .query("mobile", "9876543210")
        .query("create", "true")
        .send(&env.deps)
        .await;

    reply.assert_ok(&json!({
        "found": true,
        "sandbox": true,
        "customer": { "customer_id": ravi.customer_id, "name": "Ravi Kumar" },
        "points_balance": 3400,
        "redeemable_value": 34,
        "tier": "Silver",
        "active_coupons": [{ "coupon_id": coupon.coupon_id.to_string(), "code": "COUP-XY12" }]
    }));
}

#[tokio::test]
async fn a_sandbox_bill_computes_points_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let live = env.bill(&t, json!({ "mobile": "9876543210", "amount": 1, "external_ref": "LIVE-1" })).await;
    assert_eq!(live.status, 200, "{}", live.text);
    let before = env.scan().await;
    let sandbox_bill = |body: serde_json::Value| {
        let call = Call::bill(t.slug()).key(&t.test).json(&body);
        let deps = env.deps.clone();
        async move { call.send(&deps).await }
    };

    // An existing member, with a reference and a tier crossing.
    let reply = sandbox_bill(json!({
        "mobile": "9876543210",
        "amount": 2000,
        "external_ref": "SBX-1"
    }))
    .await;
    reply.assert_ok(&json!({
        "sandbox": true,
        "customer_id": ravi.customer_id,
        "amount": 2000,
        "points_earned": 200_000,
        "points_redeemed": 0,
        "new_balance": 203_500,
        "tier": "Gold",
        "tier_upgraded": true,
        "customer": { "customer_id": ravi.customer_id, "points_balance": 203_500 }
    }));
    assert!(uuid::Uuid::parse_str(reply.str("transaction_id")).is_ok());
    // The same sandbox bill again is computed afresh: nothing was recorded.
    let again = sandbox_bill(json!({
        "mobile": "9876543210",
        "amount": 2000,
        "external_ref": "SBX-1"
    }))
    .await;
    again.assert_ok(&json!({ "sandbox": true, "new_balance": 203_500 }));
    assert_eq!(again.header("idempotent-replayed"), None);

    // An unknown mobile is "enrolled" in the answer only.
    let reply = sandbox_bill(json!({ "mobile": "9123456789", "name": "Asha", "amount": 5 })).await;
    reply.assert_ok(&json!({
        "sandbox": true,
        "points_earned": 500,
        "new_balance": 500,
        "customer": { "name": "Asha", "mobile": "9123456789", "points_balance": 500 }
    }));

    // A live reference is honoured as in production: replayed, or 409.
    let replay = sandbox_bill(json!({ "mobile": "9876543210", "amount": 1, "external_ref": "LIVE-1" })).await;
    replay.assert_ok(&json!({ "transaction_id": live.str("transaction_id"), "sandbox": true }));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    sandbox_bill(json!({ "mobile": "9876543210", "amount": 2, "external_ref": "LIVE-1" }))
        .await
        .assert_error(409, "reference LIVE-1 was already used for a different sale");

    assert_eq!(env.scan().await, before, "the table is byte-for-byte unchanged");
    assert_eq!(env.balance(&t, "9876543210").await, 3500);
    let asha = env.lookup(&t, "9123456789").await;
    assert_eq!(asha.body, json!({ "found": false, "mobile": "9123456789" }));

    // The sandbox reference was never taken: a live bill may use it for any sale.
    env.bill(&t, json!({ "mobile": "9876543210", "amount": 3, "external_ref": "SBX-1" }))
        .await
        .assert_ok(&json!({ "points_earned": 300, "new_balance": 3800 }));
}

#[tokio::test]
async fn a_sandbox_redemption_validates_and_leaves_the_coupon_active() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let coupon = env.issue_coupon(&t, "9876543210", "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    env.issue_coupon(&t, "9876543210", "50", date(2026, 3, 14), Some("COUP-EXPIRED")).await;
    env.issue_coupon(&t, "9876543210", "100", date(2026, 12, 31), Some("COUP-USED")).await;
    env.redeem(&t, &t.live, "COUP-USED").await.assert_ok(&json!({ "valid": true }));
    let before = env.scan().await;

    for _ in 0..2 {
        let reply = env.redeem(&t, &t.test, "coup-xy12").await;
        reply.assert_ok(&json!({
            "valid": true,
            "sandbox": true,
            "value": 200,
            "source": "campaign",
            "coupon": {
                "coupon_id": coupon.coupon_id.to_string(),
                "code": "COUP-XY12",
                "value": 200,
                "status": "active",
                "expiry_date": "2026-12-31"
            }
        }));
    }
    env.redeem(&t, &t.test, "COUP-USED").await.assert_error(400, "Coupon is used");
    env.redeem(&t, &t.test, "COUP-EXPIRED").await.assert_error(400, "Coupon expired");
    env.redeem(&t, &t.test, "COUP-NOPE").await.assert_error(404, "Coupon not found");
    assert_eq!(env.scan().await, before, "the table is byte-for-byte unchanged");

    env.lookup(&t, "9876543210").await.assert_ok(&json!({ "active_coupons": [{ "code": "COUP-XY12" }] }));
    env.redeem(&t, &t.live, "COUP-XY12").await.assert_ok(&json!({ "valid": true, "coupon": { "status": "used" } }));
    env.redeem(&t, &t.test, "COUP-XY12").await.assert_error(400, "Coupon is used");
}

#[tokio::test]
async fn a_sandbox_refund_or_redemption_with_its_own_reference_records_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.add_demo_rewards(&t).await;
    env.bill(
        &t,
        json!({ "mobile": "9876543210", "email": "ravi@example.com", "amount": 100, "external_ref": "INV-1" }),
    )
    .await
    .assert_ok(&json!({}));
    let before = env.scan().await;
    let pos = Call::new(Route::Refund, t.slug())
        .key(&t.test)
        .json(&json!({ "external_ref": "INV-1", "amount": 10, "refund_ref": "RET-1" }));
    let public = Call::public(Route::PublicRefund)
        .key(&t.test)
        .json(&json!({ "reference": "INV-1", "amount": 10, "refundReference": "RET-2" }));
    let redeem = Call::public(Route::RewardRedeem)
        .key(&t.test)
        .json(&json!({ "email": "ravi@example.com", "rewardId": "rwd-001", "reference": "ORDER-1" }));
    for _ in 0..2 {
        let reply = pos.send(&env.deps).await;
        reply.assert_ok(&json!({ "sandbox": true, "total_refunded": 10 }));
        assert_eq!(reply.header("idempotent-replayed"), None, "nothing was recorded to replay");
        public.send(&env.deps).await.assert_success(&json!({ "totalRefunded": 10 }));
        redeem.send(&env.deps).await.assert_success(&json!({ "newBalance": 5_000 }));
    }
    assert_eq!(env.scan().await, before, "no refund or redemption reference written");

    // The live refund with that reference is then the first one.
    let live = Call::new(Route::Refund, t.slug())
        .key(&t.live)
        .json(&json!({ "external_ref": "INV-1", "amount": 10, "refund_ref": "RET-1" }))
        .send(&env.deps)
        .await;
    live.assert_ok(&json!({ "total_refunded": 10 }));
    assert_eq!(live.header("idempotent-replayed"), None);
    // And a sandbox retry of it answers what was recorded, still writing nothing.
    let after = env.scan().await;
    let replay = pos.send(&env.deps).await;
    replay.assert_ok(&json!({ "refund_id": live.str("refund_id"), "total_refunded": 10 }));
    assert_eq!(env.scan().await, after);
}

/// The documented sandbox test values (`loyalty::test_values`): each makes a sandbox key
/// answer one documented error, and is an ordinary value for a live key.
#[tokio::test]
async fn sandbox_test_values_answer_each_documented_error_and_live_keys_ignore_them() {
    use loyalty::test_values as tv;

    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    // The "unknown" mobile and the test coupons exist for real: only sandbox keys ignore them.
    env.seed_member(&t, tv::UNKNOWN_MOBILE, "Always Unknown", "10").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    env.issue_coupon(&t, "9876543210", "50", date(2026, 12, 31), Some(tv::EXPIRED_COUPON)).await;
    env.issue_coupon(&t, "9876543210", "50", date(2026, 12, 31), Some(tv::USED_COUPON)).await;
    let before = env.scan().await;
    let sandbox = |call: Call| call.key(&t.test);
    let s = t.slug();

    // A mobile that is always unknown.
    let lookup = sandbox(Call::customer(s).query("mobile", tv::UNKNOWN_MOBILE).query("create", "true"));
    let reply = lookup.send(&env.deps).await;
    assert_eq!(reply.body, json!({ "found": false, "mobile": tv::UNKNOWN_MOBILE, "sandbox": true }), "{}", reply.text);
    let bill = sandbox(Call::bill(s).json(&json!({ "mobile": tv::UNKNOWN_MOBILE, "amount": 10 })));
    bill.send(&env.deps).await.assert_error(404, "Customer not found");
    let otp = sandbox(Call::new(Route::Otp, s).json(&json!({ "mobile": tv::UNKNOWN_MOBILE })));
    otp.send(&env.deps).await.assert_error(404, "Customer not found");
    let history = sandbox(Call::new(Route::Transactions, s).query("mobile", tv::UNKNOWN_MOBILE));
    history.send(&env.deps).await.assert_error(404, "Customer not found");
    let balance = sandbox(Call::public(Route::Balance).query("email", tv::UNKNOWN_EMAIL));
    balance.send(&env.deps).await.assert_public_error(404, "not_found", "Customer not found");

    // Coupons always expired and always used, on their own and on a bill.
    for (code, message) in [(tv::EXPIRED_COUPON, "Coupon expired"), (tv::USED_COUPON, "Coupon is used")] {
        sandbox(Call::redeem(s).json(&json!({ "code": code }))).send(&env.deps).await.assert_error(400, message);
        let bill = json!({ "mobile": "9876543210", "amount": 10, "coupon_code": code });
        sandbox(Call::bill(s).json(&bill)).send(&env.deps).await.assert_error(400, message);
    }

    // A one-time code that is always wrong.
    let spend = json!({ "mobile": "9876543210", "amount": 10, "redeem_points": 100, "otp": tv::WRONG_OTP });
    sandbox(Call::bill(s).json(&spend)).send(&env.deps).await.assert_error(400, "Invalid OTP");
    // A mobile whose one-time codes are always rate limited.
    let limited = sandbox(Call::new(Route::Otp, s).json(&json!({ "mobile": tv::RATE_LIMITED_MOBILE })));
    limited.send(&env.deps).await.assert_error(429, "Too many requests; retry in 60 s");

    // Amounts that answer the server's errors.
    for amount in [tv::UNAVAILABLE_AMOUNT, tv::OUTCOME_UNKNOWN_AMOUNT, tv::SERVER_ERROR_AMOUNT] {
        let body = format!(r#"{{"mobile": "9876543210", "amount": {amount}}}"#);
        let reply = sandbox(Call::bill(s).body(body)).send(&env.deps).await;
        let status = if amount == tv::SERVER_ERROR_AMOUNT { 500 } else { 503 };
        assert_eq!(reply.status, status, "{amount}: {}", reply.text);
        let unknown = amount == tv::OUTCOME_UNKNOWN_AMOUNT;
        assert_eq!(reply.body.get("outcome") == Some(&json!("unknown")), unknown, "{amount}: {}", reply.text);
        let body = format!(r#"{{"email": "ravi@example.com", "amount": {amount}}}"#);
        let earn = sandbox(Call::public(Route::Earn).body(body)).send(&env.deps).await;
        assert_eq!(earn.status, status, "{amount}: {}", earn.text);
    }
    let refund = json!({ "external_ref": "INV-NONE", "amount": 503.02, "refund_ref": "RET-T" });
    let reply = sandbox(Call::new(Route::Refund, s).json(&refund)).send(&env.deps).await;
    assert_eq!((reply.status, &reply.body["outcome"]), (503, &json!("unknown")), "{}", reply.text);
    assert_eq!(env.scan().await, before, "the sandbox wrote nothing");

    // Live keys: ordinary values.
    let live = env.lookup(&t, tv::UNKNOWN_MOBILE).await;
    live.assert_ok(&json!({ "found": true }));
    env.redeem(&t, &t.live, tv::EXPIRED_COUPON).await.assert_ok(&json!({ "valid": true }));
    let bill = json!({ "mobile": "9876543210", "amount": 503.02, "coupon_code": tv::USED_COUPON });
    env.bill(&t, bill).await.assert_ok(&json!({ "amount": 503.02 }));
}

/// `loyalty-admin tenant create --sandbox-of`: an integrator's own sandbox tenant, a copy
/// of the program with demo data of its own, so integrators never use up each other's
/// demo coupons.
#[tokio::test]
async fn each_integrator_gets_a_sandbox_tenant_with_its_own_demo_coupons() {
    let env = TestEnv::new().await;
    let mut program = loyalty_admin::demo_program();
    program.name = "Grand Hotel".into();
    program.earn_rate_milli = 7_000;
    let source = env.tenant_with("grand-hotel", &program).await;
    let suite = loyalty::model::Reward {
        public_id: "rwd-suite".into(),
        name: "Suite upgrade".into(),
        description: String::new(),
        points_cost: 5_000,
        kind: loyalty::model::CodeKind::Service,
        value_minor: 0,
        discount_percent: None,
        active: true,
    };
    loyalty_admin::add_reward(&env.deps, &source.slug, &suite).await.expect("a reward");
    let source_before = super::support::tenant_items(&env.scan().await, "grand-hotel").len();

    let slug = |s: &str| loyalty::domain::TenantSlug::parse(s).expect("a slug");
    let a = loyalty_admin::create_sandbox_tenant(&env.deps, &slug("grand-hotel-vendor-a"), &source.slug, None)
        .await
        .expect("vendor A's sandbox");
    let b = loyalty_admin::create_sandbox_tenant(&env.deps, &slug("grand-hotel-vendor-b"), &source.slug, Some("B"))
        .await
        .expect("vendor B's sandbox");
    assert_eq!(a.rewards.iter().map(|r| r.public_id.as_str()).collect::<Vec<_>>(), ["rwd-suite"]);
    assert!(a.coupons.iter().any(|c| c.code == "COUP-WELCOME" && c.status == "active"), "{:?}", a.coupons);

    // The program is the source's: the same earning.
    let bill = Call::bill(&a.tenant).key(&a.live_key).json(&json!({ "mobile": "9123456780", "amount": 10 }));
    bill.send(&env.deps).await.assert_ok(&json!({ "points_earned": 70 }));
    let rules = env.store.get_program(&slug("grand-hotel-vendor-b")).await.expect("read").expect("B's program");
    assert_eq!((rules.name.as_str(), rules.earn_rate_milli), ("B", 7_000));
    let rules = env.store.get_program(&slug("grand-hotel-vendor-a")).await.expect("read").expect("A's program");
    assert_eq!(rules.name, "Grand Hotel (sandbox)");

    // A's demo coupon used up leaves B's (and the source tenant) untouched.
    let redeem = |t: &str, key: &str| Call::redeem(t).key(key).json(&json!({ "code": "COUP-WELCOME" }));
    redeem(&a.tenant, &a.live_key).send(&env.deps).await.assert_ok(&json!({ "valid": true }));
    redeem(&a.tenant, &a.live_key).send(&env.deps).await.assert_error(400, "Coupon is used");
    redeem(&b.tenant, &b.live_key).send(&env.deps).await.assert_ok(&json!({ "valid": true }));
    redeem(&b.tenant, &a.live_key).send(&env.deps).await.assert_unauthorized();
    assert_eq!(super::support::tenant_items(&env.scan().await, "grand-hotel").len(), source_before);

    // Never onto an existing tenant, never from a missing one.
    let (taken, fresh, nowhere) = (slug("grand-hotel-vendor-a"), slug("x-sandbox"), slug("no-such"));
    let again = loyalty_admin::create_sandbox_tenant(&env.deps, &taken, &source.slug, None).await;
    assert!(again.unwrap_err().to_string().contains("already exists"));
    let missing = loyalty_admin::create_sandbox_tenant(&env.deps, &fresh, &nowhere, None).await;
    assert!(missing.unwrap_err().to_string().contains("no tenant no-such"));
}

/// The sandbox stage's fixed one-time code (`SandboxFixedOtp`): a live key's member gets
/// that code, so points redemption can be tested end to end; the live stage refuses it.
#[tokio::test]
async fn the_sandbox_stage_may_fix_live_keys_codes_and_the_live_stage_refuses_it() {
    use loyalty::deps::{fixed_otp_setting, ConfigError};

    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "34").await;
    let fixed = fixed_otp_setting(Some("sandbox"), Some("424242")).expect("the sandbox stage's setting");
    let deps = env.fresh_deps().with_fixed_otp(fixed);
    let otp = Call::new(Route::Otp, t.slug()).key(&t.live).json(&json!({ "mobile": "9876543210" }));
    otp.send(&deps).await.assert_ok(&json!({ "sent": true }));
    let spend = json!({ "mobile": "9876543210", "amount": 10, "redeem_points": 100, "otp": "424242" });
    let bill = Call::bill(t.slug()).key(&t.live).json(&spend).send(&deps).await;
    bill.assert_ok(&json!({ "points_redeemed": 100, "discount": 1 }));

    // The live stage: the setting stops the function at init, and the template refuses it.
    let refused = fixed_otp_setting(Some("live"), Some("424242"));
    assert!(matches!(refused, Err(ConfigError::FixedOtpOffSandbox { .. })), "{refused:?}");
    let template = std::fs::read_to_string(super::layout::repo().join("infra/template.yaml")).expect("the template");
    assert!(template.contains("LOYALTY_FIXED_OTP: !If [IsLive, \"\", !Ref SandboxFixedOtp]"));
    let rule = template.split("LiveHasEdgeLimits:").nth(1).expect("the live stage's rule");
    assert!(rule.contains("RuleCondition: !Equals [!Ref Stage, live]"));
    assert!(rule.contains("- Assert: !Equals [!Ref SandboxFixedOtp, \"\"]"), "the live stage refuses a fixed code");
    let default = template.split("SandboxFixedOtp:\n").nth(1).expect("the parameter");
    assert!(default.lines().take(4).any(|l| l.trim() == "Default: \"\""), "off by default");
}
