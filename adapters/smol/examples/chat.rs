//! The AI-chat demo on smol: `cargo run -p ssewire-smol --example chat`, then open the printed
//! address. `PORT` picks the port (default 3000); run `npm ci` once for the HTMX panel.

#[path = "../../demo/chat_app.rs"]
mod chat_app;
#[path = "../../demo/listen.rs"]
mod listen;

use ssewire_smol::Smol;

fn main() -> std::io::Result<()> {
    let addr = listen::listen_addr();
    smol::block_on(async {
        let server = ssewire_smol::serve(addr, chat_app::handle::<Smol>).await?;
        println!(
            "ssewire chat demo (smol) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
