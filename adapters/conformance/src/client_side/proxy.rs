//! The chat demo's AI-proxy mode end to end: the demo's upstream model on one port, the proxy
//! on another, read with the client as a browser would read it.

use std::time::Duration;

use futures_lite::StreamExt;
use ssewire_client_transport::{ClientEvent, Config, EventSource, StopReason};
use ssewire_demo::proxy::{self, Proxy, ProxyRuntime};
use ssewire_server::Server;

use crate::client::within;

/// The upstream model on `127.0.0.1:0`.
async fn upstream<R: ProxyRuntime>(runtime: R) -> Server<R> {
    ssewire_server::serve(
        runtime,
        "127.0.0.1:0".parse().unwrap(),
        ssewire_server::Config::default(),
        proxy::upstream::<R>,
    )
    .await
    .expect("binding the upstream")
}

/// The demo proxying to `upstream_url`, on `127.0.0.1:0`.
async fn demo<R: ProxyRuntime>(runtime: R, upstream_url: String) -> Server<R> {
    let demo = Proxy::new(upstream_url);
    ssewire_server::serve(
        runtime,
        "127.0.0.1:0".parse().unwrap(),
        ssewire_server::Config::default(),
        move |request| demo.handle::<R>(request),
    )
    .await
    .expect("binding the demo")
}

/// What the browser gets from `GET /api/proxy_stream?{query}`: `type: data` per event, up to
/// and with `done` (which must come within 10 s).
async fn browser_view<R: ProxyRuntime>(demo: &Server<R>, query: &str) -> Vec<String> {
    let url = format!("http://{}/api/proxy_stream?{query}", demo.local_addr());
    let mut events = EventSource::<R>::get(&url)
        .unwrap()
        .with_config(Config {
            reconnect: false,
            ..Config::default()
        })
        .with_terminal(|event| event.event_type() == "done");
    let mut seen = Vec::new();
    let read = async {
        while let Some(event) = events.next().await {
            match event {
                ClientEvent::Event(event) => {
                    seen.push(format!("{}: {}", event.event_type(), event.data()));
                }
                ClientEvent::Closed(StopReason::Terminal(event)) => {
                    seen.push(format!("{}: {}", event.event_type(), event.data()));
                }
                ClientEvent::Closed(other) => panic!("the demo's stream stopped: {other:?}"),
                _ => {}
            }
        }
    };
    within::<R, _>(Duration::from_secs(10), "a done event", read).await;
    seen
}

/// Shuts `servers` down.
async fn stop<R: ProxyRuntime>(servers: &[&Server<R>]) {
    for server in servers {
        server.shutdown(Duration::from_millis(100)).await;
    }
}

/// The tokens, then `done`.
pub async fn answer_is_re_streamed_token_by_token<R: ProxyRuntime>(runtime: R) {
    let upstream = upstream(runtime.clone()).await;
    let demo = demo(
        runtime,
        format!("http://{}/v1/chat/completions", upstream.local_addr()),
    )
    .await;
    let seen = browser_view(&demo, "message=hi%20%3Cthere%3E").await;
    let reply = ssewire_demo::chat::reply_to("hi <there>");
    assert_eq!(
        seen.first().map(String::as_str),
        Some("thinking: Asking the upstream model…")
    );
    assert_eq!(seen.last().map(String::as_str), Some("done: "));
    let tokens: Vec<&str> = seen[1..seen.len() - 1]
        .iter()
        .map(|line| line.strip_prefix("message: ").expect("a token"))
        .collect();
    assert_eq!(tokens.len(), reply.split(' ').count(), "{seen:?}");
    assert_eq!(tokens.concat(), reply);

    // The HTMX panel's copy is escaped.
    let seen = browser_view(&demo, "message=%3Cb%3E&html=1").await;
    let text: String = seen
        .iter()
        .filter_map(|line| line.strip_prefix("message: "))
        .collect();
    assert_eq!(text, "This is a streaming response to: &lt;b&gt;.");
    stop(&[&demo, &upstream]).await;
}

/// A cut upstream, a refused request and an upstream that is not there each end the browser's
/// stream with an `error` event saying so, then `done`.
pub async fn upstream_failures_become_error_events<R: ProxyRuntime>(runtime: R) {
    let upstream = upstream(runtime.clone()).await;
    let base = format!("http://{}", upstream.local_addr());

    let demo_ok = demo(runtime.clone(), format!("{base}/v1/chat/completions")).await;
    let seen = browser_view(&demo_ok, "message=hi&cut=1").await;
    let n = seen.len();
    assert_eq!(
        seen[n - 2],
        "error: the upstream stopped mid-answer (end of stream inside an event)",
        "{seen:?}"
    );
    assert_eq!(seen[n - 1], "done: ");
    let tokens = seen.iter().filter(|l| l.starts_with("message: ")).count();
    assert!(
        tokens > 0 && tokens < 7,
        "half of the answer came first: {seen:?}"
    );

    let demo_404 = demo(runtime.clone(), format!("{base}/v1/no-such-model")).await;
    let seen = browser_view(&demo_404, "message=hi").await;
    assert_eq!(
        seen[1..],
        [
            "error: the upstream refused the request (rejected: status 404, text/plain; charset=utf-8)",
            "done: "
        ],
        "{seen:?}"
    );

    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let demo_gone = demo(runtime, format!("http://{closed_port}/v1/chat/completions")).await;
    let seen = browser_view(&demo_gone, "message=hi").await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen[1].starts_with("error: the upstream could not be reached (error: "),
        "{seen:?}"
    );
    stop(&[&demo_ok, &demo_404, &demo_gone, &upstream]).await;
}
