//! `POST /api/{tenant}/pos/otp` (`write:transactions`)
//!
//! Sends a six-digit one-time code to an enrolled member's mobile, to be given back as
//! `otp` on a bill that redeems points. Valid 5 minutes, single use, 5 attempts; at most
//! 3 codes per mobile per 10 minutes, and at most the program's SMS quota per tenant per
//! hour and per day (`429` with `Retry-After` beyond). Sandbox keys send
//! nothing: their code is always `000000`.

use loyalty::domain::Mobile;
use loyalty::endpoint::prelude::*;
use loyalty::engine::{self, OtpSent};
use loyalty::partner::OtpBody;
use loyalty::requests::{self, OtpRequest};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    endpoint::write::<SendOtp>(deps, req).await
}

struct SendOtp;

impl Write for SendOtp {
    const ROUTE: Route = Route::partner("pos-otp", Scope::WriteTransactions).reading_program();
    type Input = Mobile;
    type Output = (Mobile, OtpSent);

    fn parse(req: &Request) -> Result<Mobile, ApiError> {
        requests::parse::<OtpRequest, _>(req)
    }

    /// Each request sends a new code: there is no earlier answer to replay.
    fn claims(_: &Mobile) -> bool {
        false
    }

    async fn run(
        cx: &Context<'_>,
        mobile: &Mobile,
        _: Option<&Replayable<'_, Self::Output>>,
    ) -> Result<Self::Output, ApiError> {
        let program = cx.program().await?;
        Ok((mobile.clone(), engine::send_otp(cx.deps, &cx.caller, mobile, &program).await?))
    }

    fn render((mobile, sent): &Self::Output, sandbox: bool) -> Response<Body> {
        json(
            StatusCode::OK,
            &OtpBody { sent: true, mobile: mobile.to_string(), expires_in: sent.expires_in_secs, sandbox },
        )
    }
}
