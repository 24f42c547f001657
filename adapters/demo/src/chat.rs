//! The AI-chat demo: the same routes and producers on any runtime, generic over
//! [`Runtime`] for its timer.
//!
//! Routes:
//! - `GET /`: the chat page (HTMX `sse` extension panel + plain `EventSource` panel);
//! - `GET /chat?message=M`: the HTMX fragment that opens the stream;
//! - `GET /api/chat_stream?message=M`: the seed's producer: `AI is thinking...`, then the reply one
//!   character per event every 50 ms (ids count characters, so a reconnect resumes), then `done`;
//! - `GET /api/json`: JSON pushes (`{"id":1,"status":"ok"}`) and a custom event;
//! - `GET /counter` and `/api/counter`: events in bursts of three; the stream ends after each
//!   burst, the browser reconnects with `Last-Event-ID`, and after nine events `204` stops it;
//! - `GET /assets/htmx.min.js`, `/assets/sse.js`: HTMX and its SSE extension from `node_modules`
//!   when `npm ci` has run, otherwise a `302` to the same version on unpkg, so the page works on
//!   a fresh clone too.

use std::path::PathBuf;
use std::time::Duration;

use ssewire::{Event, Json};
use ssewire_server::{HeaderValue, Request, Response, Runtime, StatusCode, header};
use ssewire_stream::KeepAlive;

const PAGE: &str = include_str!("../pages/chat.html");
const COUNTER_PAGE: &str = include_str!("../pages/counter.html");

/// Routes one request.
pub async fn handle<R: Runtime>(request: Request) -> Response {
    match request.path() {
        "/" => Response::html(PAGE),
        "/counter" => Response::html(COUNTER_PAGE),
        "/chat" => fragment(&request, "/api/chat_stream"),
        "/api/chat_stream" => chat_stream::<R>(&request),
        "/api/json" => json_stream(),
        "/api/counter" => counter::<R>(&request),
        "/assets/htmx.min.js" => asset("htmx.org/dist/htmx.min.js", HTMX_CDN),
        "/assets/sse.js" => asset("htmx-ext-sse/dist/sse.js", HTMX_SSE_CDN),
        _ => Response::not_found(),
    }
}

/// The reply the mock AI streams.
pub fn reply_to(message: &str) -> String {
    format!("This is a streaming response to: {message}.")
}

fn chat_stream<R: Runtime>(request: &Request) -> Response {
    let message = request.query_param("message").unwrap_or_default();
    // HTMX swaps the data in as HTML: escape it for that panel.
    let html = request.query_param("html").is_some();
    // A reconnecting browser says how many characters it already has.
    let resume_from: usize = request.last_event_id_as().unwrap_or(0);
    Response::sse(move |send| async move {
        if resume_from == 0 {
            send.send(Event::new("AI is thinking...").with_event("thinking")?)
                .await?;
        }
        let reply = reply_to(&message);
        for (index, ch) in reply.chars().enumerate().skip(resume_from) {
            R::sleep(Duration::from_millis(50)).await;
            let text = if html {
                escape_html(ch)
            } else {
                ch.to_string()
            };
            send.send(Event::new(text).with_id((index + 1).to_string())?)
                .await?;
        }
        send.send(Event::new("").with_event("done")?).await?;
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    })
    .with_keep_alive(KeepAlive {
        retry: Some(Duration::from_millis(500)),
        ..KeepAlive::default()
    })
}

/// The HTMX fragment for `GET /chat?message=M[&cut=1]`: the user's bubble and an answer bubble
/// that streams from `stream` (the mock AI's or the proxy's route) until `done`, with a place for
/// an `error` event.
pub(crate) fn fragment(request: &Request, stream: &str) -> Response {
    let message = request.query_param("message").unwrap_or_default();
    let mut query: String = url_encode(&message);
    if request.query_param("cut").is_some() {
        query.push_str("&amp;cut=1");
    }
    // No whitespace between the tags: the bubbles keep line breaks (`pre-wrap`). A connection
    // error is an `error` event too, without data: HTMX must not swap that in.
    Response::html(format!(
        concat!(
            r#"<div class="bubble user">{user}</div>"#,
            r#"<div class="bubble ai" hx-ext="sse" sse-connect="{stream}?html=1&amp;message={query}" sse-close="done">"#,
            r#"<span class="status" sse-swap="thinking">…</span>"#,
            r#"<span class="reply" id="htmx-reply" sse-swap="message" hx-swap="beforeend"></span>"#,
            r#"<span class="error" id="htmx-error" sse-swap="error" hx-on::sse-before-message="if (event.detail.data === undefined) event.preventDefault()"></span>"#,
            r#"</div>"#,
        ),
        user = message.chars().map(escape_html).collect::<String>(),
        stream = stream,
        query = query,
    ))
}

fn json_stream() -> Response {
    #[derive(serde::Serialize)]
    struct Status {
        id: u32,
        status: &'static str,
    }
    Response::sse(|send| async move {
        send.send(Json(Status {
            id: 1,
            status: "ok",
        }))
        .await?;
        send.send(serde_json::json!({"id": 2, "status": "ok", "items": [1, 2, 3]}))
            .await?;
        send.send(serde_json::json!({"event": "my_event", "data": "payload", "id": "custom-1"}))
            .await?;
        send.send(serde_json::json!({"event": "done", "data": ""}))
            .await
    })
}

fn counter<R: Runtime>(request: &Request) -> Response {
    let last: u64 = request.last_event_id_as().unwrap_or(0);
    if last >= 9 {
        // 204 tells EventSource to stop reconnecting.
        return Response::status(StatusCode::NO_CONTENT);
    }
    let resumed = request.last_event_id().unwrap_or("").to_string();
    Response::sse(move |send| async move {
        for n in last + 1..=last + 3 {
            let data = format!("event {n} (Last-Event-ID on connect: {resumed:?})");
            send.send(Event::new(data).with_id(n.to_string())?).await?;
            R::sleep(Duration::from_millis(20)).await;
        }
        // Returning ends the stream: the browser reconnects after `retry`.
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    })
    .with_keep_alive(KeepAlive {
        retry: Some(Duration::from_millis(100)),
        ..KeepAlive::default()
    })
}

/// Where `npm ci` put the front-end packages: `SSEWIRE_NODE_MODULES`, or the repository's.
fn node_modules() -> PathBuf {
    std::env::var_os("SSEWIRE_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../node_modules"))
        })
}

/// The published copies of the exact versions in the repository's `package.json` (a test checks),
/// for a clone where `npm ci` has not run.
const HTMX_CDN: &str = "https://unpkg.com/htmx.org@2.0.11/dist/htmx.min.js";
const HTMX_SSE_CDN: &str = "https://unpkg.com/htmx-ext-sse@2.2.4/dist/sse.js";

/// `path` under `node_modules`, or a redirect to `cdn` when there is no local copy.
fn asset(path: &str, cdn: &'static str) -> Response {
    match std::fs::read(node_modules().join(path)) {
        Ok(bytes) => Response::bytes(StatusCode::OK, "text/javascript; charset=utf-8", bytes),
        // The demo command alone must show HTMX working; offline, the page falls back to plain
        // EventSource.
        Err(_) => Response::status(StatusCode::FOUND)
            .with_header(header::LOCATION, HeaderValue::from_static(cdn)),
    }
}

pub(crate) fn escape_html(ch: char) -> String {
    match ch {
        '<' => "&lt;".into(),
        '>' => "&gt;".into(),
        '&' => "&amp;".into(),
        '"' => "&quot;".into(),
        '\'' => "&#39;".into(),
        other => other.to_string(),
    }
}

fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CDN copies are the versions `npm ci` installs.
    #[test]
    fn cdn_urls_name_package_json_versions() {
        let manifest: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../package.json"
        )))
        .expect("package.json is JSON");
        for (package, url) in [("htmx.org", HTMX_CDN), ("htmx-ext-sse", HTMX_SSE_CDN)] {
            let version = manifest["dependencies"][package]
                .as_str()
                .expect("a version in package.json");
            let pinned = format!("https://unpkg.com/{package}@{version}/dist/");
            assert!(url.starts_with(&pinned), "{url} is not {pinned}…");
        }
    }

    /// Without a local copy the assets redirect to the CDN.
    #[test]
    fn missing_asset_redirects_to_the_cdn() {
        let response = asset("no-such-package/dist/none.js", HTMX_CDN);
        assert_eq!(response.status_code(), StatusCode::FOUND);
        assert_eq!(response.headers()[header::LOCATION], HTMX_CDN);
    }
}
