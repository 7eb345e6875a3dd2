#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::lambda::serve(|deps, req| async move { admin_campaign_create::handle(deps, req).await }).await
}
