//! Tests of the fake itself, with a raw HTTP client: the fake must accept a correct client
//! silently and catch every kind of mistake a client can make.

use std::time::Duration;

use bytes::Bytes;
use fake_tiktok::{
    AccountSeed, Endpoint, FakeSettings, FakeTikTok, Fault, IssuedTokens, PublishStatus,
    ViolationKind,
};
use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT_URI: &str = "http://localhost:9/callback";
const ALL_SCOPES: &[&str] = &["user.info.basic", "video.publish", "video.upload"];
const JSON: &str = "application/json; charset=UTF-8";

fn settings() -> FakeSettings {
    FakeSettings {
        processing_time: Duration::from_millis(200),
        ..FakeSettings::default()
    }
}

fn http() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// Deterministic pseudo-random bytes (xorshift64*), so a corrupt upload changes the hash.
fn payload(len: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct Harness {
    fake: FakeTikTok,
    http: Client,
}

impl Harness {
    async fn start(settings: FakeSettings) -> Self {
        Self {
            fake: FakeTikTok::start(settings).await.expect("fake starts"),
            http: http(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.base_url())
    }

    /// A fresh account with every posting scope, granted directly.
    fn tokens(&self) -> IssuedTokens {
        let open_id = self.fake.seed_account(AccountSeed::default());
        self.fake.issue_tokens(&open_id, ALL_SCOPES)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", JSON)
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.expect("JSON answer"))
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/v2/oauth/token/"))
            .form(form)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.expect("JSON answer"))
    }

    async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.token_request(&[
            ("client_key", "fake-client-key"),
            ("client_secret", "fake-client-secret"),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    async fn init_direct(
        &self,
        token: &str,
        privacy: &str,
        plan: (u64, u64, u64),
    ) -> (StatusCode, Value) {
        let body = json!({
            "post_info": {"title": "a caption #fake", "privacy_level": privacy,
                          "disable_duet": false, "disable_comment": false, "disable_stitch": false},
            "source_info": source_info(plan),
        });
        self.post("/v2/post/publish/video/init/", token, body).await
    }

    async fn put(
        &self,
        upload_url: &str,
        video: &Bytes,
        first: u64,
        last: u64,
    ) -> reqwest::Result<StatusCode> {
        let body = video.slice(first as usize..=last as usize);
        let response = self
            .http
            .put(upload_url)
            .header("content-type", "video/mp4")
            .header(
                "content-range",
                format!("bytes {first}-{last}/{}", video.len()),
            )
            .body(body)
            .send()
            .await?;
        Ok(response.status())
    }

    async fn status(&self, token: &str, publish_id: &str) -> Value {
        let (status, body) = self
            .post(
                "/v2/post/publish/status/fetch/",
                token,
                json!({"publish_id": publish_id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    async fn wait_final(&self, token: &str, publish_id: &str) -> Value {
        for _ in 0..50 {
            let data = self.status(token, publish_id).await;
            if !data["status"]
                .as_str()
                .unwrap_or_default()
                .starts_with("PROCESSING")
            {
                return data;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("publish {publish_id} never left processing");
    }

    fn kinds(&self) -> Vec<ViolationKind> {
        self.fake.violations().iter().map(|v| v.kind).collect()
    }
}

fn source_info((video_size, chunk_size, total_chunk_count): (u64, u64, u64)) -> Value {
    json!({"source": "FILE_UPLOAD", "video_size": video_size, "chunk_size": chunk_size,
           "total_chunk_count": total_chunk_count})
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn upload_url(body: &Value) -> String {
    body["data"]["upload_url"]
        .as_str()
        .expect("upload_url")
        .to_string()
}

fn publish_id(body: &Value) -> String {
    body["data"]["publish_id"]
        .as_str()
        .expect("publish_id")
        .to_string()
}

const VIDEO_17MB: usize = 17_000_000;
const CHUNK_17MB: u64 = 5_666_666;
const PLAN_17MB: (u64, u64, u64) = (VIDEO_17MB as u64, CHUNK_17MB, 3);

/// Byte ranges of the 17 MB, three-chunk plan.
fn ranges_17mb() -> [(u64, u64); 3] {
    [
        (0, CHUNK_17MB - 1),
        (CHUNK_17MB, 2 * CHUNK_17MB - 1),
        (2 * CHUNK_17MB, VIDEO_17MB as u64 - 1),
    ]
}

async fn authorize_code(h: &Harness, cookie: Option<&str>) -> (String, url::Url) {
    let mut request = h.http.get(h.url("/v2/auth/authorize/")).query(&[
        ("client_key", "fake-client-key"),
        ("scope", "user.info.basic,video.publish,video.upload"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT_URI),
        ("state", "csrf-123"),
    ]);
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("fake_tiktok_login={cookie}"));
    }
    let response = request.send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let location = url::Url::parse(&location).expect("redirect URL");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code in redirect");
    (code, location)
}

async fn exchange(h: &Harness, code: &str) -> (StatusCode, Value) {
    h.token_request(&[
        ("client_key", "fake-client-key"),
        ("client_secret", "fake-client-secret"),
        ("code", code),
        ("grant_type", "authorization_code"),
        ("redirect_uri", REDIRECT_URI),
    ])
    .await
}

mod happy_path {
    use super::*;

    #[tokio::test]
    async fn direct_post_of_three_chunks_completes_with_the_same_bytes() {
        let h = Harness::start(settings()).await;
        let (code, location) = authorize_code(&h, None).await;
        assert!(location.as_str().starts_with(REDIRECT_URI));
        assert!(
            location
                .query_pairs()
                .any(|(k, v)| k == "state" && v == "csrf-123")
        );
        assert!(
            code.contains('*') && code.contains('!'),
            "codes need URL-encoding"
        );
        let (status, tokens) = exchange(&h, &code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 86_400);
        let token = tokens["access_token"].as_str().expect("access_token");
        let open_id = tokens["open_id"].as_str().expect("open_id");

        let (status, info) = h
            .post("/v2/post/publish/creator_info/query/", token, json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{info}");
        assert_eq!(error_code(&info), "ok");
        assert_eq!(
            info["data"]["privacy_level_options"]
                .as_array()
                .map(Vec::len),
            Some(4)
        );
        assert_eq!(info["data"]["max_video_post_duration_sec"], 600);

        let video = payload(VIDEO_17MB, 42);
        let (status, init) = h.init_direct(token, "PUBLIC_TO_EVERYONE", PLAN_17MB).await;
        assert_eq!(status, StatusCode::OK, "{init}");
        let (url, id) = (upload_url(&init), publish_id(&init));
        assert!(url.starts_with(&h.fake.base_url()));
        assert_eq!(h.status(token, &id).await["status"], "PROCESSING_UPLOAD");

        let answers = [
            StatusCode::PARTIAL_CONTENT,
            StatusCode::PARTIAL_CONTENT,
            StatusCode::CREATED,
        ];
        for ((first, last), expected) in ranges_17mb().into_iter().zip(answers) {
            assert_eq!(
                h.put(&url, &video, first, last).await.expect("chunk"),
                expected
            );
        }
        // Every byte in, processing under way: still PROCESSING_UPLOAD for a FILE_UPLOAD.
        let processing = h.status(token, &id).await;
        assert_eq!(processing["status"], "PROCESSING_UPLOAD");
        assert_eq!(processing["uploaded_bytes"], VIDEO_17MB as u64);
        assert!(processing.get("downloaded_bytes").is_none(), "{processing}");

        let done = h.wait_final(token, &id).await;
        assert_eq!(done["status"], "PUBLISH_COMPLETE");
        assert_eq!(
            done["publicaly_available_post_id"].as_array().map(Vec::len),
            Some(1)
        );
        let snapshot = h.fake.publish(&id).expect("publish");
        assert_eq!(snapshot.open_id, open_id);
        assert_eq!(snapshot.status, PublishStatus::PublishComplete);
        assert_eq!(snapshot.video_sha256, Some(sha256_hex(&video)));
        assert_eq!(snapshot.chunks_taken, 3);
        assert_eq!(h.fake.publishes_for(open_id).len(), 1);
        assert_eq!(h.fake.violations(), vec![]);
        assert_eq!(h.fake.call_count(Endpoint::UploadChunk), 3);
        let secrets = h.fake.secrets_issued();
        assert!(secrets.contains(&code) && secrets.contains(&url));
        assert!(secrets.iter().any(|s| s == token));
    }

    #[tokio::test]
    async fn inbox_upload_ends_in_the_users_inbox() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let video = payload(1_000_000, 7);
        let body = json!({"source_info": source_info((1_000_000, 1_000_000, 1))});
        let (status, init) = h
            .post(
                "/v2/post/publish/inbox/video/init/",
                &tokens.access_token,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{init}");
        let id = publish_id(&init);
        let answer = h
            .put(&upload_url(&init), &video, 0, 999_999)
            .await
            .expect("chunk");
        assert_eq!(answer, StatusCode::CREATED);
        let done = h.wait_final(&tokens.access_token, &id).await;
        assert_eq!(done["status"], "SEND_TO_USER_INBOX");
        assert_eq!(done["publicaly_available_post_id"], json!([]));
        assert_eq!(
            h.fake.publish(&id).and_then(|p| p.video_sha256),
            Some(sha256_hex(&video))
        );
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn private_post_completes_without_a_public_id() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let video = payload(2_000, 1);
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(
            h.put(&upload_url(&init), &video, 0, 1_999)
                .await
                .expect("chunk"),
            StatusCode::CREATED
        );
        let done = h.wait_final(&tokens.access_token, &publish_id(&init)).await;
        assert_eq!(done["status"], "PUBLISH_COMPLETE");
        assert_eq!(done["publicaly_available_post_id"], json!([]));
    }

    #[tokio::test]
    async fn title_of_exactly_2200_utf16_units_with_emoji_is_accepted() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let title = format!("{}😀", "a".repeat(2198));
        assert_eq!(title.encode_utf16().count(), 2200);
        let body = json!({"post_info": {"title": title, "privacy_level": "SELF_ONLY"},
                          "source_info": source_info((2_000, 2_000, 1))});
        let (status, answer) = h
            .post("/v2/post/publish/video/init/", &tokens.access_token, body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn every_documented_post_info_field_is_accepted() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let body = json!({
            "post_info": {"title": "t", "privacy_level": "FOLLOWER_OF_CREATOR", "disable_duet": true,
                          "disable_comment": true, "disable_stitch": true, "video_cover_timestamp_ms": 1000,
                          "brand_content_toggle": true, "brand_organic_toggle": true, "is_aigc": false},
            "source_info": source_info((10_485_760, 5_242_880, 2)),
        });
        let (status, answer) = h
            .post("/v2/post/publish/video/init/", &tokens.access_token, body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn charset_free_json_content_type_is_accepted() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let response = h
            .http
            .post(h.url("/v2/post/publish/creator_info/query/"))
            .bearer_auth(&tokens.access_token)
            .header("content-type", "application/json")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(h.fake.violations(), vec![]);
    }
}

mod oauth {
    use super::*;

    #[tokio::test]
    async fn browser_gets_a_consent_page_and_authorize_redirects_with_a_code() {
        let h = Harness::start(settings()).await;
        let params = [
            ("client_key", "fake-client-key"),
            ("scope", "video.publish,video.upload"),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("state", "s1"),
        ];
        let page = h
            .http
            .get(h.url("/v2/auth/authorize/"))
            .query(&params)
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.expect("html");
        assert!(html.contains("Fake TikTok App") && html.contains("video.upload"));
        assert!(html.contains(">Authorize<") && html.contains(">Deny<"));
        assert!(html.contains("/v2/auth/authorize/decision"));

        let mut decision = params.to_vec();
        decision.push(("decision", "authorize"));
        let approved = h
            .http
            .get(h.url("/v2/auth/authorize/decision"))
            .query(&decision)
            .send()
            .await
            .expect("decision");
        assert_eq!(approved.status(), StatusCode::FOUND);
        let location =
            url::Url::parse(approved.headers()["location"].to_str().expect("ascii")).expect("url");
        let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("state".into(), "s1".into())));
        assert!(pairs.contains(&("scopes".into(), "video.publish,video.upload".into())));
        let code = &pairs.iter().find(|(k, _)| k == "code").expect("code").1;
        assert_eq!(exchange(&h, code).await.0, StatusCode::OK);
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn deny_redirects_with_access_denied() {
        let h = Harness::start(settings()).await;
        let response = h
            .http
            .get(h.url("/v2/auth/authorize/decision"))
            .query(&[
                ("client_key", "fake-client-key"),
                ("scope", "video.publish"),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT_URI),
                ("state", "s2"),
                ("decision", "deny"),
            ])
            .send()
            .await
            .expect("decision");
        assert_eq!(response.status(), StatusCode::FOUND);
        let location =
            url::Url::parse(response.headers()["location"].to_str().expect("ascii")).expect("url");
        let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("error".into(), "access_denied".into())));
        assert!(pairs.contains(&("state".into(), "s2".into())));
        assert!(pairs.iter().any(|(k, _)| k == "error_description"));
        assert!(!pairs.iter().any(|(k, _)| k == "code"));
    }

    #[tokio::test]
    async fn each_connect_without_cookie_is_a_new_account_and_the_cookie_picks_one() {
        let h = Harness::start(settings()).await;
        let (first, _) = authorize_code(&h, None).await;
        let (second, _) = authorize_code(&h, None).await;
        let a = exchange(&h, &first).await.1["open_id"].clone();
        let b = exchange(&h, &second).await.1["open_id"].clone();
        assert_ne!(a, b);
        let seeded = h.fake.seed_account(AccountSeed {
            open_id: Some("seeded-user".into()),
            nickname: "Seeded".into(),
            ..AccountSeed::default()
        });
        let (code, _) = authorize_code(&h, Some(&seeded)).await;
        assert_eq!(exchange(&h, &code).await.1["open_id"], "seeded-user");
    }

    #[tokio::test]
    async fn code_is_single_use_and_an_undecoded_code_is_a_violation() {
        let h = Harness::start(settings()).await;
        let code = h.fake.mint_code("u1", &["video.publish"], REDIRECT_URI);
        let still_encoded =
            url::form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>();
        assert_ne!(still_encoded, code);
        let (status, body) = exchange(&h, &still_encoded).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        assert_eq!(h.kinds(), vec![ViolationKind::BadRequest]);
        assert_eq!(exchange(&h, &code).await.0, StatusCode::OK);
        let (status, body) = exchange(&h, &code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        assert!(body["log_id"].is_string() && body["error_description"].is_string());
    }

    #[tokio::test]
    async fn token_request_must_be_form_encoded() {
        let h = Harness::start(settings()).await;
        let response = h
            .http
            .post(h.url("/v2/oauth/token/"))
            .json(&json!({"client_key": "fake-client-key", "grant_type": "refresh_token"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(h.kinds(), vec![ViolationKind::BadContentType]);
    }

    #[tokio::test]
    async fn bad_client_secret_is_invalid_client() {
        let h = Harness::start(settings()).await;
        let code = h.fake.mint_code("u1", &["video.publish"], REDIRECT_URI);
        let (status, body) = h
            .token_request(&[
                ("client_key", "fake-client-key"),
                ("client_secret", "wrong"),
                ("code", &code),
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT_URI),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
    }

    #[tokio::test]
    async fn refresh_rotates_and_a_rotated_out_refresh_token_is_a_violation() {
        let h = Harness::start(settings()).await;
        let old = h.tokens();
        let (status, fresh) = h.refresh(&old.refresh_token).await;
        assert_eq!(status, StatusCode::OK, "{fresh}");
        assert_ne!(
            fresh["refresh_token"].as_str(),
            Some(old.refresh_token.as_str())
        );
        let account = h.fake.account(&old.open_id).expect("account");
        assert_eq!(
            account.refresh_token.as_deref(),
            fresh["refresh_token"].as_str()
        );
        assert_eq!(h.fake.violations(), vec![]);

        let (status, body) = h
            .post(
                "/v2/post/publish/creator_info/query/",
                &old.access_token,
                json!({}),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNAUTHORIZED, "access_token_invalid")
        );
        assert_eq!(
            h.fake.violations(),
            vec![],
            "a replaced access token is not the client's fault"
        );

        let (status, body) = h.refresh(&old.refresh_token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
        assert_eq!(h.kinds(), vec![ViolationKind::RotatedRefreshToken]);
    }

    #[tokio::test]
    async fn revoke_kills_the_accounts_tokens() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let response = h
            .http
            .post(h.url("/v2/oauth/revoke/"))
            .form(&[
                ("client_key", "fake-client-key"),
                ("client_secret", "fake-client-secret"),
                ("token", tokens.access_token.as_str()),
            ])
            .send()
            .await
            .expect("revoke");
        assert_eq!(response.status(), StatusCode::OK);
        let (status, _) = h
            .post(
                "/v2/post/publish/creator_info/query/",
                &tokens.access_token,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            h.refresh(&tokens.refresh_token).await.0,
            StatusCode::BAD_REQUEST
        );
        assert!(h.fake.account(&tokens.open_id).expect("account").revoked);
        assert_eq!(h.fake.violations(), vec![]);
    }
}

mod violations {
    use super::*;

    async fn init_body(h: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
        h.post("/v2/post/publish/video/init/", token, body).await
    }

    #[tokio::test]
    async fn whole_100_mb_upload_declared_as_one_64_mb_chunk_is_a_wrong_plan() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let (status, body) = h
            .init_direct(
                &tokens.access_token,
                "SELF_ONLY",
                (100_000_000, 64_000_000, 1),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_params")
        );
        assert_eq!(body["error"]["message"], "The chunk size is invalid");
        assert_eq!(h.kinds(), vec![ViolationKind::WrongChunkPlan]);
    }

    #[tokio::test]
    async fn chunk_sent_ahead_of_its_turn_is_out_of_order() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        let video = payload(VIDEO_17MB, 3);
        let (first, last) = ranges_17mb()[1];
        let answer = h
            .put(&upload_url(&init), &video, first, last)
            .await
            .expect("answer");
        assert_eq!(answer, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(h.kinds(), vec![ViolationKind::ChunkOutOfOrder]);
        assert_eq!(
            h.fake.publish(&publish_id(&init)).map(|p| p.chunks_taken),
            Some(0)
        );
    }

    #[tokio::test]
    async fn off_by_one_content_range_is_refused() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        let video = payload(VIDEO_17MB, 3);
        let answer = h
            .put(&upload_url(&init), &video, 0, CHUNK_17MB)
            .await
            .expect("answer");
        assert_eq!(answer, StatusCode::RANGE_NOT_SATISFIABLE);
        let answer = h
            .put(&upload_url(&init), &video, 1, CHUNK_17MB)
            .await
            .expect("answer");
        assert_eq!(answer, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(h.kinds(), vec![ViolationKind::BadContentRange; 2]);
    }

    #[tokio::test]
    async fn body_shorter_than_the_chunk_is_a_bad_content_length() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        let video = payload(VIDEO_17MB, 3);
        let response = h
            .http
            .put(upload_url(&init))
            .header("content-type", "video/mp4")
            .header(
                "content-range",
                format!("bytes 0-{}/{VIDEO_17MB}", CHUNK_17MB - 1),
            )
            .body(video.slice(0..CHUNK_17MB as usize - 1))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(h.kinds(), vec![ViolationKind::BadContentLength]);
    }

    #[tokio::test]
    async fn chunked_transfer_without_content_length_is_a_bad_content_length() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let video = payload(2_000, 3);
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(video.clone())]);
        let response = h
            .http
            .put(upload_url(&init))
            .header("content-type", "video/mp4")
            .header("content-range", "bytes 0-1999/2000")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(h.kinds(), vec![ViolationKind::BadContentLength]);
    }

    #[tokio::test]
    async fn chunk_with_a_non_video_content_type_is_refused() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let video = payload(2_000, 3);
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        let response = h
            .http
            .put(upload_url(&init))
            .header("content-type", "application/octet-stream")
            .header("content-range", "bytes 0-1999/2000")
            .body(video)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(h.kinds(), vec![ViolationKind::BadContentType]);
    }

    #[tokio::test]
    async fn json_call_without_json_content_type_is_refused() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let response = h
            .http
            .post(h.url("/v2/post/publish/status/fetch/"))
            .bearer_auth(&tokens.access_token)
            .header("content-type", "text/plain")
            .body(r#"{"publish_id":"x"}"#)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(h.kinds(), vec![ViolationKind::BadContentType]);
    }

    #[tokio::test]
    async fn access_token_used_after_expires_in_is_a_violation() {
        let h = Harness::start(FakeSettings {
            access_token_ttl: Duration::from_secs(1),
            ..settings()
        })
        .await;
        let tokens = h.tokens();
        assert_eq!(tokens.expires_in, 1);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let (status, body) = h
            .post(
                "/v2/post/publish/creator_info/query/",
                &tokens.access_token,
                json!({}),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNAUTHORIZED, "access_token_invalid")
        );
        assert_eq!(h.kinds(), vec![ViolationKind::ExpiredAccessToken]);
    }

    #[tokio::test]
    async fn calls_over_the_rate_limit_are_refused_even_across_a_refresh() {
        let h = Harness::start(FakeSettings {
            rate_limits: fake_tiktok::RateLimits {
                creator_info_per_minute: 2,
                ..Default::default()
            },
            ..settings()
        })
        .await;
        let tokens = h.tokens();
        for _ in 0..2 {
            let (status, _) = h
                .post(
                    "/v2/post/publish/creator_info/query/",
                    &tokens.access_token,
                    json!({}),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
        }
        let (_, fresh) = h.refresh(&tokens.refresh_token).await;
        let token = fresh["access_token"].as_str().expect("token");
        let (status, body) = h
            .post("/v2/post/publish/creator_info/query/", token, json!({}))
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded")
        );
        assert_eq!(h.kinds(), vec![ViolationKind::RateLimitExceeded]);
    }

    #[tokio::test]
    async fn direct_and_inbox_inits_share_one_limit() {
        let h = Harness::start(FakeSettings {
            rate_limits: fake_tiktok::RateLimits {
                init_per_minute: 1,
                ..Default::default()
            },
            ..settings()
        })
        .await;
        let tokens = h.tokens();
        let (status, _) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(status, StatusCode::OK);
        let body = json!({"source_info": source_info((2_000, 2_000, 1))});
        let (status, _) = h
            .post(
                "/v2/post/publish/inbox/video/init/",
                &tokens.access_token,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(h.kinds(), vec![ViolationKind::RateLimitExceeded]);
    }

    #[tokio::test]
    async fn privacy_level_not_offered_is_a_mismatch() {
        let h = Harness::start(settings()).await;
        let open_id = h.fake.seed_account(AccountSeed {
            privacy_level_options: vec!["SELF_ONLY".into()],
            ..AccountSeed::default()
        });
        let tokens = h.fake.issue_tokens(&open_id, ALL_SCOPES);
        let (status, body) = h
            .init_direct(
                &tokens.access_token,
                "PUBLIC_TO_EVERYONE",
                (2_000, 2_000, 1),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "privacy_level_option_mismatch")
        );
        assert_eq!(h.kinds(), vec![ViolationKind::PrivacyLevelNotOffered]);
    }

    #[tokio::test]
    async fn title_of_2201_utf16_units_is_too_long() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        // 2199 characters but 2201 UTF-16 units: counting chars would let it through.
        let title = format!("{}😀", "a".repeat(2199));
        assert_eq!(title.chars().count(), 2200);
        let body = json!({"post_info": {"title": title, "privacy_level": "SELF_ONLY"},
                          "source_info": source_info((2_000, 2_000, 1))});
        let (status, body) = init_body(&h, &tokens.access_token, body).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_params")
        );
        assert_eq!(h.kinds(), vec![ViolationKind::TitleTooLong]);
    }

    #[tokio::test]
    async fn unknown_post_info_field_is_refused() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let body = json!({"post_info": {"title": "t", "privacy_level": "SELF_ONLY", "music_id": "123"},
                          "source_info": source_info((2_000, 2_000, 1))});
        let (status, body) = init_body(&h, &tokens.access_token, body).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_params")
        );
        assert_eq!(h.kinds(), vec![ViolationKind::UnknownField]);
    }

    #[tokio::test]
    async fn post_info_in_an_inbox_init_is_an_unknown_field() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let body = json!({"post_info": {"privacy_level": "SELF_ONLY"},
                          "source_info": source_info((2_000, 2_000, 1))});
        let (status, _) = h
            .post(
                "/v2/post/publish/inbox/video/init/",
                &tokens.access_token,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(h.kinds(), vec![ViolationKind::UnknownField]);
    }

    #[tokio::test]
    async fn enabling_comments_the_creator_disabled_is_refused() {
        let h = Harness::start(settings()).await;
        let open_id = h.fake.seed_account(AccountSeed {
            comment_disabled: true,
            ..AccountSeed::default()
        });
        let tokens = h.fake.issue_tokens(&open_id, ALL_SCOPES);
        let (status, body) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_params")
        );
        assert_eq!(h.kinds(), vec![ViolationKind::CreatorSwitchOverridden]);
        let body = json!({"post_info": {"privacy_level": "SELF_ONLY", "disable_comment": true},
                          "source_info": source_info((2_000, 2_000, 1))});
        assert_eq!(
            init_body(&h, &tokens.access_token, body).await.0,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn branded_content_cannot_be_self_only() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let body = json!({"post_info": {"privacy_level": "SELF_ONLY", "brand_content_toggle": true},
                          "source_info": source_info((2_000, 2_000, 1))});
        assert_eq!(
            init_body(&h, &tokens.access_token, body).await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(h.kinds(), vec![ViolationKind::BadRequest]);
    }

    #[tokio::test]
    async fn missing_scope_and_foreign_or_unknown_publish_ids_are_refused() {
        let h = Harness::start(settings()).await;
        let inbox_only = h.fake.issue_tokens("inbox-only", &["video.upload"]);
        let (status, body) = h
            .init_direct(&inbox_only.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNAUTHORIZED, "scope_not_authorized")
        );

        let owner = h.tokens();
        let (_, init) = h
            .init_direct(&owner.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        let other = h.tokens();
        let (status, body) = h
            .post(
                "/v2/post/publish/status/fetch/",
                &other.access_token,
                json!({"publish_id": publish_id(&init)}),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (
                StatusCode::BAD_REQUEST,
                "token_not_authorized_for_specified_publish_id"
            )
        );
        let (status, body) = h
            .post(
                "/v2/post/publish/status/fetch/",
                &other.access_token,
                json!({"publish_id": "nope"}),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_publish_id")
        );
    }
}

mod faults {
    use super::*;

    #[tokio::test]
    async fn injected_http_errors_fire_the_given_times_without_violations() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        h.fake.inject(Fault::HttpError {
            endpoint: Endpoint::DirectInit,
            status: 500,
            code: "internal_error".into(),
            times: 1,
        });
        h.fake.inject(Fault::HttpError {
            endpoint: Endpoint::StatusFetch,
            status: 429,
            code: "rate_limit_exceeded".into(),
            times: 2,
        });
        let (status, body) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
        );
        let (status, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(status, StatusCode::OK);
        let fetch = json!({"publish_id": publish_id(&init)});
        for expected in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::OK,
        ] {
            let (status, _) = h
                .post(
                    "/v2/post/publish/status/fetch/",
                    &tokens.access_token,
                    fetch.clone(),
                )
                .await;
            assert_eq!(status, expected);
        }
        assert_eq!(h.fake.violations(), vec![]);
        let statuses: Vec<u16> = h.fake.calls().iter().map(|c| c.status).collect();
        assert_eq!(statuses, vec![500, 200, 429, 429, 200]);
    }

    #[tokio::test]
    async fn sometimes_faults_fire_on_about_their_share_scattered_and_capped() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        // user.info has no rate limit: 200 calls stay clear of 429s.
        h.fake.inject(Fault::Sometimes {
            percent: 50,
            fault: Box::new(Fault::HttpError {
                endpoint: Endpoint::UserInfo,
                status: 503,
                code: "internal_error".into(),
                times: 1_000,
            }),
        });
        let user_info = || async {
            h.http
                .get(h.url("/v2/user/info/?fields=open_id"))
                .bearer_auth(&tokens.access_token)
                .send()
                .await
                .expect("user info")
                .status()
        };
        let mut failed = 0;
        for _ in 0..200 {
            match user_info().await {
                StatusCode::SERVICE_UNAVAILABLE => failed += 1,
                StatusCode::OK => {}
                other => panic!("user.info answered {other}"),
            }
        }
        // Binomial(200, 0.5): outside 60..=140 about once in 10^8 runs.
        assert!(
            (60..=140).contains(&failed),
            "{failed} of 200 failed at 50 %"
        );
        h.fake.inject(Fault::Sometimes {
            percent: 100,
            fault: Box::new(Fault::HttpError {
                endpoint: Endpoint::CreatorInfo,
                status: 500,
                code: "internal_error".into(),
                times: 2,
            }),
        });
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let path = "/v2/post/publish/creator_info/query/";
            statuses.push(
                h.post(path, &tokens.access_token, json!({}))
                    .await
                    .0
                    .as_u16(),
            );
        }
        assert_eq!(
            statuses,
            vec![500, 500, 200],
            "times caps a Sometimes fault"
        );
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn reset_mid_body_is_a_transport_error_and_the_chunk_is_not_taken() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        let (url, id) = (upload_url(&init), publish_id(&init));
        let video = payload(VIDEO_17MB, 9);
        h.fake.inject(Fault::ResetMidBody {
            after_bytes: 1_000_000,
            times: 1,
        });
        let (first, last) = ranges_17mb()[0];
        let outcome = h.put(&url, &video, first, last).await;
        assert!(
            outcome.is_err(),
            "expected a transport error, got {outcome:?}"
        );
        let snapshot = h.fake.publish(&id).expect("publish");
        assert_eq!((snapshot.chunks_taken, snapshot.uploaded_bytes), (0, 0));
        for (first, last) in ranges_17mb() {
            h.put(&url, &video, first, last).await.expect("chunk");
        }
        let snapshot = h.fake.publish(&id).expect("publish");
        assert_eq!(snapshot.video_sha256, Some(sha256_hex(&video)));
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn lost_answer_then_resent_chunk_is_acknowledged_once() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        let (url, id) = (upload_url(&init), publish_id(&init));
        let video = payload(VIDEO_17MB, 11);
        let [c0, c1, c2] = ranges_17mb();
        // The whole chunk arrives but the answer is lost.
        h.fake.inject(Fault::ResetMidBody {
            after_bytes: u64::MAX,
            times: 1,
        });
        assert!(h.put(&url, &video, c0.0, c0.1).await.is_err());
        assert_eq!(h.fake.publish(&id).map(|p| p.chunks_taken), Some(1));
        assert_eq!(
            h.put(&url, &video, c0.0, c0.1).await.expect("retry"),
            StatusCode::PARTIAL_CONTENT
        );
        assert_eq!(
            h.put(&url, &video, c1.0, c1.1).await.expect("chunk"),
            StatusCode::PARTIAL_CONTENT
        );
        assert_eq!(
            h.put(&url, &video, c2.0, c2.1).await.expect("chunk"),
            StatusCode::CREATED
        );
        assert_eq!(
            h.put(&url, &video, c2.0, c2.1).await.expect("again"),
            StatusCode::CREATED
        );
        let snapshot = h.fake.publish(&id).expect("publish");
        assert_eq!(snapshot.chunks_taken, 3);
        assert_eq!(snapshot.uploaded_bytes, VIDEO_17MB as u64);
        assert_eq!(snapshot.video_sha256, Some(sha256_hex(&video)));
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn stalled_body_times_the_client_out_and_the_chunk_is_not_taken() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let video = payload(2_000_000, 5);
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000_000, 2_000_000, 1))
            .await;
        h.fake.inject(Fault::StallBody {
            after_bytes: 100_000,
            stall: Duration::from_secs(2),
            times: 1,
        });
        let outcome = h
            .http
            .put(upload_url(&init))
            .timeout(Duration::from_millis(300))
            .header("content-type", "video/mp4")
            .header("content-range", "bytes 0-1999999/2000000")
            .body(video.clone())
            .send()
            .await;
        assert!(outcome.is_err());
        assert_eq!(
            h.fake.publish(&publish_id(&init)).map(|p| p.chunks_taken),
            Some(0)
        );
        let answer = h
            .put(&upload_url(&init), &video, 0, 1_999_999)
            .await
            .expect("retry");
        assert_eq!(answer, StatusCode::CREATED);
    }

    #[tokio::test]
    async fn expired_upload_url_answers_403_without_violation() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        let video = payload(2_000, 5);
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        h.fake.inject(Fault::ExpireUploadUrl {
            publish_id: Some(publish_id(&init)),
        });
        let answer = h
            .put(&upload_url(&init), &video, 0, 1_999)
            .await
            .expect("answer");
        assert_eq!(answer, StatusCode::FORBIDDEN);
        let (_, other) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        h.fake.inject(Fault::ExpireUploadUrl { publish_id: None });
        let answer = h
            .put(&upload_url(&other), &video, 0, 1_999)
            .await
            .expect("answer");
        assert_eq!(answer, StatusCode::FORBIDDEN);
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn upload_url_expires_after_its_ttl() {
        let h = Harness::start(FakeSettings {
            upload_url_ttl: Duration::from_millis(100),
            ..settings()
        })
        .await;
        let tokens = h.tokens();
        let video = payload(2_000, 5);
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            h.put(&upload_url(&init), &video, 0, 1_999)
                .await
                .expect("answer"),
            StatusCode::FORBIDDEN
        );
        let bogus = format!(
            "{}/upload/?upload_id=nope&upload_token=nope",
            h.fake.base_url()
        );
        assert_eq!(
            h.put(&bogus, &video, 0, 1_999).await.expect("answer"),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn force_expired_access_token_is_401_without_violation_and_refresh_recovers() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        h.fake.inject(Fault::ExpireAccessTokenNow {
            open_id: tokens.open_id.clone(),
        });
        let (status, body) = h
            .post(
                "/v2/post/publish/creator_info/query/",
                &tokens.access_token,
                json!({}),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNAUTHORIZED, "access_token_invalid")
        );
        assert!(
            h.fake
                .account(&tokens.open_id)
                .expect("account")
                .access_token_expired
        );
        let (_, fresh) = h.refresh(&tokens.refresh_token).await;
        let token = fresh["access_token"].as_str().expect("token");
        assert_eq!(
            h.post("/v2/post/publish/creator_info/query/", token, json!({}))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn fail_post_ends_the_next_upload_failed_with_the_reason() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        h.fake.inject(Fault::FailPost {
            open_id: tokens.open_id.clone(),
            fail_reason: "duration_check_failed".into(),
        });
        let video = payload(2_000, 5);
        let (_, init) = h
            .init_direct(
                &tokens.access_token,
                "PUBLIC_TO_EVERYONE",
                (2_000, 2_000, 1),
            )
            .await;
        h.put(&upload_url(&init), &video, 0, 1_999)
            .await
            .expect("chunk");
        let done = h.wait_final(&tokens.access_token, &publish_id(&init)).await;
        assert_eq!(done["status"], "FAILED");
        assert_eq!(done["fail_reason"], "duration_check_failed");
        assert_eq!(done["publicaly_available_post_id"], json!([]));
        let (_, next) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        h.put(&upload_url(&next), &video, 0, 1_999)
            .await
            .expect("chunk");
        assert_eq!(
            h.wait_final(&tokens.access_token, &publish_id(&next)).await["status"],
            "PUBLISH_COMPLETE"
        );
    }

    #[tokio::test]
    async fn account_scoped_faults_fire_only_on_that_accounts_requests() {
        let h = Harness::start(settings()).await;
        let target = h.tokens();
        let bystander = h.tokens();
        h.fake.inject(Fault::ForAccount {
            open_id: target.open_id.clone(),
            fault: Box::new(Fault::HttpError {
                endpoint: Endpoint::DirectInit,
                status: 429,
                code: "rate_limit_exceeded".into(),
                times: 1,
            }),
        });
        h.fake.inject(Fault::ForAccount {
            open_id: target.open_id.clone(),
            fault: Box::new(Fault::ResetMidBody {
                after_bytes: 1_000,
                times: 1,
            }),
        });
        let video = payload(2_000, 21);
        // The bystander's init and upload go through untouched...
        let (status, init) = h
            .init_direct(&bystander.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(status, StatusCode::OK, "{init}");
        assert_eq!(
            h.put(&upload_url(&init), &video, 0, 1_999)
                .await
                .expect("answer"),
            StatusCode::CREATED
        );
        // ...while the target takes both faults, once each.
        let (status, body) = h
            .init_direct(&target.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded")
        );
        let (status, init) = h
            .init_direct(&target.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(status, StatusCode::OK, "{init}");
        assert!(h.put(&upload_url(&init), &video, 0, 1_999).await.is_err());
        assert_eq!(
            h.put(&upload_url(&init), &video, 0, 1_999)
                .await
                .expect("answer"),
            StatusCode::CREATED
        );
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn a_fault_on_a_chunk_spares_the_chunks_before_it() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        h.fake.inject(Fault::OnChunk {
            chunk: 1,
            fault: Box::new(Fault::ForAccount {
                open_id: tokens.open_id.clone(),
                fault: Box::new(Fault::ResetMidBody {
                    after_bytes: 1_000,
                    times: 1,
                }),
            }),
        });
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        let (url, id) = (upload_url(&init), publish_id(&init));
        let video = payload(VIDEO_17MB, 17);
        let [c0, c1, c2] = ranges_17mb();
        assert_eq!(
            h.put(&url, &video, c0.0, c0.1).await.expect("answer"),
            StatusCode::PARTIAL_CONTENT
        );
        assert!(
            h.put(&url, &video, c1.0, c1.1).await.is_err(),
            "chunk 1 cut"
        );
        assert_eq!(h.fake.publish(&id).expect("publish").chunks_taken, 1);
        for (first, last) in [c1, c2] {
            h.put(&url, &video, first, last).await.expect("chunk");
        }
        let done = h.fake.publish(&id).expect("publish");
        assert_eq!(done.video_sha256, Some(sha256_hex(&video)));
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn access_token_expires_on_the_named_call_and_only_there() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        h.fake.inject(Fault::ExpireAccessTokenOnCall {
            open_id: tokens.open_id.clone(),
            endpoint: Endpoint::StatusFetch,
        });
        let (status, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", (2_000, 2_000, 1))
            .await;
        assert_eq!(status, StatusCode::OK, "the init is not the named call");
        let fetch = json!({"publish_id": publish_id(&init)});
        let (status, body) = h
            .post(
                "/v2/post/publish/status/fetch/",
                &tokens.access_token,
                fetch.clone(),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::UNAUTHORIZED, "access_token_invalid")
        );
        let (_, fresh) = h.refresh(&tokens.refresh_token).await;
        let token = fresh["access_token"].as_str().expect("token");
        let (status, _) = h.post("/v2/post/publish/status/fetch/", token, fetch).await;
        assert_eq!(status, StatusCode::OK, "the fault fires once");
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn upload_url_expires_after_the_given_chunks() {
        let h = Harness::start(settings()).await;
        let tokens = h.tokens();
        h.fake.inject(Fault::ExpireUploadUrlAfterChunks {
            open_id: tokens.open_id.clone(),
            chunks: 1,
        });
        let (_, init) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        let (url, id) = (upload_url(&init), publish_id(&init));
        let video = payload(VIDEO_17MB, 13);
        let [c0, c1, _] = ranges_17mb();
        assert_eq!(
            h.put(&url, &video, c0.0, c0.1).await.expect("answer"),
            StatusCode::PARTIAL_CONTENT
        );
        assert_eq!(
            h.put(&url, &video, c1.0, c1.1).await.expect("answer"),
            StatusCode::FORBIDDEN
        );
        assert_eq!(h.fake.publish(&id).expect("publish").chunks_taken, 1);
        // A new init's URL is good again: the fault fired once.
        let (_, next) = h
            .init_direct(&tokens.access_token, "SELF_ONLY", PLAN_17MB)
            .await;
        for (first, last) in ranges_17mb() {
            h.put(&upload_url(&next), &video, first, last)
                .await
                .expect("chunk");
        }
        let done = h.fake.publish(&publish_id(&next)).expect("publish");
        assert_eq!(done.video_sha256, Some(sha256_hex(&video)));
        assert_eq!(h.fake.violations(), vec![]);
    }
}

mod control {
    use super::*;

    #[tokio::test]
    async fn control_api_seeds_accounts_injects_faults_and_reports() {
        let h = Harness::start(settings()).await;
        let seeded: Value = h
            .http
            .post(h.url("/__fake/accounts"))
            .json(&json!({"nickname": "Over HTTP", "comment_disabled": true}))
            .send()
            .await
            .expect("seed")
            .json()
            .await
            .expect("json");
        let open_id = seeded["open_id"].as_str().expect("open_id");
        assert!(h.fake.account(open_id).expect("account").comment_disabled);

        let code: Value = h
            .http
            .post(h.url("/__fake/codes"))
            .json(&json!({"open_id": open_id, "scopes": ["video.publish"], "redirect_uri": REDIRECT_URI}))
            .send()
            .await
            .expect("code")
            .json()
            .await
            .expect("json");
        let (status, tokens) = exchange(&h, code["code"].as_str().expect("code")).await;
        assert_eq!(status, StatusCode::OK);
        let token = tokens["access_token"].as_str().expect("token");

        let fault = json!({"type": "HttpError", "endpoint": "CreatorInfo", "status": 503,
                           "code": "internal_error", "times": 1});
        let injected = h
            .http
            .post(h.url("/__fake/faults"))
            .json(&fault)
            .send()
            .await
            .expect("fault");
        assert!(injected.status().is_success());
        assert_eq!(
            h.post("/v2/post/publish/creator_info/query/", token, json!({}))
                .await
                .0,
            StatusCode::SERVICE_UNAVAILABLE
        );

        let reset = json!({"type": "ResetMidBody", "after_bytes": 10, "times": 1});
        let injected = h
            .http
            .post(h.url("/__fake/faults"))
            .json(&reset)
            .send()
            .await
            .expect("fault");
        assert!(injected.status().is_success());

        // The seeded creator disabled comments: the default post leaves them on.
        let (status, _) = h.init_direct(token, "SELF_ONLY", (2_000, 2_000, 1)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let body = json!({"post_info": {"privacy_level": "SELF_ONLY", "disable_comment": true},
                          "source_info": source_info((2_000, 2_000, 1))});
        let (_, init) = h.post("/v2/post/publish/video/init/", token, body).await;
        let snapshot: Value = h
            .http
            .get(h.url(&format!("/__fake/publishes/{}", publish_id(&init))))
            .send()
            .await
            .expect("publish")
            .json()
            .await
            .expect("json");
        assert_eq!(snapshot["status"], "PROCESSING_UPLOAD");
        let video = payload(2_000, 2);
        assert!(
            h.put(&upload_url(&init), &video, 0, 1_999).await.is_err(),
            "reset fault fired"
        );
        let violations: Value = h
            .http
            .get(h.url("/__fake/violations"))
            .send()
            .await
            .expect("v")
            .json()
            .await
            .expect("json");
        assert_eq!(violations.as_array().map(Vec::len), Some(1), "{violations}");
        assert_eq!(violations[0]["kind"], "CreatorSwitchOverridden");
        let calls: Value = h
            .http
            .get(h.url("/__fake/calls"))
            .send()
            .await
            .expect("c")
            .json()
            .await
            .expect("json");
        assert!(
            calls
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["endpoint"] == "Token"))
        );
        // Every secret issued so far, for leak tests: the client secret, the code, the
        // tokens and the upload URL.
        let secrets: Vec<String> = h
            .http
            .get(h.url("/__fake/secrets"))
            .send()
            .await
            .expect("s")
            .json()
            .await
            .expect("json");
        assert_eq!(secrets, h.fake.secrets_issued());
        assert!(
            secrets.contains(&upload_url(&init)),
            "the upload URL is listed"
        );
        assert!(secrets.len() >= 5, "{}", secrets.len());
    }

    #[tokio::test]
    async fn control_api_scopes_faults_to_an_account_and_lists_its_publishes() {
        let h = Harness::start(settings()).await;
        let target = h.tokens();
        let bystander = h.tokens();
        let fault = json!({"type": "ForAccount", "open_id": target.open_id,
                           "fault": {"type": "HttpError", "endpoint": "DirectInit",
                                     "status": 500, "code": "internal_error", "times": 1}});
        let injected = h
            .http
            .post(h.url("/__fake/faults"))
            .json(&fault)
            .send()
            .await
            .expect("fault");
        assert!(injected.status().is_success(), "{}", injected.status());
        let plan = (2_000, 2_000, 1);
        let (status, _) = h
            .init_direct(&bystander.access_token, "SELF_ONLY", plan)
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = h.init_direct(&target.access_token, "SELF_ONLY", plan).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let (_, init) = h.init_direct(&target.access_token, "SELF_ONLY", plan).await;
        let publishes: Value = h
            .http
            .get(h.url(&format!("/__fake/accounts/{}/publishes", target.open_id)))
            .send()
            .await
            .expect("publishes")
            .json()
            .await
            .expect("json");
        let ids: Vec<&str> = publishes
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|p| p["publish_id"].as_str())
            .collect();
        assert_eq!(ids, vec![publish_id(&init).as_str()]);
        for other in [
            json!({"type": "ExpireAccessTokenOnCall", "open_id": target.open_id,
                   "endpoint": "StatusFetch"}),
            json!({"type": "ExpireUploadUrlAfterChunks", "open_id": target.open_id,
                   "chunks": 1}),
        ] {
            let injected = h
                .http
                .post(h.url("/__fake/faults"))
                .json(&other)
                .send()
                .await
                .expect("fault");
            assert!(injected.status().is_success(), "{other}");
        }
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn dropping_the_last_handle_stops_the_server() {
        let fake = FakeTikTok::start(settings()).await.expect("fake");
        let url = format!("{}/__fake/violations", fake.base_url());
        let client = http();
        assert!(client.get(&url).send().await.is_ok());
        let clone = fake.clone();
        drop(fake);
        assert!(
            client.get(&url).send().await.is_ok(),
            "a clone keeps it alive"
        );
        drop(clone);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(http().get(&url).send().await.is_err());
    }

    #[tokio::test]
    async fn binary_prints_its_url_and_serves_the_control_api() {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-tiktok"))
            .args(["--port", "0", "--client-key", "k", "--processing-ms", "10"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::io::BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("line");
        let base = line
            .trim()
            .strip_prefix("fake-tiktok listening on ")
            .expect("announcement")
            .to_string();
        assert!(base.starts_with("http://127.0.0.1:"));
        let violations: Value = http()
            .get(format!("{base}/__fake/violations"))
            .send()
            .await
            .expect("violations")
            .json()
            .await
            .expect("json");
        assert_eq!(violations, json!([]));
        child.kill().await.expect("kill");
    }
}

mod webhooks {
    use super::*;

    use hmac::{Hmac, Mac};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    /// One request the receiver got: its `TikTok-Signature` header and body.
    struct Received {
        signature: String,
        body: Vec<u8>,
    }

    /// A receiver answering 200 to every POST, handing each request to the test.
    async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let (sender, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
                    let header = |name: &str| {
                        head.lines().find_map(|line| {
                            let (key, value) = line.split_once(':')?;
                            key.trim()
                                .eq_ignore_ascii_case(name)
                                .then(|| value.trim().to_owned())
                        })
                    };
                    let length: usize = header("content-length")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(0);
                    let mut body = buffer[head_end..].to_vec();
                    while body.len() < length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => body.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let signature = header("tiktok-signature").unwrap_or_default();
                    let _ = sender.send(Received { signature, body });
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                        )
                        .await;
                });
            }
        });
        (url, received)
    }

    async fn next(received: &mut mpsc::UnboundedReceiver<Received>) -> Received {
        tokio::time::timeout(Duration::from_secs(5), received.recv())
            .await
            .expect("a webhook delivery within 5 s")
            .expect("the receiver is running")
    }

    /// Checks the signature as TikTok documents it (HMAC-SHA256 of `{t}.{body}` with the
    /// client secret, recent `t`) and returns the event with its `content` parsed.
    fn verified(delivery: &Received) -> (Value, Value) {
        let (t, s) = delivery.signature.split_once(',').expect("t=...,s=...");
        let t = t.strip_prefix("t=").expect("t first");
        let s = s.strip_prefix("s=").expect("s second");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"fake-client-secret").expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(&delivery.body);
        mac.verify_slice(&hex::decode(s).expect("hex"))
            .expect("the signature matches the body");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let t: i64 = t.parse().expect("t is a number");
        assert!((now - t).abs() <= 5, "t={t} is not now ({now})");
        let event: Value = serde_json::from_slice(&delivery.body).expect("JSON event");
        assert_eq!(event["client_key"], "fake-client-key");
        assert_eq!(event["create_time"], json!(t));
        let content: Value =
            serde_json::from_str(event["content"].as_str().expect("content is a string"))
                .expect("content holds JSON");
        (event, content)
    }

    async fn upload_one_chunk(h: &Harness, token: &str, privacy: &str) -> String {
        let video = payload(2_000, 3);
        let (_, init) = h.init_direct(token, privacy, (2_000, 2_000, 1)).await;
        let answer = h
            .put(&upload_url(&init), &video, 0, 1_999)
            .await
            .expect("chunk");
        assert_eq!(answer, StatusCode::CREATED);
        publish_id(&init)
    }

    #[tokio::test]
    async fn a_public_post_sends_complete_then_publicly_available_signed() {
        let (url, mut received) = receiver().await;
        let h = Harness::start(FakeSettings {
            webhook_url: Some(url),
            ..settings()
        })
        .await;
        let tokens = h.tokens();
        let id = upload_one_chunk(&h, &tokens.access_token, "PUBLIC_TO_EVERYONE").await;

        let (event, content) = verified(&next(&mut received).await);
        assert_eq!(event["event"], "post.publish.complete");
        assert_eq!(event["user_openid"], tokens.open_id.as_str());
        assert_eq!(content["publish_id"], id.as_str());
        assert_eq!(content["publish_type"], "DIRECT_PUBLISH");
        // By the time the event is sent, a status fetch agrees with it.
        assert_eq!(
            h.fake.publish(&id).expect("publish").status,
            PublishStatus::PublishComplete
        );

        let (event, content) = verified(&next(&mut received).await);
        assert_eq!(event["event"], "post.publish.publicly_available");
        let post_id = h
            .fake
            .publish(&id)
            .and_then(|p| p.post_id)
            .expect("a public id");
        assert_eq!(content["post_id"], post_id.to_string());

        // The fake records a delivery once the receiver has answered.
        let mut deliveries = h.fake.webhook_deliveries();
        for _ in 0..100 {
            if deliveries.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            deliveries = h.fake.webhook_deliveries();
        }
        assert_eq!(deliveries.len(), 2);
        assert!(
            deliveries
                .iter()
                .all(|d| d.status == Some(200) && d.error.is_none())
        );
        assert_eq!(deliveries[0].publish_id.as_deref(), Some(id.as_str()));
        assert_eq!(h.fake.violations(), vec![]);
    }

    #[tokio::test]
    async fn a_failed_post_and_a_draft_send_their_events_once_set_at_run_time() {
        let (url, mut received) = receiver().await;
        let h = Harness::start(settings()).await;
        let response = h
            .http
            .post(h.url("/__fake/webhook"))
            .json(&json!({ "url": url }))
            .send()
            .await
            .expect("set the webhook URL");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let tokens = h.tokens();
        h.fake.inject(Fault::FailPost {
            open_id: tokens.open_id.clone(),
            fail_reason: "duration_check_failed".into(),
        });
        let failed = upload_one_chunk(&h, &tokens.access_token, "SELF_ONLY").await;
        let (event, content) = verified(&next(&mut received).await);
        assert_eq!(event["event"], "post.publish.failed");
        assert_eq!(content["publish_id"], failed.as_str());
        assert_eq!(content["reason"], "duration_check_failed");

        let body = json!({"source_info": source_info((1_000, 1_000, 1))});
        let (_, init) = h
            .post(
                "/v2/post/publish/inbox/video/init/",
                &tokens.access_token,
                body,
            )
            .await;
        let video = payload(1_000, 9);
        h.put(&upload_url(&init), &video, 0, 999)
            .await
            .expect("chunk");
        let (event, content) = verified(&next(&mut received).await);
        assert_eq!(event["event"], "post.publish.inbox_delivered");
        assert_eq!(content["publish_type"], "INBOX_SHARE");

        // The fake records a delivery once the receiver has answered.
        for _ in 0..100 {
            if h.fake.webhook_deliveries().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let listed: Value = h
            .http
            .get(h.url("/__fake/webhooks"))
            .send()
            .await
            .expect("list deliveries")
            .json()
            .await
            .expect("json");
        assert_eq!(listed.as_array().map(Vec::len), Some(2));
        assert_eq!(listed[0]["event"], "post.publish.failed");
    }

    #[tokio::test]
    async fn revoking_a_token_sends_authorization_removed() {
        let (url, mut received) = receiver().await;
        let h = Harness::start(settings()).await;
        h.fake.set_webhook_url(Some(url));
        let tokens = h.tokens();
        let response = h
            .http
            .post(h.url("/v2/oauth/revoke/"))
            .form(&[
                ("client_key", "fake-client-key"),
                ("client_secret", "fake-client-secret"),
                ("token", tokens.access_token.as_str()),
            ])
            .send()
            .await
            .expect("revoke");
        assert_eq!(response.status(), StatusCode::OK);
        let (event, _) = verified(&next(&mut received).await);
        assert_eq!(event["event"], "authorization.removed");
        assert_eq!(event["user_openid"], tokens.open_id.as_str());
    }

    #[tokio::test]
    async fn without_a_webhook_url_nothing_is_sent() {
        let (url, mut received) = receiver().await;
        let h = Harness::start(settings()).await;
        h.fake.set_webhook_url(Some(url));
        // Stopped through the control API, which also refuses what is not a URL.
        let refused = h
            .http
            .post(h.url("/__fake/webhook"))
            .json(&json!({ "url": "not a url" }))
            .send()
            .await
            .expect("request");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let stopped = h
            .http
            .post(h.url("/__fake/webhook"))
            .json(&json!({ "url": null }))
            .send()
            .await
            .expect("request");
        assert_eq!(stopped.status(), StatusCode::NO_CONTENT);
        let tokens = h.tokens();
        let id = upload_one_chunk(&h, &tokens.access_token, "SELF_ONLY").await;
        h.wait_final(&tokens.access_token, &id).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(received.try_recv().is_err(), "an event was sent");
        assert_eq!(h.fake.webhook_deliveries(), vec![]);
    }
}

mod documented;
mod origin;
mod pulls;
