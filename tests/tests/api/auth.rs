//! Keys, slugs, scopes and channels on every route: every bad key gets the same 401, a
//! missing scope or a channel the route does not serve 403, and both come before any
//! check of the input. A forged key costs no store read; a revoked one stops within the
//! key cache's lifetime.

use std::time::Duration;

use loyalty::deps::CacheLifetimes;
use loyalty::domain::TenantSlug;
use loyalty::keys::{generate_key, Channel, KeyMode, KeyRecord, Scope};
use rand::Rng;
use serde_json::json;

use super::matrix::Recorder;
use super::support::{date, Call, Reply, Route, Tenant, TestEnv};

/// A request to `route` that would succeed with a good key on `slug`.
pub(crate) fn valid_call(route: Route, slug: &str) -> Call {
    match route {
        Route::Customer => Call::customer(slug).query("mobile", "9876543210"),
        Route::Bill => Call::bill(slug).json(&json!({ "mobile": "9876543210", "amount": 10 })),
        Route::Redeem => Call::redeem(slug).json(&json!({ "code": "COUP-XY12" })),
        // Reinstating an active coupon is a 400: the route's checks ran.
        Route::Reinstate => Call::reinstate(slug).json(&json!({ "code": "COUP-XY12" })),
        Route::Transactions => Call::new(route, slug).query("mobile", "9876543210"),
        Route::Otp => Call::new(route, slug).json(&json!({ "mobile": "9876543210" })),
        Route::Refund => {
            Call::new(route, slug).json(&json!({ "external_ref": "INV-1", "amount": 1, "refund_ref": "RET-1" }))
        }
        Route::Balance | Route::PublicTransactions => Call::public(route).query("email", "ravi@example.com"),
        Route::Earn => Call::public(route).json(&json!({ "email": "ravi@example.com", "amount": 10 })),
        Route::RewardRedeem => Call::public(route).json(&json!({ "email": "ravi@example.com", "rewardId": "rwd-001" })),
        Route::Rewards => Call::public(route),
        Route::Verify => Call::verify("COUP-XY12"),
        Route::PublicRefund => {
            Call::public(route).json(&json!({ "reference": "ORD-1", "amount": 1, "refundReference": "RET-P1" }))
        }
    }
}

/// The same request with input the route refuses.
pub(crate) fn bad_input_call(route: Route, slug: &str) -> Call {
    match route {
        Route::Customer => Call::customer(slug).query("mobile", "12345"),
        Route::Bill => Call::bill(slug).body("not json"),
        Route::Redeem => Call::redeem(slug).body("{}"),
        Route::Reinstate => Call::reinstate(slug).body("{}"),
        Route::Transactions => Call::new(route, slug).query("mobile", "9876543210").query("limit", "0"),
        Route::Otp => Call::new(route, slug).json(&json!({ "mobile": "123" })),
        Route::Refund => Call::new(route, slug).json(&json!({ "amount": 1 })),
        Route::Balance | Route::PublicTransactions => Call::public(route).query("email", "not-an-email"),
        Route::Earn => Call::public(route).json(&json!({ "email": "ravi@example.com", "amount": 1.005 })),
        Route::RewardRedeem => Call::public(route).json(&json!({ "email": "ravi@example.com" })),
        // The catalog takes no input; an unknown voucher is its only refusal.
        Route::Rewards => Call::public(route),
        Route::Verify => Call::verify("!!"),
        Route::PublicRefund => Call::public(route).json(&json!({ "amount": 1 })),
    }
}

/// Tenant A with a member and an active coupon, and tenant B.
async fn two_tenants(env: &TestEnv) -> (Tenant, Tenant) {
    let a = env.tenant("tenant-a").await;
    let b = env.tenant("tenant-b").await;
    env.seed_member(&a, "9876543210", "Ravi Kumar", "1").await;
    env.issue_coupon(&a, "9876543210", "200", date(2026, 12, 31), Some("COUP-XY12")).await;
    (a, b)
}

#[tokio::test]
async fn every_bad_key_gets_the_same_401_on_every_route() {
    let env = TestEnv::new().await;
    let (a, b) = two_tenants(&env).await;
    let revoked = env.issue_key(&a.slug, KeyMode::Live, Scope::ALL.to_vec()).await;
    env.store.revoke_key(&revoked.record.key_id, env.now()).await.expect("revoke").expect("the key exists");
    let live_secret = a.live.strip_prefix("mg_live_").expect("a live key");

    // (what, slug, X-API-Key)
    let cases: Vec<(&str, &str, Option<String>)> = vec![
        ("no key", a.slug(), None),
        ("empty key", a.slug(), Some(String::new())),
        ("too short", a.slug(), Some("mg_live_short".into())),
        ("bearer prefix", a.slug(), Some(format!("Bearer {}", a.live))),
        ("unknown prefix", a.slug(), Some(format!("mg_prod_{live_secret}"))),
        ("bad characters", a.slug(), Some(format!("mg_live_{}!", &live_secret[1..]))),
        ("unknown live key", a.slug(), Some(generate_key(KeyMode::Live, &a.slug).plain)),
        ("unknown test key", a.slug(), Some(generate_key(KeyMode::Test, &a.slug).plain)),
        ("live secret as test key", a.slug(), Some(format!("mg_test_{live_secret}"))),
        ("revoked key", a.slug(), Some(revoked.plain.clone())),
        ("B's key on A", a.slug(), Some(b.live.clone())),
        ("B's sandbox key on A", a.slug(), Some(b.test.clone())),
        ("A's key on B", b.slug(), Some(a.live.clone())),
        ("unknown slug", "no-such-tenant", Some(a.live.clone())),
        ("invalid slug", "Tenant_A", Some(a.live.clone())),
        ("empty slug", "", Some(a.live.clone())),
    ];
    let before = env.scan().await;

    for route in Route::ALL {
        for (what, slug, key) in &cases {
            let mut call = valid_call(route, slug);
            if let Some(key) = key {
                call = call.key(key);
            }
            let reply = call.send(&env.deps).await;
            assert_eq!(
                (reply.status, reply.text.as_str()),
                (401, super::support::UNAUTHORIZED),
                "{route:?} with {what}"
            );
        }
    }
    assert_eq!(env.scan().await, before, "refused requests write nothing");

    // The same requests with A's own key work: only the key was wrong.
    for route in Route::ALL {
        let reply = valid_call(route, a.slug()).key(&a.live).send(&env.deps).await;
        assert_eq!(reply.status, 200, "{route:?}: {}", reply.text);
    }
}

#[tokio::test]
async fn a_key_revoked_after_use_is_refused_by_a_fresh_instance() {
    let env = TestEnv::new().await;
    let (a, _) = two_tenants(&env).await;
    let key = env.issue_key(&a.slug, KeyMode::Live, Scope::ALL.to_vec()).await;
    env.lookup(&a, "9876543210").await.assert_ok(&json!({ "found": true }));
    let works = Call::customer(a.slug()).key(&key.plain).query("mobile", "9876543210").send(&env.deps).await;
    works.assert_ok(&json!({ "found": true }));

    env.store.revoke_key(&key.record.key_id, env.now()).await.expect("revoke").expect("the key exists");

    let cold = env.fresh_deps();
    for route in Route::ALL {
        valid_call(route, a.slug()).key(&key.plain).send(&cold).await.assert_unauthorized();
    }
    // The tenant's other keys are untouched.
    let reply = valid_call(Route::Customer, a.slug()).key(&a.live).send(&cold).await;
    reply.assert_ok(&json!({ "found": true }));
}

#[tokio::test]
async fn the_header_name_is_case_insensitive() {
    let env = TestEnv::new().await;
    let (a, _) = two_tenants(&env).await;

    for (route, header) in Route::ALL.into_iter().zip(["x-api-key", "X-Api-Key", "X-API-KEY"]) {
        let reply = valid_call(route, a.slug()).header(header, &a.live).send(&env.deps).await;
        assert_eq!(reply.status, 200, "{route:?} with {header}: {}", reply.text);
    }
}

#[tokio::test]
async fn a_key_without_the_scope_is_403() {
    let env = TestEnv::new().await;
    let (a, _) = two_tenants(&env).await;
    let write_only = env.issue_key(&a.slug, KeyMode::Live, vec![Scope::WriteTransactions]).await;
    let before = env.scan().await;

    // Read-only: lookups work, bills and redemptions do not.
    valid_call(Route::Customer, a.slug()).key(&a.read_only).send(&env.deps).await.assert_ok(&json!({ "found": true }));
    for route in [Route::Bill, Route::Redeem] {
        valid_call(route, a.slug())
            .key(&a.read_only)
            .send(&env.deps)
            .await
            .assert_error(403, "API key missing required scope: write:transactions");
    }
    // Write-only: no lookups.
    valid_call(Route::Customer, a.slug())
        .key(&write_only.plain)
        .send(&env.deps)
        .await
        .assert_error(403, "API key missing required scope: read:customers");
    assert_eq!(env.scan().await, before, "a refused bill or redemption writes nothing");
}

#[tokio::test]
async fn the_key_is_checked_before_the_scope_and_both_before_the_input() {
    let env = TestEnv::new().await;
    let (a, b) = two_tenants(&env).await;
    let write_only = env.issue_key(&a.slug, KeyMode::Live, vec![Scope::WriteTransactions]).await;
    let unknown = generate_key(KeyMode::Live, &a.slug).plain;

    for route in Route::ALL {
        // 401 beats 400: no key, an unknown key, another tenant's key.
        bad_input_call(route, a.slug()).send(&env.deps).await.assert_unauthorized();
        bad_input_call(route, a.slug()).key(&unknown).send(&env.deps).await.assert_unauthorized();
        bad_input_call(route, a.slug()).key(&b.live).send(&env.deps).await.assert_unauthorized();
        // ...and a body over 16 KiB does not get its 413 before the key's 401.
        if route != Route::Customer {
            Call::new(route, a.slug())
                .key(&unknown)
                .body(" ".repeat(20 * 1024))
                .send(&env.deps)
                .await
                .assert_unauthorized();
        }
    }

    // 403 beats 400.
    for route in [Route::Bill, Route::Redeem] {
        bad_input_call(route, a.slug())
            .key(&a.read_only)
            .send(&env.deps)
            .await
            .assert_error(403, "API key missing required scope: write:transactions");
    }
    bad_input_call(Route::Customer, a.slug())
        .key(&write_only.plain)
        .send(&env.deps)
        .await
        .assert_error(403, "API key missing required scope: read:customers");

    // With the right key the same requests reach the input checks.
    bad_input_call(Route::Customer, a.slug()).key(&a.live).send(&env.deps).await.assert_error(
        400,
        "mobile must be a 10-digit mobile number, or + and the country code (8 to 15 digits in all)",
    );
    let reply = bad_input_call(Route::Bill, a.slug()).key(&a.live).send(&env.deps).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    bad_input_call(Route::Redeem, a.slug()).key(&a.live).send(&env.deps).await.assert_error(400, "code is required");
}

const EMAIL: &str = "ravi@example.com";

/// A till's key (both scopes, live or sandbox) may not spend a member's points on a
/// reward: 403 `forbidden`, before the body is read and with nothing written. An app
/// key of the same tenant can.
#[tokio::test]
async fn a_pos_key_cannot_redeem_rewards_and_an_app_key_can() {
    let env = TestEnv::new().await;
    let t = env.tenant("channel-shop").await;
    let earn = json!({ "email": EMAIL, "name": "Ravi", "amount": 100 });
    Call::public(Route::Earn).key(&t.pos).json(&earn).send(&env.deps).await.assert_success(&json!({}));
    env.add_demo_rewards(&t).await;
    let before = env.scan().await;

    let message = "API key channel pos may not call this route";
    let redeem = json!({ "email": EMAIL, "rewardId": "rwd-001" });
    for key in [&t.pos, &t.pos_test] {
        let reply = Call::public(Route::RewardRedeem).key(key).json(&redeem).send(&env.deps).await;
        reply.assert_public_error(403, "forbidden", message);
        // 403 before 400: the body is not read.
        for bad in [json!({ "email": EMAIL }), json!("not an object")] {
            let reply = Call::public(Route::RewardRedeem).key(key).json(&bad).send(&env.deps).await;
            reply.assert_public_error(403, "forbidden", message);
        }
        // ...and not before 401: a bad key is still a bad key.
        let forged = format!("{}0", &key[..key.len() - 1]);
        let forged = if forged == *key { format!("{}1", &key[..key.len() - 1]) } else { forged };
        let reply = Call::public(Route::RewardRedeem).key(&forged).json(&redeem).send(&env.deps).await;
        reply.assert_public_error(401, "unauthorized", "Missing or invalid API key");
        // With an Idempotency-Key too: no claim is written.
        let reply = Call::public(Route::RewardRedeem)
            .key(key)
            .header("Idempotency-Key", "k-1")
            .json(&redeem)
            .send(&env.deps)
            .await;
        reply.assert_public_error(403, "forbidden", message);
    }
    assert_eq!(env.scan().await, before, "a refused redemption writes nothing");

    // Everything else a till does works with its key: the member's balance, the catalog.
    let balance = Call::public(Route::Balance).key(&t.pos).query("email", EMAIL).send(&env.deps).await;
    balance.assert_success(&json!({ "pointsBalance": 10_000 }));
    let rewards = Call::public(Route::Rewards).key(&t.pos).send(&env.deps).await;
    assert_eq!(rewards.status, 200, "{}", rewards.text);

    // The app key redeems.
    let reply = Call::public(Route::RewardRedeem).key(&t.live).json(&redeem).send(&env.deps).await;
    reply.assert_success(&json!({ "newBalance": 5_000 }));
    let issued = env.issue_channel_key(&t.slug, KeyMode::Live, Channel::App, Scope::ALL.to_vec()).await;
    assert_eq!(issued.record.channel, Channel::App);
    let reply = Call::public(Route::RewardRedeem).key(&issued.plain).json(&redeem).send(&env.deps).await;
    reply.assert_success(&json!({ "newBalance": 0 }));
}

/// A key of the right shape whose checksum is wrong, or of the wrong shape, is refused
/// from its text: a thousand of them cost not one store request. A key with a good
/// checksum is read (strongly consistent) once, then remembered.
#[tokio::test]
async fn forged_keys_cost_no_store_read() {
    let env = TestEnv::new().await;
    let t = env.tenant("forge-shop").await;
    let recorder = Recorder::default();
    let deps = recorder.deps(&env);
    let alphabet: Vec<char> = ('0'..='9').chain('A'..='Z').chain('a'..='z').collect();
    let mut rng = rand::rng();
    let mut random = |n: usize| (0..n).map(|_| alphabet[rng.random_range(0..alphabet.len())]).collect::<String>();

    let mut forged = Vec::new();
    for i in 0..1000 {
        let prefix = if i % 2 == 0 { "mg_live_" } else { "mg_test_" };
        forged.push(match i % 4 {
            // The shape of a key, made up.
            0 | 1 => format!("{prefix}forge-shop_{}", random(36)),
            // A real key with one character changed.
            2 => {
                let at = 8 + i % 36;
                let mut chars: Vec<char> = t.live.chars().collect();
                chars[at] = if chars[at] == 'a' { 'b' } else { 'a' };
                chars.into_iter().collect()
            }
            // A real key's random part and checksum under the other mode's prefix.
            _ => t.live.replacen("mg_live_", "mg_test_", 1),
        });
    }
    let routes = Route::EVERY;
    for (i, key) in forged.iter().enumerate() {
        let route = routes[i % routes.len()];
        let reply = valid_call(route, t.slug()).key(key).send(&deps).await;
        assert_eq!(reply.status, 401, "{route:?} with {key}: {}", reply.text);
    }
    let sent = recorder.take();
    assert!(sent.is_empty(), "forged keys cost {} store requests: {:?}", sent.len(), &sent[..sent.len().min(3)]);

    // An unknown key with a good checksum: one strongly consistent read, then none (a
    // cold Partner route that reads the program reads the slug's program beside it, in
    // the same round trip, and keeps it only for a key of that tenant).
    let unknown = generate_key(KeyMode::Live, &t.slug).plain;
    for _ in 0..3 {
        valid_call(Route::Customer, t.slug()).key(&unknown).send(&deps).await.assert_unauthorized();
    }
    let sent = recorder.take();
    let (keys, programs): (Vec<_>, Vec<_>) = sent.iter().partition(|s| s.contains(r#""ConsistentRead":true"#));
    assert_eq!(keys.len(), 1, "{sent:?}");
    assert!(programs.len() <= 1 && programs.iter().all(|p| p.contains("PROGRAM")), "{sent:?}");
}

/// A revoked key is refused on a warm function once the key cache's lifetime has passed
/// (5 s by default; a short one here).
#[tokio::test]
async fn a_revoked_key_stops_on_a_warm_function_within_the_key_cache_lifetime() {
    let env = TestEnv::new().await;
    let t = env.tenant("revoke-shop").await;
    assert_eq!(env.fresh_deps().cache_lifetimes().keys, Duration::from_secs(5), "the default");
    let lifetime = Duration::from_millis(300);
    let warm = env.fresh_deps().with_cache_lifetimes(CacheLifetimes { keys: lifetime, ..CacheLifetimes::default() });
    let key = env.issue_key(&t.slug, KeyMode::Live, Scope::ALL.to_vec()).await;
    let call = valid_call(Route::Balance, t.slug()).key(&key.plain);
    assert_eq!(call.send(&warm).await.status, 404, "the key works (no such member yet)");

    env.store.revoke_key(&key.record.key_id, env.now()).await.expect("revoke").expect("the key exists");
    tokio::time::sleep(lifetime + Duration::from_millis(50)).await;
    call.send(&warm).await.assert_public_error(401, "unauthorized", "Missing or invalid API key");
    // The tenant's other keys are untouched.
    assert_eq!(valid_call(Route::Balance, t.slug()).key(&t.live).send(&warm).await.status, 404);
}

#[tokio::test]
async fn a_stage_with_an_edge_refuses_requests_that_did_not_come_through_it() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let deps = env.fresh_deps().with_edge_secret(Some("edge-secret-0123456789-abcdefghij".into()));
    let lookup = || Call::customer(t.slug()).key(&t.live).query("mobile", "9876543210");
    for call in [lookup(), lookup().header("X-Origin-Verify", "edge-secret-0123456789-abcdefghiX")] {
        let refused = call.send(&deps).await;
        assert_eq!(refused.status, 403, "{}", refused.text);
        assert_eq!(refused.body, json!({ "error": "Call the API at its published address", "code": "forbidden" }));
    }
    Call::public(Route::Balance).key(&t.live).query("email", "ravi@example.com").send(&deps).await.assert_public_error(
        403,
        "forbidden",
        "Call the API at its published address",
    );
    // Through the edge, which adds the header: answered as ever (the member is unknown).
    let through = lookup().header("X-Origin-Verify", "edge-secret-0123456789-abcdefghij").send(&deps).await;
    through.assert_ok(&json!({ "found": false }));
    // A stage without an edge secret (locally) checks nothing.
    lookup().send(&env.deps).await.assert_ok(&json!({ "found": false }));
}

/// A key's text names its tenant, so a cold function reads the program beside the key;
/// the text is never trusted. A stored key whose record is another tenant's than its text
/// names is refused on both dialects. An unknown key naming a made-up tenant gets the
/// same 401 as one naming a real tenant, and costs the same: the key and the named
/// program read at once, then nothing while the key is remembered. A key naming another
/// tenant than a Partner path is refused before any read.
#[tokio::test]
async fn the_tenant_a_key_names_is_checked_against_its_record() {
    let env = TestEnv::new().await;
    let (a, b) = two_tenants(&env).await;
    let issued = env.issue_key(&a.slug, KeyMode::Live, Scope::ALL.to_vec()).await;
    // A record of A's under the hash of a key whose text names B.
    let lying = generate_key(KeyMode::Live, &b.slug);
    let record = KeyRecord { hash: lying.hash.clone(), key_id: lying.key_id.clone(), ..issued.record.clone() };
    env.store.put_key(&record).await.expect("put the key");
    for slug in [a.slug(), b.slug()] {
        valid_call(Route::Customer, slug).key(&lying.plain).send(&env.fresh_deps()).await.assert_unauthorized();
    }
    let balance = |key: &str| Call::public(Route::Balance).key(key).query("email", EMAIL);
    let unauthorized = |reply: Reply| reply.assert_public_error(401, "unauthorized", "Missing or invalid API key");
    unauthorized(balance(&lying.plain).send(&env.fresh_deps()).await);
    // The issued key itself works.
    assert_eq!(balance(&issued.plain).send(&env.fresh_deps()).await.status, 404, "no such member, but authorised");

    // Unknown keys naming a made-up tenant and a real one: the same answer, the same reads.
    let made_up = TenantSlug::parse("no-such-shop").expect("a slug");
    let mut answers = Vec::new();
    for tenant in [&made_up, &a.slug] {
        let recorder = Recorder::default();
        let deps = recorder.deps(&env);
        let unknown = generate_key(KeyMode::Live, tenant).plain;
        for _ in 0..3 {
            let reply = balance(&unknown).send(&deps).await;
            answers.push((reply.status, reply.text.clone()));
            unauthorized(reply);
        }
        let sent = recorder.take();
        let (keys, programs): (Vec<_>, Vec<_>) = sent.iter().partition(|s| s.contains(r#""ConsistentRead":true"#));
        assert_eq!(keys.len(), 1, "{tenant}: {sent:?}");
        // The program read starts beside the key's; a refused key does not wait for it.
        assert!(programs.len() <= 1 && programs.iter().all(|p| p.contains("PROGRAM")), "{tenant}: {sent:?}");
        // Not kept: the next request of the tenant's own key reads its program again.
        assert!(deps.programs.get(&tenant.as_str().to_owned()).is_none(), "{tenant}");
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "{answers:?}");

    // B's key on A's path: refused from its text.
    let recorder = Recorder::default();
    let deps = recorder.deps(&env);
    valid_call(Route::Bill, a.slug()).key(&b.live).send(&deps).await.assert_unauthorized();
    assert!(recorder.take().is_empty());
}
