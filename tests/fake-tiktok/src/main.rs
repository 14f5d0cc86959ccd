//! `fake-tiktok` for the local stack: serves the fake until killed.
//!
//! Usage: `fake-tiktok [--port N] [--client-key K] [--client-secret S] [--processing-ms N]
//! [--webhook-url URL]`

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use fake_tiktok::{FakeSettings, FakeTikTok};

fn parse_args() -> anyhow::Result<(u16, FakeSettings)> {
    let mut port = 0;
    let mut settings = FakeSettings::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => port = value.parse().context("--port")?,
            "--client-key" => settings.client_key = value,
            "--client-secret" => settings.client_secret = value,
            "--processing-ms" => {
                settings.processing_time =
                    Duration::from_millis(value.parse().context("--processing-ms")?);
            }
            "--webhook-url" => {
                url::Url::parse(&value).context("--webhook-url")?;
                settings.webhook_url = Some(value);
            }
            other => bail!("unknown option {other}"),
        }
    }
    Ok((port, settings))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let (port, settings) = parse_args()?;
    let fake = FakeTikTok::start_on(SocketAddr::from(([127, 0, 0, 1], port)), settings)
        .await
        .context("binding the fake's port")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "fake-tiktok listening on {}", fake.base_url())?;
    stdout.flush()?;
    tokio::signal::ctrl_c().await?;
    fake.shutdown();
    Ok(())
}
