//! tokio-util's `FramedWrite` with `ssewire::Encoder` on one end of a TCP connection on
//! 127.0.0.1, `FramedRead` with `ssewire::Decoder` on the other (the codec's `tokio-util`
//! feature).

use futures_lite::StreamExt;
use futures_util::SinkExt;
use ssewire::{Decoder, Encoder, Event};
use tokio_util::codec::{FramedRead, FramedWrite};

#[tokio::test]
async fn framed_write_and_framed_read_over_tcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("an address");
    let sent = vec![
        Event::new("one"),
        Event::new("two\nlines").with_event("note").expect("valid"),
        Event::new("three").with_id("3").expect("valid"),
    ];
    let to_send = sent.clone();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("accept");
        let mut framed = FramedWrite::new(socket, Encoder);
        for event in to_send {
            framed.send(event).await.expect("sent");
        }
    });
    let socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let received: Vec<Event> = FramedRead::new(socket, Decoder::new())
        .map(|event| event.expect("a valid event"))
        .collect()
        .await;
    server.await.expect("the server ran");
    assert_eq!(received, sent);
}
