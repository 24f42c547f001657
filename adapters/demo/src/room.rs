//! The live-room demo: one [`Hub`] broadcasts to every page, and a page that reconnects gets what it missed.
//!
//! Routes:
//! - `GET /`: the room page;
//! - `POST /say` (form fields `name`, `text`): publishes a message to everyone, answers `204`;
//! - `GET /events`: the room's event stream, resuming after the request's `Last-Event-ID`;
//! - `POST /drop`: ends every open stream (as a deploy would): pages reconnect and catch up.

use std::time::Duration;

use ssewire::Event;
use ssewire_server::{Method, Request, Response, StatusCode};
use ssewire_stream::{Hub, KeepAlive};

const PAGE: &str = include_str!("../pages/room.html");

/// Routes one request.
pub async fn handle(hub: Hub, request: Request) -> Response {
    match (request.method().clone(), request.path()) {
        (Method::GET, "/") => Response::html(PAGE),
        (Method::POST, "/say") => say(&hub, &request),
        (Method::GET, "/events") => Response::sse_stream(hub.subscribe(request.last_event_id()))
            .with_keep_alive(KeepAlive {
                retry: Some(Duration::from_millis(1000)),
                ..KeepAlive::default()
            }),
        (Method::POST, "/drop") => {
            hub.disconnect_all();
            Response::status(StatusCode::NO_CONTENT)
        }
        _ => Response::not_found(),
    }
}

fn say(hub: &Hub, request: &Request) -> Response {
    let name = request
        .form_param("name")
        .unwrap_or_else(|| "anonymous".into());
    let Some(text) = request.form_param("text").filter(|t| !t.trim().is_empty()) else {
        return Response::bytes(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            "empty message\n",
        );
    };
    match Event::json(&serde_json::json!({"from": name, "text": text})) {
        Ok(event) => {
            hub.publish(&event);
            Response::status(StatusCode::NO_CONTENT)
        }
        Err(e) => Response::bytes(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            e.to_string(),
        ),
    }
}
