//! What a response head says: is it a stream, may it be retried, how long to wait.

use std::time::Duration;

use http::{HeaderMap, StatusCode, header};

/// Whether the `Content-Type` is `text/event-stream`: the essence of the last valid MIME type
/// among its values (Fetch's "extract a MIME type", with commas inside quoted parameters not
/// told apart), compared without case; parameters do not matter.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    let mut essence: Option<&[u8]> = None;
    for value in headers.get_all(header::CONTENT_TYPE) {
        for part in value.as_bytes().split(|&b| b == b',') {
            let end = part.iter().position(|&b| b == b';').unwrap_or(part.len());
            let candidate = trim(&part[..end]);
            if is_mime_essence(candidate) {
                essence = Some(candidate);
            }
        }
    }
    essence.is_some_and(|e| e.eq_ignore_ascii_case(b"text/event-stream"))
}

/// `type/subtype`, both non-empty, no whitespace.
fn is_mime_essence(bytes: &[u8]) -> bool {
    match bytes.iter().position(|&b| b == b'/') {
        Some(slash) => {
            slash > 0
                && slash + 1 < bytes.len()
                && !bytes[slash + 1..].contains(&b'/')
                && !bytes.iter().any(|b| b.is_ascii_whitespace())
        }
        None => false,
    }
}

/// Strips HTTP whitespace (space, tab) from both ends.
fn trim(bytes: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// The statuses [`Config::retry_status`](crate::Config::retry_status) retries: the ones that
/// usually pass (timeout, rate limit, gateway trouble, overload). 401 and 403 are not among them.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
}

/// `Retry-After` as delta-seconds (saturating); `None` when absent or anything else (an
/// HTTP-date needs a wall clock, which the controller does not have).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = trim(headers.get(header::RETRY_AFTER)?.as_bytes());
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs = value.iter().fold(0u64, |acc, &b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    });
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: header::HeaderName, values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn event_stream_essence() {
        let yes = [
            &["text/event-stream"][..],
            &["Text/Event-Stream; charset=utf-8"],
            &["  text/event-stream\t;x=\"a,b\""],
            &["text/html", "text/event-stream"],
            &["text/html, text/event-stream"],
            &["text/event-stream, nonsense"],
        ];
        for values in yes {
            assert!(
                is_event_stream(&with(header::CONTENT_TYPE, values)),
                "{values:?}"
            );
        }
        let no = [
            &[][..],
            &[""],
            &["text/plain"],
            &["text/event-streams"],
            &["text/event-stream/x"],
            &["text /event-stream"],
            &["event-stream"],
            &["text/event-stream", "application/json"],
        ];
        for values in no {
            assert!(
                !is_event_stream(&with(header::CONTENT_TYPE, values)),
                "{values:?}"
            );
        }
    }

    #[test]
    fn retry_after_delta_seconds_only() {
        let parse = |v: &'static str| retry_after(&with(header::RETRY_AFTER, &[v]));
        assert_eq!(parse("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("1.5"), None);
        assert_eq!(parse(""), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn retryable_statuses() {
        let retried: Vec<u16> = (100..600)
            .filter(|&s| is_retryable(StatusCode::from_u16(s).unwrap()))
            .collect();
        assert_eq!(retried, [408, 429, 502, 503, 504]);
    }
}
