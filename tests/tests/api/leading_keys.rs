//! Least privilege, checked against what the functions really send. DynamoDB Local does
//! not enforce IAM, so every request a function sends while it runs its flows is
//! recorded (the partition key of every item it names, those inside `TransactWriteItems`
//! and `TransactGetItems` too, and the key a `Query` reads), and each one must be
//! allowed by one of that function's statements in `infra/template.yaml`: the action,
//! the table or the index, and the `dynamodb:LeadingKeys` patterns of its condition.
//! A function that touches a key its policy does not allow fails here, not in the cloud.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use loyalty::store::Store;
use loyalty::Deps;
use serde_json::{json, Value};

use super::support::{Call, Route, TestEnv};

/// One item a request names: the IAM action that authorises it (a transaction's items
/// are authorised one by one, by their own action), its partition key, and whether it
/// is read through the index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Access {
    action: String,
    partition: String,
    index: bool,
}

/// Records every item every request through its client names.
#[derive(Debug, Clone, Default)]
struct KeyRecorder(Arc<Mutex<Vec<Access>>>);

impl KeyRecorder {
    fn take(&self) -> Vec<Access> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The value of `S` in a DynamoDB JSON attribute value.
fn s(value: &Value) -> String {
    value.get("S").and_then(Value::as_str).unwrap_or("<not a string key>").to_owned()
}

/// The partition key a `Query` reads: the value its key condition binds to `PK` (or to
/// the index's partition key), through the request's attribute names and values.
fn queried_partition(body: &Value) -> String {
    let condition = body["KeyConditionExpression"].as_str().unwrap_or_default();
    let names = &body["ExpressionAttributeNames"];
    let values = &body["ExpressionAttributeValues"];
    let partition = match body["IndexName"].as_str() {
        Some("GSI2") => "GSI2PK",
        Some("GSI3") => "GSI3PK",
        Some(_) => "GSI1PK",
        None => "PK",
    };
    for clause in condition.split(" AND ").chain(condition.split(" and ")) {
        let Some((name, value)) = clause.split_once('=') else { continue };
        let name = name.trim().trim_start_matches('(');
        let name = names.get(name).and_then(Value::as_str).unwrap_or(name);
        if name == partition {
            return s(&values[value.trim().trim_end_matches(')')]);
        }
    }
    format!("<no partition key in {condition:?}>")
}

/// Every item a request names, from its JSON body.
fn accesses(operation: &str, body: &Value) -> Vec<Access> {
    let one = |action: &str, key: &Value| Access { action: action.into(), partition: s(&key["PK"]), index: false };
    match operation {
        "GetItem" | "UpdateItem" | "DeleteItem" => vec![one(operation, &body["Key"])],
        "PutItem" => vec![one(operation, &body["Item"])],
        "Query" => vec![Access {
            action: "Query".into(),
            partition: queried_partition(body),
            index: body["IndexName"].is_string(),
        }],
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| match item.as_object().and_then(|o| o.iter().next()) {
                Some((kind, op)) if kind == "Put" => one("PutItem", &op["Item"]),
                Some((kind, op)) if kind == "Update" => one("UpdateItem", &op["Key"]),
                Some((kind, op)) if kind == "Delete" => one("DeleteItem", &op["Key"]),
                Some((kind, op)) if kind == "ConditionCheck" => one("ConditionCheckItem", &op["Key"]),
                Some((kind, op)) if kind == "Get" => one("GetItem", &op["Key"]),
                _ => Access { action: format!("{operation} item {item}"), partition: String::new(), index: false },
            })
            .collect(),
        "BatchGetItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.values())
            .flat_map(|t| t["Keys"].as_array().cloned().unwrap_or_default())
            .map(|key| one("BatchGetItem", &key))
            .collect(),
        // Anything else (a scan, a batch write) must be granted without a condition.
        other => vec![Access { action: other.into(), partition: String::new(), index: false }],
    }
}

impl Intercept for KeyRecorder {
    fn name(&self) -> &'static str {
        "KeyRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let body: Value = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend(accesses(&operation, &body));
        Ok(())
    }
}

/// One `Allow` statement of a function's policy, as far as DynamoDB goes.
#[derive(Debug, Default)]
struct Statement {
    actions: BTreeSet<String>,
    table: bool,
    index: bool,
    like: Vec<String>,
    not_like: Vec<String>,
}

/// `StringLike`: `*` any run of characters, `?` one.
fn like(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Statement {
    fn allows(&self, access: &Access) -> bool {
        let resource = if access.index { self.index } else { self.table };
        resource
            && (self.actions.contains(&access.action) || self.actions.contains("*"))
            && (self.like.is_empty() || self.like.iter().any(|p| like(p, &access.partition)))
            && !self.not_like.iter().any(|p| like(p, &access.partition))
    }
}

/// `["A#*", "B"]` as patterns.
fn patterns(line: &str) -> Vec<String> {
    let list = line.split_once('[').and_then(|(_, rest)| rest.split_once(']')).map(|(l, _)| l).unwrap_or_default();
    list.split(',').map(|p| p.trim().trim_matches('"').to_owned()).filter(|p| !p.is_empty()).collect()
}

/// The DynamoDB statements of the function whose `Binary:` is `binary`.
fn policy(template: &str, binary: &str) -> Vec<Statement> {
    let resource = template
        .split("Type: AWS::Serverless::Function")
        .skip(1)
        .find(|r| r.lines().any(|l| l.trim() == format!("Binary: {binary}")))
        .unwrap_or_else(|| panic!("no function with Binary: {binary} in infra/template.yaml"));
    // The resource ends at the next top-level resource name.
    let body: Vec<&str> = resource
        .lines()
        .skip(1)
        .take_while(|l| !(l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':')))
        .collect();
    let policies = body.iter().skip_while(|l| l.trim() != "Policies:");
    let mut statements = Vec::new();
    let mut section = "";
    let mut not = false;
    for line in policies {
        let trimmed = line.trim();
        if let Some(effect) = trimmed.strip_prefix("- Effect:") {
            statements.push((effect.trim() == "Allow", Statement::default()));
            section = "";
            not = false;
            continue;
        }
        let Some((_, statement)) = statements.last_mut() else { continue };
        for key in ["Action:", "Resource:", "NotResource:", "Condition:"] {
            if let Some(rest) = trimmed.strip_prefix(key) {
                section = key;
                if !rest.trim().is_empty() {
                    read(statement, section, rest.trim(), not);
                }
            }
        }
        if trimmed.starts_with("ForAllValues:StringNotLike") {
            not = true;
        } else if trimmed.starts_with("ForAllValues:StringLike") {
            not = false;
        } else if !["Action:", "Resource:", "NotResource:", "Condition:"].iter().any(|k| trimmed.starts_with(k)) {
            read(statement, section, trimmed.trim_start_matches("- "), not);
        }
    }
    statements.into_iter().filter(|(allow, _)| *allow).map(|(_, s)| s).collect()
}

fn read(statement: &mut Statement, section: &str, text: &str, not: bool) {
    match section {
        "Action:" => {
            if let Some(action) = text.trim_matches('"').strip_prefix("dynamodb:") {
                statement.actions.insert(action.to_owned());
            }
        }
        "Resource:" if text.contains("Table.Arn") => {
            if text.contains("/index/") {
                statement.index = true;
            } else {
                statement.table = true;
            }
        }
        "Condition:" if text.starts_with("dynamodb:LeadingKeys:") => {
            if not {
                statement.not_like.extend(patterns(text));
            } else {
                statement.like.extend(patterns(text));
            }
        }
        _ => {}
    }
}

/// What `binary`'s policy does not allow of `accesses`.
fn refused(template: &str, binary: &str, accesses: &[Access]) -> Vec<Access> {
    let statements = policy(template, binary);
    assert!(!statements.is_empty(), "{binary}: no DynamoDB statements read from the template");
    let mut refused: Vec<Access> =
        accesses.iter().filter(|a| !statements.iter().any(|s| s.allows(a))).cloned().collect();
    refused.sort();
    refused.dedup();
    refused
}

fn template() -> String {
    std::fs::read_to_string(super::layout::repo().join("infra/template.yaml")).expect("read infra/template.yaml")
}

#[test]
fn the_checker_reads_conditions_as_iam_does() {
    let template = template();
    let write = |action: &str, pk: &str| Access { action: action.into(), partition: pk.into(), index: false };
    // The reward functions may write the tenant item and the audit log, not a customer.
    assert!(refused(&template, "admin-reward-add", &[write("PutItem", "TENANT#a")]).is_empty());
    assert!(refused(&template, "admin-reward-add", &[write("PutItem", "TENANT#a#AUDIT")]).is_empty());
    assert_eq!(refused(&template, "admin-reward-add", &[write("PutItem", "TENANT#a#CUST#1")]).len(), 1);
    // A till may write tenant items and the key's last-used day, never a key record.
    assert!(refused(&template, "pos-bill", &[write("UpdateItem", "TENANT#a#CUST#1")]).is_empty());
    assert!(refused(&template, "pos-bill", &[write("UpdateItem", "KEYID#key_1")]).is_empty());
    assert_eq!(refused(&template, "pos-bill", &[write("PutItem", "APIKEY#x")]).len(), 1);
    assert_eq!(refused(&template, "pos-bill", &[write("Scan", "")]).len(), 1);
    assert!(like("TENANT#*#AUDIT", "TENANT#a-b#AUDIT") && !like("TENANT#*#AUDIT", "TENANT#a#AUDITX"));
}

/// A `Deps` on the test's table whose client records every item it names.
fn recording(env: &TestEnv) -> (Deps, KeyRecorder) {
    let recorder = KeyRecorder::default();
    let client =
        aws_sdk_dynamodb::Client::from_conf(env.client.config().to_builder().interceptor(recorder.clone()).build());
    let deps =
        Deps::new(Store::new(client, env.table.clone()), env.clock.clone()).with_sessions(super::console::sessions());
    (deps, recorder)
}

const MOBILE: &str = "9876543210";
const EMAIL: &str = "ravi.kumar@example.com";

/// Every dialect route's flows (reads, enrolments, sales with and without a reference or
/// an `Idempotency-Key`, coupons, one-time codes and points spent, rewards, refunds),
/// each on a cold function instance that records its requests.
#[tokio::test]
async fn every_dialect_function_touches_only_the_keys_its_policy_allows() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "500").await;
    env.add_demo_rewards(&t).await;
    env.issue_coupon(&t, MOBILE, "50", super::support::date(2026, 12, 31), Some("COUP-LK1")).await;
    let template = template();
    let mut seen = BTreeSet::new();
    let mut refusals = Vec::new();

    let flows: Vec<(&str, Vec<(Call, u16)>)> = vec![
        (
            "pos-customer",
            vec![
                (Call::customer(t.slug()).key(&t.live).query("mobile", MOBILE), 200),
                (Call::customer(t.slug()).key(&t.live).query("mobile", "+447911123456").query("create", "true"), 200),
            ],
        ),
        (
            "pos-bill",
            vec![
                (
                    Call::bill(t.slug())
                        .key(&t.live)
                        .json(&json!({ "mobile": MOBILE, "amount": 100, "external_ref": "LK-1" })),
                    200,
                ),
                (
                    Call::bill(t.slug())
                        .key(&t.live)
                        .json(&json!({ "mobile": MOBILE, "amount": 100, "external_ref": "LK-1" })),
                    200,
                ),
                (
                    Call::bill(t.slug())
                        .key(&t.live)
                        .header("Idempotency-Key", "lk-2")
                        .json(&json!({ "mobile": "9876500001", "amount": 10 })),
                    200,
                ),
                (Call::bill(t.slug()).key(&t.live).json(&json!({ "mobile": "+14155550100", "amount": 10 })), 200),
            ],
        ),
        ("pos-coupon-redeem", vec![(Call::redeem(t.slug()).key(&t.live).json(&json!({ "code": "COUP-LK1" })), 200)]),
        (
            "pos-customer-transactions",
            vec![(Call::new(Route::Transactions, t.slug()).key(&t.live).query("mobile", MOBILE), 200)],
        ),
        (
            "pos-refund",
            vec![(
                Call::new(Route::Refund, t.slug())
                    .key(&t.live)
                    .json(&json!({ "external_ref": "LK-1", "amount": 30, "refund_ref": "RET-LK-1" })),
                200,
            )],
        ),
        (
            "public-earn",
            vec![
                (
                    Call::public(Route::Earn)
                        .key(&t.live)
                        .json(&json!({ "email": EMAIL, "amount": 100, "reference": "ORD-LK-1" })),
                    200,
                ),
                (
                    Call::public(Route::Earn)
                        .key(&t.live)
                        .header("Idempotency-Key", "lk-3")
                        .json(&json!({ "email": "new@example.com", "amount": 100 })),
                    200,
                ),
            ],
        ),
        ("public-balance", vec![(Call::public(Route::Balance).key(&t.live).query("email", EMAIL), 200)]),
        ("public-rewards", vec![(Call::public(Route::Rewards).key(&t.live), 200)]),
        (
            "public-transactions",
            vec![(Call::public(Route::PublicTransactions).key(&t.live).query("email", EMAIL), 200)],
        ),
        (
            "public-redeem",
            vec![(
                Call::public(Route::RewardRedeem).key(&t.live).json(&json!({ "email": EMAIL, "rewardId": "rwd-001" })),
                200,
            )],
        ),
        (
            "public-refund",
            vec![(
                Call::public(Route::PublicRefund)
                    .key(&t.live)
                    .json(&json!({ "reference": "ORD-LK-1", "amount": 10, "refundReference": "RET-LK-2" })),
                200,
            )],
        ),
        ("public-voucher-verify", vec![(Call::verify("COUP-LK1").key(&t.live), 200)]),
    ];
    for (binary, calls) in flows {
        for (call, status) in calls {
            let (deps, recorder) = recording(&env);
            let reply = call.send(&deps).await;
            assert_eq!(reply.status, status, "{binary}: {}", reply.text);
            let accesses = recorder.take();
            assert!(!accesses.is_empty(), "{binary} sent no request");
            refusals.extend(refused(&template, binary, &accesses).into_iter().map(|a| (binary, a)));
            seen.extend(accesses.iter().filter(|a| a.action != "GetItem").map(|a| (binary, a.action.clone())));
        }
    }

    // One-time codes: sent (the code, the SMS counters), then spent by a bill.
    let (otp_deps, outbox) = env.with_outbox();
    let (deps, recorder) = recording(&env);
    let deps = deps.with_sms(otp_deps.sms.clone());
    // A first code, then another for the same mobile (which replaces the first).
    for _ in 0..2 {
        let reply = Call::new(Route::Otp, t.slug()).key(&t.live).json(&json!({ "mobile": MOBILE })).send(&deps).await;
        assert_eq!(reply.status, 200, "pos-otp: {}", reply.text);
        refusals.extend(refused(&template, "pos-otp", &recorder.take()).into_iter().map(|a| ("pos-otp", a)));
    }
    let (deps, recorder) = recording(&env);
    let body = json!({ "mobile": MOBILE, "amount": 10, "redeem_points": 100, "otp": outbox.last_code() });
    let reply = Call::bill(t.slug()).key(&t.live).json(&body).send(&deps).await;
    assert_eq!(reply.status, 200, "pos-bill with a code: {}", reply.text);
    refusals.extend(refused(&template, "pos-bill", &recorder.take()).into_iter().map(|a| ("pos-bill", a)));
    refusals.sort();
    refusals.dedup();
    assert_eq!(refusals, vec![], "functions touch keys their policies refuse");

    // The flows did write inside transactions: the check saw their items.
    assert!(seen.iter().any(|(b, a)| *b == "pos-bill" && a == "UpdateItem"), "{seen:?}");
    assert!(seen.iter().any(|(b, a)| *b == "public-redeem" && a == "PutItem"), "{seen:?}");
}

/// A request the recorder cannot read would pass unchecked: it reads every kind the
/// store sends.
#[test]
fn the_recorder_reads_transactions_item_by_item() {
    let body = json!({ "TransactItems": [
        { "Put": { "Item": { "PK": { "S": "TENANT#a#CUST#1" } } } },
        { "Update": { "Key": { "PK": { "S": "TENANT#a" }, "SK": { "S": "X" } } } },
        { "ConditionCheck": { "Key": { "PK": { "S": "KEYID#k" } } } },
        { "Delete": { "Key": { "PK": { "S": "TENANT#a#OTP#1" } } } }
    ]});
    let got: Vec<(String, String)> =
        accesses("TransactWriteItems", &body).into_iter().map(|a| (a.action, a.partition)).collect();
    let want = [
        ("PutItem", "TENANT#a#CUST#1"),
        ("UpdateItem", "TENANT#a"),
        ("ConditionCheckItem", "KEYID#k"),
        ("DeleteItem", "TENANT#a#OTP#1"),
    ];
    assert_eq!(got, want.map(|(a, p)| (a.to_owned(), p.to_owned())));
    let query = json!({
        "IndexName": "GSI3",
        "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)",
        "ExpressionAttributeNames": { "#pk": "GSI3PK", "#sk": "GSI3SK" },
        "ExpressionAttributeValues": { ":pk": { "S": "EXPIRY#2026-01-01#00" }, ":sk": { "S": "T" } }
    });
    let q = &accesses("Query", &query)[0];
    assert_eq!((q.partition.as_str(), q.index), ("EXPIRY#2026-01-01#00", true));
}

/// The console's changes and reads (a reward, a key, a member found, read, adjusted),
/// each on a cold function instance that records its requests.
#[tokio::test]
async fn management_functions_touch_only_the_keys_their_policies_allow() {
    use super::console::{token, Admin, AdminCall};
    use loyalty::actor::Role;

    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    let member = env.seed_member(&t, MOBILE, "Ravi Kumar", "500").await;
    let owner = token(&env, t.slug(), Role::Owner);
    let template = template();
    let calls = [
        (
            "admin-reward-add",
            AdminCall::new(Admin::RewardAdd)
                .token(&owner)
                .json(&json!({"reward_id": "rwd-lk", "name": "Spa hour", "points_cost": 900, "kind": "service"})),
        ),
        (
            "admin-key-issue",
            AdminCall::new(Admin::KeyIssue)
                .token(&owner)
                .json(&json!({"label": "Bar till", "mode": "live", "channel": "pos", "scopes": ["read:customers"]})),
        ),
        ("admin-members", AdminCall::new(Admin::Members).token(&owner).query("q", MOBILE)),
        ("admin-member", AdminCall::new(Admin::Member).on(&member.customer_id).token(&owner)),
        ("admin-member-history", AdminCall::new(Admin::MemberHistory).on(&member.customer_id).token(&owner)),
        (
            "admin-member-adjust",
            AdminCall::new(Admin::MemberAdjust)
                .on(&member.customer_id)
                .token(&owner)
                .header("Idempotency-Key", "lk-adjust")
                .json(&json!({"points": 100, "reason": "Goodwill"})),
        ),
        ("admin-rewards", AdminCall::new(Admin::Rewards).token(&owner)),
        ("admin-keys", AdminCall::new(Admin::Keys).token(&owner)),
        ("admin-audit", AdminCall::new(Admin::Audit).token(&owner)),
        (
            "admin-members-import",
            AdminCall::new(Admin::MembersImport).token(&owner).text(&format!(
                "mobile,name,email,points,reference\n{MOBILE},Ravi Kumar,,300,lk-1\n9876512345,Anu,anu@example.com,50,lk-2\n"
            )),
        ),
        ("admin-members-export", AdminCall::new(Admin::MembersExport).token(&owner)),
        (
            "admin-ledger-export",
            AdminCall::new(Admin::LedgerExport).token(&owner).query("from", "2000-01-01").query("to", "2000-12-31"),
        ),
    ];
    let mut refusals = Vec::new();
    for (binary, call) in calls {
        let (deps, recorder) = recording(&env);
        let reply = call.send(&deps).await;
        assert!((200..300).contains(&reply.status), "{binary}: {} {}", reply.status, reply.text);
        let accesses = recorder.take();
        assert!(!accesses.is_empty(), "{binary} sent no request");
        refusals.extend(refused(&template, binary, &accesses).into_iter().map(|a| (binary, a)));
    }
    assert_eq!(refusals, vec![], "functions touch keys their policies refuse");
}

/// The campaign routes: create, list, run (coupons, a batch's result, the cursor) and
/// the detail, each on a cold function instance that records its requests.
#[tokio::test]
async fn campaign_functions_touch_only_the_keys_their_policies_allow() {
    use super::console::{token, Admin, AdminCall};
    use loyalty::actor::Role;

    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;
    env.seed_member(&t, MOBILE, "Ravi Kumar", "500").await;
    let owner = token(&env, t.slug(), Role::Owner);
    let template = template();
    let mut refusals = Vec::new();
    let (deps, recorder) = recording(&env);
    let created = AdminCall::new(Admin::CampaignCreate)
        .token(&owner)
        .header("Idempotency-Key", "lk-campaign")
        .json(&json!({"name": "Lk", "value_minor": 100, "expires": "2027-12-31", "mobiles": format!("{MOBILE}\n9000000001")}))
        .send(&deps)
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    refusals.extend(
        refused(&template, "admin-campaign-create", &recorder.take()).into_iter().map(|a| ("admin-campaign-create", a)),
    );
    let id = created.body["campaign_id"].as_str().unwrap().to_owned();
    let calls = [
        ("admin-campaigns", AdminCall::new(Admin::Campaigns).token(&owner)),
        ("admin-campaign-run", AdminCall::new(Admin::CampaignRun).on(&id).token(&owner)),
        ("admin-campaign", AdminCall::new(Admin::Campaign).on(&id).token(&owner)),
    ];
    for (binary, call) in calls {
        let (deps, recorder) = recording(&env);
        let reply = call.send(&deps).await;
        assert!((200..300).contains(&reply.status), "{binary}: {} {}", reply.status, reply.text);
        let accesses = recorder.take();
        assert!(!accesses.is_empty(), "{binary} sent no request");
        refusals.extend(refused(&template, binary, &accesses).into_iter().map(|a| (binary, a)));
    }
    assert_eq!(refusals, vec![], "functions touch keys their policies refuse");
}
