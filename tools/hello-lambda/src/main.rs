//! The smallest `lambda_http` function: answers every request `200 hello`. Built with
//! the same release profile as the functions, it is the baseline `loyalty-bench`
//! compares their cold start and memory with. Not a deployed function.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Ok::<_, Error>(Response::builder().status(200).body(Body::from("hello"))?)
    }))
    .await
}
