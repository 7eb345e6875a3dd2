//! What the bench sends each function: the sample event `events/<fn>/ok.json` (keys
//! from `seed-demo` filled in) varied per invocation so that every request takes the
//! path it names (a new reference per bill, a fresh coupon per redemption, a member
//! without a pending code per OTP...), and the documented round trips of each path
//! (docs/architecture.md, "Access patterns and round trips").

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use loyalty::auth::Caller;
use loyalty::domain::{Code, Email, Mobile, Money, TenantSlug};
use loyalty::engine::{self, MemberRef, NewMember, Sale};
use loyalty::keys::KeyMode;
use loyalty::sms::{SendFuture, SmsSender};
use loyalty::Deps;
use serde_json::{json, Value};

use crate::error::Error;

/// One path through an endpoint.
pub struct Scenario {
    pub id: &'static str,
    pub label: &'static str,
    /// The HTTP status the path answers.
    pub status: u16,
    /// Round trips docs/architecture.md gives for it.
    pub doc_rt: u32,
    pub doc: &'static str,
    /// The endpoint's worst documented path (by round trips).
    pub worst: bool,
}

pub struct Endpoint {
    pub function: &'static str,
    pub route: &'static str,
    /// Reads the tenant's program (a cold request adds that read).
    pub reads_program: bool,
    /// `scenarios[0]` is the common path, the `ok` event.
    pub scenarios: Vec<Scenario>,
}

const fn sc(
    id: &'static str,
    label: &'static str,
    status: u16,
    doc_rt: u32,
    doc: &'static str,
    worst: bool,
) -> Scenario {
    Scenario { id, label, status, doc_rt, doc, worst }
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            function: "pos-customer",
            route: "GET /api/{tenant}/pos/customer",
            reads_program: true,
            scenarios: vec![
                sc(
                    "ok",
                    "found (member with coupons)",
                    200,
                    2,
                    "GetItem lookup → [GetItem profile ‖ Query GSI1]",
                    false,
                ),
                sc("not-found", "unknown mobile", 200, 1, "GetItem lookup", false),
                sc("create", "create=true, new mobile", 200, 2, "GetItem lookup → TransactWriteItems", true),
            ],
        },
        Endpoint {
            function: "pos-bill",
            route: "POST /api/{tenant}/pos/bill",
            reads_program: true,
            scenarios: vec![
                sc(
                    "ok",
                    "member by mobile, new external_ref",
                    200,
                    3,
                    "GetItem lookup → GetItem profile → TransactWriteItems",
                    false,
                ),
                sc("by-id", "member by customer_id", 200, 2, "GetItem profile → TransactWriteItems", false),
                sc(
                    "new-mobile",
                    "new mobile with external_ref",
                    200,
                    2,
                    "GetItem lookup (miss) → TransactWriteItems",
                    false,
                ),
                sc(
                    "retried-ref",
                    "retried external_ref",
                    200,
                    3,
                    "as by mobile; the failed condition returns the outcome",
                    false,
                ),
                sc("idem", "with Idempotency-Key", 200, 4, "+ PutItem claim (3 + 1)", false),
                sc("idem-retry", "Idempotency-Key retried", 200, 1, "the claim answers the stored response", false),
                sc(
                    "points",
                    "spending points with OTP, with external_ref",
                    200,
                    3,
                    "[GetItem reference ‖ lookup ‖ wrong guesses ‖ code] → GetItem profile → TransactWriteItems",
                    true,
                ),
            ],
        },
        Endpoint {
            function: "pos-coupon-redeem",
            route: "POST /api/{tenant}/pos/coupon/redeem",
            reads_program: false,
            scenarios: vec![
                sc("ok", "active coupon", 200, 1, "UpdateItem with condition", false),
                sc("used", "coupon already used", 400, 1, "the failed condition returns the old item", false),
                sc("idem", "with Idempotency-Key", 200, 3, "PutItem claim → GetItem code → TransactWriteItems", true),
                sc("idem-retry", "Idempotency-Key retried", 200, 1, "the claim answers the stored response", false),
            ],
        },
        Endpoint {
            function: "pos-customer-transactions",
            route: "GET /api/{tenant}/pos/customer/transactions",
            reads_program: false,
            scenarios: vec![
                sc("ok", "mobile, limit 5", 200, 2, "GetItem lookup → Query GSI1 history", true),
                sc("unknown", "unknown mobile", 404, 1, "GetItem lookup", false),
            ],
        },
        Endpoint {
            function: "pos-otp",
            route: "POST /api/{tenant}/pos/otp",
            reads_program: true,
            scenarios: vec![
                sc(
                    "ok",
                    "member without a recent code",
                    200,
                    2,
                    "[GetItem lookup ‖ GetItem code] → TransactWriteItems (SMS counts, code)",
                    true,
                ),
                sc("unknown", "unknown mobile", 404, 1, "GetItem lookup", false),
            ],
        },
        Endpoint {
            function: "pos-refund",
            route: "POST /api/{tenant}/pos/refund",
            reads_program: true,
            scenarios: vec![
                sc(
                    "ok",
                    "by external_ref",
                    200,
                    3,
                    "[GetItem sale (the reference's) ‖ GetItem ref (a sale from before)] → [GetItem sale ‖ GetItem profile] → TransactWriteItems",
                    false,
                ),
                sc(
                    "by-txn",
                    "by transaction_id",
                    200,
                    3,
                    "GetItem sale → GetItem profile → TransactWriteItems",
                    false,
                ),
                sc("idem", "by external_ref, Idempotency-Key", 200, 4, "+ PutItem claim (3 + 1)", true),
            ],
        },
        Endpoint {
            function: "public-balance",
            route: "GET /v1/public/loyalty/balance",
            reads_program: true,
            scenarios: vec![sc("ok", "by email", 200, 2, "GetItem email lookup → GetItem profile", true)],
        },
        Endpoint {
            function: "public-earn",
            route: "POST /v1/public/loyalty/earn",
            reads_program: true,
            scenarios: vec![
                sc("ok", "member by email, new reference", 200, 3, "as /pos/bill by mobile, by email", false),
                sc(
                    "new-email",
                    "new email with reference",
                    200,
                    2,
                    "GetItem lookup (miss) → TransactWriteItems",
                    false,
                ),
                sc(
                    "retried-ref",
                    "retried reference",
                    200,
                    3,
                    "as by email; the failed condition returns the outcome",
                    false,
                ),
                sc("idem", "with Idempotency-Key", 200, 4, "+ PutItem claim (3 + 1)", true),
            ],
        },
        Endpoint {
            function: "public-redeem",
            route: "POST /v1/public/loyalty/redeem",
            reads_program: true,
            scenarios: vec![
                sc(
                    "ok",
                    "reward for a member",
                    200,
                    3,
                    "[GetItem reward ‖ GetItem lookup] → GetItem profile → TransactWriteItems",
                    false,
                ),
                sc(
                    "insufficient",
                    "not enough points",
                    422,
                    2,
                    "[GetItem reward ‖ GetItem lookup] → GetItem profile",
                    false,
                ),
                sc("idem", "with Idempotency-Key", 200, 4, "+ PutItem claim (3 + 1)", true),
            ],
        },
        Endpoint {
            function: "public-rewards",
            route: "GET /v1/public/loyalty/rewards",
            reads_program: false,
            scenarios: vec![sc("ok", "catalog", 200, 1, "Query PK = tenant, begins_with(SK, REWARD#)", true)],
        },
        Endpoint {
            function: "public-voucher-verify",
            route: "GET /v1/public/loyalty/vouchers/{code}/verify",
            reads_program: false,
            scenarios: vec![
                sc("ok", "known code", 200, 1, "GetItem code", true),
                sc("unknown", "unknown code", 404, 1, "GetItem code", false),
            ],
        },
        Endpoint {
            function: "public-transactions",
            route: "GET /v1/public/loyalty/transactions",
            reads_program: false,
            scenarios: vec![sc("ok", "by email", 200, 2, "GetItem lookup → Query GSI1 history", true)],
        },
        Endpoint {
            function: "public-refund",
            route: "POST /v1/public/loyalty/refund",
            reads_program: true,
            scenarios: vec![
                sc(
                    "ok",
                    "by reference",
                    200,
                    3,
                    "[GetItem sale (the reference's) ‖ GetItem ref (a sale from before)] → [GetItem sale ‖ GetItem profile] → TransactWriteItems",
                    false,
                ),
                sc("idem", "with Idempotency-Key", 200, 4, "+ PutItem claim (3 + 1)", true),
            ],
        },
    ]
}

/// What `loyalty-admin seed-demo --json` printed.
pub struct Seed {
    pub tenant: String,
    pub live_key: String,
    pub test_key: String,
    pub read_only_key: String,
    pub app_key: String,
}

impl Seed {
    pub fn parse(text: &str) -> Result<Seed, Error> {
        let v: Value =
            serde_json::from_str(text.trim()).map_err(|e| format!("seed-demo --json printed no JSON ({e}): {text}"))?;
        let get = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::from(format!("seed-demo output lacks {k}")))
        };
        Ok(Seed {
            tenant: get("tenant")?,
            live_key: get("live_key")?,
            test_key: get("test_key")?,
            read_only_key: get("read_only_key")?,
            app_key: get("app_key")?,
        })
    }
}

/// A pool member: enrolled by a large seed bill (so it has points to spend and a sale
/// to refund).
#[derive(Clone)]
pub struct Member {
    pub mobile: String,
    pub email: String,
    pub id: String,
    pub seed_ref: String,
    pub seed_txn: String,
}

/// Keeps the last code sent, so that the bench can spend points with it.
#[derive(Default)]
pub struct CaptureSms(Mutex<Option<String>>);

impl SmsSender for CaptureSms {
    fn send<'a>(&'a self, _to: &'a Mobile, _message: &'a str, secret: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(secret.to_owned());
            Ok(())
        })
    }
}

fn parse_err(what: &str, e: impl std::fmt::Display) -> Error {
    format!("{what}: {e}").into()
}

pub struct Fixtures {
    pub tenant: TenantSlug,
    pub members: Vec<Member>,
    pub otp_member: Member,
    pub coupons: Vec<String>,
    pub run: String,
}

pub(crate) async fn seed_member(deps: &Deps, caller: &Caller, i: usize, run: &str) -> Result<Member, Error> {
    let program = loyalty::auth::program(deps, &caller.tenant).await.map_err(|e| parse_err("program", e))?;
    let mobile = format!("{}", 7_000_000_000u64 + i as u64);
    let email = format!("bench{i}@example.com");
    let seed_ref = format!("BENCH-{run}-SEED-{i}");
    let sale = Sale {
        member: MemberRef::Mobile(Mobile::parse(&mobile).map_err(|e| parse_err("mobile", e))?),
        enrol: Some(NewMember {
            name: Some(format!("Bench Member {i}")),
            mobile: Some(Mobile::parse(&mobile).map_err(|e| parse_err("mobile", e))?),
            email: Some(Email::parse(&email).map_err(|e| parse_err("email", e))?),
        }),
        amount: Money::parse("100000").map_err(|e| parse_err("amount", e))?,
        items: vec![],
        reference: Some(seed_ref.clone()),
        description: Some("Bench seed bill".into()),
        preview: false,
        redeem_points: 0,
        coupon: None,
        otp: None,
        sold_at: None,
    };
    // A seed bill whose outcome was lost (DynamoDB Local under load) is sent again: its
    // reference makes the retry answer the first result or apply it once.
    let mut attempt = 0;
    let result = loop {
        match engine::record_sale(deps, caller, &program, &sale, None).await {
            Ok(result) => break result,
            Err(_) if attempt < 4 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => return Err(parse_err("seed bill", e)),
        }
    };
    Ok(Member {
        mobile,
        email,
        id: result.outcome.customer.customer_id.clone(),
        seed_ref,
        seed_txn: result.outcome.transaction_id.clone(),
    })
}

impl Fixtures {
    /// `pool` members with points and a refundable sale each, one more for the
    /// points-on-a-bill path, and `coupons` active coupons spread over the pool.
    pub async fn create(deps: &Deps, seed: &Seed, pool: usize, coupons: usize, run: &str) -> Result<Fixtures, Error> {
        let tenant = TenantSlug::parse(&seed.tenant).map_err(|e| parse_err("tenant", e))?;
        let caller = Caller { tenant: tenant.clone(), key_id: "loyalty-bench".into(), mode: KeyMode::Live };
        let mut members = Vec::with_capacity(pool);
        for i in 0..pool {
            members.push(seed_member(deps, &caller, i, run).await?);
        }
        let otp_member = seed_member(deps, &caller, pool, run).await?;
        let program = loyalty::auth::program(deps, &tenant).await.map_err(|e| parse_err("program", e))?;
        let expires = loyalty::model::local_date(deps.now(), program.utc_offset_minutes) + chrono::Duration::days(365);
        let mut codes = Vec::with_capacity(coupons);
        for j in 0..coupons {
            let spec = loyalty_admin::CouponSpec {
                mobile: Mobile::parse(&members[j % pool].mobile).map_err(|e| parse_err("mobile", e))?,
                value: Some(Money::parse("10").map_err(|e| parse_err("value", e))?),
                percent: None,
                expires,
                code: None,
                source: "campaign".into(),
            };
            let coupon = loyalty_admin::issue_coupon(deps, &tenant, spec).await.map_err(|e| parse_err("coupon", e))?;
            codes.push(coupon.code.to_string());
        }
        Ok(Fixtures { tenant, members, otp_member, coupons: codes, run: run.to_owned() })
    }
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn set_body(ev: &mut Value, body: Value) {
    ev["body"] = Value::String(body.to_string());
}

fn set_query(ev: &mut Value, params: &[(&str, String)]) {
    let map: serde_json::Map<String, Value> =
        params.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
    ev["queryStringParameters"] = Value::Object(map);
    ev["rawQueryString"] =
        Value::String(params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&"));
}

fn set_header(ev: &mut Value, name: &str, value: &str) {
    ev["headers"][name] = Value::String(value.to_owned());
}

/// Builds the events, one invocation at a time.
pub struct Events {
    templates: HashMap<String, Value>,
    fx: Fixtures,
    deps: Arc<Deps>,
    sms: Arc<CaptureSms>,
    counters: HashMap<String, u64>,
    last: HashMap<(String, &'static str), Value>,
    fresh: u64,
    next_coupon: usize,
    invocations: u64,
}

impl Events {
    /// Reads `events/<fn>/ok.json` for each function and fills in the keys.
    pub fn new(
        root: &Path,
        functions: &[&str],
        seed: &Seed,
        fx: Fixtures,
        deps: Arc<Deps>,
        sms: Arc<CaptureSms>,
    ) -> Result<Events, Error> {
        let mut templates = HashMap::new();
        for f in functions {
            let path = root.join("events").join(f).join("ok.json");
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let text = text
                .replace("{{LIVE_KEY}}", &seed.live_key)
                .replace("{{TEST_KEY}}", &seed.test_key)
                .replace("{{READ_ONLY_KEY}}", &seed.read_only_key)
                .replace("{{APP_KEY}}", &seed.app_key);
            let ev: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            templates.insert((*f).to_owned(), ev);
        }
        Ok(Events {
            templates,
            fx,
            deps,
            sms,
            counters: HashMap::new(),
            last: HashMap::new(),
            fresh: 0,
            next_coupon: 0,
            invocations: 0,
        })
    }

    fn fresh_mobile(&mut self) -> String {
        self.fresh += 1;
        format!("{}", 6_000_000_000u64 + self.fresh)
    }

    fn reference(&self, kind: &str, n: u64) -> String {
        format!("BENCH-{}-{kind}{n}", self.fx.run)
    }

    fn coupon(&mut self) -> Result<String, Error> {
        let code = self.fx.coupons.get(self.next_coupon).cloned().ok_or("out of bench coupons: raise the pool")?;
        self.next_coupon += 1;
        Ok(code)
    }

    fn repeat(&self, function: &str, scenario: &'static str) -> Result<Value, Error> {
        self.last
            .get(&(function.to_owned(), scenario))
            .cloned()
            .ok_or_else(|| format!("{function}: no earlier {scenario} event to repeat").into())
    }

    /// The event for one invocation of `function` on path `scenario`.
    pub async fn build(&mut self, function: &str, scenario: &str) -> Result<Value, Error> {
        let template_name = if function == "hello-lambda" { "pos-customer" } else { function };
        let mut ev =
            self.templates.get(template_name).cloned().ok_or_else(|| format!("no event template for {function}"))?;
        let counter = self.counters.entry(function.to_owned()).or_insert(0);
        let n = *counter;
        *counter += 1;
        let member = self.fx.members[(n as usize) % self.fx.members.len()].clone();
        let idem_key = format!("bench-{}", uuid::Uuid::new_v4());
        let remember: Option<&'static str>;
        match (function, scenario) {
            ("hello-lambda", _) | (_, "ok")
                if !matches!(
                    function,
                    "pos-bill"
                        | "pos-coupon-redeem"
                        | "pos-otp"
                        | "pos-refund"
                        | "public-earn"
                        | "public-redeem"
                        | "public-refund"
                ) =>
            {
                remember = None;
            }
            ("pos-customer", "not-found") => {
                let m = self.fresh_mobile();
                set_query(&mut ev, &[("mobile", m)]);
                remember = None;
            }
            ("pos-customer", "create") => {
                let m = self.fresh_mobile();
                set_query(&mut ev, &[("mobile", m), ("create", "true".into()), ("name", "Bench New".into())]);
                remember = None;
            }
            ("pos-bill", "ok" | "idem") => {
                let kind = if scenario == "ok" { "B" } else { "BI" };
                let body = json!({"mobile": member.mobile, "amount": 1500, "name": "Bench Member", "external_ref": self.reference(kind, n)});
                set_body(&mut ev, body);
                if scenario == "idem" {
                    set_header(&mut ev, "idempotency-key", &idem_key);
                }
                remember = Some(if scenario == "ok" { "ok" } else { "idem" });
            }
            ("pos-bill", "by-id") => {
                set_body(
                    &mut ev,
                    json!({"customer_id": member.id, "amount": 1500, "external_ref": self.reference("BC", n)}),
                );
                remember = None;
            }
            ("pos-bill", "new-mobile") => {
                let m = self.fresh_mobile();
                set_body(
                    &mut ev,
                    json!({"mobile": m, "amount": 1500, "name": "New Member", "external_ref": self.reference("BN", n)}),
                );
                remember = None;
            }
            ("pos-bill" | "public-earn", "retried-ref") => {
                ev = self.repeat(function, "ok")?;
                remember = None;
            }
            (_, "idem-retry") => {
                ev = self.repeat(function, "idem")?;
                remember = None;
            }
            ("pos-bill", "points") => {
                let otp_mobile = self.fx.otp_member.mobile.clone();
                let mobile = Mobile::parse(&otp_mobile).map_err(|e| parse_err("mobile", e))?;
                let caller =
                    Caller { tenant: self.fx.tenant.clone(), key_id: "loyalty-bench".into(), mode: KeyMode::Live };
                let program =
                    loyalty::auth::program(&self.deps, &caller.tenant).await.map_err(|e| parse_err("program", e))?;
                engine::send_otp(&self.deps, &caller, &mobile, &program).await.map_err(|e| parse_err("send otp", e))?;
                let code = self.sms.0.lock().unwrap_or_else(|e| e.into_inner()).take().ok_or("no OTP captured")?;
                let body = json!({"mobile": otp_mobile, "amount": 1500, "redeem_points": 1000, "otp": code, "external_ref": self.reference("BP", n)});
                set_body(&mut ev, body);
                remember = None;
            }
            ("pos-coupon-redeem", "ok" | "idem") => {
                let code = self.coupon()?;
                set_body(&mut ev, json!({"code": code}));
                if scenario == "idem" {
                    set_header(&mut ev, "idempotency-key", &idem_key);
                }
                remember = Some(if scenario == "ok" { "ok" } else { "idem" });
            }
            ("pos-coupon-redeem", "used") => {
                ev = self.repeat(function, "ok")?;
                remember = None;
            }
            ("pos-customer-transactions", "unknown") => {
                let m = self.fresh_mobile();
                set_query(&mut ev, &[("mobile", m), ("limit", "5".into())]);
                remember = None;
            }
            ("pos-otp", "ok") => {
                set_body(&mut ev, json!({"mobile": member.mobile}));
                remember = None;
            }
            ("pos-otp", "unknown") => {
                let m = self.fresh_mobile();
                set_body(&mut ev, json!({"mobile": m}));
                remember = None;
            }
            ("pos-refund", "ok" | "idem") => {
                // A refund names itself: its own reference, or an Idempotency-Key.
                if scenario == "idem" {
                    set_body(&mut ev, json!({"external_ref": member.seed_ref, "amount": 1}));
                    set_header(&mut ev, "idempotency-key", &idem_key);
                } else {
                    let body =
                        json!({"external_ref": member.seed_ref, "amount": 1, "refund_ref": self.reference("R", n)});
                    set_body(&mut ev, body);
                }
                remember = None;
            }
            ("pos-refund", "by-txn") => {
                let body =
                    json!({"transaction_id": member.seed_txn, "amount": 1, "refund_ref": self.reference("RT", n)});
                set_body(&mut ev, body);
                remember = None;
            }
            ("public-earn", "ok" | "idem") => {
                let kind = if scenario == "ok" { "E" } else { "EI" };
                let body = json!({"email": member.email, "amount": 150.0, "reference": self.reference(kind, n), "description": "Online purchase"});
                set_body(&mut ev, body);
                if scenario == "idem" {
                    set_header(&mut ev, "idempotency-key", &idem_key);
                }
                remember = Some(if scenario == "ok" { "ok" } else { "idem" });
            }
            ("public-earn", "new-email") => {
                self.fresh += 1;
                let body = json!({"email": format!("new{}@example.com", self.fresh), "amount": 150.0, "reference": self.reference("EN", n)});
                set_body(&mut ev, body);
                remember = None;
            }
            ("public-redeem", "ok" | "idem") => {
                set_body(&mut ev, json!({"email": member.email, "rewardId": "rwd-002"}));
                if scenario == "idem" {
                    set_header(&mut ev, "idempotency-key", &idem_key);
                }
                remember = None;
            }
            ("public-redeem", "insufficient") => {
                set_body(&mut ev, json!({"email": loyalty_admin::DEMO_EMAIL, "rewardId": "rwd-004"}));
                remember = None;
            }
            ("public-voucher-verify", "unknown") => {
                let code = format!("NOPE-{n}");
                Code::parse(&code).map_err(|e| parse_err("code", e))?;
                ev["pathParameters"]["code"] = Value::String(code.clone());
                let path = format!("/v1/public/loyalty/vouchers/{code}/verify");
                ev["rawPath"] = Value::String(path.clone());
                ev["requestContext"]["http"]["path"] = Value::String(path);
                remember = None;
            }
            ("public-refund", "ok" | "idem") => {
                if scenario == "idem" {
                    set_body(&mut ev, json!({"reference": member.seed_ref, "amount": 1}));
                    set_header(&mut ev, "idempotency-key", &idem_key);
                } else {
                    let body =
                        json!({"reference": member.seed_ref, "amount": 1, "refundReference": self.reference("PR", n)});
                    set_body(&mut ev, body);
                }
                remember = None;
            }
            _ => return Err(format!("no event for {function} / {scenario}").into()),
        }
        if let Some(kind) = remember {
            self.last.insert((function.to_owned(), kind), ev.clone());
        }
        self.invocations += 1;
        ev["requestContext"]["requestId"] = Value::String(format!("bench-{}-{}", self.fx.run, self.invocations));
        ev["requestContext"]["timeEpoch"] = json!(chrono::Utc::now().timestamp_millis());
        Ok(ev)
    }
}
