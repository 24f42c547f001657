//! The live-room demo on smol: `cargo run -p ssewire-smol --example room`, open the printed
//! address in two windows. `PORT` picks the port (default 3000); with `REDIS_URL`
//! (`redis://127.0.0.1/`) the room is shared by every instance run against that Redis;
//! with `TLS_CERT` and `TLS_KEY` (PEM files), or `TLS_SELF_SIGNED=1`, it serves HTTPS.
//! `GET /stats` answers the server's counters (`Server::stats`) as JSON.

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    smol::block_on(async {
        let (room, reader) = ssewire_demo::room::Room::from_env().await?;
        if let Some(reader) = reader {
            smol::spawn(reader).detach();
        }
        // `GET /stats`: the server's counters as JSON.
        let stats = ssewire_demo::stats::StatsRoute::default();
        let handler =
            stats.around(move |request| ssewire_demo::room::handle(room.clone(), request));
        // HTTPS (HTTP/2 for browsers) when TLS_CERT and TLS_KEY name PEM files.
        let (server, scheme) = match ssewire_demo::tls_from_env()? {
            Some(tls) => (ssewire_smol::serve_tls(addr, tls, handler).await?, "https"),
            None => (ssewire_smol::serve(addr, handler).await?, "http"),
        };
        stats.serve_from(&server);
        println!(
            "ssewire live room (smol) listening on {scheme}://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
