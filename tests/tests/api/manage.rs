//! The management engine against DynamoDB Local: API keys, rewards,
//! members, point adjustments, coupons and the audit log, each as an `Actor` of one
//! tenant with one role. Every change writes its audit entry in its own transaction;
//! an `Idempotency-Key` makes a double submission apply once; an actor of another
//! tenant sees and changes nothing, whatever ids it passes.

use std::sync::Arc;
use std::time::Duration;

use loyalty::actor::{Actor, Role, OPERATOR};
use loyalty::domain::{CustomerId, IdempotencyKey, Mobile};
use loyalty::engine::MemberRef;
use loyalty::error::ApiError;
use loyalty::keys::{Channel, KeyMode, KeyStatus, Scope};
use loyalty::manage::{self, Adjustment, CouponSpec, NewKeySpec};
use loyalty::model::{CodeKind, EntryKind, Reward};
use loyalty::store::AuditEntry;
use loyalty::Deps;
use serde_json::json;

use super::support::{attr_str, date, today, Call, Route, Tenant, TestEnv};

fn actor(t: &Tenant, role: Role) -> Actor {
    Actor::new(t.slug.clone(), format!("{}@{}.example", role.as_str(), t.slug()), role)
}

fn idem(key: &str) -> IdempotencyKey {
    IdempotencyKey::parse(key).unwrap()
}

fn pos_key() -> NewKeySpec {
    NewKeySpec {
        mode: KeyMode::Live,
        channel: Channel::Pos,
        scopes: vec![Scope::ReadCustomers, Scope::WriteTransactions],
        label: "Front desk till".into(),
    }
}

fn reward(id: &str, name: &str, cost: i64) -> Reward {
    Reward {
        public_id: id.into(),
        name: name.into(),
        description: "On the house".into(),
        points_cost: cost,
        kind: CodeKind::Service,
        value_minor: 0,
        discount_percent: None,
        active: true,
    }
}

/// The tenant's audit log, newest first, without the operator's entries (the keys
/// `loyalty-admin` issued when the test tenant was made).
async fn audit(env: &TestEnv, actor: &Actor) -> Vec<AuditEntry> {
    let all = manage::audit_log(&env.deps, actor, 100, None).await.unwrap().entries;
    all.into_iter().filter(|e| e.who != OPERATOR).collect()
}

/// What a POS lookup with `key` answers, from a cold function (no cached key).
async fn lookup_with(env: &TestEnv, t: &Tenant, key: &str) -> u16 {
    Call::customer(t.slug()).key(key).query("mobile", "9876543210").send(&env.fresh_deps()).await.status
}

fn is_role(e: &ApiError) -> bool {
    matches!(e, ApiError::Role { .. })
}

#[tokio::test]
async fn an_owner_issues_lists_rescopes_revokes_and_rotates_keys_each_audited() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi", "100").await;
    let owner = actor(&t, Role::Owner);

    let issued = manage::issue_key(&env.deps, &owner, &pos_key(), None).await.unwrap();
    let secret = issued.secret.clone().expect("the secret is answered once");
    assert_eq!(lookup_with(&env, &t, &secret).await, 200, "the new key works on a POS call");
    let listed = manage::list_keys(&env.deps, &owner).await.unwrap();
    let mine = listed.iter().find(|k| k.key_id == issued.key.key_id).expect("listed");
    assert_eq!((mine.label.as_str(), mine.mode, mine.channel), ("Front desk till", KeyMode::Live, Channel::Pos));
    assert_eq!(mine.status, KeyStatus::Active);
    assert_eq!(listed.len(), 6, "the tenant's five test keys and this one, from the index");
    assert!(!serde_json::to_string(&listed).unwrap().contains(&secret), "a listing never holds a secret");

    let rescoped =
        manage::set_key_scopes(&env.deps, &owner, &issued.key.key_id, &[Scope::ReadCustomers], None).await.unwrap();
    assert_eq!(rescoped.scopes, [Scope::ReadCustomers]);
    let bill = Call::bill(t.slug()).key(&secret).json(&json!({"mobile": "9876543210", "amount": 10}));
    bill.send(&env.fresh_deps()).await.assert_error(403, "API key missing required scope: write:transactions");

    manage::revoke_key(&env.deps, &owner, &issued.key.key_id, None).await.unwrap();
    assert_eq!(lookup_with(&env, &t, &secret).await, 401, "a revoked key answers 401");
    let again = manage::revoke_key(&env.deps, &owner, &issued.key.key_id, None).await;
    assert!(matches!(again, Err(ApiError::Conflict(_))), "{again:?}");

    let second = manage::issue_key(&env.deps, &owner, &pos_key(), None).await.unwrap();
    let rotated = manage::rotate_key(&env.deps, &owner, &second.key.key_id, None).await.unwrap();
    let new_secret = rotated.secret.clone().unwrap();
    assert_ne!(rotated.key.key_id, second.key.key_id);
    assert_eq!(
        (rotated.key.label.as_str(), rotated.key.mode, rotated.key.channel, &rotated.key.scopes),
        ("Front desk till", KeyMode::Live, Channel::Pos, &second.key.scopes)
    );
    assert_eq!(lookup_with(&env, &t, second.secret.as_deref().unwrap()).await, 401, "the old key is revoked");
    assert_eq!(lookup_with(&env, &t, &new_secret).await, 200, "the new key works");

    let actions: Vec<String> = audit(&env, &owner).await.iter().map(|e| e.action.clone()).collect();
    let expected = ["key.rotate", "key.issue", "key.revoke", "key.scopes", "key.issue"];
    assert_eq!(&actions[..5], expected, "newest first: {actions:?}");
    let entries = audit(&env, &owner).await;
    assert_eq!(entries[3].before.as_ref().unwrap()["scopes"], json!(["read:customers", "write:transactions"]));
    assert_eq!(entries[3].after.as_ref().unwrap()["scopes"], json!(["read:customers"]));
    assert_eq!(entries[0].who, "owner@spice-garden.example");
    assert!(!format!("{entries:?}").contains(&new_secret), "the audit log never holds a secret");
}

#[tokio::test]
async fn last_used_is_noted_to_the_day_at_most_once_an_hour_per_process() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, "9876543210", "Ravi", "100").await;
    let owner = actor(&t, Role::Owner);
    let issued = manage::issue_key(&env.deps, &owner, &pos_key(), None).await.unwrap();
    let secret = issued.secret.unwrap();
    let last_used = || async {
        let keys = manage::list_keys(&env.deps, &owner).await.unwrap();
        keys.into_iter().find(|k| k.key_id == issued.key.key_id).unwrap().last_used_on
    };
    assert_eq!(last_used().await, None);

    let process = Arc::new(env.fresh_deps().with_key_use_notes(Duration::from_secs(3600)));
    let call = Call::customer(t.slug()).key(&secret).query("mobile", "9876543210");
    assert_eq!(call.send(&process).await.status, 200);
    assert_eq!(last_used().await, Some(today()));

    // A day later on the clock but within the same hour of this process: no second write.
    env.advance(chrono::Duration::days(1));
    for _ in 0..3 {
        assert_eq!(call.send(&process).await.status, 200);
    }
    assert_eq!(last_used().await, Some(today()), "one write per key per process per hour");

    // Another process writes its own first note.
    let other: Deps = env.fresh_deps().with_key_use_notes(Duration::from_secs(3600));
    assert_eq!(call.send(&other).await.status, 200);
    assert_eq!(last_used().await, Some(today().succ_opt().unwrap()));

    // A refused request notes nothing; neither does a process without notes.
    let bill = Call::bill(t.slug()).key(&t.read_only).json(&json!({"mobile": "9876543210", "amount": 1}));
    assert_eq!(bill.send(&Arc::new(env.fresh_deps().with_key_use_notes(Duration::ZERO))).await.status, 403);
}

#[tokio::test]
async fn rewards_are_added_edited_and_archived_and_the_public_catalogue_follows() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let manager = actor(&t, Role::Manager);
    let catalogue = || async { Call::public(Route::Rewards).key(&t.live).send(&env.fresh_deps()).await.text };

    manage::add_reward(&env.deps, &manager, &reward("rwd-chai", "Free chai", 500), None).await.unwrap();
    assert!(catalogue().await.contains("Free chai"));
    let taken = manage::add_reward(&env.deps, &manager, &reward("rwd-chai", "Other", 1), None).await;
    assert!(matches!(taken, Err(ApiError::Conflict(_))), "{taken:?}");

    manage::edit_reward(&env.deps, &manager, &reward("rwd-chai", "Free masala chai", 400), None, None).await.unwrap();
    assert!(catalogue().await.contains("Free masala chai"));
    let missing = manage::edit_reward(&env.deps, &manager, &reward("rwd-none", "x", 1), None, None).await;
    assert!(matches!(missing, Err(ApiError::NotFound(_))), "{missing:?}");
    let bad = manage::add_reward(&env.deps, &manager, &reward("rwd bad", "x", 1), None).await;
    assert!(bad.as_ref().is_err_and(ApiError::is_bad_request), "{bad:?}");

    let archived = manage::archive_reward(&env.deps, &manager, "rwd-chai", None).await.unwrap();
    assert!(!archived.active);
    assert!(!catalogue().await.contains("rwd-chai"), "an archived reward leaves the Public catalogue");
    let all = manage::list_rewards(&env.deps, &actor(&t, Role::Viewer)).await.unwrap();
    assert_eq!(all.iter().map(|r| (r.public_id.as_str(), r.active)).collect::<Vec<_>>(), [("rwd-chai", false)]);

    let entries = audit(&env, &manager).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["reward.archive", "reward.edit", "reward.add"], "refusals write no entry");
    assert_eq!(entries[0].before.as_ref().unwrap()["active"], json!(true));
    assert_eq!(entries[0].after.as_ref().unwrap()["active"], json!(false));
    assert_eq!(entries[1].before.as_ref().unwrap()["name"], json!("Free chai"));
    assert_eq!(entries[2].before, None);
}

#[tokio::test]
async fn an_adjustment_is_its_own_entry_never_below_zero_and_never_toward_tiers() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi", "100").await;
    assert_eq!(ravi.balance, 10_000);
    let id = CustomerId::parse(&ravi.customer_id).unwrap();
    let manager = actor(&t, Role::Manager);

    // Enough to reach Gold if it counted toward tiers (200,000 lifetime points).
    let credit = Adjustment { customer_id: id, points: 250_000, reason: "Goodwill: late room".into() };
    let done = manage::adjust_points(&env.deps, &manager, &credit, None).await.unwrap();
    assert_eq!((done.balance_before, done.balance_after, done.lifetime_points), (10_000, 260_000, 10_000));
    assert_eq!(env.balance(&t, "9876543210").await, 260_000, "the POS lookup shows it");
    let profile = manage::member_profile(&env.deps, &actor(&t, Role::Viewer), &id).await.unwrap();
    assert_eq!((profile.points_balance, profile.lifetime_points, profile.tier.as_str()), (260_000, 10_000, "Silver"));

    let before = env.scan().await;
    let debit = Adjustment { customer_id: id, points: -260_001, reason: "Correction".into() };
    let refused = manage::adjust_points(&env.deps, &manager, &debit, None).await;
    assert!(matches!(refused, Err(ApiError::InsufficientPoints { balance: 260_000, needed: 260_001 })), "{refused:?}");
    for (points, reason) in [(0, "zero"), (5, "  "), (i64::MIN, "huge")] {
        let bad = Adjustment { customer_id: id, points, reason: reason.into() };
        let refused = manage::adjust_points(&env.deps, &manager, &bad, None).await;
        assert!(refused.as_ref().is_err_and(ApiError::is_bad_request), "{points} {reason:?}: {refused:?}");
    }
    assert_eq!(env.scan().await, before, "refused adjustments write nothing, audit included");

    let debit = Adjustment { customer_id: id, points: -260_000, reason: "Correction".into() };
    let done = manage::adjust_points(&env.deps, &manager, &debit, None).await.unwrap();
    assert_eq!(done.balance_after, 0, "down to zero is allowed");

    let ledger = env.ledger(&ravi.customer_id).await;
    let kinds: Vec<&str> = ledger.iter().map(|e| attr_str(e, "type")).collect();
    assert_eq!(kinds, ["earn", "adjustment", "adjustment"]);

    // Both dialects' histories render the entry with its reason.
    let partner = Call::new(Route::Transactions, t.slug()).key(&t.live).query("mobile", "9876543210");
    let reply = partner.send(&env.deps).await;
    let newest = &reply.body["transactions"][0];
    assert_eq!((newest["type"].as_str(), newest["points"].as_i64()), (Some("adjustment"), Some(-260_000)));
    assert_eq!(newest["description"], json!("Correction"));
    let history = manage::member_history(&env.deps, &manager, &id, 2, None).await.unwrap();
    assert_eq!(history.entries.iter().map(|e| e.kind).collect::<Vec<_>>(), [EntryKind::Adjustment; 2]);
    let rest = manage::member_history(&env.deps, &manager, &id, 2, history.next_cursor.as_deref()).await.unwrap();
    assert_eq!(rest.entries.iter().map(|e| e.kind).collect::<Vec<_>>(), [EntryKind::Earn]);

    let entries = audit(&env, &manager).await;
    assert_eq!(entries.iter().filter(|e| e.action == "member.adjust").count(), 2);
    assert_eq!(entries[0].before.as_ref().unwrap()["points_balance"], json!(260_000));
    assert_eq!(entries[0].after.as_ref().unwrap()["points_balance"], json!(0));
    assert_eq!(entries[0].target, ravi.customer_id);
}

#[tokio::test]
async fn a_member_in_debt_after_a_refund_may_be_credited_but_not_debited() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let reply = env.bill(&t, json!({"mobile": "9876543210", "amount": 100, "external_ref": "INV-D"})).await;
    let id = CustomerId::parse(reply.str("customer_id")).unwrap();
    let manager = actor(&t, Role::Manager);
    let spend = Adjustment { customer_id: id, points: -10_000, reason: "Spent at the spa".into() };
    manage::adjust_points(&env.deps, &manager, &spend, None).await.unwrap();
    let refund = json!({"external_ref": "INV-D", "amount": 100, "refund_ref": "RET-D"});
    let reply = Call::new(Route::Refund, t.slug()).key(&t.live).json(&refund).send(&env.deps).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(env.balance(&t, "9876543210").await, -10_000, "the refund took back what the bill earned");

    let credit = Adjustment { customer_id: id, points: 500, reason: "Goodwill".into() };
    let done = manage::adjust_points(&env.deps, &manager, &credit, None).await.unwrap();
    assert_eq!((done.balance_before, done.balance_after), (-10_000, -9_500), "a credit is never refused");
    let debit = Adjustment { customer_id: id, points: -1, reason: "Correction".into() };
    let refused = manage::adjust_points(&env.deps, &manager, &debit, None).await;
    assert!(matches!(refused, Err(ApiError::InsufficientPoints { .. })), "{refused:?}");
}

#[tokio::test]
async fn a_double_submission_applies_once_and_a_reused_key_with_another_request_is_refused() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi", "100").await;
    let id = CustomerId::parse(&ravi.customer_id).unwrap();
    let manager = actor(&t, Role::Manager);
    let adj = Adjustment { customer_id: id, points: 700, reason: "Birthday".into() };
    let key = idem("adjust-click-1");

    // Two clicks at once, then a third later: one entry, one audit entry, one answer.
    let (a, b) = tokio::join!(
        manage::adjust_points(&env.deps, &manager, &adj, Some(&key)),
        manage::adjust_points(&env.deps, &manager, &adj, Some(&key))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b, "both clicks answer the one adjustment");
    let c = manage::adjust_points(&env.deps, &manager, &adj, Some(&key)).await.unwrap();
    assert_eq!(c, a);
    assert_eq!(env.balance(&t, "9876543210").await, 10_700);
    assert_eq!(env.ledger(&ravi.customer_id).await.len(), 2);
    let entries = audit(&env, &manager).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].request_key.as_deref(), Some("adjust-click-1"));

    let colleague = Actor::new(t.slug.clone(), "someone-else@spice-garden.example", Role::Manager);
    let theirs = manage::adjust_points(&env.deps, &colleague, &adj, Some(&key)).await;
    assert!(
        matches!(theirs, Err(ApiError::IdempotencyConflict(_))),
        "another person's key is not a replay: {theirs:?}"
    );
    let other = Adjustment { points: 900, ..adj.clone() };
    let reused = manage::adjust_points(&env.deps, &manager, &other, Some(&key)).await;
    assert!(matches!(reused, Err(ApiError::IdempotencyConflict(_))), "{reused:?}");
    // A new key is a new adjustment.
    manage::adjust_points(&env.deps, &manager, &adj, Some(&idem("adjust-click-2"))).await.unwrap();
    assert_eq!(env.balance(&t, "9876543210").await, 11_400);

    // The same holds for a key: issued once, its secret answered to the first click only.
    let owner = actor(&t, Role::Owner);
    let key = idem("issue-1");
    let first = manage::issue_key(&env.deps, &owner, &pos_key(), Some(&key)).await.unwrap();
    let second = manage::issue_key(&env.deps, &owner, &pos_key(), Some(&key)).await.unwrap();
    assert!(first.secret.is_some() && second.secret.is_none());
    assert_eq!(first.key, second.key);
    assert_eq!(manage::list_keys(&env.deps, &owner).await.unwrap().len(), 6);
    let rw = manage::add_reward(&env.deps, &manager, &reward("rwd-1", "One", 10), Some(&idem("r-1"))).await;
    let again = manage::add_reward(&env.deps, &manager, &reward("rwd-1", "One", 10), Some(&idem("r-1"))).await;
    assert_eq!(rw.unwrap(), again.unwrap(), "a replay, not a 409");
}

#[tokio::test]
async fn each_role_may_do_only_its_own_and_a_refusal_writes_nothing() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let ravi = env.seed_member(&t, "9876543210", "Ravi", "100").await;
    let id = CustomerId::parse(&ravi.customer_id).unwrap();
    let owner = actor(&t, Role::Owner);
    let key_id = manage::issue_key(&env.deps, &owner, &pos_key(), None).await.unwrap().key.key_id;
    manage::add_reward(&env.deps, &owner, &reward("rwd-1", "One", 10), None).await.unwrap();
    let before = env.scan().await;
    let d = &env.deps;
    let adj = Adjustment { customer_id: id, points: 5, reason: "x".into() };
    let coupon = CouponSpec {
        customer_id: id,
        value_minor: Some(100),
        percent: None,
        expires: date(2026, 12, 31),
        code: None,
        source: "campaign".into(),
    };

    for role in [Role::Manager, Role::Viewer] {
        let a = actor(&t, role);
        assert!(is_role(&manage::list_keys(d, &a).await.unwrap_err()), "{role:?} lists keys");
        assert!(is_role(&manage::issue_key(d, &a, &pos_key(), None).await.unwrap_err()));
        assert!(is_role(&manage::set_key_scopes(d, &a, &key_id, &[Scope::ReadCustomers], None).await.unwrap_err()));
        assert!(is_role(&manage::revoke_key(d, &a, &key_id, None).await.unwrap_err()));
        assert!(is_role(&manage::rotate_key(d, &a, &key_id, None).await.unwrap_err()));
    }
    let viewer = actor(&t, Role::Viewer);
    assert!(is_role(&manage::add_reward(d, &viewer, &reward("rwd-2", "Two", 10), None).await.unwrap_err()));
    assert!(is_role(&manage::edit_reward(d, &viewer, &reward("rwd-1", "Uno", 10), None, None).await.unwrap_err()));
    assert!(is_role(&manage::archive_reward(d, &viewer, "rwd-1", None).await.unwrap_err()));
    assert!(is_role(&manage::adjust_points(d, &viewer, &adj, None).await.unwrap_err()));
    assert!(is_role(&manage::issue_coupon(d, &viewer, &coupon, None).await.unwrap_err()));
    assert_eq!(
        ApiError::Role { role: Role::Viewer, need: loyalty::actor::Permission::Manage }
            .status(loyalty::Dialect::Public),
        403
    );
    assert_eq!(env.scan().await, before, "refusals write nothing");

    // A viewer reads everything but keys.
    assert_eq!(manage::list_rewards(d, &viewer).await.unwrap().len(), 1);
    let found = manage::find_member(d, &viewer, &MemberRef::Mobile(Mobile::parse("9876543210").unwrap())).await;
    assert_eq!(found.unwrap().map(|c| c.id), Some(id));
    assert_eq!(manage::member_profile(d, &viewer, &id).await.unwrap().points_balance, 10_000);
    assert_eq!(manage::member_history(d, &viewer, &id, 10, None).await.unwrap().entries.len(), 1);
    assert_eq!(audit(&env, &viewer).await.len(), 2);

    // A manager manages members: an adjustment and a coupon the POS lookup shows.
    let manager = actor(&t, Role::Manager);
    manage::adjust_points(d, &manager, &adj, None).await.unwrap();
    let issued = manage::issue_coupon(d, &manager, &coupon, None).await.unwrap();
    let profile = manage::member_profile(d, &viewer, &id).await.unwrap();
    assert_eq!(profile.codes.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(), [issued.code.as_str()]);
    assert!(env.lookup(&t, "9876543210").await.text.contains(&issued.code));
    let actions: Vec<String> = audit(&env, &viewer).await.iter().map(|e| e.action.clone()).collect();
    assert_eq!(actions, ["member.coupon", "member.adjust", "reward.add", "key.issue"]);
}

#[tokio::test]
async fn an_actor_of_another_tenant_sees_and_changes_nothing_whatever_ids_it_passes() {
    let env = TestEnv::new().await;
    let a = env.tenant("spice-garden").await;
    let b = env.tenant("curry-house").await;
    let ravi = env.seed_member(&a, "9876543210", "Ravi", "100").await;
    let id = CustomerId::parse(&ravi.customer_id).unwrap();
    let a_owner = actor(&a, Role::Owner);
    let a_key = manage::issue_key(&env.deps, &a_owner, &pos_key(), None).await.unwrap();
    manage::add_reward(&env.deps, &a_owner, &reward("rwd-1", "One", 10), None).await.unwrap();
    let a_audit = audit(&env, &a_owner).await;
    let before = env.scan().await;

    let b_owner = actor(&b, Role::Owner);
    let d = &env.deps;
    let key_id = a_key.key.key_id.as_str();
    let not_found = |r: Result<_, ApiError>| matches!(r, Err(ApiError::NotFound(_)));
    assert!(!manage::list_keys(d, &b_owner).await.unwrap().iter().any(|k| k.key_id == key_id));
    assert!(not_found(manage::set_key_scopes(d, &b_owner, key_id, &[Scope::ReadCustomers], None).await.map(|_| ())));
    assert!(not_found(manage::revoke_key(d, &b_owner, key_id, None).await.map(|_| ())));
    assert!(not_found(manage::rotate_key(d, &b_owner, key_id, None).await.map(|_| ())));
    assert!(not_found(manage::edit_reward(d, &b_owner, &reward("rwd-1", "Mine", 1), None, None).await.map(|_| ())));
    assert!(not_found(manage::archive_reward(d, &b_owner, "rwd-1", None).await.map(|_| ())));
    assert!(manage::list_rewards(d, &b_owner).await.unwrap().is_empty());
    let adj = Adjustment { customer_id: id, points: 5, reason: "x".into() };
    assert!(not_found(manage::adjust_points(d, &b_owner, &adj, None).await.map(|_| ())));
    let coupon = CouponSpec {
        customer_id: id,
        value_minor: Some(100),
        percent: None,
        expires: date(2026, 12, 31),
        code: None,
        source: "campaign".into(),
    };
    assert!(not_found(manage::issue_coupon(d, &b_owner, &coupon, None).await.map(|_| ())));
    assert!(not_found(manage::member_profile(d, &b_owner, &id).await.map(|_| ())));
    assert!(not_found(manage::member_history(d, &b_owner, &id, 10, None).await.map(|_| ())));
    let by_mobile = MemberRef::Mobile(Mobile::parse("9876543210").unwrap());
    assert_eq!(manage::find_member(d, &b_owner, &by_mobile).await.unwrap(), None);
    assert!(manage::find_member(d, &b_owner, &MemberRef::Id(id)).await.unwrap().is_none());
    assert!(audit(&env, &b_owner).await.is_empty(), "B's log holds nothing of A's");
    // The same idempotency key in B replays nothing of A's.
    let k = idem("shared-key");
    manage::add_reward(d, &a_owner, &reward("rwd-2", "Two", 10), Some(&k)).await.unwrap();
    let before_b = env.scan().await.len();
    assert_eq!(manage::add_reward(d, &b_owner, &reward("rwd-2", "Zwei", 20), Some(&k)).await.unwrap().name, "Zwei");
    assert!(env.scan().await.len() > before_b);

    assert_eq!(lookup_with(&env, &a, a_key.secret.as_deref().unwrap()).await, 200, "A's key still works");
    let after_a: Vec<_> = audit(&env, &a_owner).await;
    assert_eq!(after_a[1..], a_audit[..], "A's log only gained A's own change");
    assert!(before.len() < env.scan().await.len());
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_and_a_change_and_its_entry_commit_together() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let manager = actor(&t, Role::Manager);
    for n in 0..5 {
        env.advance(chrono::Duration::seconds(1));
        manage::add_reward(&env.deps, &manager, &reward(&format!("rwd-{n}"), "R", 10), None).await.unwrap();
    }
    let first = manage::audit_log(&env.deps, &manager, 2, None).await.unwrap();
    let targets = |p: &loyalty::store::AuditPage| p.entries.iter().map(|e| e.target.clone()).collect::<Vec<_>>();
    assert_eq!(targets(&first), ["rwd-4", "rwd-3"]);
    let second = manage::audit_log(&env.deps, &manager, 2, first.next_cursor.as_deref()).await.unwrap();
    assert_eq!(targets(&second), ["rwd-2", "rwd-1"]);
    let third = manage::audit_log(&env.deps, &manager, 2, second.next_cursor.as_deref()).await.unwrap();
    assert_eq!(targets(&third)[0], "rwd-0", "then the operator's keys of the tenant");
    let bad = manage::audit_log(&env.deps, &manager, 2, Some("zz")).await;
    assert!(bad.as_ref().is_err_and(ApiError::is_bad_request));

    // A change whose own condition fails (a reward that exists) writes no entry either:
    // they are one transaction.
    let items = env.scan().await.len();
    let taken = manage::add_reward(&env.deps, &manager, &reward("rwd-0", "R", 10), None).await;
    assert!(matches!(taken, Err(ApiError::Conflict(_))));
    assert_eq!(env.scan().await.len(), items);
    // Every change's entry is under the tenant and holds who, when and what.
    let all = audit(&env, &manager).await;
    assert!(all.iter().all(|e| e.who == "manager@spice-garden.example" && e.role == Role::Manager));
    let audit_items: Vec<_> =
        env.scan().await.into_iter().filter(|i| attr_str(i, "PK") == "TENANT#spice-garden#AUDIT").collect();
    assert_eq!(audit_items.len(), 10, "five rewards, and the five keys the operator issued for the tenant");
}

#[tokio::test]
async fn adjustments_racing_with_sales_keep_the_ledger_exact_and_the_public_history_shows_them() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let earn = |amount: i64| {
        Call::public(Route::Earn)
            .key(&t.live)
            .json(&json!({ "email": "ravi@example.com", "name": "Ravi", "amount": amount }))
    };
    assert_eq!(earn(100).send(&env.deps).await.status, 200);
    let manager = actor(&t, Role::Manager);
    let by_email = MemberRef::Email(loyalty::domain::Email::parse("ravi@example.com").unwrap());
    let ravi = manage::find_member(&env.deps, &manager, &by_email).await.unwrap().expect("found by email");

    let adjustments = (0..5).map(|n| {
        let adj = Adjustment { customer_id: ravi.id, points: 100 + n, reason: format!("Goodwill {n}") };
        let (deps, manager) = (env.deps.clone(), manager.clone());
        tokio::spawn(async move { manage::adjust_points(&deps, &manager, &adj, None).await })
    });
    let sales = (0..5).map(|n| {
        let (deps, call) = (env.deps.clone(), earn(10 + n));
        tokio::spawn(async move { call.send(&deps).await.status })
    });
    let adjustments: Vec<_> = adjustments.collect();
    for sale in sales.collect::<Vec<_>>() {
        assert_eq!(sale.await.unwrap(), 200);
    }
    for adj in adjustments {
        adj.await.unwrap().expect("an adjustment applies");
    }

    let ledger = env.ledger(&ravi.id.to_string()).await;
    let mut balance = 0;
    for entry in &ledger {
        balance += super::support::attr_n(entry, "points");
        assert_eq!(super::support::attr_n(entry, "balance_after"), balance, "each entry follows the one before");
    }
    let earned: i64 = (0..5).map(|n| (10 + n) * 100).sum::<i64>() + 10_000;
    let adjusted: i64 = (0..5).map(|n| 100 + n).sum();
    assert_eq!(balance, earned + adjusted);
    let profile = manage::member_profile(&env.deps, &manager, &ravi.id).await.unwrap();
    assert_eq!((profile.points_balance, profile.lifetime_points), (earned + adjusted, earned));

    let public = Call::public(Route::PublicTransactions).key(&t.live).query("email", "ravi@example.com");
    let reply = public.send(&env.deps).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let entries = reply.body["data"]["transactions"].as_array().expect("transactions");
    let adjusted_entries: Vec<&str> = entries
        .iter()
        .filter(|e| e["type"] == json!("adjustment"))
        .map(|e| e["description"].as_str().expect("the reason"))
        .collect();
    assert_eq!(adjusted_entries.len(), 5, "{}", reply.text);
    assert!(adjusted_entries.iter().all(|d| d.starts_with("Goodwill ")));
}
