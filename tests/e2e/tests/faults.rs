//! Faults on both sides at once: the functions' AWS calls through the stack's fault proxy
//! (throttling errors, 500s and 503s, dropped connections) and TikTok failing chunk PUTs.
//! With LOCAL_STACK_LAMBDA_KILLS, task invocations are also killed mid-way (Lambda.Unknown;
//! the count is printed, not required).
//! Every fault here is one a retry gets past, so every post must end `PUBLISHED`, exactly
//! once, with the exact bytes. Run it on a stack of its own, started with the faults on:
//!
//! ```sh
//! LOCAL_STACK_AWS_FAULTS=dynamodb:0.1,s3:0.1,kms:0.1,sfn:0.1,events:0.1 \
//! LOCAL_STACK_LAMBDA_KILLS=0.2 LOCAL_STACK_FUNCTION_ENV=CHUNK_TARGET_SIZE=5242880 \
//!   scripts/local-stack run -- cargo test -p e2e --features local-stack-tests --test faults
//! ```
//!
//! The test's own set-up and checks talk to moto directly; only the functions meet the
//! AWS faults. The test prints what was injected and fails if a service or a kind of fault
//! saw none (the run would then prove nothing about it).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use e2e::{Case, PutVideo, Stack, only};
use serde_json::{Value, json};

/// The services whose faults the test needs to have seen (SigV4's names: `states` is Step
/// Functions, `events` EventBridge).
const FAULTED_SERVICES: [&str; 5] = ["dynamodb", "s3", "kms", "states", "events"];
const FAULT_KINDS: [&str; 3] = ["throttle", "server_error", "dropped"];
const ACCOUNTS: usize = 4;
const POSTS: usize = 20;
/// The chunk size the stack is started with (LOCAL_STACK_FUNCTION_ENV), TikTok's smallest
/// under both readings of "5 MB": two chunks need at least twice that, so the multi-chunk
/// videos here are 11 to 16 MB (a 6 MB video always goes whole).
const CHUNK: u64 = 5 * 1024 * 1024;
/// How long the whole run may take to become final.
const ALL_FINAL_WITHIN: Duration = Duration::from_secs(600);

/// The size of post `n`: mostly one chunk (1 to 6 MB), every fifth two or three chunks.
fn size_of(n: usize) -> u64 {
    let n = n as u64;
    if n % 5 == 4 {
        11_000_000 + n * 250_000
    } else {
        1_000_000 + (n * 263_000) % 5_000_000
    }
}

/// A post being made: through S3 (even `n`) or the API (odd).
struct Planned {
    n: usize,
    open_id: String,
    video: PutVideo,
    id: String,
}

/// Connects a creator; the OAuth handlers meet the AWS faults too, so a failed attempt is
/// tried again, as a person would click Connect again.
async fn connect(stack: &Stack, n: usize) -> anyhow::Result<String> {
    let mut last = None;
    for attempt in 1..=3 {
        let seed = json!({"nickname": format!("Faults {n}"), "username": format!("faults.{n}")});
        match stack.connect_creator(seed).await {
            Ok(open_id) => return Ok(open_id),
            Err(e) => {
                eprintln!("faults: connecting creator {n}, attempt {attempt}: {e:#}");
                last = Some(e);
            }
        }
    }
    Err(last.context("no attempt")?)
}

/// `POST /posts` with an idempotency key, sent again on a 5xx or a lost answer as a client
/// should: the key makes the second send the same post.
async fn create_post_retrying(stack: &Stack, body: &Value, key: &str) -> anyhow::Result<String> {
    for attempt in 1..=5 {
        match stack.create_post(body, Some(key)).await {
            Ok((201 | 200, post)) => {
                return post["id"]
                    .as_str()
                    .map(str::to_owned)
                    .context("no id in the post");
            }
            Ok((status, answer)) if status >= 500 => {
                eprintln!("faults: POST /posts attempt {attempt}: {status} {answer}");
            }
            Ok((status, answer)) => bail!("POST /posts answered {status}: {answer}"),
            Err(e) => eprintln!("faults: POST /posts attempt {attempt}: {e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
    }
    bail!("POST /posts failed five times")
}

async fn start(stack: &Stack, n: usize, open_id: &str) -> anyhow::Result<Planned> {
    let options = json!({"title": format!("faults {n}"), "privacy_level": "SELF_ONLY"});
    let name = format!("faults-{n}.mp4");
    let seed = 9_000 + n as u64;
    let (video, id) = if n.is_multiple_of(2) {
        let key = stack.upload_key(open_id, &name);
        stack.put_manifest(&key, &options).await?;
        let video = stack.put_video(&key, size_of(n), 10, seed).await?;
        let id = stack
            .post_id_of(open_id, &key, Duration::from_secs(180))
            .await?;
        (video, id)
    } else {
        let key = stack.api_key(open_id, &name);
        let video = stack.put_video(&key, size_of(n), 10, seed).await?;
        let body = json!({"account": open_id, "key": key, "options": options});
        let id = create_post_retrying(stack, &body, &format!("faults-{n}")).await?;
        (video, id)
    };
    Ok(Planned {
        n,
        open_id: open_id.to_owned(),
        video,
        id,
    })
}

/// TikTok failing about one chunk PUT in five for this account: a 503 or a connection
/// reset mid-body, at random.
async fn inject_chunk_faults(stack: &Stack, open_id: &str) -> anyhow::Result<()> {
    let faults = [
        json!({"type": "HttpError", "endpoint": "UploadChunk", "status": 503,
               "code": "internal_error", "times": 1000}),
        json!({"type": "ResetMidBody", "after_bytes": 500_000, "times": 1000}),
    ];
    for fault in faults {
        stack
            .inject_for(
                open_id,
                json!({"type": "Sometimes", "percent": 10, "fault": fault}),
            )
            .await?;
    }
    Ok(())
}

/// The fault proxy's counts (GET /__faults), printed as a table; fails if a faulted service
/// or a kind saw no fault.
async fn check_aws_faults(stack: &Stack) -> anyhow::Result<()> {
    let counts = stack.aws_fault_counts().await?;
    eprintln!(
        "faults: AWS calls from the functions, and the faults injected (seed {}):",
        counts["seed"]
    );
    eprintln!(
        "  {:<16} {:>6} {:>6} {:>9} {:>13} {:>8}",
        "service", "share", "calls", "throttle", "server_error", "dropped"
    );
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    let services = counts["services"].as_object().context("no services")?;
    for (service, seen) in services {
        let injected = |kind: &str| seen["injected"][kind].as_u64().unwrap_or(0);
        eprintln!(
            "  {:<16} {:>6} {:>6} {:>9} {:>13} {:>8}",
            service,
            seen["share"].as_f64().unwrap_or(0.0),
            seen["calls"].as_u64().unwrap_or(0),
            injected("throttle"),
            injected("server_error"),
            injected("dropped")
        );
        for kind in FAULT_KINDS {
            *by_kind.entry(kind).or_default() += injected(kind);
        }
    }
    for service in FAULTED_SERVICES {
        let total: u64 = FAULT_KINDS
            .iter()
            .map(|kind| {
                services
                    .get(service)
                    .map_or(0, |s| s["injected"][kind].as_u64().unwrap_or(0))
            })
            .sum();
        ensure!(
            total > 0,
            "no fault was injected into {service}: the run proves nothing about it"
        );
    }
    for kind in FAULT_KINDS {
        ensure!(
            by_kind.get(kind).copied().unwrap_or(0) > 0,
            "no fault of kind {kind} was injected"
        );
    }
    Ok(())
}

/// Prints the task invocations killed mid-way (LOCAL_STACK_LAMBDA_KILLS), if the stack kills
/// any. Not required to be non-zero: a choice waits for an invocation alone in flight (the
/// driver's header says why), and a run of 20 posts side by side can end before one comes.
fn report_lambda_kills(stack: &Stack) -> anyhow::Result<()> {
    let share = stack.env("LOCAL_STACK_LAMBDA_KILLS").unwrap_or_default();
    if share.is_empty() || share == "0" {
        return Ok(());
    }
    let dir = stack.env("LOCAL_STACK_DIR").context("LOCAL_STACK_DIR")?;
    let kills =
        std::fs::read_to_string(format!("{dir}/lambda-kills.json")).unwrap_or_else(|_| "{}".into());
    eprintln!("faults: task invocations killed mid-way (share {share}): {kills}");
    Ok(())
}

#[tokio::test]
async fn twenty_posts_on_four_accounts_survive_aws_and_tiktok_faults_published_once()
-> anyhow::Result<()> {
    let case = Case::start_alone("faults_20_posts_4_accounts").await?;
    let stack = &case.stack;
    ensure!(
        stack
            .env("AWS_FAULT_PROXY_URL")
            .is_some_and(|url| !url.is_empty()),
        "this stack has no AWS faults: start it with LOCAL_STACK_AWS_FAULTS (see the top of this file)"
    );
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        let open_id = connect(stack, n).await?;
        inject_chunk_faults(stack, &open_id).await?;
        accounts.push(open_id);
    }
    let started = start_all(&accounts).await?;
    // Every video has its post: none lost, none doubled.
    for account in &accounts {
        let posts = stack.posts_of(account).await?;
        let mine = started.iter().filter(|p| &p.open_id == account).count();
        ensure!(
            posts.len() == mine,
            "{account}: {} post records for {mine} videos: {posts:?}",
            posts.len()
        );
    }
    let mut failed = Vec::new();
    for planned in &started {
        let post = stack.wait_final(&planned.id, ALL_FINAL_WITHIN).await?;
        if post["state"] != "PUBLISHED" {
            failed.push(format!("post {} ({}): {post}", planned.n, planned.id));
        }
    }
    ensure!(
        failed.is_empty(),
        "{} of {POSTS} posts did not publish: {failed:#?}",
        failed.len()
    );
    let mut chunk_faults = 0;
    for account in &accounts {
        let publishes = stack.publishes_of(account).await?;
        let mine: Vec<&Planned> = started.iter().filter(|p| &p.open_id == account).collect();
        ensure!(
            publishes.len() == mine.len(),
            "{account}: {} publishes at TikTok for {} posts",
            publishes.len(),
            mine.len()
        );
        for planned in mine {
            let sha = planned.video.sha256.as_str();
            let at_tiktok: Vec<Value> = publishes
                .iter()
                .filter(|p| p["video_sha256"].as_str() == Some(sha))
                .cloned()
                .collect();
            let publish = only(&at_tiktok, &format!("publish of post {}", planned.n))?;
            ensure!(
                publish["complete"] == true,
                "post {}: upload incomplete: {publish}",
                planned.n
            );
            let chunks = publish["plan"]["total_chunk_count"].as_u64().unwrap_or(0);
            let multi = planned.video.size >= 2 * CHUNK;
            ensure!(
                (chunks > 1) == multi,
                "post {} ({} bytes) went in {chunks} chunk(s) with {CHUNK}-byte chunks: is \
                 the stack started with LOCAL_STACK_FUNCTION_ENV=CHUNK_TARGET_SIZE={CHUNK}?",
                planned.n,
                planned.video.size
            );
        }
        let calls = stack.calls_of(account).await?;
        let limited: Vec<&Value> = calls.iter().filter(|c| c["status"] == 429).collect();
        ensure!(limited.is_empty(), "the fake answered 429: {limited:?}");
        chunk_faults += stack
            .statuses_of(account, "UploadChunk")
            .await?
            .iter()
            .filter(|status| !matches!(status, 206 | 201))
            .count();
    }
    eprintln!("faults: TikTok chunk PUTs failed by the fake (503 or reset): {chunk_faults}");
    check_aws_faults(stack).await?;
    ensure!(
        chunk_faults > 0,
        "TikTok failed no chunk PUT: the run proves nothing about it"
    );
    report_lambda_kills(stack)?;
    case.finish().await
}

/// Starts the 20 posts side by side, five to an account, and returns them in order.
async fn start_all(accounts: &[String]) -> anyhow::Result<Vec<Planned>> {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..POSTS {
        let open_id = accounts[n % ACCOUNTS].clone();
        let stack = Stack::connect().await?;
        tasks.spawn(async move { start(&stack, n, &open_id).await });
    }
    let mut started = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        started.push(joined.context("a post's start panicked")??);
    }
    started.sort_by_key(|p| p.n);
    Ok(started)
}
