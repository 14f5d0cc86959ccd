//! `fake-tiktok` for the local stack: serves the fake until killed.
//!
//! Usage: `fake-tiktok [--port N] [--client-key K] [--client-secret S] [--processing-ms N]
//! [--webhook-url URL] [--verify-domain DOMAIN]... [--verify-url-prefix PREFIX]...
//! [--trust-ca FILE]... [--resolve HOST=IP]... [--pull-timeout-ms N]`
//!
//! PULL_FROM_URL: `--verify-domain` and `--verify-url-prefix` say what the app verified in
//! TikTok's portal (more at run time with `POST /__fake/verified`); `--trust-ca` adds a CA
//! certificate (PEM) the fake trusts when it downloads media, and `--resolve` sends a host
//! name to an address (a local https origin on a made-up name, e.g.
//! `--resolve media.example.test=127.0.0.1`).

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
            "--verify-domain" => settings.verified_domains.push(value),
            "--verify-url-prefix" => settings.verified_url_prefixes.push(value),
            "--trust-ca" => {
                let pem = std::fs::read_to_string(&value)
                    .with_context(|| format!("--trust-ca: reading {value}"))?;
                settings.trusted_ca_pems.push(pem);
            }
            "--resolve" => {
                let (host, ip) = value
                    .split_once('=')
                    .with_context(|| format!("--resolve {value}: not HOST=IP"))?;
                let ip = ip
                    .parse()
                    .with_context(|| format!("--resolve {value}: {ip:?} is not an IP address"))?;
                settings.resolve.push((host.to_owned(), ip));
            }
            "--pull-timeout-ms" => {
                settings.pull_timeout =
                    Duration::from_millis(value.parse().context("--pull-timeout-ms")?);
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
        .context("starting the fake (its port, verified URLs, trusted CAs)")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "fake-tiktok listening on {}", fake.base_url())?;
    stdout.flush()?;
    tokio::signal::ctrl_c().await?;
    fake.shutdown();
    Ok(())
}
