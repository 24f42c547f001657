//! Where the demos listen.

use std::net::{Ipv4Addr, SocketAddr};

/// `127.0.0.1` on the port in `PORT` (3000 if it is unset or not a port number).
pub fn listen_addr() -> SocketAddr {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}
