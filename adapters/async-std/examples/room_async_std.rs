//! The live-room demo on async-std: `cargo run -p ssewire-async-std --example room_async_std`,
//! open the printed address in two windows. `PORT` picks the port (default 3000).

use ssewire_async_std::Hub;

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    let hub = Hub::default();
    async_std::task::block_on(async {
        let server = ssewire_async_std::serve(addr, move |request| {
            ssewire_demo::room::handle(hub.clone(), request)
        })
        .await?;
        println!(
            "ssewire live room (async-std) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
