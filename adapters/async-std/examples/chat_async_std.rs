//! The AI-chat demo on async-std: `cargo run -p ssewire-async-std --example chat_async_std`,
//! then open the printed address. `PORT` picks the port (default 3000); run `npm ci` once for the
//! HTMX panel.

#[path = "../../demo/chat_app.rs"]
mod chat_app;

use std::net::{Ipv4Addr, SocketAddr};

use ssewire_async_std::AsyncStd;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    async_std::task::block_on(async {
        let server = ssewire_async_std::serve(addr, chat_app::handle::<AsyncStd>).await?;
        println!(
            "ssewire chat demo (async-std) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
