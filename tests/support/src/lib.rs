//! Test harness: one moto server per test process, on a free loopback port, started on first
//! use and killed when the process ends.
//!
//! moto is `$MOTO_SERVER`, else `<workspace>/.local/moto-venv` (what `scripts/test` installs)
//! running `tests/support/moto_atomic.py`. A test that needs moto fails with a clear message when it
//! is missing: it never skips.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod media_origin;
pub use media_origin::{MEDIA_HOST, MediaOrigin};

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    endpoint: String,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The process-wide moto server, started on first call.
///
/// Panics (failing the test) when moto cannot be started: tests that need it must not pass
/// without it.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| match Moto::start() {
        Ok(moto) => moto,
        Err(err) => panic!("cannot start moto: {err:#}. Run `scripts/test` (it installs moto into .local/moto-venv) or set MOTO_SERVER."),
    })
}

fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // tests/support -> workspace root
    dir.pop();
    dir.pop();
    dir
}

/// `$MOTO_SERVER` as it is, else moto's venv Python running `moto_atomic.py` (moto's server
/// with DynamoDB's conditional writes made atomic, as in AWS: see that file).
fn moto_command() -> (PathBuf, Vec<String>) {
    match std::env::var_os("MOTO_SERVER") {
        Some(binary) => (PathBuf::from(binary), Vec::new()),
        None => (
            workspace_root().join(".local/moto-venv/bin/python"),
            vec![
                workspace_root()
                    .join("tests/support/moto_atomic.py")
                    .display()
                    .to_string(),
            ],
        ),
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

impl Moto {
    fn start() -> anyhow::Result<Moto> {
        let (binary, first_args) = moto_command();
        if !binary.exists() {
            bail!("moto not found at {}", binary.display());
        }
        // Another process may take the port between our probe and moto's bind: try a few.
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port();
            match spawn_until_ready(&binary, &first_args, port) {
                Ok(()) => {
                    return Ok(Moto {
                        endpoint: format!("http://127.0.0.1:{port}"),
                    });
                }
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("moto did not start")))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An SDK config aimed at moto: dummy credentials, us-east-1.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }

    /// An S3 client with path-style addressing (`bucket.127.0.0.1` does not resolve).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// Step Functions' control plane (moto runs no tasks: executions stay `RUNNING`).
    pub async fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk_config().await)
    }

    /// Creates a state machine named `name` of one Pass state and returns its ARN: enough
    /// for StartExecution and ListExecutions, which is all moto offers.
    pub async fn pass_state_machine(&self, name: &str) -> anyhow::Result<String> {
        let created = self
            .sfn()
            .await
            .create_state_machine()
            .name(name)
            .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#)
            .role_arn("arn:aws:iam::123456789012:role/moto-does-not-check")
            .send()
            .await
            .context("CreateStateMachine on moto")?;
        Ok(created.state_machine_arn().to_owned())
    }
}

/// A name no other test in this run uses (tables, buckets, keys), lowercase and S3-safe.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

fn spawn_until_ready(binary: &Path, first_args: &[String], port: u16) -> anyhow::Result<()> {
    // moto is spawned from a thread that lives as long as the process, so the parent-death
    // signal (tied to the spawning thread) fires only when the whole test process ends.
    let (tx, rx) = std::sync::mpsc::channel();
    let binary = binary.to_path_buf();
    let first_args = first_args.to_vec();
    std::thread::spawn(move || {
        let spawned = spawn_moto(&binary, &first_args, port);
        let ok = spawned.is_ok();
        let _ = tx.send(spawned.map(|_child| ()));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv().context("moto spawner thread died")??;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("moto did not listen on port {port} within 30 s")
}

fn spawn_moto(binary: &Path, first_args: &[String], port: u16) -> anyhow::Result<Child> {
    let mut command = Command::new(binary);
    command
        .args(first_args)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    kill_with_parent(&mut command);
    command
        .spawn()
        .with_context(|| format!("spawn {}", binary.display()))
}

#[cfg(target_os = "linux")]
fn kill_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child's own state.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn kill_with_parent(_command: &mut Command) {}
