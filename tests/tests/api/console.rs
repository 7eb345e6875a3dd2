//! The management API over HTTP (`/v1/admin/...`): each function called as API Gateway
//! hands it a request, with console sessions signed by a test key the functions'
//! verifier trusts. A management route takes only a session and a dialect route only an
//! API key; every management route is in the isolation matrix (the owner of tenant B,
//! whatever ids they send, sees and changes nothing of tenant A); roles, double
//! submissions and field errors as the console meets them.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::{Body, Request, RequestExt};
use loyalty::actor::Role;
use loyalty::session::{JwksSource, SessionConfig, Sessions};
use loyalty::Deps;
use serde_json::{json, Value};

use super::support::{Call, Reply, Route, Tenant, TestEnv};

const ISSUER: &str = "http://localhost:9229/test_pool";
const CLIENT: &str = "console-test-client";
const KID: &str = "test-key";

/// The public half of the test key, as a pool's JWKS.
struct TestJwks;

impl JwksSource for TestJwks {
    fn fetch<'a>(
        &'a self,
        _url: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JwkSet, String>> + Send + 'a>> {
        Box::pin(async {
            let n = include_str!("../../fixtures/session-key.n").trim();
            serde_json::from_value(json!({
                "keys": [{ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID, "n": n, "e": "AQAB" }]
            }))
            .map_err(|e| e.to_string())
        })
    }
}

/// The session verifier of every test `Deps`: it trusts the test key.
pub fn sessions() -> Arc<Sessions> {
    let config = SessionConfig::parse(Some(ISSUER), None, Some(CLIENT), None).unwrap().unwrap();
    Arc::new(Sessions::new(config, Arc::new(TestJwks)))
}

/// An ID token of a person of `tenant` with `role`, issued a minute ago by the test
/// clock.
pub fn token(env: &TestEnv, tenant: &str, role: Role) -> String {
    let now = env.now().timestamp();
    let claims = json!({
        "sub": format!("sub-{tenant}-{}", role.as_str()),
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "iat": now - 60,
        "exp": now + 3_600,
        "email": format!("{}@{tenant}.example", role.as_str()),
        "custom:tenant": tenant,
        "cognito:groups": [role.as_str()],
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.into());
    let key = EncodingKey::from_rsa_der(include_bytes!("../../fixtures/session-key.der"));
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// The management routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    Keys,
    KeyIssue,
    KeyScopes,
    KeyRevoke,
    KeyRotate,
    Rewards,
    RewardAdd,
    RewardEdit,
    RewardArchive,
    Members,
    Member,
    MemberHistory,
    MemberAdjust,
    MemberCoupon,
    MemberEdit,
    MemberErase,
    MembersExport,
    MembersImport,
    LedgerExport,
    Audit,
    Reports,
    Webhooks,
    WebhookAdd,
    WebhookRotate,
    WebhookDisable,
    WebhookEnable,
    WebhookRemove,
    WebhookTest,
    WebhookDeliveries,
    WebhookReplay,
    Program,
    ProgramChange,
    Team,
    TeamInvite,
    TeamRole,
    TeamRemove,
    Campaigns,
    CampaignCreate,
    Campaign,
    CampaignRun,
}

impl Admin {
    pub const EVERY: [Admin; 40] = [
        Admin::Keys,
        Admin::KeyIssue,
        Admin::KeyScopes,
        Admin::KeyRevoke,
        Admin::KeyRotate,
        Admin::Rewards,
        Admin::RewardAdd,
        Admin::RewardEdit,
        Admin::RewardArchive,
        Admin::Members,
        Admin::Member,
        Admin::MemberHistory,
        Admin::MemberAdjust,
        Admin::MemberCoupon,
        Admin::MemberEdit,
        Admin::MemberErase,
        Admin::MembersExport,
        Admin::MembersImport,
        Admin::LedgerExport,
        Admin::Audit,
        Admin::Reports,
        Admin::Webhooks,
        Admin::WebhookAdd,
        Admin::WebhookRotate,
        Admin::WebhookDisable,
        Admin::WebhookEnable,
        Admin::WebhookRemove,
        Admin::WebhookTest,
        Admin::WebhookDeliveries,
        Admin::WebhookReplay,
        Admin::Program,
        Admin::ProgramChange,
        Admin::Team,
        Admin::TeamInvite,
        Admin::TeamRole,
        Admin::TeamRemove,
        Admin::Campaigns,
        Admin::CampaignCreate,
        Admin::Campaign,
        Admin::CampaignRun,
    ];

    fn method(self) -> &'static str {
        match self {
            Admin::Keys
            | Admin::Rewards
            | Admin::Members
            | Admin::Member
            | Admin::MemberHistory
            | Admin::MembersExport
            | Admin::LedgerExport
            | Admin::Audit
            | Admin::Reports
            | Admin::Webhooks
            | Admin::WebhookDeliveries
            | Admin::Program
            | Admin::Team
            | Admin::Campaigns
            | Admin::Campaign => "GET",
            Admin::RewardEdit | Admin::MemberEdit | Admin::TeamRole => "PUT",
            Admin::TeamRemove => "DELETE",
            _ => "POST",
        }
    }

    /// A route of the team (the user pool's people).
    pub fn is_team(self) -> bool {
        matches!(self, Admin::Team | Admin::TeamInvite | Admin::TeamRole | Admin::TeamRemove)
    }

    /// The path and its parameters, for the resource named `id` where it names one.
    fn path(self, id: &str) -> (String, Option<(&'static str, String)>) {
        let with = |name: &'static str| Some((name, id.to_owned()));
        match self {
            Admin::Keys | Admin::KeyIssue => ("/v1/admin/keys".into(), None),
            Admin::KeyScopes => (format!("/v1/admin/keys/{id}/scopes"), with("key_id")),
            Admin::KeyRevoke => (format!("/v1/admin/keys/{id}/revoke"), with("key_id")),
            Admin::KeyRotate => (format!("/v1/admin/keys/{id}/rotate"), with("key_id")),
            Admin::Rewards | Admin::RewardAdd => ("/v1/admin/rewards".into(), None),
            Admin::RewardEdit => (format!("/v1/admin/rewards/{id}"), with("reward_id")),
            Admin::RewardArchive => (format!("/v1/admin/rewards/{id}/archive"), with("reward_id")),
            Admin::Members => ("/v1/admin/members".into(), None),
            Admin::Member => (format!("/v1/admin/members/{id}"), with("customer_id")),
            Admin::MemberHistory => (format!("/v1/admin/members/{id}/history"), with("customer_id")),
            Admin::MemberAdjust => (format!("/v1/admin/members/{id}/adjustments"), with("customer_id")),
            Admin::MemberCoupon => (format!("/v1/admin/members/{id}/coupons"), with("customer_id")),
            Admin::MemberEdit => (format!("/v1/admin/members/{id}"), with("customer_id")),
            Admin::MemberErase => (format!("/v1/admin/members/{id}/erase"), with("customer_id")),
            Admin::MembersExport => ("/v1/admin/members/export".into(), None),
            Admin::MembersImport => ("/v1/admin/members/import".into(), None),
            Admin::LedgerExport => ("/v1/admin/ledger/export".into(), None),
            Admin::Audit => ("/v1/admin/audit".into(), None),
            Admin::Reports => ("/v1/admin/reports/daily".into(), None),
            Admin::Webhooks | Admin::WebhookAdd => ("/v1/admin/webhooks".into(), None),
            Admin::WebhookRotate => (format!("/v1/admin/webhooks/{id}/rotate"), with("endpoint_id")),
            Admin::WebhookDisable => (format!("/v1/admin/webhooks/{id}/disable"), with("endpoint_id")),
            Admin::WebhookEnable => (format!("/v1/admin/webhooks/{id}/enable"), with("endpoint_id")),
            Admin::WebhookRemove => (format!("/v1/admin/webhooks/{id}/remove"), with("endpoint_id")),
            Admin::WebhookTest => (format!("/v1/admin/webhooks/{id}/test"), with("endpoint_id")),
            Admin::WebhookDeliveries => (format!("/v1/admin/webhooks/{id}/deliveries"), with("endpoint_id")),
            Admin::WebhookReplay => (format!("/v1/admin/webhooks/{id}/replay"), with("endpoint_id")),
            Admin::Program => ("/v1/admin/program".into(), None),
            Admin::ProgramChange => ("/v1/admin/program/versions".into(), None),
            Admin::Team | Admin::TeamInvite => ("/v1/admin/team".into(), None),
            Admin::TeamRole | Admin::TeamRemove => (format!("/v1/admin/team/{id}"), with("email")),
            Admin::Campaigns | Admin::CampaignCreate => ("/v1/admin/campaigns".into(), None),
            Admin::Campaign => (format!("/v1/admin/campaigns/{id}"), with("campaign_id")),
            Admin::CampaignRun => (format!("/v1/admin/campaigns/{id}/run"), with("campaign_id")),
        }
    }
}

/// A request to a management function.
pub struct AdminCall {
    route: Admin,
    id: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<String>,
}

impl AdminCall {
    pub fn new(route: Admin) -> Self {
        AdminCall { route, id: String::new(), headers: Vec::new(), query: Vec::new(), body: None }
    }

    /// The resource the path names (a key id, reward id or customer id).
    pub fn on(mut self, id: &str) -> Self {
        self.id = id.to_owned();
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn token(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// A session of `tenant` with `role`.
    pub fn as_(self, env: &TestEnv, tenant: &str, role: Role) -> Self {
        self.token(&token(env, tenant, role))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(body.to_string());
        self
    }

    /// A body [`valid_body`] gives: JSON, or an import's CSV text (a JSON string).
    fn valid(self, body: &Value) -> Self {
        match body {
            Value::String(text) => self.text(text),
            other => self.json(other),
        }
    }

    /// The query a route needs to answer more than 400 (a ledger export's range).
    fn needed_query(self) -> Self {
        if self.route == Admin::LedgerExport {
            return self.query("from", "2020-01-01").query("to", "2020-12-31");
        }
        self
    }

    /// A body of plain text (an import's CSV).
    pub fn text(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    pub fn request(&self) -> Request {
        let (path, param) = self.route.path(&self.id);
        let mut builder =
            http::Request::builder().method(self.route.method()).uri(format!("https://loyalty.test{path}"));
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = match &self.body {
            Some(text) => Body::from(text.clone()),
            None => Body::Empty,
        };
        builder
            .body(body)
            .expect("a valid request")
            .with_path_parameters(param.map(|(k, v)| HashMap::from([(k.to_owned(), v)])).unwrap_or_default())
            .with_query_string_parameters(self.query.iter().cloned().collect::<HashMap<_, _>>())
    }

    pub async fn send(&self, deps: &Deps) -> Reply {
        self.send_request(deps, self.request()).await
    }

    /// Sends `req` (this call's [`request`](Self::request), perhaps altered) to this
    /// call's function.
    pub async fn send_request(&self, deps: &Deps, req: Request) -> Reply {
        let resp = match self.route {
            Admin::Keys => Box::pin(admin_keys::handle(deps, req)).await,
            Admin::KeyIssue => Box::pin(admin_key_issue::handle(deps, req)).await,
            Admin::KeyScopes => Box::pin(admin_key_scopes::handle(deps, req)).await,
            Admin::KeyRevoke => Box::pin(admin_key_revoke::handle(deps, req)).await,
            Admin::KeyRotate => Box::pin(admin_key_rotate::handle(deps, req)).await,
            Admin::Rewards => Box::pin(admin_rewards::handle(deps, req)).await,
            Admin::RewardAdd => Box::pin(admin_reward_add::handle(deps, req)).await,
            Admin::RewardEdit => Box::pin(admin_reward_edit::handle(deps, req)).await,
            Admin::RewardArchive => Box::pin(admin_reward_archive::handle(deps, req)).await,
            Admin::Members => Box::pin(admin_members::handle(deps, req)).await,
            Admin::Member => Box::pin(admin_member::handle(deps, req)).await,
            Admin::MemberHistory => Box::pin(admin_member_history::handle(deps, req)).await,
            Admin::MemberAdjust => Box::pin(admin_member_adjust::handle(deps, req)).await,
            Admin::MemberCoupon => Box::pin(admin_member_coupon::handle(deps, req)).await,
            Admin::MemberEdit => Box::pin(admin_member_edit::handle(deps, req)).await,
            Admin::MemberErase => Box::pin(admin_member_erase::handle(deps, req)).await,
            Admin::MembersExport => Box::pin(admin_members_export::handle(deps, req)).await,
            Admin::MembersImport => Box::pin(admin_members_import::handle(deps, req)).await,
            Admin::LedgerExport => Box::pin(admin_ledger_export::handle(deps, req)).await,
            Admin::Audit => Box::pin(admin_audit::handle(deps, req)).await,
            Admin::Reports => Box::pin(admin_reports::handle(deps, req)).await,
            Admin::Webhooks => Box::pin(admin_webhooks::handle(deps, req)).await,
            Admin::WebhookAdd => Box::pin(admin_webhook_add::handle(deps, req)).await,
            Admin::WebhookRotate => Box::pin(admin_webhook_rotate::handle(deps, req)).await,
            Admin::WebhookDisable => Box::pin(admin_webhook_disable::handle(deps, req)).await,
            Admin::WebhookEnable => Box::pin(admin_webhook_enable::handle(deps, req)).await,
            Admin::WebhookRemove => Box::pin(admin_webhook_remove::handle(deps, req)).await,
            Admin::WebhookTest => Box::pin(admin_webhook_test::handle(deps, req)).await,
            Admin::WebhookDeliveries => Box::pin(admin_webhook_deliveries::handle(deps, req)).await,
            Admin::WebhookReplay => Box::pin(admin_webhook_replay::handle(deps, req)).await,
            Admin::Program => Box::pin(admin_program::handle(deps, req)).await,
            Admin::ProgramChange => Box::pin(admin_program_change::handle(deps, req)).await,
            Admin::Team => Box::pin(admin_team::handle(deps, req)).await,
            Admin::TeamInvite => Box::pin(admin_team_invite::handle(deps, req)).await,
            Admin::TeamRole => Box::pin(admin_team_role::handle(deps, req)).await,
            Admin::TeamRemove => Box::pin(admin_team_remove::handle(deps, req)).await,
            Admin::Campaigns => Box::pin(admin_campaigns::handle(deps, req)).await,
            Admin::CampaignCreate => Box::pin(admin_campaign_create::handle(deps, req)).await,
            Admin::Campaign => Box::pin(admin_campaign::handle(deps, req)).await,
            Admin::CampaignRun => Box::pin(admin_campaign_run::handle(deps, req)).await,
        };
        Reply::from_response(resp)
    }
}

/// A body each route accepts (`reward_id` for a reward it adds).
fn valid_body(route: Admin, reward_id: &str) -> Option<Value> {
    match route {
        Admin::KeyIssue => {
            Some(json!({"label": "Till 9", "mode": "live", "channel": "pos", "scopes": ["read:customers"]}))
        }
        Admin::KeyScopes => Some(json!({"scopes": ["read:customers"]})),
        Admin::RewardAdd => Some(json!({"reward_id": reward_id, "name": "Mine", "points_cost": 10, "kind": "service"})),
        Admin::RewardEdit => Some(json!({"name": "Taken over", "points_cost": 1, "kind": "service"})),
        Admin::MemberAdjust => Some(json!({"points": 5000, "reason": "Not mine to give"})),
        Admin::MemberCoupon => Some(json!({"value_minor": 50000, "expires": "2027-12-31"})),
        Admin::MemberEdit => Some(json!({"name": "Not mine to rename"})),
        Admin::WebhookAdd => Some(json!({"url": "https://hooks.example.com/mine", "event_types": ["points.earned"]})),
        Admin::ProgramChange => Some(json!({"name": "Not my program", "earn_rate_milli": 999_000})),
        Admin::TeamInvite => Some(json!({"email": "new@bayview-inns.example", "role": "viewer"})),
        Admin::TeamRole => Some(json!({"role": "viewer"})),
        Admin::MembersImport => {
            Some(Value::String("mobile,name,email,points,reference\n9876500001,Mine,,500,imp-1\n".into()))
        }
        Admin::CampaignCreate => Some(json!({
            "name": "Not my campaign", "value_minor": 10000, "expires": "2027-12-31", "mobiles": "9876500001"
        })),
        _ => None,
    }
}

/// Tenant A's resources: a member, a reward, a key, a webhook endpoint.
struct Owned {
    tenant: Tenant,
    customer_id: String,
    mobile: String,
    reward_id: String,
    key_id: String,
    endpoint_id: String,
    campaign_id: String,
}

async fn owned(env: &TestEnv, slug: &str) -> Owned {
    let tenant = env.tenant(slug).await;
    let member = env.seed_member(&tenant, "9876500001", "Asha", "2500").await;
    let owner = token(env, slug, Role::Owner);
    let reward = AdminCall::new(Admin::RewardAdd)
        .token(&owner)
        .json(&json!({"reward_id": "rwd-suite", "name": "Suite upgrade", "points_cost": 900, "kind": "service"}))
        .send(&env.deps)
        .await;
    assert_eq!(reward.status, 201, "{}", reward.text);
    let key = AdminCall::new(Admin::KeyIssue)
        .token(&owner)
        .json(&json!({"label": "Front desk", "mode": "live", "channel": "pos", "scopes": ["read:customers"]}))
        .send(&env.deps)
        .await;
    assert_eq!(key.status, 201, "{}", key.text);
    let endpoint = AdminCall::new(Admin::WebhookAdd)
        .token(&owner)
        .json(&json!({"url": "https://crm.acme.example/hooks"}))
        .send(&env.deps)
        .await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.text);
    let campaign = AdminCall::new(Admin::CampaignCreate)
        .token(&owner)
        .json(&json!({"name": "Welcome back", "percent": 10, "expires": "2027-12-31", "mobiles": member.mobile}))
        .send(&env.deps)
        .await;
    assert_eq!(campaign.status, 201, "{}", campaign.text);
    Owned {
        tenant,
        customer_id: member.customer_id,
        mobile: member.mobile,
        reward_id: "rwd-suite".into(),
        key_id: key.body["key"]["key_id"].as_str().unwrap().to_owned(),
        endpoint_id: endpoint.body["endpoint"]["endpoint_id"].as_str().unwrap().to_owned(),
        campaign_id: campaign.body["campaign_id"].as_str().unwrap().to_owned(),
    }
}

impl Owned {
    /// The id of this tenant's resource a route names.
    fn id_for(&self, route: Admin) -> &str {
        match route {
            Admin::KeyScopes | Admin::KeyRevoke | Admin::KeyRotate => &self.key_id,
            Admin::RewardEdit | Admin::RewardArchive => &self.reward_id,
            Admin::Member
            | Admin::MemberHistory
            | Admin::MemberAdjust
            | Admin::MemberCoupon
            | Admin::MemberEdit
            | Admin::MemberErase => &self.customer_id,
            Admin::WebhookRotate
            | Admin::WebhookDisable
            | Admin::WebhookEnable
            | Admin::WebhookRemove
            | Admin::WebhookTest
            | Admin::WebhookDeliveries
            | Admin::WebhookReplay => &self.endpoint_id,
            Admin::Campaign | Admin::CampaignRun => &self.campaign_id,
            // A person of A's (the pool decides whether there is one: see `team.rs`).
            Admin::TeamRole | Admin::TeamRemove => "manager@acme-hotels.example",
            _ => "",
        }
    }
}

#[tokio::test]
async fn a_management_route_takes_only_a_session_and_a_dialect_route_only_a_key() {
    let env = TestEnv::new().await;
    let a = owned(&env, "acme-hotels").await;
    for route in Admin::EVERY {
        let mut call = AdminCall::new(route).on(a.id_for(route)).header("X-API-Key", &a.tenant.live);
        if let Some(body) = valid_body(route, "rwd-new") {
            call = call.valid(&body);
        }
        let reply = call.send(&env.deps).await;
        assert_eq!(reply.status, 401, "{route:?} with an API key: {}", reply.text);
        assert_eq!(reply.body["error"]["code"], "unauthorized", "{route:?}");
        assert!(reply.body["error"]["message"].as_str().unwrap().contains("sign in again"), "{route:?}");
        let forged = AdminCall::new(route).on(a.id_for(route)).token("eyJhbGciOiJub25lIn0.e30.").send(&env.deps).await;
        assert_eq!(forged.status, 401, "{route:?} with a forged token: {}", forged.text);
    }
    let owner = token(&env, "acme-hotels", Role::Owner);
    for route in Route::EVERY {
        let reply = Call::new(route, "acme-hotels")
            .header("Authorization", &format!("Bearer {owner}"))
            .query("mobile", &a.mobile)
            .send(&env.deps)
            .await;
        assert_eq!(reply.status, 401, "{route:?} with a console session: {}", reply.text);
    }
}

#[tokio::test]
async fn another_tenants_owner_sees_and_changes_nothing_on_any_management_route() {
    let env = TestEnv::new().await;
    let a = owned(&env, "acme-hotels").await;
    let b = env.tenant("bayview-inns").await;
    let a_rules = AdminCall::new(Admin::ProgramChange)
        .as_(&env, "acme-hotels", Role::Owner)
        .json(&json!({"name": "Acme Rewards Club"}))
        .send(&env.deps)
        .await;
    assert_eq!(a_rules.status, 201, "{}", a_rules.text);
    let before = env.scan().await;
    let b_owner = token(&env, b.slug(), Role::Owner);
    for route in Admin::EVERY {
        if route.is_team() {
            // The team lives in the user pool, not the table: its own matrix is in
            // `team.rs`, on cognito-local.
            continue;
        }
        let mut call =
            AdminCall::new(route).on(a.id_for(route)).token(&b_owner).header("Idempotency-Key", "iso-1").needed_query();
        if let Some(body) = valid_body(route, "rwd-b-own") {
            call = call.valid(&body);
        }
        if route == Admin::Members {
            call = call.query("q", &a.mobile);
        }
        let reply = call.send(&env.deps).await;
        let text = &reply.text;
        match route {
            Admin::Keys => {
                let keys = reply.body["keys"].as_array().unwrap();
                assert!(keys.iter().all(|k| k["key_id"] != a.key_id.as_str()), "{route:?}: {text}");
            }
            Admin::Rewards => assert_eq!(reply.body["rewards"], json!([]), "{route:?}: {text}"),
            Admin::Webhooks => {
                let endpoints = reply.body["endpoints"].as_array().unwrap();
                assert!(endpoints.iter().all(|e| e["endpoint_id"] != a.endpoint_id.as_str()), "{route:?}: {text}");
            }
            Admin::Members => assert_eq!(reply.body["members"], json!([]), "{route:?}: {text}"),
            // B's own (empty) exports, and B's own new member of the same mobile.
            Admin::MembersExport | Admin::LedgerExport => {
                assert_eq!(reply.status, 200, "{route:?}: {text}");
                assert!(!text.contains(&a.customer_id), "{route:?} lists A's member: {text}");
                assert_eq!(text.lines().count(), 1, "{route:?}: the header alone: {text}");
            }
            Admin::MembersImport => {
                assert_eq!(reply.status, 200, "{route:?}: {text}");
                assert_eq!(reply.body["ok"], 1, "{route:?}: {text}");
                assert_ne!(reply.body["rows"][0]["customer_id"], a.customer_id.as_str(), "{route:?}: {text}");
            }
            Admin::Campaigns => assert_eq!(reply.body["campaigns"], json!([]), "{route:?}: {text}"),
            Admin::Audit => {
                let entries = reply.body["entries"].as_array().unwrap();
                assert!(entries.iter().all(|e| e["who"] != "owner@acme-hotels.example"), "{route:?}: {text}");
            }
            // B's own rules, and a version of them.
            Admin::Program => {
                let versions = reply.body["versions"].as_array().unwrap();
                assert!(versions.iter().all(|v| v["rules"]["name"] != "Acme Rewards Club"), "{route:?}: {text}");
            }
            Admin::Reports => {
                assert_eq!(reply.status, 200, "{route:?}: {text}");
                assert_eq!(reply.body["tenant"], b.slug(), "{route:?}: {text}");
                assert_eq!(reply.body["members"], 0, "{route:?}: A's members are not B's: {text}");
            }
            // B's own new key, reward, endpoint and program version.
            Admin::KeyIssue | Admin::RewardAdd | Admin::WebhookAdd | Admin::ProgramChange | Admin::CampaignCreate => {
                assert_eq!(reply.status, 201, "{route:?}: {text}")
            }
            _ => {
                assert_eq!(reply.status, 404, "{route:?} on A's resource: {text}");
                assert_eq!(reply.body["error"]["code"], "not_found", "{route:?}");
            }
        }
    }
    // Everything of A is as it was: only B's items were added.
    let a_items = |items: &[super::support::Item]| -> Vec<String> {
        let sorted = items.iter().map(|i| format!("{:?}", i.iter().collect::<std::collections::BTreeMap<_, _>>()));
        sorted.filter(|i| i.contains("acme-hotels")).collect()
    };
    let (before, after) = (a_items(&before), a_items(&env.scan().await));
    assert!(before == after, "tenant A's items changed: {} before, {} after", before.len(), after.len());
}

#[tokio::test]
async fn each_role_reaches_only_its_own_over_http() {
    let env = TestEnv::new().await;
    let a = owned(&env, "acme-hotels").await;
    let slug = a.tenant.slug();
    let status = |route: Admin, role: Role| {
        let mut call = AdminCall::new(route).on(a.id_for(route)).as_(&env, slug, role).needed_query();
        if let Some(body) = valid_body(route, "rwd-role") {
            call = call.valid(&body);
        }
        if route == Admin::Members {
            call = call.query("q", &a.mobile);
        }
        let deps = env.deps.clone();
        async move { call.send(&deps).await.status }
    };
    let keys = [
        Admin::Keys,
        Admin::KeyIssue,
        Admin::KeyScopes,
        Admin::Webhooks,
        Admin::WebhookAdd,
        Admin::WebhookRotate,
        Admin::WebhookDisable,
        Admin::WebhookEnable,
        Admin::WebhookRemove,
        Admin::WebhookTest,
        Admin::WebhookDeliveries,
        Admin::WebhookReplay,
        // Refused by role before the user pool is asked anything.
        Admin::Team,
        Admin::TeamInvite,
        Admin::TeamRole,
        Admin::TeamRemove,
    ];
    let changes = [
        Admin::RewardAdd,
        Admin::RewardEdit,
        Admin::MemberAdjust,
        Admin::MemberCoupon,
        Admin::MemberEdit,
        Admin::ProgramChange,
        Admin::MembersExport,
        Admin::MembersImport,
        Admin::LedgerExport,
        Admin::CampaignCreate,
        Admin::CampaignRun,
    ];
    // Erasing a member is the owner's alone.
    assert_eq!(status(Admin::MemberErase, Role::Viewer).await, 403, "viewer erases");
    assert_eq!(status(Admin::MemberErase, Role::Manager).await, 403, "manager erases");
    let reads = [
        Admin::Rewards,
        Admin::Members,
        Admin::Member,
        Admin::MemberHistory,
        Admin::Audit,
        Admin::Program,
        Admin::Reports,
        Admin::Campaigns,
        Admin::Campaign,
    ];
    for route in keys {
        assert_eq!(status(route, Role::Viewer).await, 403, "viewer {route:?}");
        assert_eq!(status(route, Role::Manager).await, 403, "manager {route:?}");
    }
    for route in changes {
        assert_eq!(status(route, Role::Viewer).await, 403, "viewer {route:?}");
    }
    for route in reads {
        assert_eq!(status(route, Role::Viewer).await, 200, "viewer {route:?}");
    }
    assert_eq!(status(Admin::MemberAdjust, Role::Manager).await, 201, "manager adjusts");
    assert_eq!(status(Admin::MemberEdit, Role::Manager).await, 200, "manager edits a member");
    assert_eq!(status(Admin::MembersExport, Role::Manager).await, 200, "manager exports members");
    assert_eq!(status(Admin::LedgerExport, Role::Manager).await, 200, "manager exports the ledger");
    assert_eq!(status(Admin::MembersImport, Role::Manager).await, 200, "manager imports");
    assert_eq!(status(Admin::CampaignCreate, Role::Manager).await, 201, "manager creates a campaign");
    assert_eq!(status(Admin::CampaignRun, Role::Manager).await, 200, "manager runs a campaign");
    assert_eq!(status(Admin::KeyRevoke, Role::Owner).await, 200, "owner revokes");
    assert_eq!(status(Admin::WebhookTest, Role::Owner).await, 200, "owner sends a test event");
}

#[tokio::test]
async fn an_id_no_resource_can_have_is_404_on_every_route_that_names_one() {
    let env = TestEnv::new().await;
    let t = env.tenant("acme-hotels").await;
    let hostile = format!("{}\u{f1}", "x".repeat(300));
    for route in Admin::EVERY.into_iter().filter(|r| r.path("id").1.is_some()) {
        let mut call = AdminCall::new(route).on(&hostile).as_(&env, t.slug(), Role::Owner);
        if let Some(body) = valid_body(route, "rwd-x") {
            call = call.valid(&body);
        }
        let reply = call.send(&env.deps).await;
        assert_eq!(reply.status, 404, "{route:?}: {}", reply.text);
    }
}

#[tokio::test]
async fn a_double_click_applies_once_and_a_bad_field_is_named() {
    let env = TestEnv::new().await;
    let a = owned(&env, "acme-hotels").await;
    let owner = token(&env, a.tenant.slug(), Role::Owner);
    let adjust = |points: i64, key: &str| {
        AdminCall::new(Admin::MemberAdjust)
            .on(&a.customer_id)
            .token(&owner)
            .header("Idempotency-Key", key)
            .json(&json!({"points": points, "reason": "Goodwill: late check-in"}))
    };
    let first = adjust(700, "adj-1").send(&env.deps).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = adjust(700, "adj-1").send(&env.deps).await;
    assert_eq!((again.status, &again.body), (201, &first.body), "the second click answers the first result");
    assert_eq!(env.balance(&a.tenant, &a.mobile).await, first.int("balance_after"));
    assert_eq!(first.int("balance_after") - first.int("balance_before"), 700);
    let other = adjust(900, "adj-1").send(&env.deps).await;
    assert_eq!((other.status, other.body["error"]["code"].as_str()), (409, Some("idempotency_conflict")));

    let field = |body: Value| {
        let call = AdminCall::new(Admin::MemberAdjust).on(&a.customer_id).token(&owner).json(&body);
        let deps = env.deps.clone();
        async move {
            let reply = call.send(&deps).await;
            assert_eq!(reply.status, 400, "{}", reply.text);
            assert_eq!(reply.body["error"]["code"], "invalid_request");
            reply.body["error"]["field"].as_str().map(str::to_owned)
        }
    };
    assert_eq!(field(json!({"points": "many", "reason": "x"})).await.as_deref(), Some("points"));
    assert_eq!(field(json!({"points": 0, "reason": "x"})).await.as_deref(), Some("points"));
    assert_eq!(field(json!({"points": 10})).await.as_deref(), Some("reason"));
    let below = adjust(-1_000_000, "adj-2").send(&env.deps).await;
    assert_eq!((below.status, below.body["error"]["code"].as_str()), (422, Some("insufficient_points")));
    let bad_reward = AdminCall::new(Admin::RewardAdd)
        .token(&owner)
        .json(&json!({"reward_id": "rwd-x", "name": "X", "points_cost": -5, "kind": "service"}))
        .send(&env.deps)
        .await;
    assert_eq!((bad_reward.status, bad_reward.body["error"]["field"].as_str()), (400, Some("points_cost")));
    let bad_cursor = AdminCall::new(Admin::Audit).token(&owner).query("cursor", "zz").send(&env.deps).await;
    assert_eq!((bad_cursor.status, bad_cursor.body["error"]["field"].as_str()), (400, Some("cursor")));
    let bad_key = adjust(5, "a key with spaces").send(&env.deps).await;
    assert_eq!(bad_key.body["error"]["field"], "Idempotency-Key", "{}", bad_key.text);
    assert_eq!(bad_key.body["error"]["message"], "must be 1 to 255 visible ASCII characters");
    let no_member = AdminCall::new(Admin::Member).on("not-a-customer-id").token(&owner).send(&env.deps).await;
    assert_eq!(no_member.status, 404, "{}", no_member.text);
}

#[tokio::test]
async fn an_owner_issues_and_revokes_a_key_adds_a_reward_and_adjusts_points_over_http() {
    let env = TestEnv::new().await;
    let a = owned(&env, "acme-hotels").await;
    let slug = a.tenant.slug().to_owned();
    let owner = token(&env, &slug, Role::Owner);

    // A new till key works on the POS lookup, and stops once revoked (a cold function).
    let issued = AdminCall::new(Admin::KeyIssue)
        .token(&owner)
        .json(&json!({"label": "Bar till", "mode": "live", "channel": "pos", "scopes": ["read:customers"]}))
        .send(&env.deps)
        .await;
    let secret = issued.body["secret"].as_str().unwrap().to_owned();
    let key_id = issued.body["key"]["key_id"].as_str().unwrap().to_owned();
    let lookup = |deps: Deps| {
        let call = Call::customer(&slug).key(&secret).query("mobile", &a.mobile);
        async move { call.send(&deps).await.status }
    };
    assert_eq!(lookup(env.fresh_deps()).await, 200);
    let listed = AdminCall::new(Admin::Keys).token(&owner).send(&env.deps).await;
    assert!(!listed.text.contains(&secret), "a list never shows a secret");
    let in_list = listed.body["keys"].as_array().unwrap().iter().find(|k| k["key_id"] == key_id.as_str()).cloned();
    assert_eq!(in_list.as_ref(), Some(&issued.body["key"]), "the list shows the key as its issue answered it");
    let revoked = AdminCall::new(Admin::KeyRevoke).on(&key_id).token(&owner).send(&env.deps).await;
    assert_eq!((revoked.status, revoked.body["status"].as_str()), (200, Some("revoked")), "{}", revoked.text);
    assert_eq!(lookup(env.fresh_deps()).await, 401);

    // A reward added in the console is in the Public catalogue.
    let added = AdminCall::new(Admin::RewardAdd)
        .token(&owner)
        .json(&json!({"reward_id": "rwd-spa", "name": "Spa hour", "points_cost": 1500, "kind": "service"}))
        .send(&env.deps)
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let catalogue = Call::public(Route::Rewards).key(&a.tenant.live).send(&env.deps).await;
    assert!(catalogue.text.contains("rwd-spa"), "{}", catalogue.text);

    // An adjustment shows in the POS lookup, the member's history and the audit log.
    let before = env.balance(&a.tenant, &a.mobile).await;
    let adjusted = AdminCall::new(Admin::MemberAdjust)
        .on(&a.customer_id)
        .token(&owner)
        .json(&json!({"points": -200, "reason": "Duplicate bill"}))
        .send(&env.deps)
        .await;
    assert_eq!(adjusted.status, 201, "{}", adjusted.text);
    assert_eq!(env.balance(&a.tenant, &a.mobile).await, before - 200);
    let history = AdminCall::new(Admin::MemberHistory).on(&a.customer_id).token(&owner).send(&env.deps).await;
    assert_eq!(history.body["entries"][0]["type"], "adjustment", "{}", history.text);
    assert_eq!(history.body["entries"][0]["description"], "Duplicate bill");
    let audit = AdminCall::new(Admin::Audit).token(&owner).send(&env.deps).await;
    let newest = &audit.body["entries"][0];
    assert_eq!(
        (newest["action"].as_str(), newest["who"].as_str()),
        (Some("member.adjust"), Some("owner@acme-hotels.example"))
    );
    let found = AdminCall::new(Admin::Members).token(&owner).query("q", &a.mobile).send(&env.deps).await;
    assert_eq!(found.body["members"][0]["points_balance"].as_i64(), Some(before - 200), "{}", found.text);
}

#[tokio::test]
async fn an_owner_adds_rotates_disables_tests_and_removes_a_webhook_endpoint_over_http() {
    let env = TestEnv::new().await;
    let a = owned(&env, "acme-hotels").await;
    let owner = token(&env, a.tenant.slug(), Role::Owner);
    let call = |route: Admin| AdminCall::new(route).token(&owner);

    // A bad URL or event type is named; a secret is shown once, never listed.
    let bad = call(Admin::WebhookAdd).json(&json!({"url": "http://10.0.0.7/hooks"})).send(&env.deps).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (400, Some("url")), "{}", bad.text);
    let private = call(Admin::WebhookAdd).json(&json!({"url": "https://192.168.1.9/hooks"})).send(&env.deps).await;
    assert_eq!(private.body["error"]["field"], "url", "{}", private.text);
    let missing = call(Admin::WebhookAdd).json(&json!({})).send(&env.deps).await;
    assert_eq!(missing.body["error"]["field"], "url", "{}", missing.text);
    let types = json!({"url": "https://crm.example.com/h", "event_types": ["points.stolen"]});
    let unknown = call(Admin::WebhookAdd).json(&types).send(&env.deps).await;
    assert_eq!((unknown.status, unknown.body["error"]["field"].as_str()), (400, Some("event_types")));

    let body = json!({"url": "https://crm.example.com/loyalty", "event_types": ["points.redeemed", "points.earned"]});
    let added = call(Admin::WebhookAdd).header("Idempotency-Key", "wh-1").json(&body).send(&env.deps).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let secret = added.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(added.body["endpoint"]["event_types"], json!(["points.earned", "points.redeemed"]));
    let id = added.body["endpoint"]["endpoint_id"].as_str().unwrap().to_owned();
    let again = call(Admin::WebhookAdd).header("Idempotency-Key", "wh-1").json(&body).send(&env.deps).await;
    assert_eq!((again.status, &again.body["endpoint"]), (201, &added.body["endpoint"]), "one endpoint, answered again");
    assert!(again.body.get("secret").is_none(), "a second answer never shows the secret: {}", again.text);
    let listed = call(Admin::Webhooks).send(&env.deps).await;
    assert!(!listed.text.contains(&secret) && !listed.text.contains("whsec_"), "a list never shows a secret");
    let endpoints = listed.body["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{}", listed.text);
    assert!(endpoints.contains(&added.body["endpoint"]), "{}", listed.text);

    // Rotation answers a new secret; the old one still signs for a while.
    let rotated = call(Admin::WebhookRotate).on(&id).send(&env.deps).await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let new_secret = rotated.body["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert!(rotated.body["endpoint"]["previous_secret_until"].is_string(), "{}", rotated.text);

    // Disabled, then enabled again.
    let disabled = call(Admin::WebhookDisable).on(&id).send(&env.deps).await;
    assert_eq!((disabled.status, disabled.body["status"].as_str()), (200, Some("disabled")), "{}", disabled.text);
    assert_eq!(disabled.body["disabled_reason"], "disabled by owner@acme-hotels.example");
    let enabled = call(Admin::WebhookEnable).on(&id).send(&env.deps).await;
    assert_eq!((enabled.status, enabled.body["status"].as_str()), (200, Some("active")), "{}", enabled.text);

    // A test event waits in the endpoint's deliveries, with its next attempt; sent
    // twice under one Idempotency-Key it is queued once.
    let test = call(Admin::WebhookTest).on(&id).header("Idempotency-Key", "test-1").send(&env.deps).await;
    assert_eq!(test.status, 200, "{}", test.text);
    let event_id = test.body["event_id"].as_str().unwrap();
    let twice = call(Admin::WebhookTest).on(&id).header("Idempotency-Key", "test-1").send(&env.deps).await;
    assert_eq!((twice.status, &twice.body), (200, &test.body), "the first answer: {}", twice.text);
    let deliveries = call(Admin::WebhookDeliveries).on(&id).send(&env.deps).await;
    assert_eq!(deliveries.body["deliveries"].as_array().map(Vec::len), Some(1), "{}", deliveries.text);
    let first = &deliveries.body["deliveries"][0];
    assert_eq!(first["event_id"], event_id, "{}", deliveries.text);
    assert_eq!((first["event_type"].as_str(), first["status"].as_str()), (Some("webhook.test"), Some("pending")));
    assert_eq!(first["attempts"], 0);
    assert!(first["next_attempt_at"].is_string(), "{}", deliveries.text);
    let dead = call(Admin::WebhookDeliveries).on(&id).query("status", "dead").send(&env.deps).await;
    assert_eq!(dead.body["deliveries"], json!([]), "{}", dead.text);
    let bad_status = call(Admin::WebhookDeliveries).on(&id).query("status", "lost").send(&env.deps).await;
    assert_eq!((bad_status.status, bad_status.body["error"]["field"].as_str()), (400, Some("status")));
    let none = call(Admin::WebhookReplay).on(&id).send(&env.deps).await;
    assert_eq!((none.status, none.body["replayed"].as_u64()), (200, Some(0)), "{}", none.text);
    let pending = call(Admin::WebhookReplay).on(&id).json(&json!({"event_id": event_id})).send(&env.deps).await;
    assert_eq!(pending.status, 409, "a pending delivery is not dead: {}", pending.text);

    // Removed: gone from the list, and every change is in the audit log.
    let removed = call(Admin::WebhookRemove).on(&id).send(&env.deps).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let after = call(Admin::Webhooks).send(&env.deps).await;
    assert!(after.body["endpoints"].as_array().unwrap().iter().all(|e| e["endpoint_id"] != id.as_str()));
    let gone = call(Admin::WebhookTest).on(&id).send(&env.deps).await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    let audit = call(Admin::Audit).send(&env.deps).await;
    let actions: Vec<&str> =
        audit.body["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in [
        "webhook.add",
        "webhook.rotate",
        "webhook.disable",
        "webhook.enable",
        "webhook.test",
        "webhook.replay",
        "webhook.remove",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}
