//! The `tail_async_std` example's logic (`ssewire_demo::tail`, which both adapters' `tail`
//! examples call with their runtime) on async-std against a real server: the JSON lines it
//! prints and its exit status (the smol shell's `tests/tail.rs`, on this runtime).
//!
//! The examples' `main` is two lines around `tail::run`; cargo builds no binary of an example
//! for an integration test (`CARGO_BIN_EXE_*` is for `[[bin]]` targets only), so the test calls
//! `tail::run_to`, which is `run` with a buffer in place of stdout.

use std::time::Duration;

use ssewire_async_std::{AsyncStd, Event, KeepAlive, Request, Response, Server, StatusCode, serve};

/// `/events`: two events and a clean end, then `204` once the client says it has event 2;
/// `/echo`: what the request carried, then `bye`; `/private`: `401`.
async fn server() -> Server {
    serve(
        "127.0.0.1:0".parse().unwrap(),
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
fn tail(args: &[&str]) -> (Vec<String>, i32) {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let mut out = Vec::new();
    let status = async_std::task::block_on(async_std::future::timeout(
        Duration::from_secs(10),
        ssewire_demo::tail::run_to(AsyncStd, args, &mut out),
    ))
    .expect("tail stops within 10 s");
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

/// Open, the events with their type and last event ID, a retry after the clean end, and the
/// `204` that stops it: exit 0.
#[test]
fn events_retry_and_204() {
    let server = async_std::task::block_on(server());
    let url = format!("http://{}/events", server.local_addr());
    let (lines, status) = tail(&[&url]);
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
}

/// `-H` and `--last-event-id` go out with the request; `--until` stops at that data: exit 0.
#[test]
fn headers_last_event_id_and_until() {
    let server = async_std::task::block_on(server());
    let url = format!("http://{}/echo", server.local_addr());
    let (lines, status) = tail(&[
        &url,
        "-H",
        "X-Token: t0",
        "--last-event-id",
        "7",
        "--until",
        "bye",
    ]);
    assert_eq!(status, 0, "{lines:#?}");
    assert_eq!(
        lines,
        [
            r#"{"kind":"open","status":200}"#,
            r#"{"kind":"event","type":"message","data":"token t0, last event id 7","id":"7"}"#,
            r#"{"kind":"closed","reason":"terminal event"}"#,
        ]
    );
}

/// A `401` stops it for good with the status and type: exit 1.
#[test]
fn rejected_status_exits_1() {
    let server = async_std::task::block_on(server());
    let url = format!("http://{}/private", server.local_addr());
    let (lines, status) = tail(&[&url]);
    assert_eq!(status, 1);
    assert_eq!(
        lines,
        [r#"{"kind":"closed","reason":"rejected: status 401, text/plain; charset=utf-8"}"#]
    );
}

/// A bad command line prints nothing on stdout: exit 2.
#[test]
fn bad_command_line_exits_2() {
    for args in [
        &[][..],
        &["http://127.0.0.1:1/", "-H"][..],
        &["http://127.0.0.1:1/", "-H", "no colon"][..],
        &["http://127.0.0.1:1/", "--max-retries", "many"][..],
        &["ftp://127.0.0.1/"][..],
    ] {
        let (lines, status) = tail(args);
        assert_eq!((lines.len(), status), (0, 2), "{args:?}");
    }
}
