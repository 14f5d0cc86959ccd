//! The router serves what the OpenAPI document lists, and nothing else: each documented
//! method of each path reaches a handler, every other method gets 405 naming the documented
//! ones, and every route the router has is in the document.

use std::collections::BTreeSet;

use serde_json::json;
use tower::ServiceExt;

use super::tests::{api, event};
use super::*;
use crate::openapi::document;

/// Every method a client could send; a path's undocumented ones must answer 405.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

/// A request path for a documented path: each `{parameter}` filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "abc").replace("{open_id}", "open-1")
}

/// The routes, by name: a new variant fails to compile here until a test reaches it.
fn route_name(route: &Route) -> &'static str {
    match route {
        Route::CreatePost => "CreatePost",
        Route::GetPost(_) => "GetPost",
        Route::CancelPost(_) => "CancelPost",
        Route::RetryPost(_) => "RetryPost",
        Route::ListAccounts => "ListAccounts",
        Route::DisconnectAccount(_) => "DisconnectAccount",
        Route::ConnectLink => "ConnectLink",
        Route::CreatorInfo(_) => "CreatorInfo",
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_and_every_other_method_is_refused_with_allow() {
    let (api, _) = api();
    let mut reached = BTreeSet::new();
    for (path, item) in &document().paths.paths {
        let documented = documented_methods(item);
        assert!(!documented.is_empty(), "{path} documents no operation");
        let allow: Vec<&str> = documented.iter().map(Method::as_str).collect();
        let allow = allow.join(", ");
        for method in METHODS {
            let request = event(method.as_str(), &concrete(path), json!({}), json!({}), None);
            let response = service(api.clone()).oneshot(request).await.unwrap();
            if documented.contains(&method) {
                let route = response.extensions().get::<Route>();
                let route = route.unwrap_or_else(|| panic!("{method} {path} reached no handler"));
                reached.insert(route_name(route));
            } else {
                assert_eq!(response.status(), 405, "{method} {path}");
                assert_eq!(
                    response.headers()["allow"],
                    allow.as_str(),
                    "{method} {path}"
                );
            }
        }
    }
    let every_route = [
        Route::CreatePost,
        Route::GetPost(String::new()),
        Route::CancelPost(String::new()),
        Route::RetryPost(String::new()),
        Route::ListAccounts,
        Route::DisconnectAccount(String::new()),
        Route::ConnectLink,
        Route::CreatorInfo(String::new()),
    ];
    let every_route: BTreeSet<&str> = every_route.iter().map(route_name).collect();
    assert_eq!(reached, every_route, "routes served but not documented");
}
