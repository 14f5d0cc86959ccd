//! posts-api: the IAM-authorised HTTP API (`POST /posts`, `GET`/`DELETE /posts/{id}`,
//! `POST /posts/{id}/retry`, `GET /accounts`, `DELETE /accounts/{open_id}`,
//! `POST /accounts/connect-link`, `GET /accounts/{open_id}/creator-info`). Routing and
//! reply shaping live in [`routes`]; the logic is `tiktok_publish_core::api`.

use lambda_http::{Error, service_fn};
use tiktok_publish_wiring::{Parts, aws_config};

mod routes;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    // Built once per cold start: clients, table names, the bucket; no network call.
    let parts = Parts::from_env(aws_config().await)?;
    let api = parts.posts_api()?;
    let api = &api;
    lambda_http::run(service_fn(move |request| routes::handle(api, request))).await
}
