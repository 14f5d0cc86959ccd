//! posts-api: the IAM-authorised HTTP API (`POST /posts`, `GET`/`DELETE /posts/{id}`,
//! `POST /posts/{id}/retry`, `GET /accounts`, `DELETE /accounts/{open_id}`,
//! `POST /accounts/connect-link`, `GET /accounts/{open_id}/creator-info`). An axum router
//! served through `lambda_http` routes and shapes replies ([`routes`], [`handlers`]); the
//! handlers' OpenAPI descriptions make `docs/openapi.json` ([`openapi`]); the logic is
//! `tiktok_publish_core::api`.

use lambda_http::Error;
use tiktok_publish_wiring::{Parts, aws_config};

mod handlers;
mod openapi;
mod routes;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    // Built once per cold start: clients, table names, the bucket; no network call.
    let parts = Parts::from_env(aws_config().await)?;
    let api = parts.posts_api()?;
    lambda_http::run(routes::service(api)).await
}
