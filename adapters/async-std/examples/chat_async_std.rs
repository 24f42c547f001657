//! The AI-chat demo on async-std: `cargo run -p ssewire-async-std --example chat_async_std`,
//! then open the printed address. `PORT` picks the port (default 3000). HTMX comes from
//! `node_modules` after `npm ci`, from its CDN otherwise. The page's "AI proxy" mode streams
//! from the demo's own OpenAI-style upstream, started here on another port, through the ssewire
//! client. With `TLS_CERT` and `TLS_KEY` (PEM files), or `TLS_SELF_SIGNED=1`, it serves HTTPS.
//! `GET /stats` answers the server's counters (`Server::stats`) as JSON.

use ssewire_async_std::AsyncStd;
use ssewire_demo::proxy::{self, Proxy};

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    async_std::task::block_on(async {
        let any_port = "127.0.0.1:0".parse().expect("an address");
        let upstream = ssewire_async_std::serve(any_port, proxy::upstream::<AsyncStd>).await?;
        let upstream_url = format!("http://{}/v1/chat/completions", upstream.local_addr());
        let demo = Proxy::new(upstream_url.clone());
        // `GET /stats`: the server's counters as JSON.
        let stats = ssewire_demo::stats::StatsRoute::default();
        let handler = stats.around(move |request| demo.handle::<AsyncStd>(request));
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
            "ssewire chat demo (async-std) listening on {scheme}://{} (AI-proxy upstream: {upstream_url})",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
