//! The AI-chat demo on async-std: `cargo run -p ssewire-async-std --example chat_async_std`,
//! then open the printed address. `PORT` picks the port (default 3000). HTMX comes from
//! `node_modules` after `npm ci`, from its CDN otherwise.

use ssewire_async_std::AsyncStd;

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    async_std::task::block_on(async {
        let server = ssewire_async_std::serve(addr, ssewire_demo::chat::handle::<AsyncStd>).await?;
        println!(
            "ssewire chat demo (async-std) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
