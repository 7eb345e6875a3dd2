//! `POST /api/{tenant}/pos/otp` (`write:transactions`)
//!
//! Sends a six-digit one-time code to an enrolled member's mobile, to be given back as
//! `otp` on a bill that redeems points. Valid 5 minutes, single use, 5 attempts; at most
//! 3 codes per mobile per 10 minutes (`429` with `Retry-After` beyond). Sandbox keys send
//! nothing: their code is always `000000`.

use lambda_http::{http::StatusCode, Body, Request, Response};
use loyalty::auth;
use loyalty::engine;
use loyalty::http::{json, respond, JsonBody};
use loyalty::keys::Scope;
use loyalty::partner::OtpBody;
use loyalty::{ApiError, Deps, Dialect};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(Dialect::Partner, &req, send(deps, &req)).await
}

async fn send(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = auth::partner(deps, req, Scope::WriteTransactions).await?;

    let body = JsonBody::parse(req)?;
    let mobile = body.mobile("mobile")?.ok_or_else(|| ApiError::bad_request("mobile is required"))?;

    let program = auth::program(deps, &caller.tenant).await?;
    let sent = engine::send_otp(deps, &caller, &mobile, &program.name).await?;
    let body =
        OtpBody { sent: true, mobile: mobile.to_string(), expires_in: sent.expires_in_secs, sandbox: caller.sandbox() };
    Ok(json(StatusCode::OK, &body))
}
