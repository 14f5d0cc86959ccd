//! The whole document: the router's paths and schemas on [`super::base`], and the answers
//! every operation shares.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, Ref, RefOr};

use crate::routes::documented_routes;

/// The answers every operation may give, by status and the name of their component.
const COMMON_ANSWERS: [(&str, &str); 3] = [
    ("405", "MethodNotAllowed"),
    ("500", "Internal"),
    ("503", "Unavailable"),
];

/// The whole document: the router's paths and schemas on the base, with the common answers.
pub fn document() -> OpenApi {
    let mut document = documented_routes().into_openapi();
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_common_answers(operation);
        }
    }
    document
}

fn add_common_answers(operation: &mut Operation) {
    for (status, name) in COMMON_ANSWERS {
        // An operation's own description of a status wins.
        let answer = RefOr::Ref(Ref::from_response_name(name));
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert(answer);
    }
}

/// The document as committed: pretty-printed JSON, keys in a stable order, a final newline.
pub fn document_json() -> Result<String, serde_json::Error> {
    // utoipa keeps paths, components and properties in ordered maps: the same routes and
    // types always print the same bytes.
    let mut json = serde_json::to_string_pretty(&document())?;
    json.push('\n');
    Ok(json)
}
