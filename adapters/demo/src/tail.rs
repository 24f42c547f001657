//! `tail`: follow an SSE stream with the client and print one JSON object per line, shared by
//! both adapters' `tail` examples.
//!
//! `tail URL [-H 'Name: value']… [--last-event-id ID] [--until DATA] [--max-retries N]` prints on
//! stdout, and nothing else there:
//!
//! - `{"kind":"open","status":200}` when a connection opens;
//! - `{"kind":"event","type":"…","data":"…","id":"…"}` per event (`id`: the last event ID, `""`
//!   when none);
//! - `{"kind":"retry","after_ms":N,"reason":"…"}` when it will reconnect;
//! - `{"kind":"closed","reason":"…"}` when it stops for good.
//!
//! The exit status is 0 after a `204` or the `--until` event, 1 after any other stop, 2 for a
//! bad command line. Skipped (oversized) events are reported on stderr.

use std::future::poll_fn;
use std::io::Write;
use std::pin::Pin;

use futures_core::Stream;
use ssewire::EventId;
use ssewire_client_transport::{
    ClientEvent, Config, Ended, EventSource, Reason, Runtime, StopReason,
};

/// Runs `tail` with the command-line `args` (without the program name) on `runtime`, printing
/// to stdout; returns the exit status.
pub async fn run<R: Runtime>(runtime: R, args: impl IntoIterator<Item = String>) -> i32 {
    run_to(runtime, args, &mut std::io::stdout().lock()).await
}

/// [`run`], printing the JSON lines to `stdout` (a test's buffer) instead; usage errors and
/// skipped events still go to stderr.
pub async fn run_to<R: Runtime>(
    runtime: R,
    args: impl IntoIterator<Item = String>,
    stdout: &mut impl Write,
) -> i32 {
    let mut events = match parse(runtime, args.into_iter()) {
        Ok(events) => events,
        Err(message) => {
            eprintln!("tail: {message}");
            eprintln!(
                "usage: tail URL [-H 'Name: value']... [--last-event-id ID] [--until DATA] [--max-retries N]"
            );
            return 2;
        }
    };
    while let Some(event) = poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await {
        let line = match event {
            ClientEvent::Open { status, .. } => {
                format!(r#"{{"kind":"open","status":{}}}"#, status.as_u16())
            }
            ClientEvent::Event(event) => format!(
                r#"{{"kind":"event","type":{},"data":{},"id":{}}}"#,
                text(event.event_type()),
                text(event.data()),
                text(event.id().unwrap_or("")),
            ),
            ClientEvent::Retry(wait) => format!(
                r#"{{"kind":"retry","after_ms":{},"reason":{}}}"#,
                wait.delay.as_millis(),
                text(&reason(&wait.reason)),
            ),
            ClientEvent::Closed(stop) => {
                let line = format!(
                    r#"{{"kind":"closed","reason":{}}}"#,
                    text(&stop_reason(&stop))
                );
                let _ = writeln!(stdout, "{line}");
                let _ = stdout.flush();
                return match stop {
                    StopReason::NoContent | StopReason::Terminal(_) => 0,
                    _ => 1,
                };
            }
            ClientEvent::Dropped(error) => {
                eprintln!("tail: skipped an event: {error}");
                continue;
            }
            other => {
                eprintln!("tail: {other:?}");
                continue;
            }
        };
        // A closed stdout (`| head`) ends the program like any stop.
        if writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return 1;
        }
    }
    1
}

/// `s` as a JSON string. (The lines are written by hand so that their keys come in the
/// documented order.)
fn text(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn parse<R: Runtime>(
    runtime: R,
    mut args: impl Iterator<Item = String>,
) -> Result<EventSource<R>, String> {
    let mut url = None;
    let mut headers = Vec::new();
    let mut last_event_id = None;
    let mut until = None;
    let mut config = Config::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-H" | "--header" => {
                let header = value("-H")?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or(format!("{header:?} is not 'Name: value'"))?;
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "--last-event-id" => last_event_id = Some(value("--last-event-id")?),
            "--until" => until = Some(value("--until")?),
            "--max-retries" => {
                let n = value("--max-retries")?;
                config.max_retries = Some(n.parse().map_err(|_| format!("{n:?} is not a number"))?);
            }
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let url = url.ok_or("a URL is needed")?;
    let request = ssewire_client_transport::Request::get(&url).map_err(|e| e.to_string())?;
    let mut events = EventSource::new(runtime, request).with_config(config);
    for (name, value) in headers {
        events = events
            .with_header(&name, &value)
            .map_err(|e| e.to_string())?;
    }
    if let Some(id) = last_event_id {
        events = events.with_last_event_id(EventId::new(id).map_err(|e| e.to_string())?);
    }
    if let Some(until) = until {
        events = events.with_terminal(move |event| event.data() == until);
    }
    Ok(events)
}

/// Why it reconnects, in words.
pub fn reason(reason: &Reason) -> String {
    match reason {
        Reason::Ended(ended) => ended_reason(ended),
        Reason::Status { status, .. } => format!("status {}", status.as_u16()),
        other => format!("{other:?}"),
    }
}

fn ended_reason(ended: &Ended) -> String {
    match ended {
        Ended::Clean => "end of stream".to_owned(),
        Ended::Truncated => "end of stream inside an event".to_owned(),
        Ended::Error(kind) => format!("error: {kind}"),
        Ended::IdleTimeout => "idle timeout".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Why it stopped, in words.
pub fn stop_reason(stop: &StopReason) -> String {
    match stop {
        StopReason::NoContent => "no content (204)".to_owned(),
        StopReason::Rejected(rejected) => format!(
            "rejected: status {}, {}",
            rejected.status.as_u16(),
            rejected
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type")
        ),
        StopReason::Terminal(_) => "terminal event".to_owned(),
        StopReason::Exhausted { attempts, last } => {
            format!("gave up after {attempts} attempts: {}", reason(last))
        }
        StopReason::Ended(ended) => ended_reason(ended),
        StopReason::Closed => "closed".to_owned(),
        other => format!("{other:?}"),
    }
}
