//! The live-room demo on smol: `cargo run -p ssewire-smol --example room`, open the printed
//! address in two windows. `PORT` picks the port (default 3000); with `REDIS_URL`
//! (`redis://127.0.0.1/`) the room is shared by every instance run against that Redis.

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    smol::block_on(async {
        let (room, reader) = ssewire_demo::room::Room::from_env().await?;
        if let Some(reader) = reader {
            smol::spawn(reader).detach();
        }
        let server = ssewire_smol::serve(addr, move |request| {
            ssewire_demo::room::handle(room.clone(), request)
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
