//! The live-room demo on async-std: `cargo run -p ssewire-async-std --example room_async_std`,
//! open the printed address in two windows. `PORT` picks the port (default 3000). With
//! `REDIS_URL` (`redis://127.0.0.1/`) the room is shared by every instance run against that Redis.

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    async_std::task::block_on(async {
        let (room, reader) = ssewire_demo::room::Room::from_env().await?;
        if let Some(reader) = reader {
            async_std::task::spawn(reader);
        }
        let server = ssewire_async_std::serve(addr, move |request| {
            ssewire_demo::room::handle(room.clone(), request)
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
