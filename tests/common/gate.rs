//! A TCP relay in front of the hub that a test can close (cutting every relayed connection
//! and refusing new ones, as a dead network would) and open again.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Gate {
    pub addr: SocketAddr,
    open: Arc<watch::Sender<bool>>,
}

impl Gate {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gate");
        let addr = listener.local_addr().expect("gate address");
        let open = Arc::new(watch::channel(true).0);
        let state = open.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !*state.borrow() {
                    drop(inbound); // refused while closed
                    continue;
                }
                let mut closed = state.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = closed.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        Self { addr, open }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn close(&self) {
        self.open.send_replace(false);
    }

    pub fn open(&self) {
        self.open.send_replace(true);
    }
}
