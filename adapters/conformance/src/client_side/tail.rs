//! The `tail` examples' logic (`ssewire_demo::tail`, which both adapters' `tail` examples call
//! with their runtime) against a real server: the JSON lines it prints and its exit status.
//!
//! The examples' `main` is two lines around `tail::run`; cargo builds no binary of an example
//! for an integration test (`CARGO_BIN_EXE_*` is for `[[bin]]` targets only), so the test calls
//! `tail::run_to`, which is `run` with a buffer in place of stdout.

use std::time::Duration;

use ssewire::Event;
use ssewire_demo::proxy::ProxyRuntime;
use ssewire_server::{Config, Request, Response, Server, StatusCode};
use ssewire_stream::KeepAlive;

use crate::client::within;

/// `/events`: two events and a clean end, then `204` once the client says it has event 2;
/// `/echo`: what the request carried, then `bye`; `/private`: `401`.
async fn server<R: ProxyRuntime>(runtime: R) -> Server<R> {
    ssewire_server::serve(
        runtime,
        "127.0.0.1:0".parse().unwrap(),
        Config::default(),
        |request: Request| async move {
            match request.path() {
                "/events" if request.last_event_id() == Some("2") => {
                    Response::status(StatusCode::NO_CONTENT)
                }
                "/events" => Response::sse(|send| async move {
                    send.send(Event::new("one").with_id("1")?).await?;
                    send.send(
                        Event::new("two \"quoted\"\nline")
                            .with_event("note")?
                            .with_id("2")?,
                    )
                    .await?;
                    Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                })
                .with_keep_alive(KeepAlive {
                    retry: Some(Duration::from_millis(20)),
                    ..KeepAlive::default()
                }),
                "/echo" => {
                    let token = request.header("x-token").unwrap_or("-").to_owned();
                    let last = request.last_event_id().unwrap_or("-").to_owned();
                    Response::sse(move |send| async move {
                        send.send(format!("token {token}, last event id {last}"))
                            .await?;
                        send.send("bye").await
                    })
                }
                "/private" => Response::bytes(
                    StatusCode::UNAUTHORIZED,
                    "text/plain; charset=utf-8",
                    "log in first",
                ),
                _ => Response::not_found(),
            }
        },
    )
    .await
    .expect("binding 127.0.0.1:0")
}

/// `tail ARGS…`: its stdout lines and exit status, within 10 s.
async fn tail<R: ProxyRuntime>(runtime: R, args: &[&str]) -> (Vec<String>, i32) {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let mut out = Vec::new();
    let status = within::<R, _>(
        Duration::from_secs(10),
        "tail stops",
        ssewire_demo::tail::run_to(runtime, args, &mut out),
    )
    .await;
    let text = String::from_utf8(out).expect("UTF-8 on stdout");
    (text.lines().map(str::to_owned).collect(), status)
}

/// Every line is one JSON object.
fn parse(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// Shuts `server` down.
async fn stop<R: ProxyRuntime>(server: Server<R>) {
    server.shutdown(Duration::from_millis(100)).await;
}

/// Open, the events with their type and last event ID, a retry after the clean end, and the
/// `204` that stops it: exit 0.
pub async fn events_retry_and_204<R: ProxyRuntime>(runtime: R) {
    let server = server(runtime.clone()).await;
    let url = format!("http://{}/events", server.local_addr());
    let (lines, status) = tail(runtime, &[&url]).await;
    assert_eq!(status, 0, "{lines:#?}");
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(lines[0], r#"{"kind":"open","status":200}"#);
    assert_eq!(
        lines[1],
        r#"{"kind":"event","type":"message","data":"one","id":"1"}"#
    );
    assert_eq!(
        lines[2],
        r#"{"kind":"event","type":"note","data":"two \"quoted\"\nline","id":"2"}"#
    );
    let retry = &parse(&lines)[3];
    assert_eq!(retry["kind"], "retry");
    assert_eq!(retry["reason"], "end of stream");
    assert!(retry["after_ms"].as_u64().is_some(), "{retry}");
    assert_eq!(lines[4], r#"{"kind":"closed","reason":"no content (204)"}"#);
    stop(server).await;
}

/// `-H` and `--last-event-id` go out with the request; `--until` stops at that data: exit 0.
pub async fn headers_last_event_id_and_until<R: ProxyRuntime>(runtime: R) {
    let server = server(runtime.clone()).await;
    let url = format!("http://{}/echo", server.local_addr());
    let (lines, status) = tail(
        runtime,
        &[
            &url,
            "-H",
            "X-Token: t0",
            "--last-event-id",
            "7",
            "--until",
            "bye",
        ],
    )
    .await;
    assert_eq!(status, 0, "{lines:#?}");
    assert_eq!(
        lines,
        [
            r#"{"kind":"open","status":200}"#,
            r#"{"kind":"event","type":"message","data":"token t0, last event id 7","id":"7"}"#,
            r#"{"kind":"closed","reason":"terminal event"}"#,
        ]
    );
    stop(server).await;
}

/// A `401` stops it for good with the status and type: exit 1.
pub async fn rejected_status_exits_1<R: ProxyRuntime>(runtime: R) {
    let server = server(runtime.clone()).await;
    let url = format!("http://{}/private", server.local_addr());
    let (lines, status) = tail(runtime, &[&url]).await;
    assert_eq!(status, 1);
    assert_eq!(
        lines,
        [r#"{"kind":"closed","reason":"rejected: status 401, text/plain; charset=utf-8"}"#]
    );
    stop(server).await;
}

/// A bad command line prints nothing on stdout: exit 2.
pub async fn bad_command_line_exits_2<R: ProxyRuntime>(runtime: R) {
    for args in [
        &[][..],
        &["http://127.0.0.1:1/", "-H"][..],
        &["http://127.0.0.1:1/", "-H", "no colon"][..],
        &["http://127.0.0.1:1/", "--max-retries", "many"][..],
        &["ftp://127.0.0.1/"][..],
    ] {
        let (lines, status) = tail(runtime.clone(), args).await;
        assert_eq!((lines.len(), status), (0, 2), "{args:?}");
    }
}
