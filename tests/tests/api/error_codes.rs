//! What a program reads in an answer: every Partner error's `code` (the enum of the
//! Public dialect's `error.code`) and `param`, beside the contract's `error` sentence;
//! and the `x-request-id` header on every answer of every dialect, the id the function
//! logs the request under.

use lambda_http::{Context, RequestExt};
use loyalty::actor::Role;
use serde_json::json;

use super::console::{Admin, AdminCall};
use super::support::{Call, Reply, Route, TestEnv};

const HEADER: &str = "x-request-id";

/// `call` sent as the Lambda runtime would hand it over, with this invocation id.
async fn send_as(env: &TestEnv, call: &Call, id: &str) -> Reply {
    let mut context = Context::default();
    context.request_id = id.to_owned();
    call.send_request(&env.deps, call.request().with_lambda_context(context)).await
}

#[tokio::test]
async fn partner_errors_carry_a_code_and_the_field_at_fault() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    let bad_key = Call::customer(t.slug()).key("mg_live_nope").query("mobile", "9876543210").send(&env.deps).await;
    bad_key.assert_coded_error(401, "unauthorized", "Missing or invalid API key");
    assert!(bad_key.body.get("param").is_none(), "{}", bad_key.text);

    let not_a_number = Call::bill(t.slug()).key(&t.live).json(&json!({ "mobile": "9876543210", "amount": "12" }));
    let reply = not_a_number.send(&env.deps).await;
    reply.assert_coded_error(400, "invalid_request", "amount must be a number");
    assert_eq!(reply.body["param"], "amount", "{}", reply.text);

    let missing = Call::bill(t.slug()).key(&t.live).json(&json!({ "mobile": "9876543210" })).send(&env.deps).await;
    missing.assert_coded_error(400, "invalid_request", "amount is required");
    assert_eq!(missing.body["param"], "amount", "{}", missing.text);

    let bad_mobile = Call::customer(t.slug()).key(&t.live).query("mobile", "12").send(&env.deps).await;
    assert_eq!((bad_mobile.status, bad_mobile.body["code"].as_str()), (400, Some("invalid_request")));
    assert_eq!(bad_mobile.body["param"], "mobile", "{}", bad_mobile.text);

    let unknown = Call::redeem(t.slug()).key(&t.live).json(&json!({ "code": "COUP-NONE" })).send(&env.deps).await;
    unknown.assert_coded_error(404, "not_found", "Coupon not found");

    let earned = Call::bill(t.slug()).key(&t.live).json(&json!({ "mobile": "9876543210", "amount": 1000 }));
    assert_eq!(earned.send(&env.deps).await.status, 200);
    let wrong_otp = Call::bill(t.slug())
        .key(&t.live)
        .json(&json!({ "mobile": "9876543210", "amount": 100, "redeem_points": 10, "otp": "123456" }))
        .send(&env.deps)
        .await;
    assert_eq!(wrong_otp.status, 400, "{}", wrong_otp.text);
    assert_eq!(wrong_otp.body["code"], "otp_invalid", "{}", wrong_otp.text);
}

#[tokio::test]
async fn every_answer_names_its_request_in_every_dialect() {
    let env = TestEnv::new().await;
    let t = env.tenant("spice-garden").await;

    let found = Call::customer(t.slug()).key(&t.live).query("mobile", "9876543210").query("create", "true");
    let ok = send_as(&env, &found, "req-partner-ok").await;
    assert_eq!((ok.status, ok.header(HEADER)), (200, Some("req-partner-ok")), "{}", ok.text);
    let refused = send_as(&env, &Call::customer(t.slug()).key(&t.live), "req-partner-400").await;
    assert_eq!((refused.status, refused.header(HEADER)), (400, Some("req-partner-400")), "{}", refused.text);

    let balance = Call::public(Route::Balance).key(&t.live).query("email", "nobody@example.com");
    let missing = send_as(&env, &balance, "req-public-404").await;
    assert_eq!((missing.status, missing.header(HEADER)), (404, Some("req-public-404")), "{}", missing.text);
    let rewards = send_as(&env, &Call::public(Route::Rewards).key(&t.live), "req-public-ok").await;
    assert_eq!((rewards.status, rewards.header(HEADER)), (200, Some("req-public-ok")), "{}", rewards.text);

    for (call, id, status) in [
        (AdminCall::new(Admin::Rewards).as_(&env, t.slug(), Role::Viewer), "req-admin-ok", 200),
        (AdminCall::new(Admin::Rewards), "req-admin-401", 401),
    ] {
        let mut context = Context::default();
        context.request_id = id.to_owned();
        let reply = call.send_request(&env.deps, call.request().with_lambda_context(context)).await;
        assert_eq!((reply.status, reply.header(HEADER)), (status, Some(id)), "{}", reply.text);
    }

    // Without a Lambda context (a test double, `cargo lambda watch` without one), API
    // Gateway's id names it.
    let mut gateway = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    gateway.request_id = Some("apigw-1".into());
    let req = found.request().with_request_context(lambda_http::request::RequestContext::ApiGatewayV2(gateway));
    let reply = found.send_request(&env.deps, req).await;
    assert_eq!(reply.header(HEADER), Some("apigw-1"), "{}", reply.text);
}
