//! Per-client rate limits and tar-pit advice, with time supplied by the
//! caller (issue 7; work in progress).
