//! The committed document is the router's, and the local router table sends every method
//! of each documented path to posts-api.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tiktok_publish_core::api::OPEN_ID_PATTERN;
use tiktok_publish_core::store::PostId;

use super::*;

const REGENERATE: &str = "UPDATE_OPENAPI=1 cargo test -p posts-api openapi";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn documented_paths() -> BTreeSet<String> {
    document().paths.paths.keys().cloned().collect()
}

#[test]
fn the_committed_openapi_document_is_the_routers() {
    let generated = document_json().expect("the document serializes");
    let committed_path = repo_file("docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&committed_path, &generated).expect("docs/openapi.json is writable");
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    let first_difference = committed
        .lines()
        .zip(generated.lines())
        .position(|(committed, generated)| committed != generated)
        .map(|at| {
            let line = |text: &str| text.lines().nth(at).unwrap_or("").to_owned();
            format!(
                "line {}: committed {:?}, routes say {:?}",
                at + 1,
                line(&committed),
                line(&generated)
            )
        })
        .unwrap_or_else(|| "the lengths differ".to_owned());
    assert!(
        committed == generated,
        "docs/openapi.json differs from the routes ({first_difference}); if the change is \
         meant, regenerate it with `{REGENERATE}` and commit it"
    );
}

#[test]
fn the_openapi_document_has_every_route_and_the_apis_error_shape() {
    let paths = documented_paths();
    let expected = [
        "/accounts",
        "/accounts/connect-link",
        "/accounts/{open_id}",
        "/accounts/{open_id}/creator-info",
        "/posts",
        "/posts/{id}",
        "/posts/{id}/retry",
    ];
    assert_eq!(
        paths,
        expected.map(str::to_owned).into(),
        "documented paths"
    );
    let json: serde_json::Value =
        serde_json::from_str(&document_json().expect("serializes")).expect("JSON");
    let error = &json["components"]["schemas"]["ApiError"];
    assert_eq!(error["required"], serde_json::json!(["code", "message"]));
    let cancel = &json["paths"]["/posts/{id}"]["delete"]["responses"];
    assert_eq!(
        cancel["405"]["$ref"],
        "#/components/responses/MethodNotAllowed"
    );
    assert!(
        json["components"]["responses"]["MethodNotAllowed"]["headers"]["Allow"].is_object(),
        "a 405 documents its Allow header"
    );
    let create = &json["paths"]["/posts"]["post"];
    assert_eq!(create["parameters"][0]["name"], "Idempotency-Key");
    assert_eq!(create["parameters"][0]["in"], "header");
}

/// The patterns the document states are the rules the core checks (utoipa takes literals).
#[test]
fn the_openapi_document_states_the_cores_id_patterns() {
    let json: serde_json::Value =
        serde_json::from_str(&document_json().expect("serializes")).expect("JSON");
    let pattern = |path: &str, method: &str| {
        json["paths"][path][method]["parameters"][0]["schema"]["pattern"].clone()
    };
    for method in ["get", "delete"] {
        assert_eq!(pattern("/posts/{id}", method), PostId::PATTERN);
    }
    assert_eq!(pattern("/posts/{id}/retry", "post"), PostId::PATTERN);
    assert_eq!(pattern("/accounts/{open_id}", "delete"), OPEN_ID_PATTERN);
    assert_eq!(
        pattern("/accounts/{open_id}/creator-info", "get"),
        OPEN_ID_PATTERN
    );
    let account = &json["components"]["schemas"]["CreatePostRequest"]["properties"]["account"];
    assert_eq!(account["pattern"], OPEN_ID_PATTERN);
}

/// `cargo lambda watch`'s router table (the root Cargo.toml) sends each documented path to
/// posts-api whatever the method (a bare function name: every method), so the function
/// answers a wrong method with 405 and `Allow` as the deployed API does (its routes are
/// `ANY`, checked by infra/tests/).
#[test]
fn the_local_router_table_sends_every_method_of_each_documented_path_to_posts_api() {
    let manifest = std::fs::read_to_string(repo_file("Cargo.toml")).expect("root Cargo.toml");
    let manifest: toml::Table = manifest.parse().expect("Cargo.toml is TOML");
    let router = &manifest["workspace"]["metadata"]["lambda"]["watch"]["router"];
    let router = router.as_table().expect("a router table");
    let mut served = BTreeSet::new();
    for (path, entry) in router {
        let names_posts_api = match entry {
            toml::Value::String(function) => function == "posts-api",
            toml::Value::Array(methods) => methods
                .iter()
                .any(|m| m["function"].as_str() == Some("posts-api")),
            _ => false,
        };
        if names_posts_api {
            assert_eq!(
                entry.as_str(),
                Some("posts-api"),
                "{path}: list no methods (a bare \"posts-api\"), so every method reaches it"
            );
            served.insert(path.clone());
        }
    }
    assert_eq!(
        served,
        documented_paths(),
        "router table vs docs/openapi.json"
    );
}
