//! The local media origin (`tests/local-stack/media-origin.mjs`): the front door's `/media/*`
//! as CloudFront serves it, over https on a hostname with a test certificate authority, the
//! template's CloudFront Function in front of a bucket in moto. Needs node and openssl, and
//! the repository's node_modules (`npm ci`, which the test command runs first).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::{moto, workspace_root};

/// The name the origin's certificate is for. It resolves nowhere: clients map it to
/// 127.0.0.1 themselves (reqwest's `resolve`, curl's `--resolve`).
pub const MEDIA_HOST: &str = "media.tiktok-publish.test";

/// A running media origin, stopped when dropped.
#[derive(Debug)]
pub struct MediaOrigin {
    child: Child,
    port: u16,
    ca_file: PathBuf,
    dir: PathBuf,
}

impl MediaOrigin {
    /// Starts an origin for `bucket` in this process's moto, checking URLs signed with
    /// `signing_key`, and serving TikTok's verification file when `verification` names one.
    pub fn start(
        bucket: &str,
        signing_key: &str,
        verification: Option<(&str, &str)>,
    ) -> anyhow::Result<MediaOrigin> {
        let dir = std::env::temp_dir().join(crate::unique_name("media-origin"));
        std::fs::create_dir_all(&dir).context("a directory for the origin's certificates")?;
        let key_file = dir.join("signing-key");
        std::fs::write(&key_file, signing_key).context("the signing key file")?;
        let script = workspace_root().join("tests/local-stack/media-origin.mjs");
        let mut command = Command::new("node");
        command
            .arg(&script)
            .arg("--dir")
            .arg(&dir)
            .args([
                "--host",
                MEDIA_HOST,
                "--s3",
                moto().endpoint(),
                "--bucket",
                bucket,
            ])
            .arg("--signing-key-file")
            .arg(&key_file)
            // The SDK warns on every start that it will need Node 22 from 2027.
            .env("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((name, text)) = verification {
            command.args(["--verification-file", name, "--verification-text", text]);
        }
        let mut child = command
            .spawn()
            .context("node runs tests/local-stack/media-origin.mjs (node and openssl on PATH)")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("the origin's stdout")?)
            .read_line(&mut line)
            .context("the origin says where it listens")?;
        let Some(port) = line
            .split("\"port\":")
            .nth(1)
            .and_then(|rest| rest.split([',', '}']).next())
            .and_then(|port| port.trim().parse::<u16>().ok())
        else {
            let _ = child.kill();
            bail!("the media origin did not start (it printed {line:?})");
        };
        Ok(MediaOrigin {
            child,
            port,
            ca_file: dir.join("ca.pem"),
            dir,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `media.tiktok-publish.test:PORT`: the front door's host as the stack signs for it.
    pub fn host(&self) -> String {
        format!("{MEDIA_HOST}:{}", self.port)
    }

    /// `https://media.tiktok-publish.test:PORT/media/`, the prefix TikTok verifies.
    pub fn media_url_prefix(&self) -> String {
        format!("https://{}/media/", self.host())
    }

    /// The test certificate authority's certificate (PEM).
    pub fn ca_file(&self) -> &std::path::Path {
        &self.ca_file
    }

    pub fn ca_pem(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(&self.ca_file).context("the media origin's CA certificate")
    }
}

impl Drop for MediaOrigin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
