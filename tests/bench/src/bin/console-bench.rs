//! The web console's speed on the local stack: what each page weighs on the wire on a
//! first visit, as Chromium counts it (`encodedDataLength`: headers and compressed body),
//! and its warm answer time (p50/p99 of `--requests` requests in a row, after a warm-up).
//!
//! On a fresh stack (it signs in as the stack's admin, whose first sign-in sets a password):
//! `scripts/install-browser && scripts/local-stack run -- cargo run -p publish-bench --bin console-bench [-- --requests N]`
//!
//! Goals (issue 16): the Post page's first load, the uploader included, under 150 KB; a
//! warm answer's p50 under 50 ms.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use browser_tests::chromium::Chromium;
use browser_tests::connect::connect_at_fake;
use browser_tests::stack::Stack;
use publish_bench::{exit_code, machine_summary, percentile, runtime};
use serde_json::json;

const POST_PAGE_GOAL_BYTES: u64 = 150_000;
const WARM_P50_GOAL: Duration = Duration::from_millis(50);
const SESSION_COOKIE: &str = "__Host-console-session";
const NEW_PASSWORD: &str = "Console-bench-Passw0rd";
/// Requests before the measured ones: the Lambda's caches (the pool's keys) warm up.
const WARM_UP: usize = 20;
/// The Post page asks TikTok for the creator's info on every load, within TikTok's budget
/// of 20 a minute per creator (the posts API's allowances): it is timed this many times.
const POST_PAGE_REQUESTS: usize = 15;

fn main() -> ExitCode {
    exit_code("console-bench", runtime().and_then(|rt| rt.block_on(run())))
}

fn requests_option() -> anyhow::Result<usize> {
    let mut requests = 200;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" => {
                requests = args
                    .next()
                    .context("--requests needs a value")?
                    .parse()
                    .context("--requests")?;
            }
            other => bail!("unknown argument {other:?} (known: --requests N)"),
        }
    }
    Ok(requests)
}

fn variable(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| {
        format!("{name} is not set: run inside a fresh `scripts/local-stack run` (see the doc)")
    })
}

/// Signs in as the stack's admin for the first time (the new-password step included).
async fn first_sign_in(browser: &Chromium, api: &str) -> anyhow::Result<()> {
    let admin = variable("LOCAL_CONSOLE_ADMIN_EMAIL")?;
    let temporary = variable("LOCAL_CONSOLE_ADMIN_TEMPORARY_PASSWORD")?;
    let tab = browser.open(&format!("{api}/console/sign-in")).await?;
    tab.wait_for("the sign-in form", |shown| {
        shown.title.starts_with("Sign in")
    })
    .await?;
    tab.type_into("#email", &admin).await?;
    tab.type_into("#password", &temporary).await?;
    tab.click("main form button[type=submit]").await?;
    tab.wait_for("the new-password step", |shown| {
        shown.title.starts_with("Choose your password")
    })
    .await
    .context("no new-password step: the admin signed in already; start a fresh stack")?;
    tab.type_into("#new-password", NEW_PASSWORD).await?;
    tab.click("main form button[type=submit]").await?;
    tab.wait_for("a signed-in page", |shown| {
        shown.location.starts_with(&format!("{api}/console/"))
            && !shown.location.ends_with("/sign-in")
            && !shown.location.ends_with("/new-password")
    })
    .await?;
    Ok(())
}

/// Connects a creator through the fake TikTok's authorize page; answers its open_id.
async fn connect_creator(browser: &Chromium, stack: &Stack) -> anyhow::Result<String> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let open_id = stack
        .seed_fake_creator(json!({
            "open_id": format!("bench-{nanos}"),
            "nickname": "Bench creator",
            "privacy_level_options": ["PUBLIC_TO_EVERYONE", "SELF_ONLY"],
        }))
        .await?;
    let tab = browser
        .open(&format!("{}/console/accounts", stack.api_url()))
        .await?;
    tab.wait_for("the accounts page", |shown| {
        shown.text.contains("Connect a TikTok account")
    })
    .await?;
    connect_at_fake(browser, &tab, stack, &open_id).await?;
    Ok(open_id)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// `requests` GETs of `url` in a row with the session, after `warm_up`; sorted times.
async fn answer_times(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    warm_up: usize,
    requests: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(requests);
    for i in 0..warm_up + requests {
        let start = Instant::now();
        let response = http
            .get(url)
            .header("cookie", cookie)
            .header("accept-encoding", "br, gzip")
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let elapsed = start.elapsed();
        ensure!(
            status.is_success(),
            "{} answered {status} ({} B)",
            browser_tests::without_query(url),
            body.len()
        );
        if i >= warm_up {
            times.push(elapsed);
        }
    }
    times.sort();
    Ok(times)
}

async fn run() -> anyhow::Result<bool> {
    let requests = requests_option()?;
    let stack = Stack::from_env()?;
    let api = stack.api_url().to_owned();
    println!("console-bench on {}", machine_summary());
    println!("the local stack's console (a debug build, behind the stack's HTTP API emulation)\n");
    let browser = Chromium::launch().await?;
    first_sign_in(&browser, &api).await?;
    let open_id = connect_creator(&browser, &stack).await?;
    let session = browser
        .cookie(SESSION_COOKIE)
        .await?
        .context("no session cookie after sign-in")?;

    let pages = [
        ("Post page", format!("{api}/console/post?account={open_id}")),
        ("Posts", format!("{api}/console/posts")),
        ("Accounts", format!("{api}/console/accounts")),
        ("About (public)", format!("{api}/about")),
    ];
    println!("First visit, bytes on the wire (Chromium's encodedDataLength):");
    let mut post_page_bytes = 0;
    for (name, url) in &pages {
        let tab = browser.open("about:blank").await?;
        let transfers = tab.load_weighing(url, Duration::from_millis(1500)).await?;
        let total: u64 = transfers.iter().map(|t| t.bytes).sum();
        let title = tab.shown().await?.title;
        println!(
            "  {name} (\"{title}\"): {total} B in {} responses",
            transfers.len()
        );
        for transfer in &transfers {
            println!("      {:>7} B  {}", transfer.bytes, transfer.url);
        }
        if *name == "Post page" {
            post_page_bytes = total;
        }
    }

    println!(
        "\nWarm answer times, {requests} requests each after {WARM_UP} to warm up (the Post \
         page: {POST_PAGE_REQUESTS} after 1, TikTok's creator_info budget):"
    );
    let http = reqwest::Client::new();
    let cookie = format!("{SESSION_COOKIE}={session}");
    let mut worst_p50 = Duration::ZERO;
    for (name, url) in &pages {
        let (warm_up, count) = if *name == "Post page" {
            (1, POST_PAGE_REQUESTS)
        } else {
            (WARM_UP, requests)
        };
        let times = answer_times(&http, url, &cookie, warm_up, count).await?;
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        worst_p50 = worst_p50.max(p50);
        println!(
            "  {name:<16} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
            ms(p50),
            ms(p99),
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
    }
    browser.close().await?;

    let bytes_met = post_page_bytes > 0 && post_page_bytes < POST_PAGE_GOAL_BYTES;
    let time_met = worst_p50 < WARM_P50_GOAL;
    println!(
        "\nGoals: Post page first load {post_page_bytes} B < {POST_PAGE_GOAL_BYTES} B: {}; \
         slowest page's p50 {:.1} ms < {} ms: {}",
        if bytes_met { "met" } else { "NOT met" },
        ms(worst_p50),
        WARM_P50_GOAL.as_millis(),
        if time_met { "met" } else { "NOT met" },
    );
    Ok(bytes_met && time_met)
}
