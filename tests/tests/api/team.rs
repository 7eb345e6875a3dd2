//! The team over HTTP, on cognito-local: an owner lists, invites (the temporary password
//! answered once, where the stage shows it), changes a role and removes a person; the
//! last owner can be neither demoted nor removed; another tenant's owner sees and
//! changes none of them (the pool is shared by tenants); a manager or viewer may do
//! none of it; every change is audited and a repeated `Idempotency-Key` applies once.
//!
//! Runs when `LOYALTY_TEST_COGNITO` names a running cognito-local (scripts/check starts
//! one and sets it); without it these tests say so and pass.

use std::sync::Arc;

use loyalty::actor::Role;
use loyalty::domain::{Email, TenantSlug};
use loyalty::team::Pool;
use loyalty::Deps;
use loyalty_admin::identity;
use serde_json::{json, Value};

use super::console::{Admin, AdminCall};
use super::sessions::COGNITO_VAR;
use super::support::TestEnv;

fn cognito_endpoint() -> Option<String> {
    let endpoint = std::env::var(COGNITO_VAR).ok().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
    if endpoint.is_none() {
        eprintln!("{COGNITO_VAR} is not set: skipping the team test on cognito-local (scripts/check runs it)");
    }
    endpoint
}

const A: &str = "acme-hotels";
const B: &str = "bayview-inns";

fn emails(reply: &Value) -> Vec<String> {
    reply["people"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn an_owner_invites_changes_and_removes_people_of_their_own_tenant_only() {
    let Some(endpoint) = cognito_endpoint() else { return };
    let env = TestEnv::new().await;
    let client = identity::client_at(&endpoint);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let ids = identity::init_pool(&client, &format!("test-team-{run}")).await.unwrap();
    let pool = Pool::new(client.clone(), &ids.pool_id).local(true).showing_temporary_passwords(true);
    let deps: Arc<Deps> = Arc::new(env.fresh_deps().with_team(Arc::new(pool)));
    let tenant = TenantSlug::parse(A).unwrap();
    let owner_email = Email::parse(&format!("owner@{A}.example")).unwrap();
    identity::add_user(&client, &ids.pool_id, &tenant, &owner_email, Role::Owner).await.unwrap();
    // B's owner, in the same pool.
    let b_email = Email::parse(&format!("owner@{B}.example")).unwrap();
    identity::add_user(&client, &ids.pool_id, &TenantSlug::parse(B).unwrap(), &b_email, Role::Owner).await.unwrap();

    let listed = AdminCall::new(Admin::Team).as_(&env, A, Role::Owner).send(&deps).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(emails(&listed.body), vec![owner_email.as_str().to_owned()], "only A's people: {}", listed.text);
    assert_eq!(listed.body["people"][0]["role"], "owner");
    assert_eq!(listed.body["people"][0]["status"], "invited");
    assert!(listed.body["people"][0]["created"].is_string(), "{}", listed.text);

    // An invitation answers the temporary password once; the same key again does not.
    let manager = format!("manager@{A}.example");
    let invite = || {
        AdminCall::new(Admin::TeamInvite)
            .as_(&env, A, Role::Owner)
            .header("Idempotency-Key", "invite-1")
            .json(&json!({"email": manager.to_uppercase(), "role": "manager"}))
    };
    let invited = invite().send(&deps).await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    assert_eq!(invited.body["person"]["email"], manager.as_str());
    assert_eq!(invited.body["person"]["role"], "manager");
    assert_eq!(invited.body["person"]["status"], "invited");
    let password = invited.body["temporary_password"].as_str().unwrap().to_owned();
    let again = invite().send(&deps).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body["person"], invited.body["person"]);
    assert!(again.body.get("temporary_password").is_none(), "a replay shows no password: {}", again.text);
    // The temporary password signs in once a new one is chosen.
    let new_password = identity::generate_password();
    identity::sign_in(&client, &ids.client_id, &manager, &password, Some(&new_password)).await.unwrap();
    let listed = AdminCall::new(Admin::Team).as_(&env, A, Role::Owner).send(&deps).await;
    let person = listed.body["people"].as_array().unwrap().iter().find(|p| p["email"] == manager.as_str()).cloned();
    assert_eq!(person.unwrap()["status"], "active", "{}", listed.text);

    // An email with an account already, a bad field.
    let taken = AdminCall::new(Admin::TeamInvite)
        .as_(&env, A, Role::Owner)
        .json(&json!({"email": manager, "role": "viewer"}))
        .send(&deps)
        .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    let bad = AdminCall::new(Admin::TeamInvite)
        .as_(&env, A, Role::Owner)
        .json(&json!({"email": "not-an-email", "role": "admin"}))
        .send(&deps)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);

    // Another tenant's owner: none of A's people, on any route.
    let b_list = AdminCall::new(Admin::Team).as_(&env, B, Role::Owner).send(&deps).await;
    assert_eq!(emails(&b_list.body), vec![b_email.as_str().to_owned()], "{}", b_list.text);
    for (route, body) in [(Admin::TeamRole, Some(json!({"role": "owner"}))), (Admin::TeamRemove, None)] {
        for email in [manager.as_str(), owner_email.as_str()] {
            let mut call = AdminCall::new(route).on(email).as_(&env, B, Role::Owner);
            if let Some(body) = &body {
                call = call.json(body);
            }
            let reply = call.send(&deps).await;
            assert_eq!(reply.status, 404, "{route:?} {email} by B: {}", reply.text);
        }
    }

    // A manager or viewer of A may do none of it.
    for role in [Role::Manager, Role::Viewer] {
        for route in [Admin::Team, Admin::TeamInvite, Admin::TeamRole, Admin::TeamRemove] {
            let mut call = AdminCall::new(route).on(&manager).as_(&env, A, role);
            match route {
                Admin::TeamInvite => call = call.json(&json!({"email": format!("x@{A}.example"), "role": "owner"})),
                Admin::TeamRole => call = call.json(&json!({"role": "owner"})),
                _ => {}
            }
            let reply = call.send(&deps).await;
            assert_eq!(reply.status, 403, "{role:?} {route:?}: {}", reply.text);
        }
    }

    // The last owner can be neither demoted nor removed.
    let demote = AdminCall::new(Admin::TeamRole)
        .on(owner_email.as_str())
        .as_(&env, A, Role::Owner)
        .json(&json!({"role": "manager"}))
        .send(&deps)
        .await;
    assert_eq!(demote.status, 409, "{}", demote.text);
    assert!(demote.body["error"]["message"].as_str().unwrap().contains("last owner"), "{}", demote.text);
    let remove = AdminCall::new(Admin::TeamRemove).on(owner_email.as_str()).as_(&env, A, Role::Owner).send(&deps).await;
    assert_eq!(remove.status, 409, "{}", remove.text);

    // A role changes (the path's email percent-encoded, as the console sends it).
    let encoded = manager.replace('@', "%40");
    let viewer = AdminCall::new(Admin::TeamRole)
        .on(&encoded)
        .as_(&env, A, Role::Owner)
        .header("Idempotency-Key", "role-1")
        .json(&json!({"role": "viewer"}))
        .send(&deps)
        .await;
    assert_eq!(viewer.status, 200, "{}", viewer.text);
    assert_eq!(viewer.body["role"], "viewer");
    let token = identity::sign_in(&client, &ids.client_id, &manager, &new_password, None).await.unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let claims = base64_url(claims);
    assert_eq!(claims["cognito:groups"], json!(["viewer"]), "one group: {claims}");

    // With a second owner, the first may step down.
    let second = AdminCall::new(Admin::TeamInvite)
        .as_(&env, A, Role::Owner)
        .json(&json!({"email": format!("second@{A}.example"), "role": "owner"}))
        .send(&deps)
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let stepped = AdminCall::new(Admin::TeamRole)
        .on(owner_email.as_str())
        .as_(&env, A, Role::Owner)
        .json(&json!({"role": "manager"}))
        .send(&deps)
        .await;
    assert_eq!(stepped.status, 200, "{}", stepped.text);

    // Removed: gone from the list, and cannot sign in.
    let removed = AdminCall::new(Admin::TeamRemove)
        .on(&manager)
        .as_(&env, A, Role::Owner)
        .header("Idempotency-Key", "remove-1")
        .send(&deps)
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.body["email"], manager.as_str());
    let twice = AdminCall::new(Admin::TeamRemove)
        .on(&manager)
        .as_(&env, A, Role::Owner)
        .header("Idempotency-Key", "remove-1")
        .send(&deps)
        .await;
    assert_eq!((twice.status, &twice.body), (200, &removed.body), "{}", twice.text);
    assert!(identity::sign_in(&client, &ids.client_id, &manager, &new_password, None).await.is_err());
    let listed = AdminCall::new(Admin::Team).as_(&env, A, Role::Owner).send(&deps).await;
    assert!(!emails(&listed.body).contains(&manager), "{}", listed.text);

    // Every change is in A's audit log, none in B's.
    let audit = AdminCall::new(Admin::Audit).as_(&env, A, Role::Owner).send(&deps).await;
    let actions: Vec<&str> =
        audit.body["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["team.invite", "team.role", "team.remove"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "team.remove").count(), 1, "{actions:?}");
    let b_audit = AdminCall::new(Admin::Audit).as_(&env, B, Role::Owner).send(&deps).await;
    assert_eq!(b_audit.body["entries"], json!([]), "{}", b_audit.text);

    identity::delete_pool(&client, &ids.pool_id).await.unwrap();
}

/// A stage that does not show temporary passwords never answers one.
#[tokio::test]
async fn a_cloud_stage_never_answers_the_temporary_password() {
    let Some(endpoint) = cognito_endpoint() else { return };
    let env = TestEnv::new().await;
    let client = identity::client_at(&endpoint);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let ids = identity::init_pool(&client, &format!("test-team-cloud-{run}")).await.unwrap();
    let deps = env.fresh_deps().with_team(Arc::new(Pool::new(client.clone(), &ids.pool_id).local(true)));
    let invited = AdminCall::new(Admin::TeamInvite)
        .as_(&env, A, Role::Owner)
        .json(&json!({"email": format!("viewer@{A}.example"), "role": "viewer"}))
        .send(&deps)
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    assert!(invited.body.get("temporary_password").is_none(), "{}", invited.text);
    identity::delete_pool(&client, &ids.pool_id).await.unwrap();
}

/// Without a user pool the team's routes answer 503 (after the session and the role).
#[tokio::test]
async fn without_a_user_pool_the_team_is_unavailable() {
    let env = TestEnv::new().await;
    let reply = AdminCall::new(Admin::Team).as_(&env, A, Role::Owner).send(&env.deps).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert!(reply.body["error"].is_object(), "{}", reply.text);
    let viewer = AdminCall::new(Admin::Team).as_(&env, A, Role::Viewer).send(&env.deps).await;
    assert_eq!(viewer.status, 403, "{}", viewer.text);
}

fn base64_url(part: &str) -> Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
