//! Members' data from the console: a member's name, mobile and email edited, the lookups
//! moving with the profile in one transaction.

use serde_json::json;

use super::console::{token, Admin, AdminCall};
use super::public::balance;
use super::support::{attr_str, Item, TestEnv};
use loyalty::actor::Role;

fn lookups(items: &[Item], customer_id: &str) -> Vec<String> {
    let mut keys: Vec<String> = items
        .iter()
        .filter(|i| attr_str(i, "SK") == "LOOKUP" && attr_str(i, "customer_id") == customer_id)
        .map(|i| attr_str(i, "PK").to_owned())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn an_edit_moves_the_lookups_and_both_dialects_find_the_member_by_the_new_ones_only() {
    let env = TestEnv::new().await;
    let t = env.tenant("acme-hotels").await;
    let enrol = json!({"mobile": "9876500001", "name": "Asha", "email": "asha@old.example", "amount": 2500});
    let bill = env.bill(&t, enrol).await;
    assert_eq!(bill.status, 200, "{}", bill.text);
    let id = bill.str("customer_id").to_owned();
    let owner = token(&env, t.slug(), Role::Owner);

    let edit = AdminCall::new(Admin::MemberEdit)
        .on(&id)
        .token(&owner)
        .header("Idempotency-Key", "edit-1")
        .json(&json!({"name": "Asha Rao", "mobile": "+91 98765 00002", "email": "Asha@New.example"}))
        .send(&env.deps)
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    assert_eq!(
        edit.body,
        json!({"customer_id": id, "name": "Asha Rao", "mobile": "9876500002", "email": "asha@new.example"})
    );
    // A second click answers the first result and writes nothing more.
    let again = AdminCall::new(Admin::MemberEdit)
        .on(&id)
        .token(&owner)
        .header("Idempotency-Key", "edit-1")
        .json(&json!({"name": "Asha Rao", "mobile": "+91 98765 00002", "email": "Asha@New.example"}))
        .send(&env.deps)
        .await;
    assert_eq!((again.status, &again.body), (200, &edit.body));

    // The Partner dialect by mobile, the Public dialect by email: the new ones only.
    let found = env.lookup(&t, "9876500002").await;
    assert_eq!(found.body["found"], json!(true), "{}", found.text);
    assert_eq!(found.body["customer"]["customer_id"], id.as_str(), "{}", found.text);
    assert_eq!(found.body["customer"]["name"], "Asha Rao", "{}", found.text);
    let old = env.lookup(&t, "9876500001").await;
    assert_eq!(old.body["found"], json!(false), "{}", old.text);
    balance(&env, &t.live, "asha@new.example")
        .await
        .assert_success(&json!({"pointsBalance": found.int("points_balance")}));
    balance(&env, &t.live, "asha@old.example").await.assert_public_error(404, "not_found", "Customer not found");

    // Exactly the two new lookups exist: the old ones went in the same transaction.
    let items = env.scan().await;
    let slug = t.slug();
    assert_eq!(
        lookups(&items, &id),
        vec![format!("TENANT#{slug}#EMAIL#asha@new.example"), format!("TENANT#{slug}#MOBILE#9876500002")]
    );
    // Audited once, with the details before and after.
    let audit = AdminCall::new(Admin::Audit).token(&owner).send(&env.deps).await;
    let edits: Vec<_> =
        audit.body["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "member.edit").collect();
    assert_eq!(edits.len(), 1, "{}", audit.text);
    assert_eq!(edits[0]["before"]["mobile"], "9876500001");
    assert_eq!(edits[0]["after"]["email"], "asha@new.example");

    // A bill to the old mobile now enrols someone new; to the new one, Asha.
    let newcomer = env.bill(&t, json!({"mobile": "9876500001", "name": "Someone", "amount": 10})).await;
    assert_ne!(newcomer.str("customer_id"), id, "{}", newcomer.text);
    let asha = env.bill(&t, json!({"mobile": "9876500002", "amount": 10})).await;
    assert_eq!(asha.str("customer_id"), id, "{}", asha.text);
}

#[tokio::test]
async fn a_mobile_or_email_of_another_member_is_refused_naming_the_field_and_nothing_moves() {
    let env = TestEnv::new().await;
    let t = env.tenant("acme-hotels").await;
    let asha =
        env.bill(&t, json!({"mobile": "9876500001", "name": "Asha", "email": "asha@x.example", "amount": 10})).await;
    let ravi =
        env.bill(&t, json!({"mobile": "9876500002", "name": "Ravi", "email": "ravi@x.example", "amount": 10})).await;
    let (asha, ravi) = (asha.str("customer_id").to_owned(), ravi.str("customer_id").to_owned());
    let owner = token(&env, t.slug(), Role::Owner);
    let before = env.scan().await;
    let edit = |body: serde_json::Value| AdminCall::new(Admin::MemberEdit).on(&asha).token(&owner).json(&body);

    let taken = edit(json!({"name": "Asha R", "mobile": "9876500002"})).send(&env.deps).await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert!(taken.body["error"]["message"].as_str().unwrap().starts_with("mobile"), "{}", taken.text);
    let taken = edit(json!({"mobile": "9876500003", "email": "RAVI@x.example"})).send(&env.deps).await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert!(taken.body["error"]["message"].as_str().unwrap().starts_with("email"), "{}", taken.text);
    // Neither the profile nor a lookup moved (the new mobile of the second try too).
    assert_eq!(lookups(&env.scan().await, &asha), lookups(&before, &asha));
    assert_eq!(lookups(&env.scan().await, &ravi), lookups(&before, &ravi));
    assert_eq!(env.lookup(&t, "9876500003").await.body["found"], json!(false));

    // Bad fields are named; a viewer may not edit; another tenant's member is not there.
    let bad = edit(json!({"mobile": "12345"})).send(&env.deps).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (400, Some("mobile")), "{}", bad.text);
    let bad = edit(json!({"email": "nope"})).send(&env.deps).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (400, Some("email")), "{}", bad.text);
    let bad = edit(json!({})).send(&env.deps).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    let viewer = AdminCall::new(Admin::MemberEdit)
        .on(&asha)
        .as_(&env, t.slug(), Role::Viewer)
        .json(&json!({"name": "X"}))
        .send(&env.deps)
        .await;
    assert_eq!(viewer.status, 403, "{}", viewer.text);
    // Its own mobile again, in another form, is no conflict.
    let same = edit(json!({"mobile": "+919876500001", "name": "Asha"})).send(&env.deps).await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(lookups(&env.scan().await, &asha), lookups(&before, &asha));
}

/// Every item of the table as text, for looking for personal data in any of them.
fn texts(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| format!("{:?}", i.iter().collect::<std::collections::BTreeMap<_, _>>())).collect()
}

#[tokio::test]
async fn an_erasure_removes_the_personal_data_and_keeps_the_books() {
    let env = TestEnv::new().await;
    let t = env.tenant("acme-hotels").await;
    let enrol = json!({"mobile": "9876500001", "name": "Asha Mehta", "email": "asha.mehta@mail.example",
        "amount": 2500, "external_ref": "INV-1"});
    let bill = env.bill(&t, enrol).await;
    assert_eq!(bill.status, 200, "{}", bill.text);
    let id = bill.str("customer_id").to_owned();
    let owner = token(&env, t.slug(), Role::Owner);
    let adjust = AdminCall::new(Admin::MemberAdjust)
        .on(&id)
        .token(&owner)
        .json(&json!({"points": -100, "reason": "Asha Mehta asked for a correction"}))
        .send(&env.deps)
        .await;
    assert_eq!(adjust.status, 201, "{}", adjust.text);
    let balance = env.balance(&t, "9876500001").await;

    // Only the owner may erase.
    for role in [Role::Manager, Role::Viewer] {
        let refused = AdminCall::new(Admin::MemberErase).on(&id).as_(&env, t.slug(), role).send(&env.deps).await;
        assert_eq!(refused.status, 403, "{role:?}: {}", refused.text);
    }
    let erased = AdminCall::new(Admin::MemberErase)
        .on(&id)
        .token(&owner)
        .header("Idempotency-Key", "erase-1")
        .send(&env.deps)
        .await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    assert_eq!(erased.body["points_balance"], json!(balance));
    assert_eq!(erased.body["sales_scrubbed"], json!(1), "{}", erased.text);
    assert!(erased.int("ledger_entries_scrubbed") >= 1, "{}", erased.text);

    // Nobody finds the member by the mobile or the email any more.
    assert_eq!(env.lookup(&t, "9876500001").await.body["found"], json!(false));
    balance_of(&env, &t, "asha.mehta@mail.example").await;
    // No item holds the name, mobile or email: not the profile, the lookups, the
    // ledger, the sale's kept answer or the erasure's audit entry.
    let items = env.scan().await;
    for text in texts(&items) {
        for personal in ["Asha", "9876500001", "asha.mehta"] {
            assert!(!text.contains(personal), "{personal} is still in {text}");
        }
    }
    // The books: the profile keeps its balance, which is the ledger's sum; each entry
    // keeps its type, points and date.
    let profile = AdminCall::new(Admin::Member).on(&id).token(&owner).send(&env.deps).await;
    assert_eq!(profile.status, 200, "{}", profile.text);
    assert_eq!((profile.body["name"].as_str(), profile.body["mobile"].as_str()), (Some(""), None));
    assert_eq!(profile.body["points_balance"], json!(balance));
    let ledger = env.ledger(&id).await;
    let sum: i64 = ledger.iter().map(|e| super::support::attr_n(e, "points")).sum();
    assert_eq!(sum, balance, "the ledger adds up to the balance");
    assert!(ledger.iter().all(|e| !attr_str(e, "type").is_empty() && !attr_str(e, "created_at").is_empty()));
    // The erasure is audited without what it erased.
    let audit = AdminCall::new(Admin::Audit).token(&owner).send(&env.deps).await;
    let entry = audit.body["entries"].as_array().unwrap().iter().find(|e| e["action"] == "member.erase").cloned();
    let entry = entry.expect("an audit entry of the erasure");
    assert_eq!(entry["target"], json!(id));
    assert_eq!(entry["before"], json!(null));

    // A second click answers the first result; another erasure finds nothing more.
    let again = AdminCall::new(Admin::MemberErase)
        .on(&id)
        .token(&owner)
        .header("Idempotency-Key", "erase-1")
        .send(&env.deps)
        .await;
    assert_eq!((again.status, &again.body), (200, &erased.body));
    let more = AdminCall::new(Admin::MemberErase).on(&id).token(&owner).send(&env.deps).await;
    assert_eq!(
        (more.status, more.body["ledger_entries_scrubbed"].as_i64(), more.body["sales_scrubbed"].as_i64()),
        (200, Some(0), Some(0))
    );

    // A later bill with the erased mobile enrols someone new, with none of the points.
    let newcomer = env.bill(&t, json!({"mobile": "9876500001", "name": "New owner of the number", "amount": 10})).await;
    assert_eq!(newcomer.status, 200, "{}", newcomer.text);
    assert_ne!(newcomer.str("customer_id"), id);
    assert_eq!(newcomer.int("new_balance"), 1000, "{}", newcomer.text);
}

async fn balance_of(env: &TestEnv, t: &super::support::Tenant, email: &str) {
    balance(env, &t.live, email).await.assert_public_error(404, "not_found", "Customer not found");
}

#[tokio::test]
async fn an_edit_and_an_erasure_make_no_webhook_event() {
    use loyalty::actor::Actor;
    use loyalty::domain::TenantSlug;
    use loyalty::webhooks::endpoints::{self, NewEndpoint};
    use loyalty::webhooks::guard::Policy;

    let env = TestEnv::with_stream().await;
    let t = env.tenant("acme-hotels").await;
    let spec = NewEndpoint { url: "https://crm.example.com/hooks".into(), event_types: Vec::new() };
    let slug = TenantSlug::parse(t.slug()).unwrap();
    endpoints::add_endpoint(&env.deps, &Actor::operator(slug), &Policy::default(), &spec, None).await.unwrap();
    let bill = env.bill(&t, json!({"mobile": "9876500001", "name": "Asha", "amount": 10})).await;
    let id = bill.str("customer_id").to_owned();
    let checkpoint = super::stream::checkpoint_file();
    let enrolled = super::stream::follower(&env, &checkpoint).pass().await.unwrap();
    assert!(enrolled.events >= 1, "{enrolled:?}");

    let owner = token(&env, t.slug(), Role::Owner);
    let edit = AdminCall::new(Admin::MemberEdit).on(&id).token(&owner).json(&json!({"name": "Asha Rao"}));
    assert_eq!(edit.send(&env.deps).await.status, 200);
    assert_eq!(AdminCall::new(Admin::MemberErase).on(&id).token(&owner).send(&env.deps).await.status, 200);
    let after = super::stream::follower(&env, &checkpoint).pass().await.unwrap();
    assert_eq!((after.events, after.deliveries), (0, 0), "{after:?}");
    let _ = std::fs::remove_file(&checkpoint);
}
