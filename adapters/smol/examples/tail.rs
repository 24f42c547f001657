//! Follow an SSE stream with the client and print one JSON object per line on stdout:
//! `cargo run -p ssewire-smol --example tail -- URL [-H 'Name: value']… [--last-event-id ID]
//! [--until DATA] [--max-retries N]`. Exit status 0 after a `204` or the `--until` event, 1
//! after any other stop. See `ssewire_demo::tail`.

fn main() {
    let args = std::env::args().skip(1);
    let code = smol::block_on(ssewire_demo::tail::run(ssewire_smol::Smol::global(), args));
    std::process::exit(code);
}
