#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::lambda::serve_without_console(|deps, req| async move { pos_customer::handle(deps, req).await }).await
}
