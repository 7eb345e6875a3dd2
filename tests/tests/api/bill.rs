//! `POST /api/{tenant}/pos/bill`: members, point math, tiers, money parsing, references.

use serde_json::json;

use super::support::{attr_n, Call, TestEnv};

#[tokio::test]
async fn a_bill_for_an_unknown_mobile_enrols_the_member() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    let reply = env
        .bill(
            &t,
            json!({
                "mobile": "9876543210",
                "amount": 1500,
                "name": "Ravi Kumar",
                "external_ref": "INV-2026-0042"
            }),
        )
        .await;

    reply.assert_ok(&json!({
        "amount": 1500,
        "points_earned": 150_000,
        "points_redeemed": 0,
        "new_balance": 150_000,
        "tier": "Silver",
        "tier_upgraded": false,
        "customer": {
            "name": "Ravi Kumar",
            "mobile": "9876543210",
            "points_balance": 150_000,
            "segment": "regular"
        }
    }));
    let customer_id = reply.str("customer_id").to_owned();
    assert_eq!(reply.body["customer"]["customer_id"], json!(customer_id));
    assert!(uuid::Uuid::parse_str(reply.str("transaction_id")).is_ok());
    assert_eq!(reply.header("idempotent-replayed"), None, "a first bill is not a replay");
    assert_eq!(reply.body.get("sandbox"), None);

    let lookup = env.lookup(&t, "9876543210").await;
    lookup.assert_ok(&json!({
        "found": true,
        "customer": { "customer_id": customer_id, "name": "Ravi Kumar" },
        "points_balance": 150_000
    }));
    let ledger = env.ledger(&customer_id).await;
    assert_eq!(ledger.len(), 1, "one ledger entry");
    assert_eq!(attr_n(&ledger[0], "points"), 150_000);
    assert_eq!(attr_n(&ledger[0], "balance_after"), 150_000);
}

#[tokio::test]
async fn a_bill_by_customer_id_or_any_mobile_spelling_credits_that_member() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    assert_eq!(ravi.balance, 100);

    let by_id = env.bill(&t, json!({ "customer_id": ravi.customer_id, "amount": 2 })).await;
    by_id.assert_ok(&json!({
        "customer_id": ravi.customer_id,
        "amount": 2,
        "points_earned": 200,
        "new_balance": 300,
        "customer": { "customer_id": ravi.customer_id, "points_balance": 300 }
    }));

    // The mobile as a JSON number, and spelled with +91 and a dash.
    let by_number = env.bill(&t, json!({ "mobile": 9876543210_u64, "amount": 3 })).await;
    by_number.assert_ok(&json!({ "customer_id": ravi.customer_id, "new_balance": 600 }));
    let spelled = env.bill(&t, json!({ "mobile": "+91 98765-43210", "amount": 4, "name": "Ignored" })).await;
    spelled.assert_ok(&json!({
        "customer_id": ravi.customer_id,
        "new_balance": 1000,
        "customer": { "name": "Ravi Kumar" }
    }));

    assert_eq!(env.balance(&t, "9876543210").await, 1000);
    assert_eq!(env.ledger(&ravi.customer_id).await.len(), 4);
}

#[tokio::test]
async fn an_unknown_customer_id_is_404_and_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi Kumar", "1").await;
    let before = env.scan().await;

    let reply =
        env.bill(&t, json!({ "customer_id": uuid::Uuid::new_v4().to_string(), "amount": 100, "name": "X" })).await;
    reply.assert_error(404, "Customer not found");

    let reply = env.bill(&t, json!({ "customer_id": "uuid...", "amount": 100 })).await;
    reply.assert_error(400, "customer_id must be a UUID");
    assert_eq!(env.scan().await, before);
}

#[tokio::test]
async fn beverages_earn_double_points() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    // ₹10 bill, ₹4 of it beverages at 2x: (10 + 4) × 100 points.
    let reply = env
        .bill(
            &t,
            json!({
                "mobile": "9876543210",
                "amount": 10,
                "items": [
                    { "category": "Beverages", "name": "Masala chai", "amount": 4 },
                    { "category": "food", "name": "Dosa", "amount": 6 }
                ]
            }),
        )
        .await;
    reply.assert_ok(&json!({ "amount": 10, "points_earned": 1400, "new_balance": 1400 }));

    // Items without a bonus category earn the base rate.
    let reply = env
        .bill(
            &t,
            json!({
                "mobile": "9876543210",
                "amount": 10,
                "items": [{ "category": "food", "name": "Dosa", "amount": 10 }]
            }),
        )
        .await;
    reply.assert_ok(&json!({ "points_earned": 1000, "new_balance": 2400 }));
}

#[tokio::test]
async fn tier_multipliers_apply_and_tier_upgraded_marks_the_crossing_bill() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let bill = |amount: serde_json::Value| json!({ "mobile": "9876543210", "amount": amount });

    // 199,999 lifetime points: one short of Gold.
    env.bill(&t, bill(json!(1999.99))).await.assert_ok(&json!({
        "points_earned": 199_999,
        "new_balance": 199_999,
        "tier": "Silver",
        "tier_upgraded": false
    }));
    // ₹0.01 earns 1 point at Silver and crosses into Gold.
    env.bill(&t, bill(json!(0.01))).await.assert_ok(&json!({
        "points_earned": 1,
        "new_balance": 200_000,
        "tier": "Gold",
        "tier_upgraded": true
    }));
    // Gold earns 1.25x, and staying Gold is no upgrade.
    env.bill(&t, bill(json!(100))).await.assert_ok(&json!({
        "points_earned": 12_500,
        "new_balance": 212_500,
        "tier": "Gold",
        "tier_upgraded": false
    }));
    // Category bonus and tier multiplier together: (10 + 4) × 100 × 1.25.
    env.bill(
        &t,
        json!({
            "mobile": "9876543210",
            "amount": 10,
            "items": [{ "category": "beverages", "name": "Coffee", "amount": 4 }]
        }),
    )
    .await
    .assert_ok(&json!({ "points_earned": 1750, "new_balance": 214_250, "tier": "Gold" }));
    // 1,875,000 more at Gold takes lifetime points past Platinum's 2,000,000.
    env.bill(&t, bill(json!(15000))).await.assert_ok(&json!({
        "points_earned": 1_875_000,
        "new_balance": 2_089_250,
        "tier": "Platinum",
        "tier_upgraded": true
    }));
    env.lookup(&t, "9876543210").await.assert_ok(&json!({
        "tier": "Platinum",
        "priority_service": true,
        "points_balance": 2_089_250,
        "redeemable_value": 20892.5
    }));

    // One bill can cross two thresholds at once.
    env.bill(&t, json!({ "mobile": "9123456789", "amount": 20000 })).await.assert_ok(&json!({
        "points_earned": 2_000_000,
        "tier": "Platinum",
        "tier_upgraded": true
    }));
}

#[tokio::test]
async fn amounts_are_parsed_exactly() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    let reply =
        Call::bill(t.slug()).key(&t.live).body(r#"{"mobile": "9876543210", "amount": 0.29}"#).send(&env.deps).await;
    reply.assert_ok(&json!({ "amount": 0.29, "points_earned": 29, "new_balance": 29 }));
    assert!(reply.text.contains(r#""amount":0.29,"#), "{}", reply.text);

    let reply =
        Call::bill(t.slug()).key(&t.live).body(r#"{"mobile": "9876543210", "amount": 1e3}"#).send(&env.deps).await;
    reply.assert_ok(&json!({ "amount": 1000, "points_earned": 100_000, "new_balance": 100_029 }));
    assert!(reply.text.contains(r#""amount":1000,"#), "{}", reply.text);

    let reply =
        Call::bill(t.slug()).key(&t.live).body(r#"{"mobile": "9876543210", "amount": 1.10}"#).send(&env.deps).await;
    reply.assert_ok(&json!({ "amount": 1.1, "points_earned": 110, "new_balance": 100_139 }));
}

#[tokio::test]
async fn bad_amounts_are_400_and_name_the_field() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;

    let cases = [
        (r#""amount": 1.005"#, "amount must have at most 2 decimal places"),
        (r#""amount": 0"#, "amount must be greater than zero"),
        (r#""amount": -5"#, "amount must be greater than zero"),
        (r#""amount": "12""#, "amount must be a number"),
        (r#""amount": true"#, "amount must be a number"),
        (r#""amount": 10000000.01"#, "amount must be at most 10000000"),
        (r#""amount": null"#, "amount is required"),
        (r#""name": "Ravi""#, "amount is required"),
    ];
    for (field, message) in cases {
        let reply = Call::bill(t.slug())
            .key(&t.live)
            .body(format!(r#"{{"mobile": "9876543210", {field}}}"#))
            .send(&env.deps)
            .await;
        reply.assert_error(400, message);
    }
    assert_eq!(env.scan().await, before, "refused bills write nothing");
}

#[tokio::test]
async fn a_bill_needs_a_mobile_or_a_customer_id() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    env.bill(&t, json!({ "amount": 100, "name": "Ravi" })).await.assert_error(400, "mobile or customer_id is required");
    env.bill(&t, json!({ "mobile": "", "customer_id": null, "amount": 100 }))
        .await
        .assert_error(400, "mobile or customer_id is required");
    env.bill(&t, json!({ "mobile": "12345", "amount": 100 })).await.assert_error(
        400,
        "mobile must be a 10-digit mobile number, or + and the country code (8 to 15 digits in all)",
    );
}

#[tokio::test]
async fn items_must_add_up_to_no_more_than_the_amount() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;

    env.bill(
        &t,
        json!({
            "mobile": "9876543210",
            "amount": 10,
            "items": [
                { "category": "beverages", "name": "Chai", "amount": 6 },
                { "category": "food", "name": "Dosa", "amount": 4.01 }
            ]
        }),
    )
    .await
    .assert_error(400, "items total more than amount");
    env.bill(&t, json!({ "mobile": "9876543210", "amount": 10, "items": {} }))
        .await
        .assert_error(400, "items must be an array");
    env.bill(&t, json!({ "mobile": "9876543210", "amount": 10, "items": [{ "category": "food" }] }))
        .await
        .assert_error(400, "items[].amount is required");
    assert_eq!(env.scan().await, before);

    // Exactly the amount is fine.
    env.bill(
        &t,
        json!({
            "mobile": "9876543210",
            "amount": 10,
            "items": [{ "category": "beverages", "name": "Chai", "amount": 10 }]
        }),
    )
    .await
    .assert_ok(&json!({ "points_earned": 2000 }));
}

#[tokio::test]
async fn a_repeated_external_ref_replays_the_first_answer() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let body = json!({
        "mobile": "9876543210",
        "amount": 1500,
        "name": "Ravi Kumar",
        "external_ref": "INV-2026-0042"
    });

    let first = env.bill(&t, body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let customer_id = first.str("customer_id").to_owned();

    let second = env.bill(&t, body).await;
    second.assert_ok(&json!({
        "transaction_id": first.str("transaction_id"),
        "customer_id": customer_id,
        "amount": 1500,
        "points_earned": 150_000,
        "new_balance": 150_000,
        "tier": "Silver",
        "tier_upgraded": false
    }));
    assert_eq!(second.header("idempotent-replayed"), Some("true"));

    // The same sale named by customer_id is the same sale.
    let third =
        env.bill(&t, json!({ "customer_id": customer_id, "amount": 1500.00, "external_ref": "INV-2026-0042" })).await;
    third.assert_ok(&json!({ "transaction_id": first.str("transaction_id"), "new_balance": 150_000 }));
    assert_eq!(third.header("idempotent-replayed"), Some("true"));

    assert_eq!(env.balance(&t, "9876543210").await, 150_000, "credited once");
    assert_eq!(env.ledger(&customer_id).await.len(), 1, "one ledger entry");
}

#[tokio::test]
async fn a_reused_external_ref_on_a_different_sale_is_409() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let asha = env.seed_member(&t, "9123456789", "Asha", "1").await;
    let first = env.bill(&t, json!({ "mobile": "9876543210", "amount": 1500, "external_ref": "INV-1" })).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let before = env.scan().await;
    let conflict = "reference INV-1 was already used for a different sale";

    // Another amount.
    env.bill(&t, json!({ "mobile": "9876543210", "amount": 1501, "external_ref": "INV-1" }))
        .await
        .assert_error(409, conflict);
    // Another, existing, member.
    env.bill(&t, json!({ "mobile": asha.mobile, "amount": 1500, "external_ref": "INV-1" }))
        .await
        .assert_error(409, conflict);
    env.bill(&t, json!({ "customer_id": asha.customer_id, "amount": 1500, "external_ref": "INV-1" }))
        .await
        .assert_error(409, conflict);
    // An unknown mobile: refused, and not enrolled either.
    env.bill(&t, json!({ "mobile": "9000000001", "name": "New", "amount": 1500, "external_ref": "INV-1" }))
        .await
        .assert_error(409, conflict);

    assert_eq!(env.scan().await, before, "a conflicting bill writes nothing");
    let missing = env.lookup(&t, "9000000001").await;
    assert_eq!(missing.body, json!({ "found": false, "mobile": "9000000001" }));
    assert_eq!(env.balance(&t, "9876543210").await, 150_000);
    assert_eq!(env.balance(&t, "9123456789").await, 100);
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_refused() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let before = env.scan().await;
    let send = |body: String| {
        let call = Call::bill(t.slug()).key(&t.live).body(body);
        let deps = env.deps.clone();
        async move { call.send(&deps).await }
    };

    let reply = send(r#"{"mobile": "9876543210", "amount": 10"#.into()).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert!(reply.str("error").starts_with("Request body is not valid JSON"), "{}", reply.text);
    assert_eq!(reply.body.as_object().map(|o| o.len()), Some(2), "{}", reply.text);
    assert_eq!(reply.body["code"], "invalid_request", "{}", reply.text);

    for not_object in ["[1, 2]", "12", r#""text""#, "null", "", "   "] {
        send(not_object.into()).await.assert_error(400, "Request body must be a JSON object");
    }
    let no_body = Call::bill(t.slug()).key(&t.live).send(&env.deps).await;
    no_body.assert_error(400, "Request body must be a JSON object");

    // Over 16 KiB: 413, whatever it holds.
    let valid = r#"{"mobile": "9876543210", "amount": 10}"#;
    let over = format!("{valid}{}", " ".repeat(16 * 1024 + 1 - valid.len()));
    assert_eq!(over.len(), 16 * 1024 + 1);
    send(over).await.assert_error(413, "Request body too large (at most 16384 bytes)");
    assert_eq!(env.scan().await, before);

    // Exactly 16 KiB is accepted.
    let at_limit = format!("{valid}{}", " ".repeat(16 * 1024 - valid.len()));
    send(at_limit).await.assert_ok(&json!({ "points_earned": 1000 }));
}
