//! Test plumbing: a DynamoDB Local client, one table per test, a fixed clock, tenants,
//! keys, members and coupons made through the same code the operator uses, requests
//! built the way API Gateway hands them to a function, and a full-table scan.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use http::HeaderMap;
use lambda_http::{Body, Request, RequestExt, Response};
use loyalty::deps::FixedClock;
use loyalty::domain::{Code, Mobile, Money, TenantSlug};
use loyalty::keys::{Channel, KeyMode, Scope};
use loyalty::model::Coupon;
use loyalty::program::Program;
use loyalty::store::Store;
use loyalty::Deps;
use loyalty_admin::{self as admin, CouponSpec, IssuedKey};
use serde_json::{json, Value};

/// Where DynamoDB Local listens.
pub const ENDPOINT_VAR: &str = "LOYALTY_TEST_DYNAMODB";
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8000";

/// The body every kind of bad key gets.
pub const UNAUTHORIZED: &str = r#"{"error":"Missing or invalid API key","code":"unauthorized"}"#;

pub type Item = HashMap<String, AttributeValue>;

pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR)
        .ok()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
}

/// The instant every test starts at: noon on 15 March 2026 in India (UTC+5:30, the
/// demo program's zone).
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 6, 30, 0).single().expect("a valid instant")
}

/// The program's local date at [`start_time`].
pub fn today() -> NaiveDate {
    date(2026, 3, 15)
}

/// An instant from RFC 3339 text.
pub fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("an RFC 3339 instant").with_timezone(&Utc)
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "test"))
        .endpoint_url(endpoint)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// Whether DynamoDB Local answered, asked once per test run.
static REACHABLE: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// One call, no retries: a missing DynamoDB Local fails every test at once.
async fn probe(endpoint: String) -> Result<(), String> {
    let config = client(&endpoint).config().to_builder().retry_config(RetryConfig::disabled()).build();
    Client::from_conf(config)
        .list_tables()
        .limit(1)
        .send()
        .await
        .map(|_| ())
        .map_err(|err| DisplayErrorContext(&err).to_string())
}

/// One test's world: its own table on DynamoDB Local and a `Deps` with a fixed clock.
/// The table is deleted when the test passes and kept (its name printed) when it fails.
pub struct TestEnv {
    pub deps: Arc<Deps>,
    pub clock: Arc<FixedClock>,
    pub store: Store,
    pub client: Client,
    pub table: String,
    endpoint: String,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::create(false).await
    }

    /// With the table's stream on, as `loyalty-admin init` creates it (the other tests'
    /// tables have none: on DynamoDB Local a stream slows concurrent writes down).
    pub async fn with_stream() -> Self {
        Self::create(true).await
    }

    async fn create(stream: bool) -> Self {
        let endpoint = endpoint();
        if let Err(cause) = REACHABLE.get_or_init(|| probe(endpoint.clone())).await {
            panic!(
                "DynamoDB Local is not reachable at {endpoint} ({ENDPOINT_VAR}; default \
                 {DEFAULT_ENDPOINT}). Start it with `scripts/dynamodb-local.sh start` (or run the \
                 README's test command), or point {ENDPOINT_VAR} at a running one. \
                 Cause: {cause}"
            );
        }
        let client = client(&endpoint);
        let table = format!("test-{}", uuid::Uuid::new_v4());
        let store = Store::new(client.clone(), table.clone());
        let created = if stream {
            store.create_table_if_missing().await
        } else {
            store.create_table_without_stream_if_missing().await
        };
        let created = created.unwrap_or_else(|e| panic!("creating table {table} on {endpoint}: {e}"));
        assert!(created, "table {table} existed before this test");
        let clock = Arc::new(FixedClock::new(start_time()));
        let deps = Arc::new(Deps::new(store.clone(), clock.clone()).with_sessions(super::console::sessions()));
        TestEnv { deps, clock, store, client, table, endpoint }
    }

    /// A second `Deps` on the same table and clock, with empty key and program caches:
    /// what a cold function instance sees.
    pub fn fresh_deps(&self) -> Deps {
        Deps::new(self.store.clone(), self.clock.clone()).with_sessions(super::console::sessions())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.deps.now()
    }

    /// A tenant with the demo program (100 points per ₹1; Silver 1x, Gold 1.25x from
    /// 200,000 lifetime points, Platinum 1.5x with priority service from 2,000,000;
    /// beverages earn double) and its keys: live, sandbox and read-only keys of the `app`
    /// channel (which may call every route), and live and sandbox keys of the `pos`
    /// channel (every route but reward redemption).
    pub async fn tenant(&self, slug: &str) -> Tenant {
        self.tenant_with(slug, &admin::demo_program()).await
    }

    pub async fn tenant_with(&self, slug: &str, program: &Program) -> Tenant {
        let tenant = TenantSlug::parse(slug).expect("a valid test slug");
        let created = admin::create_tenant(&self.deps, &tenant, program).await.expect("create tenant");
        assert!(created, "tenant {slug} already existed");
        let both = vec![Scope::ReadCustomers, Scope::WriteTransactions];
        let live = self.issue_key(&tenant, KeyMode::Live, both.clone()).await;
        let test = self.issue_key(&tenant, KeyMode::Test, both.clone()).await;
        let read_only = self.issue_key(&tenant, KeyMode::Live, vec![Scope::ReadCustomers]).await;
        let pos = self.issue_channel_key(&tenant, KeyMode::Live, Channel::Pos, both.clone()).await;
        let pos_test = self.issue_channel_key(&tenant, KeyMode::Test, Channel::Pos, both).await;
        Tenant {
            slug: tenant,
            live: live.plain,
            test: test.plain,
            read_only: read_only.plain,
            pos: pos.plain,
            pos_test: pos_test.plain,
        }
    }

    /// A key of the `app` channel (allowed on every route).
    pub async fn issue_key(&self, tenant: &TenantSlug, mode: KeyMode, scopes: Vec<Scope>) -> IssuedKey {
        self.issue_channel_key(tenant, mode, Channel::App, scopes).await
    }

    pub async fn issue_channel_key(
        &self,
        tenant: &TenantSlug,
        mode: KeyMode,
        channel: Channel,
        scopes: Vec<Scope>,
    ) -> IssuedKey {
        admin::issue_key(&self.deps, tenant, mode, channel, scopes, "integration test").await.expect("issue key")
    }

    /// Enrols a member through a real live bill of `amount` (a JSON number's text).
    pub async fn seed_member(&self, t: &Tenant, mobile: &str, name: &str, amount: &str) -> Member {
        let body = format!(r#"{{"mobile": "{mobile}", "name": "{name}", "amount": {amount}}}"#);
        let reply = Call::bill(t.slug.as_str()).key(&t.live).body(body).send(&self.deps).await;
        assert_eq!(reply.status, 200, "seeding bill failed: {}", reply.text);
        Member {
            customer_id: reply.str("customer_id").to_owned(),
            mobile: reply.body["customer"]["mobile"].as_str().expect("customer.mobile").to_owned(),
            balance: reply.body["new_balance"].as_i64().expect("new_balance"),
        }
    }

    /// Issues a fixed-value campaign coupon to the member with `mobile`.
    pub async fn issue_coupon(
        &self,
        t: &Tenant,
        mobile: &str,
        value: &str,
        expires: NaiveDate,
        code: Option<&str>,
    ) -> Coupon {
        let spec = CouponSpec {
            mobile: Mobile::parse(mobile).expect("a valid mobile"),
            value: Some(Money::parse(value).expect("a valid value")),
            percent: None,
            expires,
            code: code.map(|c| Code::parse(c).expect("a valid code")),
            source: "campaign".into(),
        };
        admin::issue_coupon(&self.deps, &t.slug, spec).await.expect("issue coupon")
    }

    /// Issues a percent-off campaign coupon to the member with `mobile`.
    pub async fn issue_percent_coupon(
        &self,
        t: &Tenant,
        mobile: &str,
        percent: u32,
        expires: NaiveDate,
        code: &str,
    ) -> Coupon {
        let spec = CouponSpec {
            mobile: Mobile::parse(mobile).expect("a valid mobile"),
            value: None,
            percent: Some(percent),
            expires,
            code: Some(Code::parse(code).expect("a valid code")),
            source: "campaign".into(),
        };
        admin::issue_coupon(&self.deps, &t.slug, spec).await.expect("issue coupon")
    }

    /// Every item of the table, read consistently, sorted by key.
    pub async fn scan(&self) -> Vec<Item> {
        let mut pages =
            self.client.scan().table_name(&self.table).consistent_read(true).into_paginator().items().send();
        let mut items = Vec::new();
        while let Some(item) = pages.next().await {
            items.push(item.unwrap_or_else(|e| panic!("scan: {}", DisplayErrorContext(&e))));
        }
        items.sort_by_key(|item| (attr_s(item, "PK"), attr_s(item, "SK")));
        items
    }

    /// A member's ledger entries and sale items (in their history, `GSI1SK = TXN#...`),
    /// oldest first.
    pub async fn ledger(&self, customer_id: &str) -> Vec<Item> {
        let mut entries: Vec<Item> = self
            .scan()
            .await
            .into_iter()
            .filter(|item| attr_s(item, "GSI1SK").starts_with("TXN#") && attr_s(item, "customer_id") == customer_id)
            .collect();
        entries.sort_by_key(|item| attr_s(item, "GSI1SK"));
        entries
    }

    /// How many member profiles the table holds, across tenants.
    pub async fn member_count(&self) -> usize {
        self.scan().await.iter().filter(|item| attr_s(item, "SK") == "PROFILE").count()
    }

    /// A live lookup by mobile.
    pub async fn lookup(&self, t: &Tenant, mobile: &str) -> Reply {
        Call::customer(t.slug.as_str()).key(&t.live).query("mobile", mobile).send(&self.deps).await
    }

    /// The member's balance as a live lookup reports it.
    pub async fn balance(&self, t: &Tenant, mobile: &str) -> i64 {
        let reply = self.lookup(t, mobile).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["found"], json!(true), "{}", reply.text);
        reply.body["points_balance"].as_i64().expect("points_balance")
    }

    pub async fn bill(&self, t: &Tenant, body: Value) -> Reply {
        Call::bill(t.slug.as_str()).key(&t.live).json(&body).send(&self.deps).await
    }

    pub async fn redeem(&self, t: &Tenant, key: &str, code: &str) -> Reply {
        Call::redeem(t.slug.as_str()).key(key).json(&json!({ "code": code })).send(&self.deps).await
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: its table {} is left on {} for inspection", self.table, self.endpoint);
            return;
        }
        // A fresh client on a runtime of its own: the test's runtime may be a
        // single-threaded one that is blocked in this drop.
        let endpoint = self.endpoint.clone();
        let table = self.table.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                let _ = client(&endpoint).delete_table().table_name(table).send().await;
            });
        })
        .join();
    }
}

fn attr_s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}

pub fn attr_n(item: &Item, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().expect("an integer attribute"),
        other => panic!("attribute {name} is not a number: {other:?}"),
    }
}

/// A tenant and its keys: live with both scopes, sandbox with both, live read-only.
pub struct Tenant {
    pub slug: TenantSlug,
    /// Live, `app` channel, both scopes.
    pub live: String,
    /// Sandbox, `app` channel, both scopes.
    pub test: String,
    /// Live, `app` channel, `read:customers` only.
    pub read_only: String,
    /// Live, `pos` channel (a till's key), both scopes.
    pub pos: String,
    /// Sandbox, `pos` channel, both scopes.
    pub pos_test: String,
}

impl Tenant {
    pub fn slug(&self) -> &str {
        self.slug.as_str()
    }
}

pub struct Member {
    pub customer_id: String,
    pub mobile: String,
    pub balance: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    // Partner dialect: /api/{tenant}/pos/...
    Customer,
    Bill,
    Redeem,
    Transactions,
    Otp,
    Refund,
    Reinstate,
    // Public dialect: /v1/public/loyalty/...
    Balance,
    Earn,
    RewardRedeem,
    Rewards,
    Verify,
    PublicTransactions,
    PublicRefund,
}

impl Route {
    /// The routes of the reference page (the first suites were written against these).
    pub const ALL: [Route; 3] = [Route::Customer, Route::Bill, Route::Redeem];
    /// Every route the product has whose valid call needs nothing prepared.
    /// `/pos/coupon/reinstate` ([`Route::Reinstate`]) answers only for a coupon its own
    /// key used: its keys, tenants and sandbox are tested in `coupon.rs` and the
    /// isolation matrix.
    pub const EVERY: [Route; 13] = [
        Route::Customer,
        Route::Bill,
        Route::Redeem,
        Route::Transactions,
        Route::Otp,
        Route::Refund,
        Route::Balance,
        Route::Earn,
        Route::RewardRedeem,
        Route::Rewards,
        Route::Verify,
        Route::PublicTransactions,
        Route::PublicRefund,
    ];

    pub fn is_public(self) -> bool {
        !matches!(
            self,
            Route::Customer
                | Route::Bill
                | Route::Redeem
                | Route::Transactions
                | Route::Otp
                | Route::Refund
                | Route::Reinstate
        )
    }

    pub fn is_write(self) -> bool {
        matches!(
            self,
            Route::Bill
                | Route::Redeem
                | Route::Otp
                | Route::Refund
                | Route::Reinstate
                | Route::Earn
                | Route::RewardRedeem
                | Route::PublicRefund
        )
    }

    pub fn method(self) -> &'static str {
        if self.is_write() {
            "POST"
        } else {
            "GET"
        }
    }

    fn path(self, slug: &str, code: &str) -> String {
        match self {
            Route::Customer => format!("/api/{slug}/pos/customer"),
            Route::Bill => format!("/api/{slug}/pos/bill"),
            Route::Redeem => format!("/api/{slug}/pos/coupon/redeem"),
            Route::Transactions => format!("/api/{slug}/pos/customer/transactions"),
            Route::Otp => format!("/api/{slug}/pos/otp"),
            Route::Refund => format!("/api/{slug}/pos/refund"),
            Route::Reinstate => format!("/api/{slug}/pos/coupon/reinstate"),
            Route::Balance => "/v1/public/loyalty/balance".into(),
            Route::Earn => "/v1/public/loyalty/earn".into(),
            Route::RewardRedeem => "/v1/public/loyalty/redeem".into(),
            Route::Rewards => "/v1/public/loyalty/rewards".into(),
            Route::Verify => format!("/v1/public/loyalty/vouchers/{code}/verify"),
            Route::PublicTransactions => "/v1/public/loyalty/transactions".into(),
            Route::PublicRefund => "/v1/public/loyalty/refund".into(),
        }
    }
}

/// A request to one of the functions, as API Gateway would hand it over: the
/// `{tenant}` path parameter and the query parameters already extracted.
#[derive(Debug, Clone)]
pub struct Call {
    route: Route,
    slug: String,
    /// The `{code}` path parameter of voucher verification.
    code: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<String>,
}

impl Call {
    pub fn new(route: Route, slug: &str) -> Self {
        Call { route, slug: slug.to_owned(), code: String::new(), headers: Vec::new(), query: Vec::new(), body: None }
    }

    /// A Public-dialect call: no slug in the path; the key names the tenant.
    pub fn public(route: Route) -> Self {
        Call::new(route, "")
    }

    /// `GET /v1/public/loyalty/vouchers/{code}/verify`.
    pub fn verify(code: &str) -> Self {
        let mut call = Call::new(Route::Verify, "");
        call.code = code.to_owned();
        call
    }

    pub fn customer(slug: &str) -> Self {
        Call::new(Route::Customer, slug)
    }

    pub fn bill(slug: &str) -> Self {
        Call::new(Route::Bill, slug)
    }

    pub fn redeem(slug: &str) -> Self {
        Call::new(Route::Redeem, slug)
    }

    pub fn reinstate(slug: &str) -> Self {
        Call::new(Route::Reinstate, slug)
    }

    /// Sends `key` in `X-API-Key`.
    pub fn key(self, key: &str) -> Self {
        self.header("X-API-Key", key)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.body(body.to_string())
    }

    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.body = Some(text.into());
        self
    }

    pub fn request(&self) -> Request {
        let mut builder = http::Request::builder()
            .method(self.route.method())
            .uri(format!("https://loyalty.test{}", self.route.path(&self.slug, &self.code)));
        if self.body.is_some() {
            builder = builder.header("Content-Type", "application/json");
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = match &self.body {
            Some(text) => Body::from(text.clone()),
            None => Body::Empty,
        };
        let query: HashMap<String, String> = self.query.iter().cloned().collect();
        builder
            .body(body)
            .expect("a valid request")
            .with_path_parameters(if self.route == Route::Verify {
                HashMap::from([("code".to_owned(), self.code.clone())])
            } else if self.route.is_public() {
                HashMap::new()
            } else {
                HashMap::from([("tenant".to_owned(), self.slug.clone())])
            })
            .with_query_string_parameters(query)
    }

    pub async fn send(&self, deps: &Deps) -> Reply {
        self.send_request(deps, self.request()).await
    }

    /// Sends `req` (this call's [`request`](Self::request), perhaps altered: a raw header,
    /// a request context) to this call's function.
    pub async fn send_request(&self, deps: &Deps, req: Request) -> Reply {
        // Each handler's future is boxed: one enum of all of them would be too large for
        // a test thread's stack in a debug build.
        let resp = match self.route {
            Route::Customer => Box::pin(pos_customer::handle(deps, req)).await,
            Route::Bill => Box::pin(pos_bill::handle(deps, req)).await,
            Route::Redeem => Box::pin(pos_coupon_redeem::handle(deps, req)).await,
            Route::Transactions => Box::pin(pos_customer_transactions::handle(deps, req)).await,
            Route::Otp => Box::pin(pos_otp::handle(deps, req)).await,
            Route::Refund => Box::pin(pos_refund::handle(deps, req)).await,
            Route::Reinstate => Box::pin(pos_coupon_reinstate::handle(deps, req)).await,
            Route::Balance => Box::pin(public_balance::handle(deps, req)).await,
            Route::Earn => Box::pin(public_earn::handle(deps, req)).await,
            Route::RewardRedeem => Box::pin(public_redeem::handle(deps, req)).await,
            Route::Rewards => Box::pin(public_rewards::handle(deps, req)).await,
            Route::Verify => Box::pin(public_voucher_verify::handle(deps, req)).await,
            Route::PublicTransactions => Box::pin(public_transactions::handle(deps, req)).await,
            Route::PublicRefund => Box::pin(public_refund::handle(deps, req)).await,
        };
        Reply::from_response(resp)
    }
}

/// A function's answer: status, headers, the body text and the body parsed as JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn from_response(resp: Response<Body>) -> Self {
        let (parts, body) = resp.into_parts();
        let text = match body {
            Body::Empty => String::new(),
            Body::Text(t) => t,
            Body::Binary(b) => String::from_utf8(b).expect("a UTF-8 body"),
            _ => panic!("an unexpected body kind"),
        };
        let content_type =
            parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        // An export's page is CSV text (`body` is then null); every other answer is JSON.
        if content_type == "text/csv; charset=utf-8" && parts.status.is_success() {
            return Reply { status: parts.status.as_u16(), headers: parts.headers, text, body: Value::Null };
        }
        assert_eq!(content_type, "application/json", "every answer is JSON (status {}, body {text})", parts.status);
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        Reply { status: parts.status.as_u16(), headers: parts.headers, text, body }
    }

    /// A string field of the body.
    pub fn str(&self, name: &str) -> &str {
        self.body[name].as_str().unwrap_or_else(|| panic!("{name} is not a string in {}", self.text))
    }

    pub fn int(&self, name: &str) -> i64 {
        self.body[name].as_i64().unwrap_or_else(|| panic!("{name} is not an integer in {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Partner error: this status, exactly this `error` sentence, and the
    /// `code` (and `param`, if any) that go with them (see [`partner_code`]).
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str) {
        let code = partner_code(status, message);
        self.assert_coded_error(status, code, message);
    }

    /// Asserts a Partner error: this status and `{"error": message, "code": code}`, with
    /// `param` only where the sentence starts with a field (the field's name).
    #[track_caller]
    pub fn assert_coded_error(&self, status: u16, code: &str, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(self.body["error"], json!(message), "body: {}", self.text);
        assert_eq!(self.body["code"], json!(code), "body: {}", self.text);
        if let Some(param) = self.body.get("param") {
            let param = param.as_str().unwrap_or_else(|| panic!("param is a string: {}", self.text));
            assert!(message.starts_with(&format!("{param} ")), "param {param} starts the sentence: {}", self.text);
        }
        let known = ["error", "code", "param", "outcome", "request_id"];
        let fields = self.body.as_object().unwrap_or_else(|| panic!("an object: {}", self.text));
        assert!(fields.keys().all(|k| known.contains(&k.as_str())), "body: {}", self.text);
    }

    /// Asserts the 401 every bad key gets, byte for byte.
    #[track_caller]
    pub fn assert_unauthorized(&self) {
        assert_eq!((self.status, self.text.as_str()), (401, UNAUTHORIZED), "every bad key gets the same 401");
    }

    /// Asserts a 200 whose body has every field of `expected` with that exact value
    /// (objects may have more fields; arrays must match element for element).
    #[track_caller]
    pub fn assert_ok(&self, expected: &Value) {
        assert_eq!(self.status, 200, "body: {}", self.text);
        assert_includes(&self.body, expected);
    }
}

/// The `code` a Partner error of this status and sentence has (the enum of
/// `ApiError::code`): the sentence decides among a status's codes.
pub fn partner_code(status: u16, message: &str) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        413 => "payload_too_large",
        429 => "rate_limited",
        409 if message.contains("Idempotency-Key") => "idempotency_conflict",
        409 => "reference_conflict",
        400 if message == "Coupon expired" => "voucher_expired",
        400 if message == "Coupon is used" => "voucher_used",
        400 if message == "Coupon is not used" => "voucher_not_used",
        400 if message.starts_with("Coupon was used more than") => "reinstate_window_passed",
        400 if message.starts_with("Insufficient points") => "insufficient_points",
        400 if message.contains("OTP") => "otp_invalid",
        400 => "invalid_request",
        500 => "internal_error",
        _ => "service_unavailable",
    }
}

/// Every field of `expected` is in `actual` with the same value, recursively.
#[track_caller]
pub fn assert_includes(actual: &Value, expected: &Value) {
    if let Err(msg) = includes(actual, expected, "$") {
        panic!("{msg}\n  actual: {actual:#}\nexpected (subset): {expected:#}");
    }
}

fn includes(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (name, want) in e {
                let here = format!("{path}.{name}");
                match a.get(name) {
                    Some(got) => includes(got, want, &here)?,
                    None => return Err(format!("{here} is missing")),
                }
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!("{path} has {} elements, expected {}", a.len(), e.len()));
            }
            for (i, (got, want)) in a.iter().zip(e).enumerate() {
                includes(got, want, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (got, want) if got == want => Ok(()),
        (got, want) => Err(format!("{path} is {got}, expected {want}")),
    }
}

/// Runs `n` copies of a call at once (released together by a barrier) on a shared
/// `Deps`, and returns every answer.
pub async fn concurrently(deps: &Arc<Deps>, calls: Vec<Call>) -> Vec<Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(calls.len()));
    let mut tasks = tokio::task::JoinSet::new();
    for call in calls {
        let deps = deps.clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            call.send(&deps).await
        });
    }
    let mut replies = Vec::new();
    while let Some(reply) = tasks.join_next().await {
        replies.push(reply.expect("a request task panicked"));
    }
    replies
}

// Public-dialect assertions, the clock, the catalog and the SMS outbox (added for the
// public, cross-dialect and till suites).

impl Reply {
    /// Asserts a Public error: this status and exactly
    /// `{"result": "error", "error": {"code": code, "message": message}}`.
    #[track_caller]
    pub fn assert_public_error(&self, status: u16, code: &str, message: &str) {
        let expected = json!({ "result": "error", "error": { "code": code, "message": message } });
        assert_eq!((self.status, &self.body), (status, &expected), "body: {}", self.text);
    }

    /// Asserts a Public success: 200, `"result": "success"`, and a `data` that has every
    /// field of `expected` with that exact value (see [`assert_includes`]).
    #[track_caller]
    pub fn assert_success(&self, expected: &Value) {
        assert_eq!(self.status, 200, "body: {}", self.text);
        assert_eq!(self.body["result"], json!("success"), "body: {}", self.text);
        assert_includes(&self.body["data"], expected);
    }

    /// A string field of a Public answer's `data`.
    pub fn data_str(&self, name: &str) -> &str {
        self.body["data"][name].as_str().unwrap_or_else(|| panic!("data.{name} is not a string in {}", self.text))
    }

    /// An integer field of a Public answer's `data`.
    pub fn data_int(&self, name: &str) -> i64 {
        self.body["data"][name].as_i64().unwrap_or_else(|| panic!("data.{name} is not an integer in {}", self.text))
    }
}

impl TestEnv {
    /// Moves the fixed clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.set(self.now() + by);
    }

    /// Adds `loyalty_admin::demo_rewards()` to the tenant's catalog.
    pub async fn add_demo_rewards(&self, t: &Tenant) {
        for reward in admin::demo_rewards() {
            admin::add_reward(&self.deps, &t.slug, &reward).await.expect("add reward");
        }
    }

    /// A `Deps` on this table and clock whose SMS sender appends to a fresh outbox file.
    pub fn with_outbox(&self) -> (Arc<Deps>, Outbox) {
        let outbox = Outbox { path: std::env::temp_dir().join(format!("loyalty-sms-{}", uuid::Uuid::new_v4())) };
        let sms = loyalty::sms::LocalSms { outbox: Some(outbox.path.clone()) };
        (Arc::new(self.fresh_deps().with_sms(Arc::new(sms))), outbox)
    }
}

/// The local SMS sender's outbox: one line per message, `{time} {mobile} {message}`.
/// Removed when dropped.
pub struct Outbox {
    path: std::path::PathBuf,
}

impl Outbox {
    /// Every message sent so far, as `(mobile, message)`, oldest first.
    pub fn messages(&self) -> Vec<(String, String)> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("reading the outbox {}: {e}", self.path.display()),
        };
        text.lines()
            .map(|line| {
                let mut parts = line.splitn(3, ' ');
                let _time = parts.next();
                let mobile = parts.next().expect("an outbox line has a mobile").to_owned();
                let message = parts.next().expect("an outbox line has a message").to_owned();
                (mobile, message)
            })
            .collect()
    }

    /// The one-time code of the last message (its first word), checked to be 6 digits.
    pub fn last_code(&self) -> String {
        let (_, message) = self.messages().pop().expect("a message was sent");
        let code = message.split(' ').next().expect("a code").to_owned();
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "not a 6-digit code: {message}");
        code
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

// Added for the idempotency, races, soak, faults and matrix suites.

/// A recorded sale reference: the purchase of a sale with a reference (it keeps the
/// outcome a retry is answered with).
pub fn is_sale_reference(item: &Item) -> bool {
    attr_str(item, "SK") == "SALE" && item.contains_key("outcome")
}

/// A string attribute of an item; empty when it is absent or not a string.
pub fn attr_str<'a>(item: &'a Item, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v,
        _ => "",
    }
}

/// The items of one tenant: every key that starts with `TENANT#{slug}#` or is
/// `TENANT#{slug}` itself, and the key items naming the tenant.
pub fn tenant_items<'a>(items: &'a [Item], slug: &str) -> Vec<&'a Item> {
    let prefix = format!("TENANT#{slug}#");
    let exact = format!("TENANT#{slug}");
    items
        .iter()
        .filter(|item| {
            let pk = attr_str(item, "PK");
            pk.starts_with(&prefix) || pk == exact || attr_str(item, "tenant") == slug
        })
        .collect()
}

impl TestEnv {
    /// A store on this test's table through a client of its own (its own connections),
    /// for requests run on another runtime.
    pub fn store_with_own_client(&self) -> Store {
        Store::new(client(&self.endpoint), self.table.clone())
    }
}

/// A clock that moves one millisecond each time it is read, so that no two readings are
/// equal (as on a real server).
pub struct TickingClock {
    ms: std::sync::atomic::AtomicI64,
}

impl TickingClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        TickingClock { ms: at.timestamp_millis().into() }
    }
}

impl loyalty::deps::Clock for TickingClock {
    fn now(&self) -> DateTime<Utc> {
        let ms = self.ms.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        DateTime::from_timestamp_millis(ms).expect("a valid instant")
    }
}
