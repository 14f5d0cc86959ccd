//! Finding the stack to talk to: the local stack's env file (`scripts/local-stack up` writes it)
//! or a deployed stack's CloudFormation outputs (`--stack NAME`, the user's AWS credentials and
//! region from the SDK's default chain; its API requests are then SigV4-signed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};

use crate::signer::Signer;

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
    /// A deployed stack: its name and the user's AWS configuration, which signs the API's
    /// requests and uploads the videos.
    pub deployed: Option<Deployed>,
    /// The front door, when the stack has one (deployed with DomainName).
    pub front_door: Option<FrontDoorOutputs>,
}

/// What the stack says of its front door (docs/front-door.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontDoorOutputs {
    /// `https://DOMAIN/media/`.
    pub media_url_prefix: String,
    /// The Secrets Manager secret holding the media URLs' signing key.
    pub signing_key_arn: String,
}

impl Stack {
    /// The AWS configuration for this stack's own services: the deployed stack's (the
    /// user's credentials), or the local stack's moto endpoint and static credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        if let Some(deployed) = &self.deployed {
            return deployed.sdk.clone();
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &self.aws_region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.aws_endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some((id, secret)) = &self.aws_credentials {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                id,
                secret,
                None,
                None,
                "local-stack-env-file",
            ));
        }
        loader.load().await
    }
}

/// A stack found through CloudFormation.
#[derive(Clone)]
pub struct Deployed {
    pub stack_name: String,
    pub sdk: aws_config::SdkConfig,
}

impl Deployed {
    /// The signer of the API's requests, when the configuration has credentials and a region.
    pub fn signer(&self) -> Result<Signer, StackError> {
        let credentials = self
            .sdk
            .credentials_provider()
            .ok_or(StackError::NoCredentials)?;
        let region = self.sdk.region().ok_or(StackError::NoRegion)?;
        Ok(Signer::new(credentials, region.to_string()))
    }
}

impl std::fmt::Debug for Deployed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployed")
            .field("stack_name", &self.stack_name)
            .field("region", &self.sdk.region())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Deployed {
    fn eq(&self, other: &Self) -> bool {
        self.stack_name == other.stack_name && self.sdk.region() == other.sdk.region()
    }
}

impl Eq for Deployed {}

/// The stack outputs the CLI reads (infra/template.yaml's `Outputs`).
pub const API_URL_OUTPUT: &str = "ApiUrl";
pub const BUCKET_OUTPUT: &str = "VideoBucketName";
/// Outputs only a stack with a front door has.
pub const MEDIA_URL_PREFIX_OUTPUT: &str = "MediaUrlPrefix";
pub const MEDIA_SIGNING_KEY_OUTPUT: &str = "MediaSigningKeyArn";

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(
        "no stack found: start the local stack with `scripts/local-stack up`, or pass --stack NAME for a deployed one"
    )]
    NotFound,
    #[error(
        "no AWS region configured to find stack {0} in: set AWS_REGION (or a region in your AWS profile)"
    )]
    NoRegionFor(String),
    #[error("no AWS region configured: set AWS_REGION (or a region in your AWS profile)")]
    NoRegion,
    #[error(
        "no AWS credentials found: configure them (`aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    )]
    NoCredentials,
    #[error(
        "no CloudFormation stack named {name} in {region}: check --stack (the name you gave `sam deploy`) and AWS_REGION/AWS_PROFILE"
    )]
    StackNotFound { name: String, region: String },
    #[error(
        "cannot read stack {name} from CloudFormation: {detail}; check your AWS credentials (`aws sts get-caller-identity`) and that they may call cloudformation:DescribeStacks"
    )]
    Describe { name: String, detail: String },
    #[error(
        "stack {name} is {status}: wait for its deployment to finish (or fix it and deploy again with `sam deploy`)"
    )]
    NotReady { name: String, status: String },
    #[error(
        "stack {name} has no output {output}: is it a tiktok-publish stack (infra/template.yaml), deployed with a version that has this output?"
    )]
    MissingOutput { name: String, output: &'static str },
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
        deployed: None,
        // The env file carries the template's outputs as STACK_<NAME>.
        front_door: get("STACK_MEDIA_URL_PREFIX")
            .ok()
            .zip(get("STACK_MEDIA_SIGNING_KEY_ARN").ok())
            .map(|(media_url_prefix, signing_key_arn)| FrontDoorOutputs {
                media_url_prefix,
                signing_key_arn,
            }),
    })
}

/// Statuses in which a stack's outputs are those of a finished deployment.
fn is_usable(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_COMPLETE"
    ) || (status.ends_with("_IN_PROGRESS") && status.starts_with("UPDATE"))
}

/// The stack named `name`, from its CloudFormation outputs, with the default AWS chain.
pub async fn from_cloudformation(name: &str) -> Result<Stack, StackError> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let region = sdk
        .region()
        .map(ToString::to_string)
        .ok_or_else(|| StackError::NoRegionFor(name.to_owned()))?;
    if sdk.credentials_provider().is_none() {
        return Err(StackError::NoCredentials);
    }
    let cloudformation = aws_sdk_cloudformation::Client::new(&sdk);
    let described = cloudformation
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|err| {
            // CloudFormation answers an unknown name with a ValidationError "does not exist".
            if err.code() == Some("ValidationError")
                && err.message().is_some_and(|m| m.contains("does not exist"))
            {
                StackError::StackNotFound {
                    name: name.to_owned(),
                    region: region.clone(),
                }
            } else {
                StackError::Describe {
                    name: name.to_owned(),
                    detail: DisplayErrorContext(err).to_string(),
                }
            }
        })?;
    let stack = described
        .stacks()
        .first()
        .ok_or_else(|| StackError::StackNotFound {
            name: name.to_owned(),
            region: region.clone(),
        })?;
    let status = stack
        .stack_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if !is_usable(&status) {
        return Err(StackError::NotReady {
            name: name.to_owned(),
            status,
        });
    }
    let output = |key: &'static str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| StackError::MissingOutput {
                name: name.to_owned(),
                output: key,
            })
    };
    let front_door = output(MEDIA_URL_PREFIX_OUTPUT)
        .ok()
        .zip(output(MEDIA_SIGNING_KEY_OUTPUT).ok())
        .map(|(media_url_prefix, signing_key_arn)| FrontDoorOutputs {
            media_url_prefix,
            signing_key_arn,
        });
    Ok(Stack {
        api_url: output(API_URL_OUTPUT)?.trim_end_matches('/').to_owned(),
        bucket: output(BUCKET_OUTPUT)?,
        aws_endpoint: None,
        aws_region: Some(region),
        aws_credentials: None,
        front_door,
        deployed: Some(Deployed {
            stack_name: name.to_owned(),
            sdk,
        }),
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
pub async fn discover(
    stack_name: Option<&str>,
    env_file: Option<&Path>,
) -> Result<Stack, StackError> {
    if let Some(name) = stack_name {
        return from_cloudformation(name).await;
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
                deployed: None,
                front_door: None,
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
        let text = StackError::StackNotFound {
            name: "prod".into(),
            region: "eu-west-1".into(),
        }
        .to_string();
        assert!(
            text.contains("--stack") && text.contains("AWS_REGION"),
            "{text}"
        );
    }

    #[test]
    fn only_finished_deployments_are_used() {
        for usable in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
        ] {
            assert!(is_usable(usable), "{usable}");
        }
        for not in [
            "CREATE_IN_PROGRESS",
            "ROLLBACK_COMPLETE",
            "DELETE_COMPLETE",
            "",
        ] {
            assert!(!is_usable(not), "{not}");
        }
    }
}
