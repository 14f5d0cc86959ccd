//! Time as the stores keep it.

/// Seconds since the Unix epoch: every time the stores keep (DynamoDB TTL uses the same unit).
pub type UnixTime = i64;

/// The current time as [`UnixTime`].
pub fn unix_now() -> UnixTime {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch: a window of a minute needs finer time than
/// [`UnixTime`].
pub type UnixMillis = i64;

/// The current time as [`UnixMillis`].
pub fn unix_now_ms() -> UnixMillis {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    UnixMillis::try_from(nanos / 1_000_000).unwrap_or(UnixMillis::MAX)
}
