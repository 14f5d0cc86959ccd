//! [`OutcomeEvents`] on EventBridge: outcome events put on a bus, ten to a call.

use async_trait::async_trait;
use tiktok_publish_core::events::{EVENT_SOURCE, EventError, OutcomeEvent, OutcomeEvents};

/// PutEvents takes at most this many entries per call.
const MAX_ENTRIES_PER_CALL: usize = 10;

/// [`OutcomeEvents`] on an EventBridge bus (`EVENT_BUS_NAME`; `default` is the account's
/// default bus).
#[derive(Debug, Clone)]
pub struct EventBridgeEvents {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeEvents {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        EventBridgeEvents {
            client,
            bus_name: bus_name.into(),
        }
    }

    async fn put(&self, events: &[OutcomeEvent]) -> Result<(), EventError> {
        use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;

        let entries = events
            .iter()
            .map(|event| {
                Ok(PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(EVENT_SOURCE)
                    .detail_type(event.detail_type().as_str())
                    .detail(event.detail_json()?)
                    .build())
            })
            .collect::<Result<Vec<_>, EventError>>()?;
        let answer = match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(err) => {
                let detail = DisplayErrorContext(&err).to_string();
                let passing = match &err {
                    SdkError::TimeoutError(_)
                    | SdkError::DispatchFailure(_)
                    | SdkError::ResponseError(_) => true,
                    SdkError::ServiceError(e) => matches!(
                        e.err().code(),
                        Some("ThrottlingException" | "InternalException" | "InternalFailure")
                    ),
                    _ => false,
                };
                return Err(if passing {
                    EventError::Unavailable { detail }
                } else {
                    EventError::Refused { detail }
                });
            }
        };
        if answer.failed_entry_count() > 0 {
            let reasons: Vec<String> = answer
                .entries()
                .iter()
                .filter_map(|e| {
                    e.error_code()
                        .map(|c| format!("{c}: {}", e.error_message().unwrap_or("")))
                })
                .collect();
            return Err(EventError::Unavailable {
                detail: format!(
                    "{} of {} entries failed ({})",
                    answer.failed_entry_count(),
                    events.len(),
                    reasons.join("; ")
                ),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl OutcomeEvents for EventBridgeEvents {
    async fn publish(&self, events: &[OutcomeEvent]) -> Result<(), EventError> {
        for batch in events.chunks(MAX_ENTRIES_PER_CALL) {
            self.put(batch).await?;
            for event in batch {
                tracing::info!(
                    detail_type = event.detail_type().as_str(),
                    subject = event.subject(),
                    "outcome event sent"
                );
            }
        }
        Ok(())
    }
}
