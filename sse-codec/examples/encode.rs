//! Encodes events given as JSON lines on stdin into the SSE wire format on stdout.
//!
//! ```text
//! echo '{"data":"hello","event":"greet","id":"1"}' | cargo run -q -p ssewire --features json --example encode
//! ```
//!
//! Each input line is one object: `{"data":…,"event":"…","id":"…","retry":1500,"comment":"…"}`.
//! Every key but `data` is optional; `data` may be any JSON value: a string is sent as-is, any
//! other value as compact JSON (the Nex rules). A line that is not a valid event (bad JSON, CR or
//! LF in `event` or `id`, NUL in `id`) gets a message on stderr naming its line number and is
//! skipped; the exit status is then 1, after all input is read.

use std::io::{self, BufRead, Write};
use std::time::Duration;

use bytes::BytesMut;
use serde_json::Value;
use ssewire::{Error, Event, IntoEvent};

fn main() -> io::Result<()> {
    let stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut buf = BytesMut::new();
    let mut failed = false;
    for (index, line) in stdin.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match event_from_line(&line) {
            Ok(event) => {
                ssewire::encode(&event, &mut buf);
                stdout.write_all(&buf)?;
                stdout.flush()?;
                buf.clear();
            }
            Err(e) => {
                eprintln!("line {}: {e}", index + 1);
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

fn event_from_line(line: &str) -> Result<Event, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("expected a JSON object".into());
    };
    let data = map.remove("data").ok_or("missing \"data\"")?;
    let mut event = match data {
        Value::String(text) => Event::new(text),
        other => other.into_event().map_err(describe)?,
    };
    if let Some(name) = map.remove("event") {
        let Value::String(name) = name else {
            return Err("\"event\" must be a string".into());
        };
        event = event.with_event(name).map_err(describe)?;
    }
    if let Some(id) = map.remove("id") {
        let id = match id {
            Value::String(id) => id,
            Value::Number(n) => n.to_string(),
            _ => return Err("\"id\" must be a string or a number".into()),
        };
        event = event.with_id(id).map_err(describe)?;
    }
    if let Some(retry) = map.remove("retry") {
        let ms = retry
            .as_u64()
            .ok_or("\"retry\" must be a non-negative integer")?;
        event = event.with_retry(Duration::from_millis(ms));
    }
    if let Some(comment) = map.remove("comment") {
        let Value::String(comment) = comment else {
            return Err("\"comment\" must be a string".into());
        };
        event = event.with_comment(comment);
    }
    Ok(event)
}

fn describe(e: Error) -> String {
    e.to_string()
}
