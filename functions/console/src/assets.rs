//! The console's scripts and stylesheet: built by esbuild at compile time (build.rs), named
//! by their content's hash, embedded with their brotli and gzip forms, and served as
//! immutable. tower-http's `ServeDir` serves precompressed files only from disk; these live
//! in the binary, so the encoding is chosen here.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One built file.
pub struct Asset {
    /// The name templates ask for (`post.js`).
    pub logical: &'static str,
    /// The fingerprinted name it is served under (`post-3FQ7WXYZ.js`).
    pub file: &'static str,
    pub content_type: &'static str,
    pub identity: &'static [u8],
    pub brotli: &'static [u8],
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The URL path of the asset a template names; a name build.mjs did not build is a bug the
/// page tests catch (it renders as a path that answers 404).
pub fn path_of(logical: &str) -> String {
    match ASSETS.iter().find(|asset| asset.logical == logical) {
        Some(asset) => format!("/console/assets/{}", asset.file),
        None => format!("/console/assets/missing-{logical}"),
    }
}

/// The encodings a request accepts, best first, of those the assets come in.
fn preferred_encoding(headers: &HeaderMap) -> Option<&'static str> {
    let accepted: Vec<(String, bool)> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default().to_ascii_lowercase();
            // `q=0` refuses the coding; any other q accepts it (the order here is ours).
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            (coding, !refused)
        })
        .collect();
    ["br", "gzip"]
        .into_iter()
        .find(|wanted| accepted.iter().any(|(coding, ok)| coding == wanted && *ok))
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.file == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let (body, encoding) = match preferred_encoding(&headers) {
        Some("br") => (asset.brotli, Some("br")),
        Some(_) => (asset.gzip, Some("gzip")),
        None => (asset.identity, None),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(encoding) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn brotli_is_preferred_then_gzip_and_q0_refuses() {
        assert_eq!(
            preferred_encoding(&accepting("gzip, deflate, br, zstd")),
            Some("br")
        );
        assert_eq!(preferred_encoding(&accepting("gzip")), Some("gzip"));
        assert_eq!(
            preferred_encoding(&accepting("br;q=0, gzip;q=0.5")),
            Some("gzip")
        );
        assert_eq!(preferred_encoding(&accepting("identity")), None);
        assert_eq!(preferred_encoding(&HeaderMap::new()), None);
    }

    #[test]
    fn every_asset_has_a_fingerprinted_name_and_three_forms() {
        for logical in ["post.js", "status.js", "console.css"] {
            let asset = ASSETS.iter().find(|a| a.logical == logical).expect(logical);
            assert_ne!(asset.file, logical, "fingerprinted");
            assert!(!asset.identity.is_empty());
            assert!(
                asset.brotli.len() < asset.identity.len(),
                "{logical}: brotli is smaller"
            );
            assert!(
                asset.gzip.len() < asset.identity.len(),
                "{logical}: gzip is smaller"
            );
            assert_eq!(path_of(logical), format!("/console/assets/{}", asset.file));
        }
    }
}
