//! The distribution's other behaviours: the API's public routes through the front door.

use super::*;

fn location(answer: &reqwest::Response) -> anyhow::Result<String> {
    answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .with_context(|| format!("a {} without Location", answer.status()))
}

/// The whole OAuth connect with its two hops on our side (oauth-start, oauth-callback)
/// taken through the front door: query strings and cookies pass both ways.
#[tokio::test]
async fn an_account_connects_through_the_front_door() -> anyhow::Result<()> {
    let case = Case::start("front_door_oauth").await?;
    let stack = &case.stack;
    let door = FrontDoor::of(stack)?;
    let client = door.client()?;
    let open_id = stack.seed_creator(&creator()).await?;
    let link = stack
        .http
        .post(format!("{}/accounts/connect-link", stack.api))
        .json(&json!({}))
        .send()
        .await?
        .json::<Value>()
        .await?;
    let link = link["url"].as_str().context("no connect link")?;
    let start = client.get(door.moved(stack, link)?).send().await?;
    ensure!(
        start.status().is_redirection(),
        "oauth-start: {}",
        start.status()
    );
    let authorize = location(&start)?;
    ensure!(authorize.starts_with(&stack.fake), "{authorize}");
    let binding: Vec<String> = start
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    ensure!(!binding.is_empty(), "oauth-start set no binding cookie");
    let consent = stack
        .http
        .get(&authorize)
        .header(
            reqwest::header::COOKIE,
            format!("{FAKE_LOGIN_COOKIE}={open_id}"),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await?;
    let callback = door.moved(stack, &location(&consent)?)?;
    let done = client
        .get(&callback)
        .header(reqwest::header::COOKIE, binding.join("; "))
        .send()
        .await?;
    ensure!(
        done.status().as_u16() == 200,
        "oauth-callback: {}",
        done.status()
    );
    ensure!(
        stack.account_item(&open_id).await?.is_some(),
        "the callback through the front door stored no account"
    );
    // The /oauth/* behaviour takes GET and HEAD only: CloudFront refuses the rest.
    let posted = client.post(&callback).send().await?;
    ensure!(posted.status().as_u16() == 403, "{}", posted.status());
    case.finish().await
}

/// A webhook event reaches tiktok-webhook through the front door with its body and
/// signature header: an unsigned one is refused there exactly as on the API.
#[tokio::test]
async fn a_webhook_reaches_the_function_through_the_front_door() -> anyhow::Result<()> {
    let case = Case::start("front_door_webhook").await?;
    let stack = &case.stack;
    let door = FrontDoor::of(stack)?;
    let send = |client: &reqwest::Client, base: &str| {
        client
            .post(format!("{base}/webhooks/tiktok"))
            .header("TikTok-Signature", "t=1,s=00")
            .body(r#"{"event":"post.publish.complete","content":"{}"}"#)
            .send()
    };
    let direct = send(&stack.http, &stack.api).await?;
    let through = send(&door.client()?, &door.url).await?;
    ensure!(
        direct.status().as_u16() == 401 && through.status() == direct.status(),
        "the API answered {}, the front door {}",
        direct.status(),
        through.status()
    );
    let (direct, through) = (direct.text().await?, through.text().await?);
    ensure!(through == direct, "{through} != {direct}");
    case.finish().await
}
