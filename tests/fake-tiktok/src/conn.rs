//! Connections that a handler can kill, so a fault can drop a connection mid-body the way a
//! network failure does: the client sees a transport error, never an HTTP answer.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

#[derive(Default)]
struct KillSwitch {
    killed: AtomicBool,
    read_waker: AtomicWaker,
    write_waker: AtomicWaker,
}

impl KillSwitch {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.read_waker.wake();
        self.write_waker.wake();
    }

    fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// Per-connection handle, reachable from handlers as `ConnectInfo<ConnHandle>`.
#[derive(Clone)]
pub(crate) struct ConnHandle {
    remote: SocketAddr,
    switch: Arc<KillSwitch>,
}

impl std::fmt::Debug for ConnHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnHandle")
            .field("remote", &self.remote)
            .finish()
    }
}

impl ConnHandle {
    /// Every later read or write on the connection fails, so hyper closes it without
    /// writing an answer.
    pub(crate) fn kill(&self) {
        self.switch.kill();
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

pub(crate) struct KillableIo {
    inner: TcpStream,
    switch: Arc<KillSwitch>,
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection killed by fault",
    )
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.switch.read_waker.register(cx.waker());
        if self.switch.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.switch.write_waker.register(cx.waker());
        if self.switch.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.switch.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.switch.is_killed() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Live connections, so shutdown can drop them too.
#[derive(Default)]
struct Registry {
    switches: Mutex<Vec<Weak<KillSwitch>>>,
}

impl Registry {
    fn add(&self, switch: &Arc<KillSwitch>) {
        let mut switches = self.switches.lock().unwrap_or_else(|p| p.into_inner());
        switches.retain(|w| w.strong_count() > 0);
        switches.push(Arc::downgrade(switch));
    }

    fn kill_all(&self) {
        let switches = self.switches.lock().unwrap_or_else(|p| p.into_inner());
        for switch in switches.iter().filter_map(Weak::upgrade) {
            switch.kill();
        }
    }
}

pub(crate) struct KillableListener {
    inner: TcpListener,
    registry: Arc<Registry>,
}

impl Listener for KillableListener {
    type Io = KillableIo;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, remote) = Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        let switch = Arc::new(KillSwitch::default());
        self.registry.add(&switch);
        (
            KillableIo {
                inner: stream,
                switch: switch.clone(),
            },
            ConnHandle { remote, switch },
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle {
            remote: self.inner.local_addr()?,
            switch: Arc::default(),
        })
    }
}

/// Owns the server task: dropping it (with the last `FakeTikTok` handle) stops the server.
pub(crate) struct ServerGuard {
    stop: Mutex<Option<oneshot::Sender<()>>>,
    registry: Arc<Registry>,
}

impl ServerGuard {
    pub(crate) fn spawn(listener: TcpListener, router: Router) -> Self {
        let registry = Arc::new(Registry::default());
        let listener = KillableListener {
            inner: listener,
            registry: registry.clone(),
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = router.into_make_service_with_connect_info::<ConnHandle>();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop_rx.await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(%error, "fake-tiktok server stopped");
            }
        });
        Self {
            stop: Mutex::new(Some(stop_tx)),
            registry,
        }
    }

    pub(crate) fn shutdown(&self) {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        // Graceful shutdown waits for open connections (pooled keep-alive ones included):
        // killing them lets the server task and its listener go at once.
        self.registry.kill_all();
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}
