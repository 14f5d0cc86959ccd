//! The end-to-end rig: a stack on moto with the strict fake TikTok, whose webhook events go
//! to a small receiver that hands them to [`receive`] as the Lambda does, on a clock the
//! test can move forward (TikTok's retries come hours later).

use std::sync::atomic::{AtomicI64, Ordering};

use super::*;

/// A minimal HTTP receiver doing what the Lambda does: the raw body and the signature
/// header go to [`receive`] with the receiver's clock; the answer's status goes back.
struct Receiver {
    url: String,
}

impl Receiver {
    async fn start(stack: &TestStack, ends: PostEnds, clock_offset: Arc<AtomicI64>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/tiktok", listener.local_addr().unwrap());
        let settings = WebhookSettings::new(
            stack.fake.settings().client_key.clone(),
            SecretString::from(stack.fake.settings().client_secret.clone()),
        );
        let posts = stack.posts.clone();
        let tokens = stack.accounts.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (posts, tokens, settings) = (posts.clone(), tokens.clone(), settings.clone());
                let ends = ends.clone();
                let now = unix_now() + clock_offset.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Some((signature, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    let result = receive(
                        &settings,
                        posts.as_ref(),
                        &ends,
                        tokens.as_ref(),
                        signature.as_deref(),
                        &body,
                        now,
                    )
                    .await;
                    let (status, answer) = tiktok_publish_core::webhook::answer(&result);
                    let answer = answer.to_string();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        Receiver { url }
    }
}

/// The `TikTok-Signature` header and the body of one HTTP/1.1 request.
async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(Option<String>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some((header("tiktok-signature"), body))
}

pub(super) struct Rig {
    pub(super) stack: TestStack,
    /// Reports nothing (the stack's own pipeline).
    pub(super) pipeline: Pipeline,
    pub(super) open_id: String,
    /// What the webhook's ends and marks sent.
    pub(super) events: Arc<MemoryEvents>,
    /// Seconds added to the receiver's clock.
    clock_offset: Arc<AtomicI64>,
}

pub(super) async fn rig(name: &str) -> Rig {
    let fake = FakeSettings {
        processing_time: Duration::from_millis(200),
        ..FakeSettings::default()
    };
    let stack = TestStack::start_with(
        name,
        StackSettings {
            fake,
            ..StackSettings::default()
        },
    )
    .await;
    let events = Arc::new(MemoryEvents::new());
    let clock_offset = Arc::new(AtomicI64::new(0));
    let receiver =
        Receiver::start(&stack, PostEnds::new(events.clone()), clock_offset.clone()).await;
    stack.fake.set_webhook_url(Some(receiver.url.clone()));
    let open_id = stack.connect_account(AccountSeed::default()).await;
    Rig {
        pipeline: stack.pipeline(PipelineSettings::default()),
        stack,
        open_id,
        events,
        clock_offset,
    }
}

impl Rig {
    /// A queued post of a tiny MP4 with these options, initialised and uploaded.
    pub(super) async fn uploaded_post(&self, key: &str, options: &str) -> PostId {
        self.stack.put(key, tiny_mp4()).await;
        let post = self.stack.queued_post(&self.open_id, key, options).await;
        let init = self.pipeline.init_upload(post.id.as_str()).await.unwrap();
        assert!(init.ready);
        let upload = self
            .pipeline
            .upload_chunks(post.id.as_str(), None)
            .await
            .unwrap();
        assert!(upload.done);
        post.id
    }

    /// Waits until the fake has delivered `count` events and the post shows what they said.
    pub(super) async fn await_deliveries(&self, count: usize) {
        for _ in 0..200 {
            let delivered = self.stack.fake.webhook_deliveries();
            if delivered.len() >= count {
                for delivery in &delivered {
                    assert_eq!(delivery.status, Some(200), "{delivery:?}");
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the fake delivered {:?}, not {count} events",
            self.stack.fake.webhook_deliveries()
        );
    }

    pub(super) fn status_fetches(&self) -> usize {
        self.stack.fake.call_count(Endpoint::StatusFetch)
    }

    /// The pipeline reporting to [`Rig::events`], as the webhook does.
    pub(super) fn reporting_pipeline(&self) -> Pipeline {
        Pipeline {
            ends: PostEnds::new(self.events.clone()),
            ..self.pipeline.clone()
        }
    }

    /// Moves the receiver's clock `secs` ahead of the real one.
    pub(super) fn set_clock_ahead(&self, secs: i64) {
        self.clock_offset.store(secs, Ordering::SeqCst);
    }
}
