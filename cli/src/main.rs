//! `tiktok-publish`: the command line of the TikTok publisher (see README).

mod accounts;
mod api;
mod compose;
mod front_door;
mod options;
mod photos;
mod post;
mod signer;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::api::PostView;

#[derive(Debug, Parser)]
#[command(
    name = "tiktok-publish",
    version,
    about = "Publish videos to TikTok through your stack"
)]
struct Cli {
    /// The local stack's env file (`scripts/local-stack up` prints it). Default: $TIKTOK_PUBLISH_ENV,
    /// else the newest .local/stack/*/env of the current repository.
    #[arg(long, global = true, value_name = "PATH")]
    env_file: Option<PathBuf>,
    /// A deployed stack's CloudFormation name: its outputs give the API and the bucket, and
    /// requests are signed with your AWS credentials (AWS_PROFILE, AWS_REGION, ...).
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "env_file")]
    stack: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The connected TikTok accounts and whether they must be reconnected.
    Accounts,
    /// One post: state, upload progress, TikTok's ids or why it failed.
    Status {
        /// The post id (`POST /posts` and `tiktok-publish post` print it).
        id: String,
    },
    /// Uploads a video (or the photos of a photo post) with its options, then follows the
    /// post until TikTok has it. At a terminal it shows the account and asks what the flags
    /// left open (privacy, comments, duets, stitches, commercial content disclosure) and for
    /// your agreement; otherwise the flags must answer everything, with --yes.
    Post {
        /// The video file (MP4, MOV or WebM); or the photos of a photo post, in order (1 to
        /// 35 JPEG, PNG or WebP files; TikTok pulls them from the stack's front door).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The connected account to post to: its open_id, nickname or @username
        /// (`tiktok-publish accounts` lists them). May be left out when only one account is
        /// connected.
        // TikTok's open_ids may start with '-' (as `-000abc...`).
        #[arg(long, value_name = "ACCOUNT", allow_hyphen_values = true)]
        account: Option<String>,
        #[command(flatten)]
        flags: options::PostFlags,
        /// Ask nothing: the flags answer every question and you agree to TikTok's
        /// declaration (for scripts; required without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Starts a failed post again (same video, same options), then follows it. Refused, with
    /// the reason, when a retry cannot fix what stopped it (the video or options were
    /// refused, the video changed, ...).
    Retry {
        /// The post id (`tiktok-publish status ID` shows why it failed).
        id: String,
        /// Return once the post is queued instead of following it.
        #[arg(long)]
        no_follow: bool,
    },
    /// Tests the stack's front door from outside, as TikTok will use it: https and its
    /// certificate, no redirect, a signed media URL served and unsigned or expired ones
    /// refused, TikTok's verification file. Changes nothing.
    CheckDomain {
        /// The name of TikTok's signature file, to check that the front door serves it
        /// (leave out when the domain is verified by DNS).
        #[arg(long, value_name = "NAME")]
        verification_file: Option<String>,
        /// Also trust this CA certificate (PEM), as for a front door on a test certificate.
        #[arg(long, value_name = "PATH")]
        ca_file: Option<PathBuf>,
        /// HOST=IP: connect to IP for HOST, before its DNS record exists.
        #[arg(long, value_name = "HOST=IP")]
        resolve: Vec<String>,
    },
    /// A single-use link that connects a TikTok account to the stack.
    Connect {
        /// Also open the link in your web browser.
        #[arg(long)]
        open: bool,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Stack(#[from] stack::StackError),
    #[error(transparent)]
    Api(#[from] api::ApiError),
    #[error(transparent)]
    Post(#[from] post::PostError),
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
    #[error(transparent)]
    Account(#[from] accounts::AccountChoiceError),
    #[error(transparent)]
    CheckDomain(#[from] front_door::CheckDomainError),
    #[error(transparent)]
    PhotoFiles(#[from] photos::PhotoFilesError),
    #[error("{0}: correct the flag and try again (`tiktok-publish post --help`)")]
    Options(#[from] tiktok_publish_core::pipeline::options::OptionsError),
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let stack = stack::discover(cli.stack.as_deref(), cli.env_file.as_deref()).await?;
    let signer = stack.deployed.as_ref().map(|d| d.signer()).transpose()?;
    let client = api::Client::new(&stack.api_url, signer);
    match cli.command {
        Command::Accounts => {
            print!("{}", accounts::table(&client.accounts().await?));
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { id } => {
            let post = client.post(&id).await?;
            print!("{}", post_report(&post));
            Ok(if post.failure.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Post {
            files,
            account,
            flags,
            yes,
        } => {
            let now = unix_now();
            let ask = post::can_ask(yes);
            if photos::is_photo_post(&files) {
                if !ask && !yes {
                    return Err(post::PostError::NeedsYes.into());
                }
                let done = photos::post(
                    &client,
                    &stack,
                    &files,
                    account.as_deref(),
                    &flags,
                    ask,
                    now,
                )
                .await?;
                print!("{}", post_report(&done));
                return Ok(if done.failure.is_some() {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                });
            }
            // One file that is not an image: a video.
            let Some(file) = files.into_iter().next() else {
                return Err(photos::PhotoFilesError::Count { count: 0 }.into());
            };
            // Everything that needs no TikTok call is checked first, then the creator's
            // settings: nothing is uploaded until every answer is known.
            flags.validate(now, ask)?;
            if !ask && !yes {
                return Err(post::PostError::NeedsYes.into());
            }
            std::fs::metadata(&file).map_err(|source| post::PostError::File {
                path: file.display().to_string(),
                source,
            })?;
            // The account by name is resolved here, from the stack's own list; everything
            // after speaks open_ids.
            let connected = client.accounts().await?;
            let account = accounts::choose(&connected, account.as_deref())?
                .open_id
                .clone();
            let key = post::upload_key(&account, &file)?;
            let creator = client.creator_info(&account).await?;
            let seconds = post::video_seconds(&file).await;
            let mut terminal = compose::TerminalPrompter;
            let prompter: Option<&mut dyn compose::Prompter> =
                if ask { Some(&mut terminal) } else { None };
            let options = compose::decide(&flags, &creator, seconds, prompter)?;
            options::check_options(&options, now)?;
            eprintln!(
                "uploading {} to s3://{}/{key}",
                file.display(),
                stack.bucket
            );
            post::upload(&stack, &file, &key).await?;
            let created = client.create_post(&account, &key, &options).await?;
            eprintln!(
                "post {} created; TikTok may take a few minutes to process the video after \
                 the upload. Following it (Ctrl-C stops following, not the post; \
                 `tiktok-publish status {}` looks again)",
                created.id, created.id
            );
            let done = post::follow(&client, created).await?;
            print!("{}", post_report(&done));
            Ok(if done.failure.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::CheckDomain {
            verification_file,
            ca_file,
            resolve,
        } => {
            let reach = front_door::Reach { ca_file, resolve };
            let findings =
                front_door::check_domain(&stack, &reach, verification_file.as_deref(), unix_now())
                    .await?;
            for finding in &findings {
                println!("{finding}");
            }
            let failed = findings
                .iter()
                .filter(|f| matches!(f.verdict, front_door::Verdict::Failed(_)))
                .count();
            if failed > 0 {
                eprintln!("{failed} check(s) failed: see docs/front-door.md");
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Retry { id, no_follow } => {
            let queued = client.retry(&id).await?;
            eprintln!(
                "post {} is {} again{}",
                queued.id,
                queued.state,
                if no_follow {
                    "; `tiktok-publish status ID` follows it"
                } else {
                    ". Following it (Ctrl-C stops following, not the post)"
                }
            );
            let post = if no_follow {
                queued
            } else {
                post::follow(&client, queued).await?
            };
            print!("{}", post_report(&post));
            Ok(if post.failure.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Connect { open } => {
            let url = client.connect_link().await?;
            println!(
                "Open this link (single use) as the TikTok user to connect, then run \
                 `tiktok-publish accounts`:\n{url}"
            );
            if open && let Err(err) = webbrowser::open(&url) {
                eprintln!("could not open a browser ({err}): open the link above yourself");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn post_report(post: &PostView) -> String {
    let mut out = format!("post     {}\naccount  {}\n", post.id, post.account);
    match post.images.as_deref() {
        Some(images) => {
            out.push_str(&format!("photos   {}\n", images.len()));
            for image in images {
                out.push_str(&format!("         {}\n", image.key));
            }
        }
        None => out.push_str(&format!("video    {}\n", post.key)),
    }
    let finality = if post.is_final { " (final)" } else { "" };
    out.push_str(&format!("state    {}{finality}\n", post.state));
    if let Some(at) = &post.publish_at {
        out.push_str(&format!("publish  at {at}\n"));
    }
    if let Some(p) = &post.progress {
        out.push_str(&format!(
            "upload   chunk {} of {}, {} of {} bytes\n",
            p.chunks_done, p.chunks_total, p.bytes_done, p.bytes_total
        ));
    }
    if let Some(downloaded) = post.downloaded_bytes {
        out.push_str(&format!(
            "pull     {}\n",
            post::downloaded_line(post, downloaded)
        ));
    }
    if let Some(id) = &post.publish_id {
        out.push_str(&format!("publish id  {id}\n"));
    }
    if !post.public_post_ids.is_empty() {
        out.push_str(&format!(
            "TikTok post id  {}\n",
            post.public_post_ids.join(", ")
        ));
    }
    if let Some(f) = &post.failure {
        out.push_str(&format!("failed   {} ({})\n", f.reason, f.kind));
        let advice = f
            .advice
            .as_deref()
            .unwrap_or("see the reason above; post again once it is fixed");
        out.push_str(&format!("what to do  {advice}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_table_says_who_must_reconnect_and_how() {
        let account = |reconnect: bool| api::AccountView {
            open_id: "u1".into(),
            nickname: Some("Ann".into()),
            username: None,
            needs_reconnect: reconnect,
            reconnect_reason: reconnect.then(|| "refresh token expired".into()),
            missing_scopes: vec![],
            drafts_only: false,
            refresh_expires_at: Some("2027-01-01T00:00:00Z".into()),
        };
        let table = accounts::table(&[account(false), account(true)]);
        assert!(table.starts_with("OPEN_ID"));
        assert!(
            table.contains("refresh token expired") && table.contains("tiktok-publish connect")
        );
    }

    #[test]
    fn no_accounts_says_how_to_connect_one() {
        assert!(accounts::table(&[]).contains("tiktok-publish connect"));
    }

    #[test]
    fn status_of_failed_post_gives_reason_and_advice() {
        let post: PostView = api::decode(
            200,
            br#"{"id":"p1","account":"u1","key":"k","state":"FAILED","final":true,
                "failure":{"kind":"terminal","reason":"video too short","advice":null}}"#,
        )
        .unwrap();
        let report = post_report(&post);
        assert!(
            report.contains("video too short") && report.contains("what to do"),
            "{report}"
        );
    }

    #[test]
    fn status_of_a_pull_says_how_much_tiktok_downloaded() {
        let post: PostView = api::decode(
            200,
            br#"{"id":"p1","account":"u1","key":"k","state":"PROCESSING","final":false,
                "size":3000000,"downloaded_bytes":1200000,"publish_id":"v_pub"}"#,
        )
        .unwrap();
        let report = post_report(&post);
        assert!(
            report.contains("TikTok downloaded 1200000 of 3000000 bytes"),
            "{report}"
        );
        assert_eq!(
            post::progress_line(&post),
            "PROCESSING: TikTok downloaded 1200000 of 3000000 bytes"
        );
    }

    #[test]
    fn stack_flag_is_global_and_parsed() {
        let cli =
            Cli::try_parse_from(["tiktok-publish", "status", "p1", "--stack", "prod"]).unwrap();
        assert_eq!(cli.stack.as_deref(), Some("prod"));
        assert!(matches!(cli.command, Command::Status { id } if id == "p1"));
        assert!(
            Cli::try_parse_from([
                "tiktok-publish",
                "--stack",
                "a",
                "--env-file",
                "e",
                "accounts"
            ])
            .is_err()
        );
    }

    #[test]
    fn several_files_parse_as_one_photo_post_with_its_flags() {
        let cli = Cli::try_parse_from([
            "tiktok-publish",
            "post",
            "a.jpg",
            "b.webp",
            "c.png",
            "--caption",
            "trip",
            "--description",
            "three days",
            "--cover-index",
            "2",
            "--auto-add-music",
            "--yes",
        ])
        .unwrap();
        let Command::Post { files, flags, .. } = cli.command else {
            panic!("expected post");
        };
        assert_eq!(files.len(), 3);
        assert!(photos::is_photo_post(&files));
        assert_eq!(flags.description.as_deref(), Some("three days"));
        assert_eq!(flags.cover_index, Some(2));
        assert!(flags.auto_add_music);
        assert!(Cli::try_parse_from(["tiktok-publish", "post"]).is_err());
    }

    #[test]
    fn a_photo_posts_report_lists_its_photos() {
        let post: PostView = serde_json::from_value(serde_json::json!({
            "id": "p1", "account": "o", "key": "uploads/o/a.jpg", "state": "PUBLISHED",
            "final": true, "media": "photos",
            "images": [{"key": "uploads/o/a.jpg", "version_id": "v1"}, {"key": "uploads/o/b.webp"}]
        }))
        .unwrap();
        let report = post_report(&post);
        assert!(report.contains("photos   2\n"), "{report}");
        assert!(report.contains("uploads/o/b.webp"), "{report}");
        assert!(!report.contains("video"), "{report}");
    }

    #[test]
    fn allow_and_disable_of_one_switch_conflict() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["tiktok-publish", "post", "v.mp4", "--account", "o"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
        };
        assert!(parse(&["--allow-comment", "--disable-duet"]).is_ok());
        let hyphenated =
            Cli::try_parse_from(["tiktok-publish", "post", "v.mp4", "--account", "-000abc"]);
        assert!(
            matches!(hyphenated.unwrap().command, Command::Post { account, .. } if account.as_deref() == Some("-000abc"))
        );
        // Left out, the only connected account is meant.
        let omitted = Cli::try_parse_from(["tiktok-publish", "post", "v.mp4"]);
        assert!(matches!(
            omitted.unwrap().command,
            Command::Post { account: None, .. }
        ));
        assert!(parse(&["--allow-comment", "--disable-comment"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["tiktok-publish", "connect", "--open"])
                .unwrap()
                .command,
            Command::Connect { open: true }
        ));
    }
}
