#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::lambda::serve(|deps, req| async move { admin_campaigns::handle(deps, req).await }).await
}
