//! console: the web console (sign-in with Cognito, accounts, the Post to TikTok page,
//! posts' status) and the public pages TikTok's reviewers read (landing, terms, privacy).
//! An axum router ([`routes`]) served through `lambda_http`; the posts it makes go through
//! the posts API's own logic (`tiktok_publish_core::api`), in-process.

use lambda_http::Error;
use tiktok_publish_wiring::{Parts, aws_config};

mod accounts;
mod app;
mod assets;
mod forgot;
mod pages;
mod post_form;
mod posting;
mod posts;
mod routes;
mod security;
mod signin;
mod site;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tiktok_publish_wiring::telemetry::init_logging();
    // Built once per cold start: clients, table names, the bucket; no network call.
    let parts = Parts::from_env(aws_config().await)?;
    let console = app::Console::new(parts.posts_api()?, parts.console()?);
    lambda_http::run(routes::router(console)).await
}
