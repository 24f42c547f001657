//! The request an `EventSource` makes, and the URL rules it follows (redirects included).

use std::fmt;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};

/// Why an [`EventSource`](crate::EventSource) or a [`Request`] could not be built.
///
/// # Examples
///
/// ```
/// use ssewire_client_transport::{Error, Request};
///
/// assert_eq!(Request::get("ftp://example.com/").unwrap_err(), Error::UnsupportedScheme);
/// assert_eq!(Request::get("not a url").unwrap_err(), Error::InvalidUrl);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Not an absolute `http://` or `https://` URL with a host.
    InvalidUrl,
    /// A scheme other than `http` and `https`.
    UnsupportedScheme,
    /// A header name or value that HTTP does not allow.
    InvalidHeader,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::InvalidUrl => {
                "invalid url: an absolute http:// or https:// url with a host is needed"
            }
            Error::UnsupportedScheme => {
                "unsupported scheme: only http:// and https:// are supported"
            }
            Error::InvalidHeader => "invalid header name or value",
        })
    }
}

impl core::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, error)
    }
}

/// The request an [`EventSource`](crate::EventSource) makes on every connection: method, URL,
/// headers of the application's own and a body. The controller's headers (`Accept`,
/// `Cache-Control`, `Last-Event-ID`) are added to these on each attempt; the reconnect hook
/// ([`EventSource::with_reconnect_hook`](crate::EventSource::with_reconnect_hook)) may change
/// any field before each attempt.
///
/// # Examples
///
/// ```
/// use ssewire_client_transport::Request;
///
/// let mut request = Request::post("http://127.0.0.1:8080/v1/chat", r#"{"stream":true}"#)?
///     .with_header("content-type", "application/json")?;
/// request.headers.insert("authorization", "Bearer t0".parse().unwrap());
/// assert_eq!(request.url.path(), "/v1/chat");
/// # Ok::<(), ssewire_client_transport::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Request {
    /// `GET` unless made with [`Request::post`].
    pub method: Method,
    /// An absolute `http://` or `https://` URL.
    pub url: Uri,
    /// Headers sent on every connection (`Authorization`, `Content-Type`, …).
    pub headers: HeaderMap,
    /// The body; empty for `GET`.
    pub body: Bytes,
}

impl Request {
    /// A `GET` of `url`.
    ///
    /// # Errors
    ///
    /// `url` is not an absolute `http://` or `https://` URL with a host.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = ssewire_client_transport::Request::get("http://[::1]:3000/events?x=1")?;
    /// assert_eq!(request.url.port_u16(), Some(3000));
    /// # Ok::<(), ssewire_client_transport::Error>(())
    /// ```
    pub fn get(url: &str) -> Result<Self, Error> {
        Ok(Request {
            method: Method::GET,
            url: parse_url(url)?,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        })
    }

    /// A `POST` of `body` to `url` (an API that starts a generation and streams it back).
    ///
    /// # Errors
    ///
    /// `url` is not an absolute `http://` or `https://` URL with a host.
    ///
    /// # Examples
    ///
    /// ```
    /// let request = ssewire_client_transport::Request::post("http://localhost/v1", "{}")?;
    /// assert_eq!(request.method, http::Method::POST);
    /// # Ok::<(), ssewire_client_transport::Error>(())
    /// ```
    pub fn post(url: &str, body: impl Into<Bytes>) -> Result<Self, Error> {
        Ok(Request {
            method: Method::POST,
            body: body.into(),
            ..Request::get(url)?
        })
    }

    /// Adds a header (appended: a name may repeat).
    ///
    /// # Errors
    ///
    /// The name or the value is not valid in HTTP.
    ///
    /// # Examples
    ///
    /// ```
    /// use ssewire_client_transport::{Error, Request};
    ///
    /// let request = Request::get("http://localhost/")?.with_header("x-token", "abc")?;
    /// assert_eq!(request.headers["x-token"], "abc");
    /// assert!(Request::get("http://localhost/")?.with_header("x", "a\nb").is_err());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        let (name, value) = header_pair(name, value)?;
        self.headers.append(name, value);
        Ok(self)
    }
}

/// A header name and value, checked.
pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::InvalidHeader)?;
    let value = HeaderValue::from_str(value).map_err(|_| Error::InvalidHeader)?;
    Ok((name, value))
}

/// `url` as an absolute `http://` or `https://` URI with a host.
pub(crate) fn parse_url(url: &str) -> Result<Uri, Error> {
    let uri: Uri = url.parse().map_err(|_| Error::InvalidUrl)?;
    check(uri)
}

fn check(uri: Uri) -> Result<Uri, Error> {
    match uri.scheme() {
        Some(scheme) if *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS => {}
        Some(_) => return Err(Error::UnsupportedScheme),
        None => return Err(Error::InvalidUrl),
    }
    match uri.host() {
        Some(host) if !host.is_empty() => Ok(uri),
        _ => Err(Error::InvalidUrl),
    }
}

/// Whether `uri` is `https://` (TLS).
pub(crate) fn is_https(uri: &Uri) -> bool {
    uri.scheme() == Some(&Scheme::HTTPS)
}

/// The host to dial (IPv6 without its brackets) and the port (80, or 443 for `https`).
pub(crate) fn host_port(uri: &Uri) -> (&str, u16) {
    let host = uri.host().unwrap_or_default();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let default = if is_https(uri) { 443 } else { 80 };
    (host, uri.port_u16().unwrap_or(default))
}

/// The `Host` header: the authority without user information.
pub(crate) fn host_header(uri: &Uri) -> Option<HeaderValue> {
    let authority = uri.authority()?.as_str();
    let host = authority.rsplit('@').next().unwrap_or(authority);
    HeaderValue::from_str(host).ok()
}

/// The origin-form request target (`/path?query`), what HTTP/1.1 sends.
pub(crate) fn target(uri: &Uri) -> Uri {
    Uri::from(path_and_query(uri))
}

/// The absolute form without user information (`https://host:port/path?query`), from which
/// HTTP/2 takes its `:scheme`, `:authority` and `:path`.
pub(crate) fn absolute(uri: &Uri) -> Option<Uri> {
    let authority = host_header(uri)?;
    Uri::builder()
        .scheme(uri.scheme()?.clone())
        .authority(authority.as_bytes())
        .path_and_query(path_and_query(uri))
        .build()
        .ok()
}

fn path_and_query(uri: &Uri) -> PathAndQuery {
    uri.path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"))
}

/// Whether two URLs have the same origin (scheme, host, port).
pub(crate) fn same_origin(a: &Uri, b: &Uri) -> bool {
    a.scheme() == b.scheme() && host_port(a) == host_port(b)
}

/// Where a redirect response points: its `Location` resolved against `base`; `None` when
/// `status` is not a redirect the Fetch standard follows or the location is not usable.
pub(crate) fn redirect_target(base: &Uri, status: StatusCode, headers: &HeaderMap) -> Option<Uri> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = headers.get(header::LOCATION)?.to_str().ok()?;
    resolve(base, location)
}

/// `reference` resolved against `base` (absolute, scheme-relative, absolute-path or relative
/// path; dot segments are left to the server).
fn resolve(base: &Uri, reference: &str) -> Option<Uri> {
    if let Ok(uri) = reference.parse::<Uri>()
        && uri.scheme().is_some()
    {
        return check(uri).ok();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    if let Some(rest) = reference.strip_prefix("//") {
        return parse_url(&format!("{scheme}://{rest}")).ok();
    }
    let authority: &Authority = base.authority()?;
    let path = if reference.starts_with('/') {
        reference.to_owned()
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/{reference}")
    };
    parse_url(&format!("{scheme}://{authority}{path}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(base: &str, to: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, HeaderValue::from_str(to).unwrap());
        redirect_target(&base.parse().unwrap(), StatusCode::FOUND, &headers).map(|u| u.to_string())
    }

    #[test]
    fn locations_resolve() {
        let base = "http://a.test:81/x/y?q=1";
        assert_eq!(location(base, "/z").as_deref(), Some("http://a.test:81/z"));
        assert_eq!(
            location(base, "z?k").as_deref(),
            Some("http://a.test:81/x/z?k")
        );
        assert_eq!(
            location(base, "//b.test/p").as_deref(),
            Some("http://b.test/p")
        );
        assert_eq!(
            location(base, "http://c.test/").as_deref(),
            Some("http://c.test/")
        );
        assert_eq!(
            location(base, "https://c.test/").as_deref(),
            Some("https://c.test/")
        );
        assert_eq!(location(base, "ftp://c.test/"), None);
    }

    #[test]
    fn only_fetch_redirect_statuses() {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, HeaderValue::from_static("/z"));
        let base: Uri = "http://a.test/".parse().unwrap();
        for (status, follows) in [
            (301, true),
            (302, true),
            (303, true),
            (307, true),
            (308, true),
        ]
        .into_iter()
        .chain([(300, false), (304, false), (200, false)])
        {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(
                redirect_target(&base, status, &headers).is_some(),
                follows,
                "{status}"
            );
        }
    }

    #[test]
    fn host_and_target() {
        let uri: Uri = "http://u:p@[::1]:8080/a?b".parse().unwrap();
        assert_eq!(host_port(&uri), ("::1", 8080));
        assert_eq!(host_header(&uri).unwrap(), "[::1]:8080");
        assert_eq!(target(&uri), "/a?b");
        assert_eq!(absolute(&uri).unwrap(), "http://[::1]:8080/a?b");
        let tls: Uri = "https://h/".parse().unwrap();
        assert_eq!((host_port(&tls), is_https(&tls)), (("h", 443), true));
        let bare: Uri = "http://h".parse().unwrap();
        assert_eq!(
            (host_port(&bare), target(&bare).to_string()),
            (("h", 80), "/".into())
        );
    }
}
