//! The live-room demo on async-std: `cargo run -p ssewire-async-std --example room_async_std`,
//! open the printed address in two windows. `PORT` picks the port (default 3000). With
//! `REDIS_URL` (`redis://127.0.0.1/`) the room is shared by every instance run against that Redis;
//! with `TLS_CERT` and `TLS_KEY` (PEM files), or `TLS_SELF_SIGNED=1`, it serves HTTPS.
//! `GET /stats` answers the server's counters (`Server::stats`) as JSON.

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    async_std::task::block_on(async {
        let (room, reader) = ssewire_demo::room::Room::from_env().await?;
        if let Some(reader) = reader {
            async_std::task::spawn(reader);
        }
        // `GET /stats`: the server's counters as JSON.
        let stats = ssewire_demo::stats::StatsRoute::default();
        let handler =
            stats.around(move |request| ssewire_demo::room::handle(room.clone(), request));
        // HTTPS (HTTP/2 for browsers) when TLS_CERT and TLS_KEY name PEM files.
        let (server, scheme) = match ssewire_demo::tls_from_env()? {
            Some(tls) => (
                ssewire_async_std::serve_tls(addr, tls, handler).await?,
                "https",
            ),
            None => (ssewire_async_std::serve(addr, handler).await?, "http"),
        };
        stats.serve_from(&server);
        println!(
            "ssewire live room (async-std) listening on {scheme}://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
