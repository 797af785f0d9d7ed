//! A minimal HTTP/1.1 server on 127.0.0.1 that answers every request with the same pre-built
//! SSE body, so that a benchmark measures the client and not the server.
//!
//! It serves one connection at a time from its own thread (the client sends one request at a
//! time), reads the request in full, writes the response and closes the connection. It stops
//! when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// How the body is written to the socket.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// The whole response in one `write` (`content-length`): the client reads large pieces
    /// holding many events each. Its best case.
    Bulk,
    /// One `transfer-encoding: chunked` chunk and one `write` per event, with `TCP_NODELAY`,
    /// as a real server flushes every token. Many reads hold a single event.
    PerEvent,
}

/// A running server; dropping it stops the thread.
pub struct SseServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SseServer {
    /// Serves `events` (each a complete `data: …\n\n` event) framed as `framing`.
    pub fn start(events: &[String], framing: Framing) -> SseServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let response = Response::build(events, framing);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                // A failed connection only fails that request; the client reports it.
                if let Ok(stream) = stream {
                    let _ = serve(stream, &response);
                }
            }
        });
        SseServer { addr, stop, thread: Some(thread) }
    }

    /// The base URL, ending in `/v1`.
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for SseServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking `accept` so that the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The response as the pieces to write, each with one `write_all`.
struct Response {
    pieces: Vec<Vec<u8>>,
    nodelay: bool,
}

impl Response {
    fn build(events: &[String], framing: Framing) -> Response {
        const HEAD: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                            cache-control: no-cache\r\nconnection: close\r\n";
        match framing {
            Framing::Bulk => {
                let body = events.concat();
                let head = format!("{HEAD}content-length: {}\r\n\r\n", body.len());
                Response {
                    pieces: vec![[head.as_bytes(), body.as_bytes()].concat()],
                    nodelay: false,
                }
            }
            Framing::PerEvent => {
                let mut pieces =
                    vec![format!("{HEAD}transfer-encoding: chunked\r\n\r\n").into_bytes()];
                pieces.extend(
                    events.iter().map(|e| format!("{:x}\r\n{e}\r\n", e.len()).into_bytes()),
                );
                pieces.push(b"0\r\n\r\n".to_vec());
                Response { pieces, nodelay: true }
            }
        }
    }
}

fn serve(mut stream: TcpStream, response: &Response) -> std::io::Result<()> {
    read_request(&mut stream)?;
    stream.set_nodelay(response.nodelay)?;
    for piece in &response.pieces {
        stream.write_all(piece)?;
    }
    stream.shutdown(std::net::Shutdown::Write)
}

/// Reads the request head and its `content-length` body, so that closing the connection
/// afterwards does not reset it.
fn read_request(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut remaining = (head_end + length).saturating_sub(data.len());
    while remaining > 0 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        remaining = remaining.saturating_sub(n);
    }
    Ok(())
}
