//! The AI-chat demo on async-std: `cargo run -p ssewire-async-std --example chat_async_std`,
//! then open the printed address. `PORT` picks the port (default 3000); run `npm ci` once for the
//! HTMX panel.

#[path = "../../demo/chat_app.rs"]
mod chat_app;
#[path = "../../demo/listen.rs"]
mod listen;

use ssewire_async_std::AsyncStd;

fn main() -> std::io::Result<()> {
    let addr = listen::listen_addr();
    async_std::task::block_on(async {
        let server = ssewire_async_std::serve(addr, chat_app::handle::<AsyncStd>).await?;
        println!(
            "ssewire chat demo (async-std) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
