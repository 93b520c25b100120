//! The drill's TCP proxy: between the simulated partners and each replica, and between the
//! replicas and each partner endpoint, so that a fault can cut every connection in flight —
//! an upload mid-body, a push mid-body — as a network failure would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

use super::DrillError;

/// A running proxy from a port of 127.0.0.1 to `target`.
#[derive(Debug)]
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    live: Arc<Mutex<Vec<AbortHandle>>>,
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
        let conns = live.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = inbound.set_nodelay(true);
                        let _ = outbound.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut live = conns.lock().unwrap_or_else(|p| p.into_inner());
                live.retain(|h| !h.is_finished());
                live.push(forward.abort_handle());
            }
        });
        Ok(Proxy { addr, live, task })
    }

    /// Cuts every connection in flight (both sockets closed at once); returns how many.
    pub fn cut(&self) -> usize {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let open: Vec<AbortHandle> = live.drain(..).filter(|h| !h.is_finished()).collect();
        for h in &open {
            h.abort();
        }
        open.len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}
