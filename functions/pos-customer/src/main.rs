#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::lambda::serve(|deps, req| async move { pos_customer::handle(deps, req).await }).await
}
