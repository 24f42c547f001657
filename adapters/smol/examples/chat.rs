//! The AI-chat demo on smol: `cargo run -p ssewire-smol --example chat`, then open the printed
//! address. `PORT` picks the port (default 3000). HTMX comes from `node_modules` after
//! `npm ci`, from its CDN otherwise.

use ssewire_smol::Smol;

fn main() -> std::io::Result<()> {
    let addr = ssewire_demo::listen_addr();
    smol::block_on(async {
        let server = ssewire_smol::serve(addr, ssewire_demo::chat::handle::<Smol>).await?;
        println!(
            "ssewire chat demo (smol) listening on http://{}",
            server.local_addr()
        );
        server.stopped().await;
        Ok(())
    })
}
