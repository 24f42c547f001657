//! The live-room demo on smol: `cargo run -p ssewire-smol --example room`, open the printed
//! address in two windows. `PORT` picks the port (default 3000).

use ssewire_smol::Hub;

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    let hub = Hub::default();
    smol::block_on(async {
        let server = ssewire_smol::serve(addr, move |request| {
            ssewire_demo::room::handle(hub.clone(), request)
        })
        .await?;
        println!(
            "ssewire live room (smol) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
