//! The AI-proxy demo: the chat page's answer comes from an upstream OpenAI-style streaming API,
//! consumed with the ssewire client and re-streamed to the browser token by token.
//!
//! ```text
//!   browser ──GET /api/proxy_stream?message=M──► Proxy ──POST /v1/chat/completions──► upstream
//!      ◄── thinking, one event per token, done ──┘  ◄── data: {"choices":[{"delta":…}]} … [DONE]
//!      (or error, then done, when the upstream fails)
//! ```
//!
//! - [`upstream`] is the demo's own upstream model: `POST /v1/chat/completions` with an OpenAI
//!   chat body streams [`reply_to`](crate::chat::reply_to) the last message one word per chunk
//!   (`data: {"choices":[{"delta":{"content":"…"}}]}` every 30 ms), then `data: [DONE]`. With
//!   `?cut=1` it stops after half of the words inside an unfinished chunk, as a connection cut
//!   mid-answer looks to the client.
//! - [`Proxy`] serves the chat demo ([`chat::handle`]) plus the proxy mode:
//!   `GET /api/proxy_stream?message=M[&cut=1][&html=1]` and the HTMX fragment
//!   `GET /chat?proxy=1&message=M[&cut=1]`. Its `send` producer makes the upstream request with
//!   [`EventSource`] (a `POST`, reconnecting off: a completion cannot be resumed; `[DONE]` as the
//!   terminal event; a 10 s bound on the response head and on silence), sends each token's text
//!   as a `message` event, and ends with a `done` event. An upstream failure (a cut, a rejected
//!   status, a connection error, silence) becomes an `error` event saying what happened, then
//!   `done`: the browser never waits on a dead upstream.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use ssewire::Event;
use ssewire_client_transport::{ClientEvent, Config, EventSource, StopReason};
use ssewire_server::{Method, Request, Response, StatusCode};
use ssewire_stream::Sender;

use crate::chat;

/// What the proxy needs of a runtime: the server's (its timer) and the client's (TCP dialing and
/// a timer). The runtime shells' types (`ssewire_smol::Smol`, `ssewire_async_std::AsyncStd`)
/// are both.
pub trait ProxyRuntime:
    ssewire_server::Runtime + ssewire_client_transport::Runtime + Default
{
}

impl<R> ProxyRuntime for R where
    R: ssewire_server::Runtime + ssewire_client_transport::Runtime + Default
{
}

/// How long the upstream may take to answer, and to stay silent mid-answer, before the browser
/// is told it failed.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause between two upstream chunks.
const TOKEN_INTERVAL: Duration = Duration::from_millis(30);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The demo's upstream model: routes one request (`POST /v1/chat/completions`).
///
/// # Examples
///
/// ```no_run
/// # async fn example<R: ssewire_server::Runtime>(runtime: R) -> std::io::Result<()> {
/// let addr = "127.0.0.1:0".parse().unwrap();
/// let upstream = ssewire_server::serve(
///     runtime,
///     addr,
///     ssewire_server::Config::default(),
///     ssewire_demo::proxy::upstream::<R>,
/// )
/// .await?;
/// println!("http://{}/v1/chat/completions", upstream.local_addr());
/// # Ok(())
/// # }
/// ```
pub async fn upstream<R: ssewire_server::Runtime>(request: Request) -> Response {
    match request.path() {
        "/v1/chat/completions" if request.method() == Method::POST => completion::<R>(&request),
        "/v1/chat/completions" => Response::bytes(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "POST a chat completion request\n",
        ),
        _ => Response::not_found(),
    }
}

/// The words of `text`, each but the first with the space before it (as a model's tokens come).
fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for (index, word) in text.split(' ').enumerate() {
        tokens.push(if index == 0 {
            word.to_owned()
        } else {
            format!(" {word}")
        });
    }
    tokens
}

/// One OpenAI-style chunk carrying `content`.
fn chunk(content: &str) -> String {
    serde_json::json!({"choices": [{"delta": {"content": content}}]}).to_string()
}

fn completion<R: ssewire_server::Runtime>(request: &Request) -> Response {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(request.body()) else {
        return Response::bytes(
            StatusCode::BAD_REQUEST,
            "application/json",
            r#"{"error":{"message":"the body is not JSON"}}"#,
        );
    };
    let message = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|last| last["content"].as_str())
        .unwrap_or_default();
    let tokens = tokens(&chat::reply_to(message));
    let cut = request.query_param("cut").is_some();
    let keep = if cut { tokens.len() / 2 } else { tokens.len() };
    Response::sse(move |send| async move {
        for token in &tokens[..keep] {
            R::sleep(TOKEN_INTERVAL).await;
            send.send(Event::new(chunk(token))).await?;
        }
        if cut {
            // The start of a chunk and no end: what a client sees when the connection drops in
            // the middle of an event.
            send.send_bytes(Bytes::from_static(
                b"data: {\"choices\":[{\"delta\":{\"content\":\"",
            ))
            .await?;
            return Ok(());
        }
        send.send("[DONE]").await?;
        Ok::<(), BoxError>(())
    })
}

/// The chat demo with the AI-proxy mode, its upstream at a URL.
///
/// # Examples
///
/// ```no_run
/// # async fn example<R: ssewire_demo::proxy::ProxyRuntime>(runtime: R) -> std::io::Result<()> {
/// use ssewire_demo::proxy::{self, Proxy};
/// use ssewire_server::Config;
///
/// let any_port = "127.0.0.1:0".parse().unwrap();
/// let upstream = ssewire_server::serve(runtime.clone(), any_port, Config::default(), proxy::upstream::<R>).await?;
/// let demo = Proxy::new(format!("http://{}/v1/chat/completions", upstream.local_addr()));
/// let addr = "127.0.0.1:3000".parse().unwrap();
/// let server = ssewire_server::serve(runtime, addr, Config::default(), move |request| {
///     demo.handle::<R>(request)
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Proxy {
    /// The upstream's chat completions URL.
    upstream: Arc<str>,
}

impl Proxy {
    /// The chat demo whose proxy mode streams from `upstream`, an OpenAI-style chat completions
    /// URL (`http://…/v1/chat/completions`).
    ///
    /// # Examples
    ///
    /// ```
    /// let demo = ssewire_demo::proxy::Proxy::new("http://127.0.0.1:3001/v1/chat/completions");
    /// # drop(demo);
    /// ```
    pub fn new(upstream: impl Into<String>) -> Self {
        Proxy {
            upstream: upstream.into().into(),
        }
    }

    /// Routes one request: the proxy mode's routes, and the chat demo's for the rest.
    ///
    /// # Examples
    ///
    /// See [`Proxy`].
    pub fn handle<R: ProxyRuntime>(
        &self,
        request: Request,
    ) -> impl Future<Output = Response> + Send + use<R> {
        let upstream = self.upstream.clone();
        async move {
            match request.path() {
                "/api/proxy_stream" => proxy_stream::<R>(&upstream, &request),
                "/chat" if request.query_param("proxy").is_some() => {
                    chat::fragment(&request, "/api/proxy_stream")
                }
                _ => chat::handle::<R>(request).await,
            }
        }
    }
}

fn proxy_stream<R: ProxyRuntime>(upstream: &str, request: &Request) -> Response {
    let message = request.query_param("message").unwrap_or_default();
    // HTMX swaps the data in as HTML: escape it for that panel.
    let html = request.query_param("html").is_some();
    let url = match request.query_param("cut") {
        Some(_) => format!("{upstream}?cut=1"),
        None => upstream.to_owned(),
    };
    let body = serde_json::json!({
        "model": "ssewire-demo",
        "stream": true,
        "messages": [{"role": "user", "content": message}],
    })
    .to_string();
    Response::sse(move |send| async move {
        send.send(Event::new("Asking the upstream model…").with_event("thinking")?)
            .await?;
        if let Err(failure) = relay::<R>(&url, body, &send, html).await? {
            send.send(Event::new(failure).with_event("error")?).await?;
        }
        send.send(Event::new("").with_event("done")?).await?;
        Ok::<(), BoxError>(())
    })
}

/// Streams the upstream completion at `url` to `send`, one `message` event per token. The outer
/// error: the browser is gone; the inner one: the upstream failed, in words.
async fn relay<R: ProxyRuntime>(
    url: &str,
    body: String,
    send: &Sender,
    html: bool,
) -> Result<Result<(), String>, BoxError> {
    let request = match ssewire_client_transport::Request::post(url, body) {
        Ok(request) => request,
        Err(e) => return Ok(Err(format!("upstream URL {url}: {e}"))),
    };
    let config = Config {
        // A completion cannot be resumed: a new request would start the answer over.
        reconnect: false,
        idle_timeout: Some(UPSTREAM_TIMEOUT),
        ..Config::default()
    };
    let mut upstream = EventSource::new(R::default(), request)
        .with_header("content-type", "application/json")?
        .with_config(config)
        .with_timeout(UPSTREAM_TIMEOUT)
        .with_terminal(|event| event.data() == "[DONE]");
    let mut opened = false;
    while let Some(event) = poll_fn(|cx| Pin::new(&mut upstream).poll_next(cx)).await {
        match event {
            ClientEvent::Open { .. } => opened = true,
            ClientEvent::Event(event) => {
                let Ok(chunk) = serde_json::from_str::<serde_json::Value>(event.data()) else {
                    return Ok(Err(format!(
                        "the upstream sent a chunk that is not JSON: {:?}",
                        event.data()
                    )));
                };
                // Chunks without content (a role, a finish reason) carry nothing to show.
                let Some(content) = chunk["choices"][0]["delta"]["content"].as_str() else {
                    continue;
                };
                let text = if html {
                    content.chars().map(chat::escape_html).collect()
                } else {
                    content.to_owned()
                };
                send.send(text).await?;
            }
            ClientEvent::Closed(StopReason::Terminal(_)) => return Ok(Ok(())),
            ClientEvent::Closed(stop) => return Ok(Err(failure(&stop, opened))),
            _ => {}
        }
    }
    Ok(Err("the upstream stream ended without [DONE]".to_owned()))
}

/// What the browser is told when the upstream stops before `[DONE]`, after an open stream or
/// before one.
fn failure(stop: &StopReason, opened: bool) -> String {
    let why = crate::tail::stop_reason(stop);
    match stop {
        StopReason::Ended(_) if opened => format!("the upstream stopped mid-answer ({why})"),
        StopReason::Ended(_) => format!("the upstream could not be reached ({why})"),
        StopReason::Rejected(_) => format!("the upstream refused the request ({why})"),
        _ => format!("the upstream failed ({why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_the_spaces() {
        assert_eq!(tokens("a bc d"), ["a", " bc", " d"]);
        assert_eq!(tokens("a bc d").concat(), "a bc d");
    }

    #[test]
    fn chunks_are_openai_deltas() {
        assert_eq!(
            chunk("a \"b\""),
            r#"{"choices":[{"delta":{"content":"a \"b\""}}]}"#
        );
    }
}
