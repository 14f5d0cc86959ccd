//! Secrets never leak (issue 7). Run it with the functions logging at TRACE:
//!
//! ```sh
//! LOCAL_STACK_RUST_LOG=trace scripts/local-stack run -- \
//!     cargo test -p e2e --features local-stack-tests --test leaks
//! ```
//!
//! The test drives the stack through a happy path (connect through the real handlers; post via
//! S3 and via the API, to PUBLISHED) and failing paths (TikTok fails a post; a post refused;
//! an access token that expires mid-run and is refreshed, so the refresh token rotates; error
//! answers of the API; a replayed OAuth callback). It collects every secret the fake issued to
//! those accounts, as far as it can see them: the authorization codes (from the authorize
//! redirect), the access and refresh tokens before and after the refresh (the fake's
//! `/__fake/accounts/{id}`), the upload URLs and their tokens (read sealed from the post
//! records while the posts are in flight, opened with moto's KMS), the connect links, OAuth
//! states and binding nonces (from the API's own answers), the client secret (the
//! `TIKTOK_CLIENT_SECRET` the stack was started with), and whatever the fake lists at
//! `/__fake/secrets` if it has that route. Then it asserts none of them appears, as it is or
//! encoded (percent-encoded, JSON-escaped, or any 16+ character piece of it), in:
//! - every file of the run's directory (`logs/*.log` of the functions, watch, moto and the
//!   driver, with the state machine's task inputs and outputs; the env files), except the
//!   fake TikTok's own log (TikTok's side: it issued the secrets);
//! - the state machine executions as moto holds them (DescribeExecution,
//!   GetExecutionHistory);
//! - every answer of the stack's API the test received (headers and body), except that a
//!   connect-link answer carries its link and oauth-start's redirect its state and nonce;
//! - every item of the stack's tables as stored, where tokens and upload URLs must be
//!   `kms1:`-sealed.
//!
//! The scanner's own unit tests (module `scanner`) plant secrets in a log and prove it finds
//! them, so this test can fail.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Case, FAKE_LOGIN_COOKIE, Stack};
use scanner::{Finding, Kind, Scanner, Secret};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const POST_TIMEOUT: Duration = Duration::from_secs(240);
const SMALL: u64 = 2_000_000;
/// The encryption-context key the adapters seal secrets under (`KMS_CONTEXT_KEY` in
/// shared/adapters/src/kms.rs), with `posts/{id}/upload_url` for an upload URL.
const SEALING_CONTEXT_KEY: &str = "tiktok-publish:secret";
const SEALED_PREFIX: &str = "kms1:";

const HOW_TO_RUN: &str = "run the leak test with the functions at TRACE: \
    `LOCAL_STACK_RUST_LOG=trace scripts/local-stack run -- cargo test -p e2e \
    --features local-stack-tests --test leaks` (add LOCAL_STACK_SKIP_BUILD=1 after a \
    `cargo build --bins`)";

// ---------------------------------------------------------------- the scanner

/// Finds secrets in text, as they are or encoded, and shows where without showing them.
mod scanner {
    use aho_corasick::{AhoCorasick, MatchKind};

    /// What kind of secret a value is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Kind {
        AuthorizationCode,
        AccessToken,
        RefreshToken,
        UploadUrl,
        UploadToken,
        ClientSecret,
        ConnectLink,
        OAuthState,
        BindingNonce,
        /// The front door's media signing key, and the signature of a media URL TikTok was
        /// given (the rest of the URL, a bucket key, is no secret).
        MediaSigningKey,
        MediaUrlSignature,
        /// Listed by the fake's `/__fake/secrets` without a kind.
        IssuedByFake,
    }

    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub struct Secret {
        pub kind: Kind,
        pub value: String,
    }

    impl Secret {
        pub fn new(kind: Kind, value: impl Into<String>) -> Secret {
            Secret {
                kind,
                value: value.into(),
            }
        }
    }

    /// Shorter needles would match by chance (a 16-character random piece does not).
    pub const MIN_PIECE: usize = 16;
    /// No secret is shorter: a short one cannot be told from ordinary text.
    pub const MIN_SECRET: usize = 8;
    /// Excerpts hide even this short a run of a secret's characters.
    const MIN_SHOWN: usize = 5;

    struct Needle {
        kind: Kind,
        form: &'static str,
    }

    /// One place a secret was found. `excerpt` shows the text around it, with every secret
    /// in it replaced by `<Kind>`.
    #[derive(Debug, Clone)]
    pub struct Finding {
        pub source: String,
        pub line: usize,
        pub kind: Kind,
        pub form: &'static str,
        pub excerpt: String,
    }

    impl std::fmt::Display for Finding {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "{:?} ({}) in {} line {}: {}",
                self.kind, self.form, self.source, self.line, self.excerpt
            )
        }
    }

    pub struct Scanner {
        /// One match per place (the longest form there), for the findings.
        automaton: AhoCorasick,
        /// Every match, overlapping, for redacting excerpts completely.
        overlapping: AhoCorasick,
        /// The kind of each of `overlapping`'s patterns.
        hide_kinds: Vec<Kind>,
        needles: Vec<Needle>,
    }

    /// Every byte but RFC 3986's unreserved ones as `%XX`.
    fn percent_encoded(value: &str, upper: bool) -> String {
        value
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    /// The forms a secret may take in text: as it is, percent-encoded (upper and lower
    /// case hex), JSON-escaped (also with `\/`), and every [`MIN_PIECE`] characters in a row
    /// of its alphanumeric runs (a random token's body survives any encoding).
    pub fn forms(secret: &Secret) -> Vec<(&'static str, String)> {
        let value = secret.value.as_str();
        let mut forms = vec![("as is", value.to_owned())];
        forms.push(("percent-encoded", percent_encoded(value, true)));
        forms.push(("percent-encoded", percent_encoded(value, false)));
        let json = serde_json::to_string(value).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        forms.push(("JSON-escaped", json.replace('/', "\\/")));
        forms.push(("JSON-escaped", json));
        // Every window, so that a secret cut short (a log line's length limit) or cut out of
        // its encoding is still found from any 16 characters of it.
        for run in value.split(|c: char| !c.is_ascii_alphanumeric()) {
            for start in 0..=run.len().saturating_sub(MIN_PIECE) {
                if let Some(piece) = run.get(start..start + MIN_PIECE) {
                    forms.push(("a 16-character piece of it", piece.to_owned()));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        forms.retain(|(_, text)| seen.insert(text.clone()));
        forms
    }

    impl Scanner {
        pub fn new(secrets: &[Secret]) -> anyhow::Result<Scanner> {
            let mut patterns = Vec::new();
            let mut needles = Vec::new();
            for secret in secrets {
                anyhow::ensure!(
                    secret.value.len() >= MIN_SECRET,
                    "a {:?} of {} characters is too short to look for",
                    secret.kind,
                    secret.value.len()
                );
                for (form, text) in forms(secret) {
                    patterns.push(text);
                    needles.push(Needle {
                        kind: secret.kind,
                        form,
                    });
                }
            }
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)?;
            // Redaction also hides a secret's shorter alphanumeric runs (too short to search
            // for on their own, but enough to show part of it next to a longer one).
            let mut hide = patterns;
            let mut hide_kinds: Vec<Kind> = needles.iter().map(|n| n.kind).collect();
            for secret in secrets {
                for run in secret.value.split(|c: char| !c.is_ascii_alphanumeric()) {
                    // Random-looking only (an uppercase letter, or letters and digits): not the
                    // words and port numbers of a URL.
                    let has_digit = run.bytes().any(|b| b.is_ascii_digit());
                    let has_upper = run.bytes().any(|b| b.is_ascii_uppercase());
                    let has_lower = run.bytes().any(|b| b.is_ascii_lowercase());
                    let random_looking = has_upper || (has_lower && has_digit);
                    if random_looking && (MIN_SHOWN..MIN_PIECE).contains(&run.len()) {
                        hide.push(run.to_owned());
                        hide_kinds.push(secret.kind);
                    }
                }
            }
            let overlapping = AhoCorasick::new(&hide)?;
            Ok(Scanner {
                automaton,
                overlapping,
                hide_kinds,
                needles,
            })
        }

        /// Every secret in `text` whose kind is not in `allowed`.
        pub fn scan(&self, source: &str, text: &[u8], allowed: &[Kind]) -> Vec<Finding> {
            let mut findings = Vec::new();
            let mut line = 1;
            let mut counted_to = 0;
            for found in self.automaton.find_iter(text) {
                let needle = &self.needles[found.pattern().as_usize()];
                if allowed.contains(&needle.kind) {
                    continue;
                }
                line += text[counted_to..found.start()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                counted_to = found.start();
                let line_start = text[..found.start()]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |newline| newline + 1);
                let line_head = &text[line_start..(line_start + 80).min(found.start())];
                let window = widened(text, found.start().saturating_sub(60), found.end() + 60);
                findings.push(Finding {
                    source: source.to_owned(),
                    line,
                    kind: needle.kind,
                    form: needle.form,
                    excerpt: format!(
                        "line begins {:?}; around it: …{}…",
                        self.redact(line_head),
                        self.redact(&text[window])
                    ),
                });
            }
            findings
        }

        /// `text` with every secret (in any form, overlapping pieces merged, widened to
        /// the whole alphanumeric run around them) replaced by `<Kind>`, on one line.
        pub fn redact(&self, text: &[u8]) -> String {
            let mut hidden: Vec<(usize, usize, Kind)> = Vec::new();
            for found in self.overlapping.find_overlapping_iter(text) {
                let kind = self.hide_kinds[found.pattern().as_usize()];
                let (mut start, mut end) = (found.start(), found.end());
                while start > 0 && text[start - 1].is_ascii_alphanumeric() {
                    start -= 1;
                }
                while end < text.len() && text[end].is_ascii_alphanumeric() {
                    end += 1;
                }
                hidden.push((start, end, kind));
            }
            hidden.sort_by_key(|(start, _, _)| *start);
            let mut out = Vec::new();
            let mut last = 0;
            for (start, end, kind) in hidden {
                if end <= last {
                    continue;
                }
                if start >= last {
                    out.extend_from_slice(&text[last..start]);
                    out.extend_from_slice(format!("<{kind:?}>").as_bytes());
                }
                last = end;
            }
            out.extend_from_slice(&text[last..]);
            String::from_utf8_lossy(&out).replace(['\n', '\r'], " ")
        }
    }

    /// `start..end` within `text`, widened so as not to cut an alphanumeric run (a secret
    /// cut at the edge would no longer be recognised, and show).
    fn widened(text: &[u8], start: usize, end: usize) -> std::ops::Range<usize> {
        let (mut start, mut end) = (start, end.min(text.len()));
        while start > 0 && text[start - 1].is_ascii_alphanumeric() {
            start -= 1;
        }
        while end < text.len() && text[end].is_ascii_alphanumeric() {
            end += 1;
        }
        start..end
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn secrets() -> Vec<Secret> {
            vec![
                Secret::new(
                    Kind::AccessToken,
                    "act.Q7hX2mZp9LwK4rT8vB1nC6yD3sF5gJ0aE2iU7oP9qW4eR6tY!AbC123",
                ),
                Secret::new(
                    Kind::AuthorizationCode,
                    "Zk3P9xQ2mW7vL4nR8tB1cY6dF5gH0jK2sA9eU3iO*3!xY7zQ1.va",
                ),
                Secret::new(
                    Kind::UploadUrl,
                    "http://127.0.0.1:4000/upload/?upload_id=abcDEF123456ghiJKL789012&upload_token=T0k3nT0k3nT0k3nT0k3nT0k3nT0k3nT0k3nT0k3n",
                ),
                Secret::new(Kind::ClientSecret, "local-client-secret"),
            ]
        }

        #[test]
        fn a_planted_token_in_a_log_is_found_with_its_line() {
            let scanner = Scanner::new(&secrets()).unwrap();
            let log = "INFO starting\nDEBUG refreshed token=act.Q7hX2mZp9LwK4rT8vB1nC6yD3sF5gJ0aE2iU7oP9qW4eR6tY!AbC123 ok\n";
            let found = scanner.scan("fn-publish-status.log", log.as_bytes(), &[]);
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].kind, Kind::AccessToken);
            assert_eq!(found[0].form, "as is");
            assert_eq!(found[0].line, 2);
            assert!(
                !found[0].excerpt.contains("Q7hX2mZp9LwK4rT8"),
                "the excerpt shows the secret: {}",
                found[0].excerpt
            );
            assert!(
                found[0].excerpt.contains("token=<AccessToken> ok"),
                "{}",
                found[0].excerpt
            );
            assert!(
                found[0]
                    .excerpt
                    .contains("line begins \"DEBUG refreshed token=\"")
            );
        }

        #[test]
        fn encoded_and_truncated_secrets_are_found() {
            let scanner = Scanner::new(&secrets()).unwrap();
            // The code as a query string carries it, the URL JSON-escaped, and a token cut
            // short by a log line's length limit.
            let text = concat!(
                "rawQueryString\":\"code=Zk3P9xQ2mW7vL4nR8tB1cY6dF5gH0jK2sA9eU3iO%2A3%21xY7zQ1.va&state=1\n",
                "{\"url\":\"http:\\/\\/127.0.0.1:4000\\/upload\\/?upload_id=abcDEF123456ghiJKL789012&upload_token=T0k3nT0k3nT0k3nT0k3nT0k3nT0k3nT0k3nT0k3n\"}\n",
                "Task -> {\"token\":\"act.Q7hX2mZp9LwK4rT8vB1nC6yD3sF5g...\n",
                "client_secret=local-client-secret&grant_type=refresh_token\n",
            );
            let kinds: Vec<(Kind, &str)> = scanner
                .scan("driver.log", text.as_bytes(), &[])
                .iter()
                .map(|f| (f.kind, f.form))
                .collect();
            assert_eq!(
                kinds,
                [
                    (Kind::AuthorizationCode, "percent-encoded"),
                    (Kind::UploadUrl, "JSON-escaped"),
                    (Kind::AccessToken, "a 16-character piece of it"),
                    (Kind::ClientSecret, "as is"),
                ]
            );
        }

        #[test]
        fn excerpts_hide_every_character_of_a_secret_in_a_mixed_encoding() {
            let scanner = Scanner::new(&secrets()).unwrap();
            // `*` left as is, `!` encoded: no single form matches the whole code.
            let text = "rawQueryString=code=Zk3P9xQ2mW7vL4nR8tB1cY6dF5gH0jK2sA9eU3iO*3%21xY7zQ1.va&state=1";
            let found = scanner.scan("fn-oauth-callback.log", text.as_bytes(), &[]);
            assert!(!found.is_empty());
            for finding in &found {
                assert_eq!(finding.kind, Kind::AuthorizationCode);
                assert!(
                    finding
                        .excerpt
                        .contains("code=<AuthorizationCode>*3%<AuthorizationCode>.va"),
                    "{}",
                    finding.excerpt
                );
            }
        }

        #[test]
        fn allowed_kinds_and_clean_text_give_nothing() {
            let scanner = Scanner::new(&secrets()).unwrap();
            let clean = "INFO post 3f2a published (publish_id v_pub_file~v2-1.123) act. rft. kms1:AQIDBAUG\n";
            assert!(scanner.scan("clean", clean.as_bytes(), &[]).is_empty());
            let with_code =
                "Location: /cb?code=Zk3P9xQ2mW7vL4nR8tB1cY6dF5gH0jK2sA9eU3iO*3!xY7zQ1.va";
            assert!(
                scanner
                    .scan("answer", with_code.as_bytes(), &[Kind::AuthorizationCode])
                    .is_empty()
            );
            assert_eq!(scanner.scan("answer", with_code.as_bytes(), &[]).len(), 1);
        }

        #[test]
        fn secrets_too_short_to_tell_from_text_are_refused() {
            assert!(Scanner::new(&[Secret::new(Kind::ClientSecret, "abc")]).is_err());
        }
    }
}

/// `bytes` without terminal colour codes (`ESC [ ... letter`): the functions' default log
/// format colours field names and levels, and a code between two halves of a value would
/// hide it from the scanner.
fn without_ansi_colours(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes.iter().copied().peekable();
    while let Some(byte) = rest.next() {
        if byte == 0x1b && rest.peek() == Some(&b'[') {
            rest.next();
            for inner in rest.by_ref() {
                if inner.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(byte);
        }
    }
    out
}

#[test]
fn colour_codes_are_removed_and_the_rest_kept() {
    let coloured = b"\x1b[35mTRACE\x1b[0m body=\x1b[3mcode\x1b[0m\x1b[2m=\x1b[0mabc\n";
    assert_eq!(without_ansi_colours(coloured), b"TRACE body=code=abc\n");
}

// ---------------------------------------------------------------- what the test saw

/// One answer of the stack's API, with the kinds of secret it exists to hand out.
struct Answer {
    what: String,
    text: String,
    may_carry: Vec<Kind>,
}

/// What the scenarios gather: the secrets they saw issued and the API's answers.
#[derive(Default)]
struct Seen {
    secrets: Vec<Secret>,
    answers: Vec<Answer>,
}

type Shared = Arc<Mutex<Seen>>;

async fn remember(seen: &Shared, kind: Kind, value: &str) {
    if !value.is_empty() {
        seen.lock().await.secrets.push(Secret::new(kind, value));
    }
}

/// Sends a request to the stack's API and records its answer (status, headers, body).
async fn call_api(
    seen: &Shared,
    what: &str,
    request: reqwest::RequestBuilder,
    may_carry: &[Kind],
) -> anyhow::Result<(u16, reqwest::header::HeaderMap, String)> {
    let answer = request.send().await.with_context(|| what.to_owned())?;
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let body = answer
        .text()
        .await
        .with_context(|| format!("{what}: reading the answer"))?;
    let mut text = format!("HTTP {status}\n");
    for (name, value) in &headers {
        text.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push('\n');
    text.push_str(&body);
    seen.lock().await.answers.push(Answer {
        what: what.to_owned(),
        text,
        may_carry: may_carry.to_vec(),
    });
    Ok((status, headers, body))
}

fn json_body(what: &str, status: u16, body: &str) -> anyhow::Result<Value> {
    serde_json::from_str(body).with_context(|| format!("{what} answered {status} non-JSON: {body}"))
}

fn location(headers: &reqwest::header::HeaderMap, what: &str) -> anyhow::Result<String> {
    headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .with_context(|| format!("{what}: a redirect without Location"))
}

fn query_param(url: &str, name: &str) -> anyhow::Result<Option<String>> {
    let url = url::Url::parse(url).with_context(|| format!("parsing a URL of the flow: {url}"))?;
    Ok(url
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned()))
}

/// A creator connected through the real handlers, and the callback it went through.
struct Connected {
    open_id: String,
    /// The callback URL TikTok sent the browser to (with its code and state).
    callback: String,
    /// The binding cookie(s) oauth-start set, as a `Cookie` header.
    cookies: String,
}

/// Connects a fresh creator the way a browser does (as the harness's `connect_through_api`),
/// remembering every secret of the flow and every answer.
async fn connect(stack: &Stack, seen: &Shared, seed: Value) -> anyhow::Result<Connected> {
    let open_id = stack.seed_creator(&seed).await?;
    let (status, _, body) = call_api(
        seen,
        "POST /accounts/connect-link",
        stack
            .http
            .post(format!("{}/accounts/connect-link", stack.api))
            .json(&json!({})),
        &[Kind::ConnectLink],
    )
    .await?;
    ensure!(
        status == 201,
        "POST /accounts/connect-link answered {status}: {body}"
    );
    let link = json_body("POST /accounts/connect-link", status, &body)?;
    let link = link["url"]
        .as_str()
        .with_context(|| format!("no url in the connect-link answer {body}"))?
        .to_owned();
    let link_token = query_param(&link, "link")?
        .with_context(|| format!("the connect link has no link parameter: {link}"))?;
    remember(seen, Kind::ConnectLink, &link_token).await;

    let (status, headers, _) = call_api(
        seen,
        "GET /oauth/start",
        stack.http.get(&link),
        &[Kind::OAuthState, Kind::BindingNonce],
    )
    .await?;
    ensure!(
        (300..400).contains(&status),
        "oauth-start answered {status}"
    );
    let authorize = location(&headers, "oauth-start")?;
    let state = query_param(&authorize, "state")?.context("the authorize URL has no state")?;
    remember(seen, Kind::OAuthState, &state).await;
    let mut cookies = Vec::new();
    for value in headers.get_all(reqwest::header::SET_COOKIE) {
        let pair = value.to_str().unwrap_or_default();
        let pair = pair.split(';').next().unwrap_or_default().to_owned();
        if let Some((_, nonce)) = pair.split_once('=') {
            remember(seen, Kind::BindingNonce, nonce).await;
        }
        cookies.push(pair);
    }
    ensure!(!cookies.is_empty(), "oauth-start set no binding cookie");

    // The fake's authorize page (TikTok's side: not the stack's answer, not recorded).
    let consent = stack
        .http
        .get(&authorize)
        .header(
            reqwest::header::COOKIE,
            format!("{FAKE_LOGIN_COOKIE}={open_id}"),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .context("GET the fake's authorize URL")?;
    ensure!(
        consent.status().is_redirection(),
        "the fake's authorize answered {}",
        consent.status()
    );
    let callback = location(consent.headers(), "the fake's authorize")?;
    let code = query_param(&callback, "code")?.context("the callback URL has no code")?;
    remember(seen, Kind::AuthorizationCode, &code).await;

    let (status, _, page) = call_api(
        seen,
        "GET /oauth/callback",
        stack
            .http
            .get(&callback)
            .header(reqwest::header::COOKIE, cookies.join("; ")),
        &[],
    )
    .await?;
    ensure!(status == 200, "oauth-callback answered {status}: {page}");
    remember_tokens(stack, seen, &open_id).await?;
    Ok(Connected {
        open_id,
        callback,
        cookies: cookies.join("; "),
    })
}

/// The account's current tokens at the fake.
async fn remember_tokens(stack: &Stack, seen: &Shared, open_id: &str) -> anyhow::Result<()> {
    let account = stack
        .fake_get(&format!("/__fake/accounts/{open_id}"))
        .await?;
    let access = account["access_token"].as_str().unwrap_or_default();
    let refresh = account["refresh_token"].as_str().unwrap_or_default();
    ensure!(
        !access.is_empty() && !refresh.is_empty(),
        "the fake holds no tokens for {open_id}"
    );
    remember(seen, Kind::AccessToken, access).await;
    remember(seen, Kind::RefreshToken, refresh).await;
    Ok(())
}

async fn get_post(stack: &Stack, seen: &Shared, id: &str) -> anyhow::Result<Value> {
    let what = "GET /posts/{id}";
    let (status, _, body) = call_api(
        seen,
        what,
        stack.http.get(format!("{}/posts/{id}", stack.api)),
        &[],
    )
    .await?;
    ensure!(status == 200, "{what} answered {status}: {body}");
    json_body(what, status, &body)
}

async fn wait_final(stack: &Stack, seen: &Shared, id: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + POST_TIMEOUT;
    loop {
        let post = get_post(stack, seen, id).await?;
        if post["final"] == true {
            return Ok(post);
        }
        ensure!(
            Instant::now() < deadline,
            "post {id} is not final after {POST_TIMEOUT:?}: {post}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Drops a video and its manifest under the upload prefix; waits for its post to be final.
async fn post_via_s3(
    stack: &Stack,
    seen: &Shared,
    open_id: &str,
    name: &str,
    options: &Value,
    seed: u64,
) -> anyhow::Result<Value> {
    let key = stack.upload_key(open_id, name);
    stack.put_manifest(&key, options).await?;
    stack.put_video(&key, SMALL, 10, seed).await?;
    let id = stack
        .post_id_of(open_id, &key, Duration::from_secs(60))
        .await?;
    wait_final(stack, seen, &id).await
}

/// Puts a video outside the prefix and posts it through `POST /posts`; waits for the end.
async fn post_via_api(
    stack: &Stack,
    seen: &Shared,
    open_id: &str,
    name: &str,
    options: &Value,
    seed: u64,
) -> anyhow::Result<Value> {
    let key = stack.api_key(open_id, name);
    stack.put_video(&key, SMALL, 10, seed).await?;
    let what = "POST /posts";
    let (status, _, body) = call_api(
        seen,
        what,
        stack
            .http
            .post(format!("{}/posts", stack.api))
            .json(&json!({"account": open_id, "key": key, "options": options})),
        &[],
    )
    .await?;
    ensure!(status == 201, "{what} answered {status}: {body}");
    let id = json_body(what, status, &body)?["id"]
        .as_str()
        .context("no id in the post")?
        .to_owned();
    wait_final(stack, seen, &id).await
}

fn creator() -> Value {
    json!({"nickname": "Leak Test", "username": "leak.test"})
}

// ---------------------------------------------------------------- the scenarios

/// Connect, post via S3 (public) and via the API (private), both PUBLISHED; list the
/// accounts and read the creator info; replay the used callback (refused).
async fn happy_paths(stack: &Stack, seen: &Shared) -> anyhow::Result<()> {
    let connected = connect(stack, seen, creator()).await?;
    let open_id = connected.open_id.clone();
    let public = json!({"title": "leaks #e2e", "privacy_level": "PUBLIC_TO_EVERYONE"});
    let post = post_via_s3(stack, seen, &open_id, "s3.mp4", &public, 11).await?;
    ensure!(post["state"] == "PUBLISHED", "the S3 post: {post}");
    let private = json!({"title": "leaks via the API", "privacy_level": "SELF_ONLY"});
    let post = post_via_api(stack, seen, &open_id, "api.mp4", &private, 12).await?;
    ensure!(post["state"] == "PUBLISHED", "the API post: {post}");
    if stack
        .env("FRONT_DOOR_URL")
        .is_some_and(|url| !url.is_empty())
    {
        pulled_by_tiktok(stack, seen, &open_id).await?;
    }

    let (status, _, body) = call_api(
        seen,
        "GET /accounts",
        stack.http.get(format!("{}/accounts", stack.api)),
        &[],
    )
    .await?;
    ensure!(status == 200, "GET /accounts answered {status}: {body}");
    let (status, _, body) = call_api(
        seen,
        "GET /accounts/{open_id}/creator-info",
        stack
            .http
            .get(format!("{}/accounts/{open_id}/creator-info", stack.api)),
        &[],
    )
    .await?;
    ensure!(status == 200, "GET creator-info answered {status}: {body}");

    // The same callback again (a browser's back button, or an attacker with the URL): the
    // state is used up; the refusal page must not echo the code.
    let (status, _, page) = call_api(
        seen,
        "GET /oauth/callback (replayed)",
        stack
            .http
            .get(&connected.callback)
            .header(reqwest::header::COOKIE, &connected.cookies),
        &[],
    )
    .await?;
    ensure!(
        status >= 400,
        "a replayed callback was accepted ({status}): {page}"
    );
    Ok(())
}

/// A post TikTok pulls from the front door: the signing key (from what the local origin was
/// given) and the signed media URL TikTok received are secrets too.
async fn pulled_by_tiktok(stack: &Stack, seen: &Shared, open_id: &str) -> anyhow::Result<()> {
    let run_dir = stack
        .env("LOCAL_STACK_DIR")
        .context("no LOCAL_STACK_DIR in the env file")?;
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{run_dir}/media-origin.json"))
            .context("reading the media origin's settings")?,
    )
    .context("the media origin's settings are not JSON")?;
    let key = settings["signing_key"]
        .as_str()
        .context("no signing_key in media-origin.json")?;
    seen.lock()
        .await
        .secrets
        .push(Secret::new(Kind::MediaSigningKey, key));
    let options = json!({"title": "leaks pulled", "privacy_level": "SELF_ONLY",
                         "source": "PULL_FROM_URL"});
    let post = post_via_s3(stack, seen, open_id, "pulled.mp4", &options, 14).await?;
    ensure!(post["state"] == "PUBLISHED", "the pulled post: {post}");
    let publishes = stack.publishes_of(open_id).await?;
    let publish = publishes
        .iter()
        .find(|p| p["publish_id"] == post["publish_id"])
        .with_context(|| format!("the fake has no publish {}", post["publish_id"]))?;
    let url = publish["media_urls"][0]
        .as_str()
        .with_context(|| format!("the pull has no media URL: {publish}"))?;
    let signature = query_param(url, "sig")?.context("no sig in the media URL")?;
    seen.lock()
        .await
        .secrets
        .push(Secret::new(Kind::MediaUrlSignature, signature));
    Ok(())
}

/// TikTok fails the post after the upload: FAILED with its reason.
async fn tiktok_fails_the_post(stack: &Stack, seen: &Shared) -> anyhow::Result<()> {
    let open_id = connect(stack, seen, creator()).await?.open_id;
    stack
        .inject(&json!({"type": "FailPost", "open_id": open_id,
                        "fail_reason": "frame_rate_check_failed"}))
        .await?;
    let options = json!({"title": "jerky", "privacy_level": "SELF_ONLY"});
    let post = post_via_api(stack, seen, &open_id, "failed.mp4", &options, 13).await?;
    ensure!(post["state"] == "FAILED", "{post}");
    Ok(())
}

/// A privacy level the creator does not offer: REFUSED; and the API's error answers.
async fn refusals(stack: &Stack, seen: &Shared) -> anyhow::Result<()> {
    let open_id = connect(
        stack,
        seen,
        json!({"privacy_level_options": ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]}),
    )
    .await?
    .open_id;
    let options = json!({"title": "for everyone", "privacy_level": "PUBLIC_TO_EVERYONE"});
    let post = post_via_s3(stack, seen, &open_id, "refused.mp4", &options, 14).await?;
    ensure!(post["state"] == "REFUSED", "{post}");

    let posts = format!("{}/posts", stack.api);
    // (what, request, whether it must be refused: the others' status is not this test's
    // concern, only what they say)
    let bad: [(&str, reqwest::RequestBuilder, bool); 4] = [
        (
            "POST /posts (malformed JSON)",
            stack
                .http
                .post(&posts)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body("{\"account\": "),
            true,
        ),
        (
            "POST /posts (no such object)",
            stack.http.post(&posts).json(&json!({
                "account": open_id, "key": "api/none/missing.mp4", "options": options})),
            false,
        ),
        (
            "POST /posts (account never connected)",
            stack.http.post(&posts).json(&json!({
                "account": "-000neverconnected", "key": "api/x.mp4", "options": options})),
            false,
        ),
        (
            "GET /posts/{unknown}",
            stack
                .http
                .get(format!("{posts}/0000000000000000000000000000000000000000")),
            true,
        ),
    ];
    for (what, request, must_refuse) in bad {
        let (status, _, body) = call_api(seen, what, request, &[]).await?;
        ensure!(
            status >= 400 || !must_refuse,
            "{what} answered {status}: {body}"
        );
    }
    Ok(())
}

/// The access token expires between the upload and the first status fetch: one refresh,
/// which rotates both tokens; the post is PUBLISHED.
async fn token_refreshed(stack: &Stack, seen: &Shared) -> anyhow::Result<()> {
    let open_id = connect(stack, seen, creator()).await?.open_id;
    stack
        .inject(
            &json!({"type": "ExpireAccessTokenOnCall", "open_id": open_id,
                        "endpoint": "StatusFetch"}),
        )
        .await?;
    let options = json!({"title": "expiring", "privacy_level": "SELF_ONLY"});
    let post = post_via_s3(stack, seen, &open_id, "expiring.mp4", &options, 15).await?;
    ensure!(post["state"] == "PUBLISHED", "{post}");
    let tokens = stack.statuses_of(&open_id, "Token").await?;
    ensure!(
        tokens == [200, 200],
        "expected the code exchange and one refresh (every pair issued is then known): {tokens:?}"
    );
    remember_tokens(stack, seen, &open_id).await
}

// ---------------------------------------------------------------- upload URLs

/// Reads the posts table until stopped, keeping every sealed `upload_url` it sees (the
/// record drops it when the post is final).
fn watch_upload_urls(
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<BTreeSet<(String, String)>>> {
    tokio::spawn(async move {
        let mut sealed = BTreeSet::new();
        while !stop.load(Ordering::Relaxed) {
            for item in scan_table(&dynamodb, &table).await? {
                let id = item.get("id").and_then(|v| v.as_s().ok());
                let url = item.get("upload_url").and_then(|v| v.as_s().ok());
                if let (Some(id), Some(url)) = (id, url) {
                    sealed.insert((id.clone(), url.clone()));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(sealed)
    })
}

/// Opens a sealed upload URL with moto's KMS, as chunk-upload does.
async fn open_upload_url(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
    post_id: &str,
    sealed: &str,
) -> anyhow::Result<String> {
    let Some(encoded) = sealed.strip_prefix(SEALED_PREFIX) else {
        bail!("post {post_id}: its upload_url is stored unsealed (no {SEALED_PREFIX} prefix)");
    };
    use base64::Engine as _;
    let ciphertext = base64::prelude::BASE64_STANDARD
        .decode(encoded)
        .with_context(|| format!("post {post_id}: the sealed upload_url is not base64"))?;
    let answer = kms
        .decrypt()
        .key_id(key_id)
        .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(ciphertext))
        .encryption_context(SEALING_CONTEXT_KEY, format!("posts/{post_id}/upload_url"))
        .send()
        .await
        .with_context(|| format!("post {post_id}: kms:Decrypt of its upload_url"))?;
    let plain = answer
        .plaintext()
        .context("kms:Decrypt answered no plaintext")?;
    String::from_utf8(plain.as_ref().to_vec()).context("the upload URL is not UTF-8")
}

// ---------------------------------------------------------------- where to look

async fn scan_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> anyhow::Result<Vec<HashMap<String, AttributeValue>>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .with_context(|| format!("Scan {table}"))?;
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// An attribute's text, every string and binary in it as it is.
fn attribute_text(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
        AttributeValue::B(b) => out.push_str(&String::from_utf8_lossy(b.as_ref())),
        AttributeValue::Ss(list) | AttributeValue::Ns(list) => {
            out.push_str(&list.join(" "));
        }
        AttributeValue::Bs(list) => {
            for b in list {
                out.push_str(&String::from_utf8_lossy(b.as_ref()));
                out.push(' ');
            }
        }
        AttributeValue::L(list) => {
            for v in list {
                attribute_text(v, out);
                out.push(' ');
            }
        }
        AttributeValue::M(map) => {
            for (k, v) in map {
                out.push_str(k);
                out.push('=');
                attribute_text(v, out);
                out.push(' ');
            }
        }
        other => out.push_str(&format!("{other:?}")),
    }
}

fn item_text(item: &HashMap<String, AttributeValue>) -> String {
    let sorted: BTreeMap<_, _> = item.iter().collect();
    let mut text = String::new();
    for (name, value) in sorted {
        text.push_str(name);
        text.push('=');
        attribute_text(value, &mut text);
        text.push('\n');
    }
    text
}

/// Every regular file under `dir`, but `skip`.
fn files_under(dir: &Path, skip: &[&str], out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files_under(&path, skip, out)?;
        } else if kind.is_file()
            && !skip
                .iter()
                .any(|s| path.file_name().is_some_and(|n| n == *s))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The state machine executions as moto holds them: input, output, error, history.
async fn executions_text(stack: &Stack) -> anyhow::Result<Vec<(String, String)>> {
    let sfn = aws_sdk_sfn::Client::new(&stack.sdk);
    let machine = stack
        .env("STATE_MACHINE_ARN")
        .context("no STATE_MACHINE_ARN in the env file")?;
    let mut texts = Vec::new();
    let mut token = None;
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(machine)
            .set_next_token(token)
            .send()
            .await
            .context("ListExecutions")?;
        for execution in page.executions() {
            let arn = execution.execution_arn();
            let described = sfn
                .describe_execution()
                .execution_arn(arn)
                .send()
                .await
                .with_context(|| format!("DescribeExecution {arn}"))?;
            let history = match sfn.get_execution_history().execution_arn(arn).send().await {
                Ok(history) => format!("{:?}", history.events()),
                Err(e) => format!("(GetExecutionHistory failed: {e:?})"),
            };
            let text = format!(
                "input: {}\noutput: {}\nerror: {}\ncause: {}\nhistory: {history}\n",
                described.input().unwrap_or_default(),
                described.output().unwrap_or_default(),
                described.error().unwrap_or_default(),
                described.cause().unwrap_or_default(),
            );
            texts.push((format!("execution {}", execution.name()), text));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(texts);
        }
    }
}

// ---------------------------------------------------------------- the test

#[tokio::test]
async fn no_secret_the_fake_issued_appears_in_logs_executions_answers_or_tables()
-> anyhow::Result<()> {
    let case = Case::start("leaks").await?;
    let stack = &case.stack;
    let verbosity = stack.env("LOCAL_STACK_RUST_LOG").unwrap_or_default();
    ensure!(
        verbosity.to_ascii_lowercase().contains("trace"),
        "the functions log at the template's level, not TRACE ({HOW_TO_RUN})"
    );
    let client_secret = std::env::var("TIKTOK_CLIENT_SECRET").with_context(|| {
        format!(
            "TIKTOK_CLIENT_SECRET is not set: scripts/local-stack exports the one it started \
             the fake with ({HOW_TO_RUN})"
        )
    })?;
    let run_dir = PathBuf::from(
        stack
            .env("LOCAL_STACK_DIR")
            .context("no LOCAL_STACK_DIR in the env file")?,
    );
    let started = Instant::now();

    let seen: Shared = Arc::default();
    seen.lock()
        .await
        .secrets
        .push(Secret::new(Kind::ClientSecret, client_secret));
    let stop = Arc::new(AtomicBool::new(false));
    let url_watch = watch_upload_urls(
        stack.dynamodb.clone(),
        stack.posts_table.clone(),
        stop.clone(),
    );
    let scenarios = tokio::try_join!(
        happy_paths(stack, &seen),
        tiktok_fails_the_post(stack, &seen),
        refusals(stack, &seen),
        token_refreshed(stack, &seen),
    );
    stop.store(true, Ordering::Relaxed);
    let sealed_urls = url_watch.await.context("the upload URL watcher")??;
    scenarios?;
    let scenarios_took = started.elapsed();

    // The upload URLs, opened from their sealed form (which must be sealed).
    let kms = aws_sdk_kms::Client::new(&stack.sdk);
    let key_id = stack
        .env("SEALING_KEY_ARN")
        .context("no SEALING_KEY_ARN in the env file: is sealing on?")?;
    let fake_upload = format!("{}/upload/", stack.fake);
    let mut upload_posts = BTreeSet::new();
    for (post_id, sealed) in &sealed_urls {
        let url = open_upload_url(&kms, key_id, post_id, sealed).await?;
        ensure!(
            url.starts_with(&fake_upload),
            "post {post_id}: the opened upload_url is not the fake's upload URL"
        );
        let token = query_param(&url, "upload_token")?.context("no upload_token in the URL")?;
        let mut seen = seen.lock().await;
        seen.secrets.push(Secret::new(Kind::UploadUrl, url));
        seen.secrets.push(Secret::new(Kind::UploadToken, token));
        upload_posts.insert(post_id.clone());
    }
    // Every publishing post (4 of the 5 reached TikTok) showed its URL at least once.
    ensure!(
        upload_posts.len() >= 4,
        "saw the sealed upload URL of {} post(s) only, expected 4: the watcher missed some",
        upload_posts.len()
    );

    // What the fake lists itself, if it has the route (tests/fake-tiktok/src/control.rs).
    let listed = stack.fake_get("/__fake/secrets").await;
    let fake_lists_secrets = match &listed {
        Ok(Value::Array(values)) => {
            let mut seen = seen.lock().await;
            for value in values.iter().filter_map(Value::as_str) {
                seen.secrets.push(Secret::new(Kind::IssuedByFake, value));
            }
            true
        }
        _ => false,
    };

    let seen = Arc::try_unwrap(seen)
        .map_err(|_| anyhow::anyhow!("a scenario still holds what it saw"))?
        .into_inner();
    let mut secrets = seen.secrets;
    secrets.sort();
    secrets.dedup();
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    for secret in &secrets {
        *by_kind.entry(secret.kind).or_default() += 1;
    }
    let scanner = Scanner::new(&secrets)?;

    // Let the last log lines reach their files.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let scan_started = Instant::now();
    let mut findings: Vec<Finding> = Vec::new();
    let mut scanned: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut count = |what: &'static str, bytes: usize| {
        let entry = scanned.entry(what).or_default();
        entry.0 += 1;
        entry.1 += bytes;
    };

    // 1. Every file of the run, but the fake's own log (TikTok's side) and the media origin's
    // settings (the CloudFront Function's code, which holds the signing key in AWS too).
    let mut files = Vec::new();
    files_under(
        &run_dir,
        &["fake-tiktok.log", "leaks-report.txt", "media-origin.json"],
        &mut files,
    )?;
    let mut trace_lines = 0;
    for path in &files {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let bytes = without_ansi_colours(&bytes);
        let name = path
            .strip_prefix(&run_dir)
            .unwrap_or(path)
            .display()
            .to_string();
        if name.starts_with("logs/fn-") {
            trace_lines += bytes
                .split(|b| *b == b'\n')
                .filter(|line| {
                    line.starts_with(b"TRACE") || line.windows(8).any(|w| w == b"\"TRACE\"")
                })
                .count();
        }
        findings.extend(scanner.scan(&name, &bytes, &[]));
        count("files of the run", bytes.len());
    }
    ensure!(
        trace_lines > 0,
        "no TRACE line in the functions' logs: LOCAL_STACK_RUST_LOG={verbosity} did not reach them"
    );

    // 2. The executions as moto holds them.
    for (name, text) in executions_text(stack).await? {
        findings.extend(scanner.scan(&name, text.as_bytes(), &[]));
        count("executions (moto)", text.len());
    }

    // 3. The API's answers.
    for answer in &seen.answers {
        findings.extend(scanner.scan(
            &format!("answer to {}", answer.what),
            answer.text.as_bytes(),
            &answer.may_carry,
        ));
        count("API answers", answer.text.len());
    }

    // 4. The tables as stored; tokens sealed.
    let mut unsealed = Vec::new();
    for variable in [
        "ACCOUNTS_TABLE",
        "POSTS_TABLE",
        "OAUTH_TABLE",
        "ALLOWANCES_TABLE",
    ] {
        let table = stack
            .env(variable)
            .with_context(|| format!("no {variable} in the env file"))?;
        for item in scan_table(&stack.dynamodb, table).await? {
            for (name, value) in &item {
                let secret_attribute = name.ends_with("_token") || name == "upload_url";
                if secret_attribute && !value.as_s().is_ok_and(|s| s.starts_with(SEALED_PREFIX)) {
                    unsealed.push(format!(
                        "{table}: attribute {name} is not {SEALED_PREFIX}-sealed"
                    ));
                }
            }
            let text = item_text(&item);
            findings.extend(scanner.scan(&format!("table {table}"), text.as_bytes(), &[]));
            count("table items", text.len());
        }
    }
    let scan_took = scan_started.elapsed();

    // The report: what was looked for and where (never a secret's value).
    let mut report = format!(
        "leak test: scenarios {:.1} s, scan {:.1} s; {} secrets ({}); \
         the fake's /__fake/secrets: {}\n",
        scenarios_took.as_secs_f64(),
        scan_took.as_secs_f64(),
        secrets.len(),
        by_kind
            .iter()
            .map(|(k, n)| format!("{k:?} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        if fake_lists_secrets {
            "used"
        } else {
            "not available (report it)"
        },
    );
    for (what, (items, bytes)) in &scanned {
        report.push_str(&format!(
            "  scanned {what}: {items} item(s), {bytes} bytes\n"
        ));
    }
    report.push_str(&format!(
        "  TRACE lines in the functions' logs: {trace_lines}; sealed upload URLs seen: {}\n",
        sealed_urls.len()
    ));
    report.push_str(&format!(
        "  findings: {}, unsealed attributes: {}\n",
        findings.len(),
        unsealed.len()
    ));
    let mut shown: BTreeMap<(String, Kind), usize> = BTreeMap::new();
    for finding in &findings {
        let seen_here = shown
            .entry((finding.source.clone(), finding.kind))
            .or_default();
        *seen_here += 1;
        if *seen_here <= 3 {
            report.push_str(&format!("  LEAK {finding}\n"));
        }
    }
    for (key, n) in shown.iter().filter(|(_, n)| **n > 3) {
        report.push_str(&format!("  ... {} more {:?} in {}\n", n - 3, key.1, key.0));
    }
    for line in &unsealed {
        report.push_str(&format!("  UNSEALED {line}\n"));
    }
    eprint!("{report}");
    if let Err(e) = std::fs::write(run_dir.join("leaks-report.txt"), &report) {
        eprintln!("leak test: could not write the report: {e}");
    }
    ensure!(
        findings.is_empty() && unsealed.is_empty(),
        "secrets leaked ({} finding(s), {} unsealed attribute(s)); see above or {}",
        findings.len(),
        unsealed.len(),
        run_dir.join("leaks-report.txt").display()
    );
    case.finish().await
}
