//! Finding the stack to talk to: the local stack's env file (`scripts/local-stack up` writes it)
//! or, later, a deployed stack's CloudFormation outputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The environment variable naming the local stack's env file (as `--env-file` does).
pub const ENV_FILE_VAR: &str = "TIKTOK_PUBLISH_ENV";

/// Where the stack's pieces are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The posts API's base URL, without a trailing slash.
    pub api_url: String,
    /// The bucket videos are uploaded to.
    pub bucket: String,
    /// The S3 endpoint of a local stack (moto); `None` for real AWS.
    pub aws_endpoint: Option<String>,
    /// The local stack's region and static credentials (moto's); `None` means the user's own.
    pub aws_region: Option<String>,
    pub aws_credentials: Option<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "no stack found: start the local stack with `scripts/local-stack up`, or pass --stack NAME for a deployed one"
    )]
    NotFound,
    #[error(
        "--stack {0}: deployed stacks (CloudFormation outputs, SigV4-signed requests) are not supported yet; use the local stack (`scripts/local-stack up`, or --env-file PATH)"
    )]
    DeployedNotSupported(String),
    #[error(
        "cannot read the env file {path}: {source}; check the path, or start the local stack with `scripts/local-stack up`"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the env file {path} has no {name}: is it a local stack's env file (`scripts/local-stack up` prints its path)?"
    )]
    Missing { path: PathBuf, name: &'static str },
}

/// Parses `KEY=VALUE` lines; blank lines and `#` comments are skipped, surrounding quotes removed.
pub fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_string(), value.to_string()))
        })
        .collect()
}

/// The stack an env file describes.
pub fn from_env_text(path: &Path, text: &str) -> Result<Stack, StackError> {
    let vars = parse_env(text);
    let get = |name: &'static str| {
        vars.get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| StackError::Missing {
                path: path.to_path_buf(),
                name,
            })
    };
    Ok(Stack {
        api_url: get("LOCAL_API_URL")?.trim_end_matches('/').to_string(),
        bucket: get("VIDEO_BUCKET")?,
        aws_endpoint: get("AWS_ENDPOINT_URL").ok(),
        aws_region: get("AWS_REGION").ok(),
        aws_credentials: get("AWS_ACCESS_KEY_ID")
            .ok()
            .zip(get("AWS_SECRET_ACCESS_KEY").ok()),
    })
}

/// The newest `.local/stack/*/env` under `repo` (by modification time), if any.
pub fn newest_local_env(repo: &Path) -> Option<PathBuf> {
    let dir = repo.join(".local").join("stack");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() != "latest")
        .map(|entry| entry.path().join("env"))
        .filter_map(|env| {
            let modified = env.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, env))
        })
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, env)| env)
}

/// The repository holding `start` (the nearest ancestor with a `.local` or `.git` directory).
fn repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(".local").is_dir() || dir.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Which env file to use: the flag, then the environment variable, then the newest local run.
pub fn choose_env_file(flag: Option<&Path>, env_var: Option<&str>, cwd: &Path) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| env_var.filter(|v| !v.is_empty()).map(PathBuf::from))
        .or_else(|| repo_root(cwd).and_then(|repo| newest_local_env(&repo)))
}

/// Finds the stack from the command line's `--stack` / `--env-file` and the environment.
pub fn discover(stack_name: Option<&str>, env_file: Option<&Path>) -> Result<Stack, StackError> {
    if let Some(name) = stack_name {
        return Err(StackError::DeployedNotSupported(name.to_string()));
    }
    let env_var = std::env::var(ENV_FILE_VAR).ok();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let path = choose_env_file(env_file, env_var.as_deref(), &cwd).ok_or(StackError::NotFound)?;
    let text = std::fs::read_to_string(&path).map_err(|source| StackError::Read {
        path: path.clone(),
        source,
    })?;
    from_env_text(&path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "# The local stack abc (scripts/local-stack)\n\
        LOCAL_STACK_RUN=abc\n\
        AWS_ENDPOINT_URL=http://127.0.0.1:5000\n\
        AWS_REGION=us-east-1\n\
        AWS_ACCESS_KEY_ID=test\n\
        AWS_SECRET_ACCESS_KEY=secret\n\
        LOCAL_API_URL=http://127.0.0.1:9000/\n\
        VIDEO_BUCKET='videos-local'\n\
        POSTS_TABLE=\"posts\"\n";

    #[test]
    fn env_file_gives_api_url_bucket_and_endpoint() {
        let stack = from_env_text(Path::new("env"), ENV).unwrap();
        assert_eq!(
            stack,
            Stack {
                api_url: "http://127.0.0.1:9000".into(),
                bucket: "videos-local".into(),
                aws_endpoint: Some("http://127.0.0.1:5000".into()),
                aws_region: Some("us-east-1".into()),
                aws_credentials: Some(("test".into(), "secret".into())),
            }
        );
    }

    #[test]
    fn comments_blanks_and_quotes_are_handled() {
        let vars = parse_env(ENV);
        assert_eq!(vars["POSTS_TABLE"], "posts");
        assert!(!vars.keys().any(|k| k.starts_with('#')));
    }

    #[test]
    fn env_file_without_api_url_names_the_missing_variable() {
        let err = from_env_text(Path::new("x/env"), "VIDEO_BUCKET=b\n").unwrap_err();
        assert!(err.to_string().contains("LOCAL_API_URL"), "{err}");
    }

    #[test]
    fn flag_wins_over_environment_variable() {
        let chosen = choose_env_file(Some(Path::new("a")), Some("b"), Path::new("/nonexistent"));
        assert_eq!(chosen, Some(PathBuf::from("a")));
        let chosen = choose_env_file(None, Some("b"), Path::new("/nonexistent"));
        assert_eq!(chosen, Some(PathBuf::from("b")));
    }

    #[test]
    fn newest_run_directory_is_found_under_the_repo() {
        let repo = std::env::temp_dir().join(format!("tiktok-publish-cli-{}", std::process::id()));
        let old = repo.join(".local/stack/old");
        let new = repo.join(".local/stack/new");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(old.join("env"), "x").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(new.join("env"), "y").unwrap();
        let found = choose_env_file(None, None, &repo.join(".local"));
        std::fs::remove_dir_all(&repo).unwrap();
        assert_eq!(found, Some(new.join("env")));
    }

    #[test]
    fn no_stack_error_says_how_to_start_one() {
        let text = StackError::NotFound.to_string();
        assert!(text.contains("scripts/local-stack up") && text.contains("--stack NAME"));
        let text = StackError::DeployedNotSupported("prod".into()).to_string();
        assert!(text.contains("not supported yet"));
    }
}
