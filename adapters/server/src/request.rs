//! The request as a handler sees it.

use alloc::string::String;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};

/// The request as a handler sees it: method, path, query, headers, the parsed `Last-Event-ID`,
/// and the body (read up to [`Config::max_request_body`](crate::Config::max_request_body)).
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    remote_addr: SocketAddr,
    body: Bytes,
}

impl Request {
    /// A request view from its parts (for tests, or to call a handler directly).
    pub fn new(method: Method, uri: Uri, headers: HeaderMap, remote_addr: SocketAddr) -> Self {
        Request {
            method,
            uri,
            headers,
            remote_addr,
            body: Bytes::new(),
        }
    }

    /// The same request with `body`.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The request body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The first value of `name` in an `application/x-www-form-urlencoded` body (an HTML form
    /// POST), decoded.
    pub fn form_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(&self.body)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path, such as `/api/chat_stream`.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The raw query string, if any (without `?`).
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The first value of query parameter `name`, percent- and `+`-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.uri.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The value of header `name` if it is present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The `Last-Event-ID` a reconnecting client sent: the id of the last event it received.
    /// `None` when absent, empty or not valid text.
    pub fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id").filter(|id| !id.is_empty())
    }

    /// `Last-Event-ID` parsed as `T` (a number, say); `None` when absent or unparsable.
    pub fn last_event_id_as<T: core::str::FromStr>(&self) -> Option<T> {
        self.last_event_id()?.parse().ok()
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }
}
