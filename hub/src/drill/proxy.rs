//! The drill's TCP proxy: between the simulated partners and each replica, and between the
//! replicas and each partner endpoint, so that a fault can cut every connection in flight —
//! an upload mid-body, a push mid-body — as a network failure would. A cut that finds no
//! connection in flight is kept for the next one, which is cut once its client has sent
//! [`CUT_AFTER`] bytes (past the TLS handshake and the headers: inside the body).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// Client bytes after which a connection armed by a cut is closed.
pub const CUT_AFTER: usize = 48 * 1024;

use super::DrillError;

/// A running proxy from a port of 127.0.0.1 to `target`.
#[derive(Debug)]
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    live: Arc<Mutex<Vec<AbortHandle>>>,
    armed: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding a free port of 127.0.0.1 to `target`.
    pub async fn start(target: SocketAddr) -> Result<Proxy, DrillError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| DrillError::Setup(format!("proxy: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| DrillError::Setup(format!("proxy: {e}")))?;
        let live: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let armed: Arc<AtomicUsize> = Arc::default();
        let (conns, arms) = (live.clone(), armed.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let cut_this = arms
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        if cut_this {
                            forward_then_cut(inbound, outbound).await;
                        } else {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }
                });
                let mut live = conns.lock().unwrap_or_else(|p| p.into_inner());
                live.retain(|h| !h.is_finished());
                live.push(forward.abort_handle());
            }
        });
        Ok(Proxy {
            addr,
            live,
            armed,
            task,
        })
    }

    /// Cuts every connection in flight (both sockets closed at once) and returns how many;
    /// with none in flight, the next connection is cut inside its body instead (returns 0).
    pub fn cut(&self) -> usize {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let open: Vec<AbortHandle> = live.drain(..).filter(|h| !h.is_finished()).collect();
        for h in &open {
            h.abort();
        }
        if open.is_empty() {
            self.armed.fetch_add(1, Ordering::SeqCst);
        }
        open.len()
    }
}

/// Forwards both ways until the client has sent [`CUT_AFTER`] bytes, then closes both
/// sockets (a connection that ends sooner ends as it would).
async fn forward_then_cut(inbound: TcpStream, outbound: TcpStream) {
    let (mut from_client, mut to_client) = inbound.into_split();
    let (mut from_server, mut to_server) = outbound.into_split();
    let up = async {
        let mut sent = 0usize;
        let mut buf = vec![0u8; 8192];
        while sent < CUT_AFTER {
            let n = match from_client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n.min(CUT_AFTER - sent),
            };
            if to_server.write_all(&buf[..n]).await.is_err() {
                return;
            }
            sent += n;
        }
    };
    let down = tokio::io::copy(&mut from_server, &mut to_client);
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
    // Dropping the halves closes both sockets: the cut.
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}
