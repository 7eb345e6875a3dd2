#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::lambda::serve_sending_sms(|deps, req| async move { pos_otp::handle(deps, req).await }).await
}
