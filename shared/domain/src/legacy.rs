//! Items written before facts and causes were stored carry only their text: a history entry's
//! `note`, a failure's `failure_kind` and `failure_reason`. This is the one place that reads
//! that wording, to understand those items; nothing else parses a note or a reason. The
//! wordings are the ones that version wrote (and [`Fact`] and [`Cause`] still render).
//!
//! A note of unknown wording becomes [`Fact::Remark`] (no decision reads it); a reason of
//! unknown wording becomes [`Cause::Error`] of its recorded kind, which the retry verdict
//! judges by the kind alone.

use crate::cause::{
    AUTHORIZATION_REMOVED_TEXT, Cause, FRESH_TOKEN_REFUSED_TEXT, Interaction,
    PUBLISH_FORGOTTEN_TEXT, STUCK_PREFIX,
};
use crate::errors::ErrorKind;
use crate::fact::Fact;
use crate::post::{PostFailure, PostState};
use crate::retry::PASSING_REJECTIONS;
use crate::tiktok::PrivacyLevel;

/// The fact of a history entry that has only its note. `failure` is the post's recorded
/// failure, whose reason the note of the failing move repeats.
pub fn fact_from_note(state: PostState, note: &str, failure: Option<&PostFailure>) -> Fact {
    if let Some(fact) = fixed_fact(note) {
        return fact;
    }
    if matches!(state, PostState::Failed | PostState::Refused) {
        if let Some(failure) = failure.filter(|f| f.reason == note) {
            return Fact::Failed {
                cause: failure.cause.clone(),
            };
        }
        if let Some(cause) = recognised_cause(note) {
            return Fact::Failed { cause };
        }
    }
    if let Some(event) = note.strip_prefix("TikTok webhook: ") {
        return Fact::WebhookEvent {
            event: event.to_owned(),
        };
    }
    // "retry {attempt} after {kind}" (or "after an unrecorded failure"); any note starting
    // with "retry " counted as a retry.
    if let Some(rest) = note.strip_prefix("retry ") {
        let (attempt, after) = rest.split_once(" after ").unwrap_or((rest, ""));
        return Fact::Retried {
            attempt: attempt.parse().unwrap_or(0),
            after: ErrorKind::from_name(after),
        };
    }
    Fact::Remark {
        note: note.to_owned(),
    }
}

/// The cause of a failure that has only its kind and reason.
pub fn cause_from_reason(kind: ErrorKind, reason: &str) -> Cause {
    if let Some(cause) = recognised_cause(reason).filter(|c| c.kind() == kind) {
        return cause;
    }
    if kind == ErrorKind::TikTokRejected {
        // A passing code anywhere in the refusal made it retryable; else TikTok's code as
        // `TikTok refused {endpoint}: {code}: {message}` wrote it (possibly wrapped).
        let code = PASSING_REJECTIONS
            .iter()
            .find(|code| reason.contains(**code))
            .map(|code| (*code).to_owned())
            .or_else(|| refusal_code(reason));
        if let Some(code) = code {
            return Cause::TikTokRefused {
                code,
                message: reason.to_owned(),
            };
        }
    }
    Cause::Error {
        kind,
        message: reason.to_owned(),
    }
}

fn fixed_fact(note: &str) -> Option<Fact> {
    Some(match note {
        "waiting for the options manifest" => Fact::OptionsAwaited,
        "options arrived" => Fact::OptionsArrived,
        "upload initialised" => Fact::Initialised,
        "upload resumed" => Fact::UploadResumed,
        "TikTok already has the whole video" => Fact::AlreadyAtTikTok,
        "TikTok has the whole video" => Fact::WholeVideoAtTikTok,
        "sending chunks" => Fact::ChunksSending,
        "upload complete" => Fact::UploadComplete,
        "TikTok refused the upload URL" => Fact::UrlRefused,
        "published" => Fact::Published { via_webhook: false },
        "published (TikTok webhook)" => Fact::Published { via_webhook: true },
        "sent to the creator's inbox" => Fact::SentToInbox { via_webhook: false },
        "sent to the creator's inbox (TikTok webhook)" => Fact::SentToInbox { via_webhook: true },
        "cancelled by request" => Fact::CancelledByRequest,
        "account disconnected" => Fact::AccountDisconnected,
        _ => return None,
    })
}

/// A reason in one of the wordings with a cause of their own.
fn recognised_cause(reason: &str) -> Option<Cause> {
    match reason {
        "privacy_level: a direct post needs one" => return Some(Cause::NoPrivacyLevel),
        FRESH_TOKEN_REFUSED_TEXT => return Some(Cause::FreshTokenRefused),
        AUTHORIZATION_REMOVED_TEXT => return Some(Cause::AuthorizationRemoved),
        PUBLISH_FORGOTTEN_TEXT => return Some(Cause::PublishForgotten),
        _ => {}
    }
    let parsers: [fn(&str) -> Option<Cause>; 14] = [
        options_invalid,
        options_never_arrived,
        not_connected,
        title_too_long,
        privacy_level_not_offered,
        interaction_disabled,
        video_too_long,
        cover_past_end,
        video_changed,
        tiktok_failed,
        processing_timed_out,
        too_many_inits,
        stuck,
        pipeline_stopped,
    ];
    parsers.iter().find_map(|parse| parse(reason))
}

fn options_invalid(reason: &str) -> Option<Cause> {
    let (field, rule) = reason
        .strip_prefix("the post's options are invalid: ")?
        .split_once(": ")?;
    Some(Cause::OptionsInvalid {
        field: field.to_owned(),
        rule: rule.to_owned(),
    })
}

fn options_never_arrived(reason: &str) -> Option<Cause> {
    let waited = reason
        .strip_prefix("the post's options never arrived (waited ")?
        .strip_suffix(" s for the manifest beside the video)")?;
    Some(Cause::OptionsNeverArrived {
        waited_secs: waited.parse().ok()?,
    })
}

fn not_connected(reason: &str) -> Option<Cause> {
    let open_id = reason.strip_prefix("the TikTok account ")?.strip_suffix(
        " is not connected (never connected, or disconnected): connect it with \
             `tiktok-publish connect`, then post again",
    )?;
    Some(Cause::NotConnected {
        open_id: open_id.to_owned(),
    })
}

fn title_too_long(reason: &str) -> Option<Cause> {
    let (units, _) = reason
        .strip_prefix("title: is ")?
        .split_once(" UTF-16 code units long; TikTok takes at most ")?;
    Some(Cause::TitleTooLong {
        utf16_units: units.parse().ok()?,
    })
}

fn privacy_level_not_offered(reason: &str) -> Option<Cause> {
    let (level, rest) = reason
        .strip_prefix("privacy_level ")?
        .split_once(" is not offered to ")?;
    let (creator, offered) = rest.rsplit_once(" now; choose one of: ")?;
    Some(Cause::PrivacyLevelNotOffered {
        level: PrivacyLevel::parse(level)?,
        creator: creator.to_owned(),
        offered: offered
            .split(", ")
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn interaction_disabled(reason: &str) -> Option<Cause> {
    let rest = reason.strip_prefix("disable_")?;
    Interaction::ALL.into_iter().find_map(|interaction| {
        let name = interaction.as_str();
        let creator = rest
            .strip_prefix(&format!("{name} is false, but "))?
            .strip_suffix(&format!(
                " has turned {name}s off in TikTok; set it to true or leave it out"
            ))?;
        Some(Cause::InteractionDisabled {
            interaction,
            creator: creator.to_owned(),
        })
    })
}

fn video_too_long(reason: &str) -> Option<Cause> {
    let (seconds, rest) = reason
        .strip_prefix("the video is ")?
        .split_once(" s long; ")?;
    let (creator, max) = rest.rsplit_once(" may post at most ")?;
    Some(Cause::VideoTooLong {
        seconds: seconds.parse().ok()?,
        creator: creator.to_owned(),
        max_secs: max.strip_suffix(" s")?.parse().ok()?,
    })
}

fn cover_past_end(reason: &str) -> Option<Cause> {
    let (cover, duration) = reason
        .strip_prefix("video_cover_timestamp_ms ")?
        .split_once(" is past the end of the video (")?;
    Some(Cause::CoverPastEnd {
        cover_ms: cover.parse().ok()?,
        duration_ms: duration.strip_suffix(" ms)")?.parse().ok()?,
    })
}

fn video_changed(reason: &str) -> Option<Cause> {
    let (location, etags) = reason
        .strip_prefix("s3://")?
        .rsplit_once(" changed after the post was made (ETag ")?;
    let (bucket, key) = location.split_once('/')?;
    let (recorded, found) = etags.strip_suffix(')')?.split_once(" became ")?;
    Some(Cause::VideoChanged {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        recorded_etag: recorded.to_owned(),
        found_etag: found.to_owned(),
    })
}

fn tiktok_failed(reason: &str) -> Option<Cause> {
    let fail_reason = reason.strip_prefix("TikTok could not publish the video: ")?;
    Some(Cause::TikTokFailed {
        fail_reason: fail_reason.to_owned(),
    })
}

fn processing_timed_out(reason: &str) -> Option<Cause> {
    let minutes = reason
        .strip_prefix("TikTok did not finish processing within ")?
        .strip_suffix(" minutes")?;
    Some(Cause::ProcessingTimedOut {
        minutes: minutes.parse().ok()?,
    })
}

fn too_many_inits(reason: &str) -> Option<Cause> {
    let inits = reason
        .strip_prefix("the upload was started ")?
        .strip_suffix(" times without completing")?;
    Some(Cause::TooManyInits {
        inits: inits.parse().ok()?,
    })
}

fn stuck(reason: &str) -> Option<Cause> {
    let (state, rest) = reason
        .strip_prefix(STUCK_PREFIX)?
        .strip_prefix(" in ")?
        .split_once(" for ")?;
    let (minutes, _) = rest.split_once(" minutes without a change")?;
    Some(Cause::Stuck {
        state: PostState::parse(state)?,
        minutes: minutes.parse().ok()?,
    })
}

fn pipeline_stopped(reason: &str) -> Option<Cause> {
    let rest = reason.strip_prefix("the pipeline stopped on ")?;
    let (error, detail) = match rest.split_once(": ") {
        Some((error, detail)) => (error, Some(detail.to_owned())),
        None => (rest, None),
    };
    Some(Cause::PipelineStopped {
        error: error.to_owned(),
        detail,
    })
}

/// TikTok's code in `TikTok refused {endpoint}: {code}: ...`, wherever it is in the reason.
fn refusal_code(reason: &str) -> Option<String> {
    let (_, refusal) = reason.split_once("TikTok refused ")?;
    let mut parts = refusal.splitn(3, ": ");
    let (_endpoint, code) = (parts.next()?, parts.next()?);
    let is_code = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    is_code.then(|| code.to_owned())
}

#[cfg(test)]
#[path = "legacy_tests.rs"]
mod tests;
