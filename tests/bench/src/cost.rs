//! The cost model of `cost-per-post`: list prices, AWS requests by price class, what one post
//! uses, and the state machine's status poll schedule for an upload and for a pull.

use std::collections::BTreeMap;
use std::time::Duration;

use tiktok_publish_core::pipeline::status_poll_interval;

/// us-east-1 list prices. Where each was read, and when, is in tests/bench/README.md (part 4
/// and "Cost: FILE_UPLOAD versus PULL_FROM_URL").
pub mod prices {
    pub const READ_ON: &str = "AWS's published us-east-1 list prices, checked on 2026-12-07 against stored copies of AWS's and third-party pages (sources: tests/bench/README.md part 5)";
    /// Step Functions Standard: $0.025 per 1,000 state transitions.
    pub const PER_TRANSITION: f64 = 0.025 / 1000.0;
    /// Lambda, arm64: $0.20 per million requests, $0.0000133334 per GB-second.
    pub const PER_INVOCATION: f64 = 0.20 / 1e6;
    pub const PER_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    /// DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read
    /// request units.
    pub const PER_WRU: f64 = 0.625 / 1e6;
    pub const PER_RRU: f64 = 0.125 / 1e6;
    /// S3 Standard: GET/HEAD $0.0004 per 1,000; PUT/POST/LIST $0.005 per 1,000.
    pub const PER_S3_GET: f64 = 0.0004 / 1000.0;
    pub const PER_S3_PUT: f64 = 0.005 / 1000.0;
    /// Secrets Manager: $0.05 per 10,000 API calls. KMS: $0.03 per 10,000 requests.
    pub const PER_SECRET_CALL: f64 = 0.05 / 10_000.0;
    pub const PER_KMS_CALL: f64 = 0.03 / 10_000.0;
    /// Data transfer out to the internet (Lambda to TikTok): $0.09 per GB (first 10 TB a
    /// month, after the account's free 100 GB).
    pub const PER_GB_OUT: f64 = 0.09;
    /// CloudFront data transfer out to the internet, United States, Mexico and Canada, first
    /// 10 TB a month: $0.085 per GB. Origin fetches from S3 are free.
    pub const PER_GB_CLOUDFRONT: f64 = 0.085;
    /// CloudFront HTTPS requests, United States: $0.0100 per 10,000.
    pub const PER_CLOUDFRONT_HTTPS_REQUEST: f64 = 0.01 / 10_000.0;
    /// CloudFront Functions: $0.10 per million invocations.
    pub const PER_CLOUDFRONT_FUNCTION: f64 = 0.10 / 1e6;
}

/// AWS requests by price class, summed over some invocations.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Requests {
    pub dynamo_reads: f64,
    pub dynamo_writes: f64,
    /// TransactWriteItems / TransactGetItems count twice per item: counted separately.
    pub dynamo_transactions: f64,
    pub s3_gets: f64,
    pub s3_puts: f64,
    pub secrets: f64,
    pub kms: f64,
    pub other: f64,
}

impl Requests {
    /// Sorts the counting proxy's `"Service Operation"` counts into price classes.
    pub fn from_counts(counts: &BTreeMap<String, u64>) -> Requests {
        let mut r = Requests::default();
        for (op, n) in counts {
            let n = *n as f64;
            let slot = match op.as_str() {
                "DynamoDB GetItem"
                | "DynamoDB Query"
                | "DynamoDB Scan"
                | "DynamoDB BatchGetItem" => &mut r.dynamo_reads,
                "DynamoDB PutItem"
                | "DynamoDB UpdateItem"
                | "DynamoDB DeleteItem"
                | "DynamoDB BatchWriteItem" => &mut r.dynamo_writes,
                "DynamoDB TransactWriteItems" | "DynamoDB TransactGetItems" => {
                    &mut r.dynamo_transactions
                }
                o if o.starts_with("S3 GET") || o.starts_with("S3 HEAD") => &mut r.s3_gets,
                o if o.starts_with("S3 ") => &mut r.s3_puts,
                o if o.starts_with("SecretsManager") => &mut r.secrets,
                o if o.starts_with("KMS") => &mut r.kms,
                _ => &mut r.other,
            };
            *slot += n;
        }
        r
    }

    /// `self` plus `times` × `o`.
    pub fn add(self, o: Requests, times: f64) -> Requests {
        Requests {
            dynamo_reads: self.dynamo_reads + o.dynamo_reads * times,
            dynamo_writes: self.dynamo_writes + o.dynamo_writes * times,
            dynamo_transactions: self.dynamo_transactions + o.dynamo_transactions * times,
            s3_gets: self.s3_gets + o.s3_gets * times,
            s3_puts: self.s3_puts + o.s3_puts * times,
            secrets: self.secrets + o.secrets * times,
            kms: self.kms + o.kms * times,
            other: self.other + o.other * times,
        }
    }

    pub fn minus(self, o: Requests) -> Requests {
        self.add(o, -1.0)
    }

    /// Write request units: a transaction's items count twice.
    pub fn wru(&self) -> f64 {
        self.dynamo_writes + 2.0 * self.dynamo_transactions
    }

    /// The worst case added to what a run measured: the post's upload-init refreshes the
    /// access token (TikTok's last 24 h, so at most one refresh a day per account): the
    /// client secret read once (only refreshes read it), the refresh token opened, both new
    /// tokens sealed, the lease taken and the tokens saved. And the post came with a manifest
    /// (an S3 drop), whose retention tag is one more PUT (the bench's posts come without one).
    pub fn with_refresh_and_manifest(self) -> Requests {
        Requests {
            secrets: self.secrets + 1.0,
            kms: self.kms + 3.0,
            dynamo_writes: self.dynamo_writes + 2.0,
            s3_puts: self.s3_puts + 1.0,
            ..self
        }
    }
}

/// Everything one post uses that has a price.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Usage {
    pub transitions: u64,
    pub lambdas: u64,
    pub gb_seconds: f64,
    pub requests: Requests,
    /// Viewer requests to the front door (HTTPS), each one CloudFront Function invocation.
    pub cloudfront_requests: f64,
    /// GB sent from Lambda to the internet (FILE_UPLOAD's chunks).
    pub lambda_gb_out: f64,
    /// GB sent from CloudFront to the internet (PULL_FROM_URL's download).
    pub cloudfront_gb_out: f64,
}

impl Usage {
    pub fn step_functions(&self) -> f64 {
        self.transitions as f64 * prices::PER_TRANSITION
    }

    /// Everything but data transfer out.
    pub fn without_transfer(&self) -> f64 {
        let r = &self.requests;
        self.step_functions()
            + self.lambdas as f64 * prices::PER_INVOCATION
            + self.gb_seconds * prices::PER_GB_SECOND_ARM
            + r.wru() * prices::PER_WRU
            + r.dynamo_reads * prices::PER_RRU
            + r.s3_gets * prices::PER_S3_GET
            + r.s3_puts * prices::PER_S3_PUT
            + r.secrets * prices::PER_SECRET_CALL
            + r.kms * prices::PER_KMS_CALL
            + self.cloudfront_requests
                * (prices::PER_CLOUDFRONT_HTTPS_REQUEST + prices::PER_CLOUDFRONT_FUNCTION)
    }

    /// Data transfer out: Lambda's at the internet price, CloudFront's at its own (S3 to
    /// CloudFront is free).
    pub fn transfer(&self) -> f64 {
        self.lambda_gb_out * prices::PER_GB_OUT + self.cloudfront_gb_out * prices::PER_GB_CLOUDFRONT
    }

    pub fn total(&self) -> f64 {
        self.without_transfer() + self.transfer()
    }
}

/// Status fetches of an upload until TikTok's processing (`processing_secs` after the upload
/// completed) is over: the first after `status_poll_interval(0, size)`, then on the
/// pipeline's own schedule.
pub fn upload_status_fetches(size: u64, processing_secs: f64) -> u64 {
    fetches_from(
        status_poll_interval(Duration::ZERO, size),
        size,
        processing_secs,
    )
}

/// Status fetches of a pull until TikTok has downloaded and processed it (`busy_secs` after
/// init): the first `first_poll` after init (upload-init's `wait_seconds`), then on the
/// pipeline's schedule, which counts from init (the post is `PROCESSING` from then).
pub fn pull_status_fetches(size: u64, first_poll: Duration, busy_secs: f64) -> u64 {
    fetches_from(first_poll, size, busy_secs)
}

fn fetches_from(first: Duration, size: u64, busy_secs: f64) -> u64 {
    let mut elapsed = first;
    let mut fetches = 0;
    loop {
        fetches += 1;
        if elapsed.as_secs_f64() >= busy_secs || fetches > 1000 {
            return fetches;
        }
        elapsed += status_poll_interval(elapsed, size);
    }
}

/// The state transitions of a post (infra/statemachine/publish.asl.json).
pub mod transitions {
    /// Init, InitReady, Upload; four more (Pause, Status, Route, Upload) per extra upload
    /// invocation; Pause, Status, Route per status fetch; Published.
    pub fn upload(uploads: u64, fetches: u64) -> u64 {
        3 + 4 * uploads.saturating_sub(1) + 3 * fetches + 1
    }

    /// Init, InitReady (straight to Pause: nothing to upload); Pause, Status, Route per
    /// status fetch; Published.
    pub fn pull(fetches: u64) -> u64 {
        2 + 3 * fetches + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_sorted_into_price_classes() {
        let counts: BTreeMap<String, u64> = [
            ("DynamoDB GetItem", 3),
            ("DynamoDB UpdateItem", 2),
            ("DynamoDB TransactWriteItems", 1),
            ("S3 GET", 4),
            ("S3 HEAD", 1),
            ("S3 PUT tagging", 1),
            ("SecretsManager GetSecretValue", 2),
            ("KMS Decrypt", 5),
            ("SFN StartExecution", 1),
        ]
        .into_iter()
        .map(|(op, n)| (op.to_owned(), n))
        .collect();
        let r = Requests::from_counts(&counts);
        assert_eq!(
            r,
            Requests {
                dynamo_reads: 3.0,
                dynamo_writes: 2.0,
                dynamo_transactions: 1.0,
                s3_gets: 5.0,
                s3_puts: 1.0,
                secrets: 2.0,
                kms: 5.0,
                other: 1.0,
            }
        );
        assert_eq!(r.wru(), 4.0);
    }

    #[test]
    fn transfer_is_priced_by_where_it_leaves_aws() {
        let lambda = Usage {
            lambda_gb_out: 0.3,
            ..Usage::default()
        };
        let cloudfront = Usage {
            cloudfront_gb_out: 0.3,
            ..Usage::default()
        };
        assert!((lambda.transfer() - 0.027).abs() < 1e-12);
        assert!((cloudfront.transfer() - 0.0255).abs() < 1e-12);
        assert_eq!(lambda.without_transfer(), 0.0);
    }

    #[test]
    fn a_front_door_request_pays_for_the_request_and_the_function() {
        let usage = Usage {
            cloudfront_requests: 1.0,
            ..Usage::default()
        };
        assert!((usage.without_transfer() - (0.000_001 + 0.000_000_1)).abs() < 1e-15);
    }

    #[test]
    fn transitions_follow_the_definition() {
        // Init, InitReady, Upload, (Pause, Status, Route) × 2, Published.
        assert_eq!(transitions::upload(1, 2), 10);
        assert_eq!(transitions::upload(2, 1), 11);
        // Init, InitReady, (Pause, Status, Route) × 3, Published.
        assert_eq!(transitions::pull(3), 12);
    }

    #[test]
    fn a_pull_is_polled_until_download_and_processing_are_over() {
        let size = 300_000_000;
        // Polled at 5 s; then the schedule waits until 15 + 300/17 = 32 s from init.
        assert_eq!(pull_status_fetches(size, Duration::from_secs(5), 4.0), 1);
        assert_eq!(pull_status_fetches(size, Duration::from_secs(5), 30.0), 2);
        assert_eq!(pull_status_fetches(size, Duration::from_secs(5), 40.0), 3);
        // An upload's first fetch already waits those 32 s.
        assert_eq!(upload_status_fetches(size, 30.0), 1);
        assert_eq!(upload_status_fetches(10_000_000, 30.0), 2);
    }
}
