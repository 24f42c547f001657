//! The live-room demo on smol: `cargo run -p ssewire-smol --example room`, open the printed
//! address in two windows. `PORT` picks the port (default 3000).

#[path = "../../demo/listen.rs"]
mod listen;
#[path = "../../demo/room_app.rs"]
mod room_app;

use ssewire::Hub;

fn main() -> std::io::Result<()> {
    let addr = listen::listen_addr();
    let hub = Hub::default();
    smol::block_on(async {
        let server =
            ssewire_smol::serve(addr, move |request| room_app::handle(hub.clone(), request))
                .await?;
        println!(
            "ssewire live room (smol) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
