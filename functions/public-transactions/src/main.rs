#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::lambda::serve(|deps, req| async move { public_transactions::handle(deps, req).await }).await
}
