//! A small https media origin for the PULL_FROM_URL tests: an axum router served over HTTP/1
//! behind rustls (`tokio-rustls`, `hyper`), with a test CA and a leaf for [`MEDIA_HOST`] made
//! at start (`rcgen`).
//! The fake reaches it through `FakeSettings::trusted_ca_pems` and `resolve`, as the local
//! stack's fake does with `--trust-ca` and `--resolve`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use fake_tiktok::FakeSettings;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The host the origin's certificate is for.
pub const MEDIA_HOST: &str = "media.example.test";
/// Other made-up hosts the fake resolves to the origin too (its certificate does not name
/// them, so a pull from one fails).
pub const OTHER_HOSTS: &[&str] = &[
    "video.static.example.test",
    "static.example.test",
    "example.test",
    "prefix.example.test",
];

/// What the origin answers for a path.
#[derive(Clone)]
pub enum Served {
    /// 200 with these bytes.
    Bytes(Bytes),
    /// 200 with these bytes, `chunk` bytes at a time with `pause` between.
    Slow {
        bytes: Bytes,
        chunk: usize,
        pause: Duration,
    },
    /// A redirect to this location.
    Redirect(String),
    /// A bare status (404, an expired signature's 403, ...).
    Status(u16),
}

#[derive(Default)]
struct Routes {
    served: HashMap<String, Served>,
    /// Paths asked for, in order.
    hits: Vec<String>,
}

pub struct Origin {
    pub port: u16,
    pub ca_pem: String,
    routes: Arc<Mutex<Routes>>,
    server: JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Origin {
    pub async fn start() -> Origin {
        let (ca_pem, leaf, key) = certificates();
        let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![leaf], key)
            .expect("TLS config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let routes = Arc::new(Mutex::new(Routes::default()));
        let app = Router::new().fallback(serve).with_state(routes.clone());
        let server = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Origin {
            port,
            ca_pem,
            routes,
            server,
        }
    }

    /// `https://media.example.test:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        self.url_on(MEDIA_HOST, path)
    }

    pub fn url_on(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }

    pub fn serve(&self, path: &str, served: Served) {
        self.lock().served.insert(path.to_owned(), served);
    }

    /// Paths asked for so far, in order.
    pub fn hits(&self) -> Vec<String> {
        self.lock().hits.clone()
    }

    /// `base` set up to reach the origin: its CA trusted, its hosts resolved to
    /// 127.0.0.1, and `MEDIA_HOST` verified.
    pub fn settings(&self, base: FakeSettings) -> FakeSettings {
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut resolve = vec![(MEDIA_HOST.to_owned(), localhost)];
        resolve.extend(OTHER_HOSTS.iter().map(|h| (h.to_string(), localhost)));
        FakeSettings {
            trusted_ca_pems: vec![self.ca_pem.clone()],
            resolve,
            verified_domains: vec![MEDIA_HOST.to_owned()],
            ..base
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn serve(State(routes): State<Arc<Mutex<Routes>>>, uri: Uri) -> Response {
    let served = {
        let mut routes = routes.lock().unwrap_or_else(|e| e.into_inner());
        routes.hits.push(uri.path().to_owned());
        routes.served.get(uri.path()).cloned()
    };
    match served {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Served::Bytes(bytes)) => bytes.into_response(),
        Some(Served::Status(status)) => StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Some(Served::Redirect(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Some(Served::Slow {
            bytes,
            chunk,
            pause,
        }) => {
            let len = bytes.len();
            let pieces = futures::stream::unfold(0usize, move |at| {
                let bytes = bytes.clone();
                async move {
                    if at >= bytes.len() {
                        return None;
                    }
                    if at > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    let end = (at + chunk).min(bytes.len());
                    Some((Ok::<_, std::io::Error>(bytes.slice(at..end)), end))
                }
            });
            (
                [(header::CONTENT_LENGTH, len.to_string())],
                Body::from_stream(pieces),
            )
                .into_response()
        }
    }
}

/// A test CA (PEM), and a leaf for `MEDIA_HOST` signed by it, with its key.
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "fake-tiktok test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec![MEDIA_HOST.to_owned()]).expect("leaf params");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    let key = PrivatePkcs8KeyDer::from(leaf_key.serialize_der());
    (ca_cert.pem(), leaf_cert.der().clone(), key.into())
}

/// A JPEG of this size (noise, so that its length grows with its area).
pub fn jpeg(width: u32, height: u32) -> Bytes {
    let image = noise(width, height);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut out)
        .encode_image(&image)
        .expect("JPEG");
    Bytes::from(out)
}

/// A lossless WebP of this size.
pub fn webp(width: u32, height: u32) -> Bytes {
    let image = noise(width, height);
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("WebP");
    Bytes::from(out)
}

/// A 1x1 PNG (TikTok takes no PNG).
pub fn png() -> Bytes {
    Bytes::from_static(&[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ])
}

fn noise(width: u32, height: u32) -> image::RgbImage {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    image::RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [r, g, b, ..] = state.to_le_bytes();
        image::Rgb([r, g, b])
    })
}
