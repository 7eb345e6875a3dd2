//! Campaigns: a coupon for each mobile of a list, issued in runs bounded by time. A run
//! cut short, run again, or two runs at once never give a member two coupons, and the
//! counts stay exact.

use std::collections::BTreeMap;

use loyalty::actor::Role;
use serde_json::{json, Value};

use super::console::{token, Admin, AdminCall};
use super::support::{Call, Item, Tenant, TestEnv};

/// Seeds `n` members (mobiles `95000xxxxx`), sixteen bills at a time.
async fn seed_members(env: &TestEnv, t: &Tenant, n: usize) -> Vec<String> {
    let mobiles: Vec<String> = (0..n).map(|i| format!("95000{i:05}")).collect();
    for chunk in mobiles.chunks(16) {
        let mut tasks = tokio::task::JoinSet::new();
        for m in chunk {
            let (deps, slug, key, m) = (env.deps.clone(), t.slug.to_string(), t.live.clone(), m.clone());
            tasks.spawn(async move {
                let body = format!(r#"{{"mobile": "{m}", "name": "Member", "amount": 100}}"#);
                Call::bill(&slug).key(&key).body(body).send(&deps).await.status
            });
        }
        while let Some(status) = tasks.join_next().await {
            assert_eq!(status.unwrap(), 200, "seeding a member");
        }
    }
    mobiles
}

/// The campaign codes a campaign issued: code to coupon id and owner.
fn campaign_codes(items: &[Item], tenant: &str, name: &str) -> BTreeMap<String, (String, String)> {
    let s = |i: &Item, k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    items
        .iter()
        .filter(|i| s(i, "SK") == "CODE" && s(i, "PK").starts_with(&format!("TENANT#{tenant}#")))
        .filter(|i| s(i, "source") == "campaign" && s(i, "reward_name") == name)
        .map(|i| (s(i, "code"), (s(i, "coupon_id"), s(i, "customer_id"))))
        .collect()
}

async fn create(env: &TestEnv, t: &Tenant, role: Role, name: &str, mobiles: &str) -> (u16, Value) {
    let reply = AdminCall::new(Admin::CampaignCreate)
        .as_(env, t.slug.as_str(), role)
        .json(&json!({"name": name, "value_minor": 25000, "expires": "2027-12-31", "mobiles": mobiles}))
        .send(&env.deps)
        .await;
    (reply.status, reply.body)
}

/// Runs a campaign with a budget of `max_ms` until it is done; the number of runs and
/// the last progress.
async fn run_to_done(deps: &loyalty::Deps, owner: &str, id: &str, max_ms: u64) -> (usize, Value) {
    for runs in 1..=500 {
        let reply =
            AdminCall::new(Admin::CampaignRun).on(id).token(owner).json(&json!({"max_ms": max_ms})).send(deps).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        if reply.body["status"] == "done" {
            return (runs, reply.body);
        }
    }
    panic!("campaign {id} never finished");
}

#[tokio::test]
async fn two_thousand_mobiles_in_short_runs_give_each_member_one_coupon_and_exact_counts() {
    let env = TestEnv::new().await;
    let t = env.tenant("campaign-hotels").await;
    let members = seed_members(&env, &t, 500).await;
    let unknown: Vec<String> = (0..1500).map(|i| format!("96000{i:05}")).collect();
    // A header, the list, a duplicate in another form and a blank line.
    let list = format!("mobile,name\n{}\n{}\n+91 {}\n\n", members.join("\n"), unknown.join(",x\n"), members[0]);
    let (status, created) = create(&env, &t, Role::Owner, "Monsoon thanks", &list).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["total"], 2000, "duplicates folded");
    assert_eq!(created["status"], "ready");
    let id = created["campaign_id"].as_str().unwrap().to_owned();
    let owner = token(&env, t.slug.as_str(), Role::Owner);

    let (runs, done) = run_to_done(&env.deps, &owner, &id, 150).await;
    assert!(runs > 1, "a small budget takes several runs: {runs}");
    assert_eq!(done["issued"], 500, "{done}");
    assert_eq!(done["skipped_unknown"], 1500, "{done}");
    assert_eq!(done["skipped_already"], 0, "{done}");
    assert_eq!(done["failed"], 0, "{done}");
    assert_eq!(done["done"], 2000, "{done}");
    let codes = campaign_codes(&env.scan().await, t.slug.as_str(), "Monsoon thanks");
    assert_eq!(codes.len(), 500, "one coupon for each member");
    let owners: std::collections::BTreeSet<_> = codes.values().map(|(_, owner)| owner.clone()).collect();
    assert_eq!(owners.len(), 500, "no member has two");

    // Running it again issues nothing and counts nothing twice.
    let (_, again) = run_to_done(&env.deps, &owner, &id, 150).await;
    assert_eq!(again, done, "a finished campaign stays as it was");
    assert_eq!(campaign_codes(&env.scan().await, t.slug.as_str(), "Monsoon thanks"), codes, "the same coupons");

    // The detail lists each unknown mobile with its reason, in list order.
    let detail = AdminCall::new(Admin::Campaign).on(&id).token(&owner).send(&env.deps).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let skipped = detail.body["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1500);
    assert_eq!(skipped[0], json!({"mobile": unknown[0], "reason": "unknown"}));
    assert!(skipped.iter().all(|s| s["reason"] == "unknown"));

    // The member sees the coupon among their codes.
    let profile = AdminCall::new(Admin::Members).token(&owner).query("q", &members[7]).send(&env.deps).await;
    let customer_id = profile.body["members"][0]["customer_id"].as_str().unwrap().to_owned();
    let member = AdminCall::new(Admin::Member).on(&customer_id).token(&owner).send(&env.deps).await;
    let campaign_codes: Vec<&Value> =
        member.body["codes"].as_array().unwrap().iter().filter(|c| c["source"] == "campaign").collect();
    assert_eq!(campaign_codes.len(), 1, "{}", member.text);
    assert_eq!(campaign_codes[0]["value_minor"], 25000);

    // The list shows it, newest first.
    let list = AdminCall::new(Admin::Campaigns).token(&owner).send(&env.deps).await;
    assert_eq!(list.body["campaigns"][0]["campaign_id"], id.as_str(), "{}", list.text);
}

#[tokio::test]
async fn two_runs_at_once_issue_each_coupon_once_and_count_it_once() {
    let env = TestEnv::new().await;
    let t = env.tenant("campaign-twice").await;
    let members = seed_members(&env, &t, 300).await;
    let list =
        format!("{}\n{}", members.join("\n"), (0..100).map(|i| format!("97000{i:05}")).collect::<Vec<_>>().join("\n"));
    let (status, created) = create(&env, &t, Role::Manager, "Both at once", &list).await;
    assert_eq!(status, 201, "{created}");
    let id = created["campaign_id"].as_str().unwrap().to_owned();
    let owner = token(&env, t.slug.as_str(), Role::Owner);
    let (a, b) = tokio::join!(run_to_done(&env.deps, &owner, &id, 100), run_to_done(&env.deps, &owner, &id, 100));
    for done in [&a.1, &b.1] {
        assert_eq!(done["issued"], 300, "{done}");
        assert_eq!(done["skipped_unknown"], 100, "{done}");
        assert_eq!(done["skipped_already"], 0, "{done}");
    }
    let codes = campaign_codes(&env.scan().await, t.slug.as_str(), "Both at once");
    assert_eq!(codes.len(), 300, "one coupon each");

    // Another campaign to the same members is another coupon each.
    let (_, second) = create(&env, &t, Role::Owner, "Second wave", &members[..10].join("\n")).await;
    let (_, done) = run_to_done(&env.deps, &owner, second["campaign_id"].as_str().unwrap(), 20_000).await;
    assert_eq!(done["issued"], 10, "{done}");
}

#[tokio::test]
async fn a_bad_list_is_refused_with_its_lines_and_roles_are_kept() {
    let env = TestEnv::new().await;
    let t = env.tenant("campaign-rules").await;
    let (status, body) = create(&env, &t, Role::Owner, "Typos", "9876543210\n12345\n9876543211\nhello").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "mobiles", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("lines 2, 4"), "{message}");

    let too_many: Vec<String> = (0..50_001).map(|i| format!("98{i:08}")).collect();
    let (status, body) = create(&env, &t, Role::Owner, "Too many", &too_many.join("\n")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("50000"), "{body}");

    let (status, _) = create(&env, &t, Role::Owner, "Empty", "\n\n").await;
    assert_eq!(status, 400);
    let (status, _) = create(&env, &t, Role::Viewer, "Not mine", "9876543210").await;
    assert_eq!(status, 403);

    // The largest list is stored in parts and created once under its key.
    let largest: Vec<String> = (0..50_000).map(|i| format!("+4477{i:08}")).collect();
    let call = AdminCall::new(Admin::CampaignCreate)
        .as_(&env, t.slug.as_str(), Role::Owner)
        .header("Idempotency-Key", "campaign-1")
        .json(&json!({"name": "Everyone", "percent": 15, "expires": "2027-12-31", "mobiles": largest.join("\n")}));
    let first = call.send(&env.deps).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["total"], 50_000);
    let again = call.send(&env.deps).await;
    assert_eq!(again.body["campaign_id"], first.body["campaign_id"], "a double click creates one campaign");
    let list = AdminCall::new(Admin::Campaigns).as_(&env, t.slug.as_str(), Role::Viewer).send(&env.deps).await;
    assert_eq!(list.body["campaigns"].as_array().unwrap().len(), 1, "{}", list.text);
    let id = first.body["campaign_id"].as_str().unwrap();
    let run = AdminCall::new(Admin::CampaignRun).on(id).as_(&env, t.slug.as_str(), Role::Viewer).send(&env.deps).await;
    assert_eq!(run.status, 403, "a viewer runs nothing");
}

#[test]
fn a_members_code_is_the_same_for_every_run_and_differs_by_campaign() {
    let member = loyalty::domain::CustomerId::parse("0b0d3c2e-5a63-4a8e-9f25-6d3c7c1f1a11").unwrap();
    let a = loyalty::manage::campaign_code("c-1", &member);
    assert_eq!(a, loyalty::manage::campaign_code("c-1", &member));
    assert_ne!(a, loyalty::manage::campaign_code("c-2", &member));
    assert!(a.as_str().starts_with("CAMP-") && a.as_str().len() == 15, "{a}");
}

#[tokio::test]
async fn a_tier_campaign_gives_each_member_of_the_tier_one_coupon_and_no_one_else() {
    let env = TestEnv::new().await;
    let t = env.tenant("tier-hotels").await;
    // Five Silver members (10,000 points each) and three Gold ones (300,000 points).
    seed_members(&env, &t, 5).await;
    let mut gold = Vec::new();
    for i in 0..3 {
        let mobile = format!("97000{i:05}");
        let reply = env.bill(&t, json!({ "mobile": mobile, "name": "Gold member", "amount": 3000 })).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        gold.push(reply.body["customer"]["customer_id"].as_str().unwrap_or_default().to_owned());
    }
    let owner = token(&env, t.slug.as_str(), Role::Owner);
    let ask = |body: Value| {
        let call = AdminCall::new(Admin::CampaignCreate).token(&owner).json(&body);
        let deps = &env.deps;
        async move { call.send(deps).await }
    };
    let base = json!({"name": "Gold thanks", "percent": 10, "expires": "2027-12-31"});
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };

    // One audience, a tier the program has, with members.
    let both = ask(with(json!({"tier": "Gold", "mobiles": "9500000000"}))).await;
    assert_eq!((both.status, both.body["error"]["field"].as_str()), (400, Some("tier")), "{}", both.text);
    let unknown = ask(with(json!({"tier": "Diamond"}))).await;
    assert_eq!((unknown.status, unknown.body["error"]["field"].as_str()), (400, Some("tier")), "{}", unknown.text);
    assert!(unknown.text.contains("Silver, Gold, Platinum"), "{}", unknown.text);
    let empty = ask(with(json!({"tier": "Platinum"}))).await;
    assert_eq!((empty.status, empty.body["error"]["field"].as_str()), (400, Some("tier")), "{}", empty.text);

    // The tier's name in any case; its members now, each once.
    let created = ask(with(json!({"tier": "gold"}))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!((created.body["audience"].as_str(), created.body["tier"].as_str()), (Some("tier"), Some("Gold")));
    assert_eq!(created.body["total"], 3, "{}", created.text);
    let id = created.body["campaign_id"].as_str().unwrap().to_owned();
    let (_, done) = run_to_done(&env.deps, &owner, &id, 20_000).await;
    assert_eq!((done["issued"].as_u64(), done["skipped_unknown"].as_u64()), (Some(3), Some(0)), "{done}");
    let again = run_to_done(&env.deps, &owner, &id, 20_000).await.1;
    assert_eq!(again["issued"], 3, "a done campaign issues nothing more: {again}");
    let codes = campaign_codes(&env.scan().await, t.slug.as_str(), "Gold thanks");
    let mut owners: Vec<String> = codes.values().map(|(_, member)| member.clone()).collect();
    owners.sort();
    gold.sort();
    assert_eq!(owners, gold, "one coupon for each Gold member, none for Silver ones");
}
