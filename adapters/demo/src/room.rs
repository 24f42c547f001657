//! The live-room demo: one [`Hub`] broadcasts to every page, and a page that reconnects gets what it missed.
//!
//! With `REDIS_URL` set ([`Room::from_env`]), the room is shared by every instance run against
//! that Redis ([`RedisHub`], topic `room`): a message posted on one reaches the pages of all, and
//! a page that reconnects to another instance resumes there.
//!
//! Routes:
//! - `GET /`: the room page;
//! - `POST /say` (form fields `name`, `text`): publishes a message to everyone, answers `204`;
//! - `GET /events`: the room's event stream, resuming after the request's `Last-Event-ID`;
//! - `POST /drop`: ends every open stream (as a deploy would): pages reconnect and catch up.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ssewire::Event;
use ssewire_redis::RedisHub;
use ssewire_server::{Method, Request, Response, StatusCode};
use ssewire_stream::{Hub, KeepAlive};

const PAGE: &str = include_str!("../pages/room.html");

/// The room's events: this process's hub, or one shared through Redis by every instance.
#[derive(Debug, Clone)]
pub enum Room {
    /// One process (no `REDIS_URL`).
    Local(Hub),
    /// Every instance run against the same Redis.
    Redis(RedisHub),
}

impl From<Hub> for Room {
    fn from(hub: Hub) -> Self {
        Room::Local(hub)
    }
}

/// The Redis reader a [`Room::Redis`] needs running: spawn it on the runtime.
pub type Reader = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

impl Room {
    /// The room `REDIS_URL` asks for (a Redis URL: `redis://127.0.0.1/`,
    /// `redis+unix:///run/redis.sock`) and its reader to spawn; without it, a local hub.
    ///
    /// # Errors
    ///
    /// Redis cannot be reached at `REDIS_URL`.
    pub async fn from_env() -> std::io::Result<(Room, Option<Reader>)> {
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => {
                let (hub, reader) =
                    RedisHub::connect(&url, &[TOPIC], ssewire_redis::Config::default()).await?;
                Ok((Room::Redis(hub), Some(Box::pin(reader))))
            }
            _ => Ok((Room::Local(Hub::default()), None)),
        }
    }

    /// This instance's hub of the room.
    fn hub(&self) -> &Hub {
        match self {
            Room::Local(hub) => hub,
            Room::Redis(redis) => redis
                .hub(TOPIC)
                .unwrap_or_else(|| unreachable!("connected with the topic")),
        }
    }
}

/// The room's topic in Redis.
const TOPIC: &str = "room";

/// Routes one request.
pub async fn handle(room: impl Into<Room>, request: Request) -> Response {
    let room = room.into();
    match (request.method().clone(), request.path()) {
        (Method::GET, "/") => Response::html(PAGE),
        (Method::POST, "/say") => say(&room, &request).await,
        (Method::GET, "/events") => {
            let subscription = match &room {
                Room::Local(hub) => hub.subscribe(request.last_event_id()),
                Room::Redis(redis) => match redis.subscribe(TOPIC, request.last_event_id()).await {
                    Ok(subscription) => subscription,
                    Err(e) => return server_error(e),
                },
            };
            Response::sse_stream(subscription).with_keep_alive(KeepAlive {
                retry: Some(Duration::from_millis(1000)),
                ..KeepAlive::default()
            })
        }
        (Method::POST, "/drop") => {
            // This instance's pages only.
            room.hub().disconnect_all();
            Response::status(StatusCode::NO_CONTENT)
        }
        _ => Response::not_found(),
    }
}

fn server_error(e: impl std::fmt::Display) -> Response {
    Response::bytes(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/plain; charset=utf-8",
        format!("{e}\n"),
    )
}

async fn say(room: &Room, request: &Request) -> Response {
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
        Ok(event) => match room {
            Room::Local(hub) => {
                hub.publish(&event);
                Response::status(StatusCode::NO_CONTENT)
            }
            Room::Redis(redis) => match redis.publish(TOPIC, &event).await {
                Ok(_) => Response::status(StatusCode::NO_CONTENT),
                Err(e) => server_error(e),
            },
        },
        Err(e) => Response::bytes(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            e.to_string(),
        ),
    }
}
