//! The posts API's OpenAPI document, committed as `docs/openapi.json`.
//!
//! The paths come from the router itself ([`crate::routes::documented_routes`], the
//! handlers' `#[utoipa::path]`s), the schemas from the core's types; this module adds what
//! every operation shares: the IAM authorisation, and the answers any route may give (405
//! with `Allow`, 500, 503 with `Retry-After`). The drift test (tests/main.rs) compares the
//! committed file with [`document_json`]; `UPDATE_OPENAPI=1 cargo test -p posts-api
//! openapi` writes it again.

use tiktok_publish_core::api::ErrorBody;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, ToResponse};

/// The document's own parts ([`base`]); the paths are added from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "tiktok-publish posts API",
        description = "Create, read, retry and cancel posts; list, connect and disconnect \
                       TikTok accounts. Deployed behind API Gateway's HTTP API with IAM \
                       authorisation (requests signed with SigV4). Every failure answers \
                       `{\"error\": {\"code\", \"message\", \"field\"?, \"state\"?}}`; \
                       `field` names the part of the request at fault."
    ),
    components(responses(MethodNotAllowed, Internal, Unavailable)),
    modifiers(&IamAuthorisation),
    security(("aws_iam" = []))
)]
struct Base;

/// Another method than the path's: the `Allow` header lists the path's methods.
#[derive(ToResponse)]
#[response(
    description = "`method_not_allowed`: this path does not take this method (any method \
                   the path does not list gets this answer)",
    headers(("Allow" = String, description = "The path's methods, such as `GET, DELETE`"))
)]
#[allow(dead_code)] // A description only: the router answers with ErrorBody itself.
struct MethodNotAllowed(ErrorBody);

/// `internal`: a bug or a misconfiguration; the details are in the function's log.
#[derive(ToResponse)]
#[allow(dead_code)]
struct Internal(ErrorBody);

/// `unavailable`: AWS or TikTok is briefly unavailable; retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(headers(("Retry-After" = u64, description = "Seconds to wait")))]
#[allow(dead_code)]
struct Unavailable(ErrorBody);

struct IamAuthorisation;

impl Modify for IamAuthorisation {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        // OpenAPI has no SigV4 scheme: it is an `Authorization` header to the document.
        let sigv4 = ApiKeyValue::with_description(
            "Authorization",
            "AWS Signature Version 4 of an IAM principal allowed to execute-api:Invoke",
        );
        components.add_security_scheme("aws_iam", SecurityScheme::ApiKey(ApiKey::Header(sigv4)));
    }
}

/// What the router's paths are added to: info, security, the common answers' components.
pub fn base() -> OpenApi {
    <Base as utoipa::OpenApi>::openapi()
}

// The whole document is written by the tests only (docs/openapi.json): the Lambda serves
// the routes, not their description.
#[cfg(test)]
mod document;
#[cfg(test)]
pub use document::{document, document_json};

#[cfg(test)]
mod tests;
