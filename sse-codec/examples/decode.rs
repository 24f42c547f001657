//! Decodes a raw SSE byte stream from stdin and prints one JSON object per dispatched event.
//!
//! ```text
//! curl -N http://127.0.0.1:3000/api/chat_stream?message=hi | cargo run -q -p ssewire --example decode
//! ```
//!
//! Output, one line per item, flushed at once:
//!
//! - `{"event":"message","data":"hello","id":""}` for each event a browser would dispatch: its type,
//!   its data, and the last event ID at dispatch;
//! - `{"retry":1500}` when a valid `retry` field is seen.
//!
//! An unterminated final event prints nothing. Exit status 1 if a limit was hit.

use std::io::{self, Read, Write};

use bytes::BytesMut;
use ssewire::{Decoder, Frame};

fn main() -> io::Result<()> {
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut failed = false;
    loop {
        let n = match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let line = match decoder.decode_frame(&mut buf) {
                Ok(None) => break,
                Ok(Some(Frame::Retry(retry))) => format!("{{\"retry\":{}}}", retry.as_millis()),
                // Browser semantics: only events with data are dispatched, with the last event ID.
                Ok(Some(Frame::Event(event))) if event.has_data() => format!(
                    "{{\"event\":{},\"data\":{},\"id\":{}}}",
                    json_string(event.event_type()),
                    json_string(event.data()),
                    json_string(decoder.last_event_id()),
                ),
                Ok(Some(_)) => continue,
                Err(e) => {
                    eprintln!("decode: {e}");
                    failed = true;
                    continue;
                }
            };
            writeln!(stdout, "{line}")?;
            stdout.flush()?;
        }
    }
    decoder.finish(&mut buf);
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

/// A JSON string literal (keys are printed in a fixed order, so no map is built).
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}
