//! The live-room demo on async-std: `cargo run -p ssewire-async-std --example room_async_std`,
//! open the printed address in two windows. `PORT` picks the port (default 3000).

#[path = "../../demo/room_app.rs"]
mod room_app;

use std::net::{Ipv4Addr, SocketAddr};

use ssewire::Hub;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let hub = Hub::default();
    async_std::task::block_on(async {
        let server =
            ssewire_async_std::serve(addr, move |request| room_app::handle(hub.clone(), request))
                .await?;
        println!(
            "ssewire live room (async-std) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
