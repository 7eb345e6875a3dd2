#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    loyalty::lambda::serve_without_console(
        |deps, req| async move { pos_customer_transactions::handle(deps, req).await },
    )
    .await
}
