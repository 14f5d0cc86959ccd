//! Routing alone: which route a method and path reach, and why none does.

use super::*;

#[test]
fn routes_follow_method_and_path_however_the_path_arrives() {
    let get = Method::GET;
    for path in [
        "/posts/abc",
        "posts/abc",
        "/posts/abc/",
        "/lambda-url/posts-api/posts/abc",
    ] {
        assert_eq!(
            route(&get, path, None),
            Ok(Route::GetPost("abc".into())),
            "{path}"
        );
    }
    assert_eq!(route(&Method::POST, "posts", None), Ok(Route::CreatePost));
    assert_eq!(
        route(&Method::DELETE, "/posts/abc", Some("from-gateway")),
        Ok(Route::CancelPost("from-gateway".into()))
    );
    assert_eq!(route(&get, "/accounts", None), Ok(Route::ListAccounts));
    assert_eq!(
        route(&Method::POST, "/accounts/connect-link", None),
        Ok(Route::ConnectLink)
    );
    assert_eq!(
        route(&Method::DELETE, "/accounts/-a%2Eb", None),
        Ok(Route::DisconnectAccount("-a.b".into()))
    );
    assert_eq!(
        route(&get, "/accounts/open-1/creator-info", None),
        Ok(Route::CreatorInfo("open-1".into()))
    );
    assert_eq!(
        route(
            &get,
            "/lambda-url/posts-api/accounts/x/creator-info",
            Some("from-gateway")
        ),
        Ok(Route::CreatorInfo("from-gateway".into()))
    );
    assert_eq!(
        route(&Method::POST, "/posts/abc/retry", Some("from-gateway")),
        Ok(Route::RetryPost("from-gateway".into()))
    );
    assert_eq!(
        route(&get, "/posts/abc/retry", None).unwrap_err().status(),
        405
    );
    let wrong_method = route(&Method::PUT, "/posts/abc", None).unwrap_err();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.to_string().contains("GET or DELETE"));
    assert_eq!(route(&get, "/posts/a/b", None).unwrap_err().status(), 404);
    assert_eq!(route(&get, "/", None).unwrap_err().status(), 404);
}

#[test]
fn a_405_names_the_paths_methods_in_its_variant() {
    let err = route(&Method::PATCH, "/posts/abc", None).unwrap_err();
    assert_eq!(
        err,
        RouteError::MethodNotAllowed {
            method: Method::PATCH,
            allowed: &[Method::GET, Method::DELETE],
        }
    );
    assert_eq!(err.allow().as_deref(), Some("GET, DELETE"));
    let answer = err.answer();
    assert_eq!(answer.status, 405);
    assert_eq!(
        answer.headers,
        [("allow", "GET, DELETE".to_owned())],
        "{answer:?}"
    );
    assert_eq!(answer.body["error"]["code"], "method_not_allowed");
    let missing = route(&Method::GET, "/nowhere", None).unwrap_err();
    assert_eq!(missing.allow(), None);
    assert!(missing.answer().headers.is_empty());
}
