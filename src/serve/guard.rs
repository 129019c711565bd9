//! Connections from clients this server does not control: at most so many
//! at once, and so many from one address; each closed when it makes no
//! progress for a while, reading (a request sent a byte at a time) or
//! writing (a client that does not read its answer), and when a request's
//! head has not arrived whole in time (a client that sends a header line
//! now and then, never finishing). A stalled client then holds one slot
//! for a bounded time, never the server, and many from one address take
//! only that address's share.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// How clients are bounded.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub per_ip: usize,
    /// No byte read or written this long: closed.
    pub idle: Duration,
    /// A request's head not whole this long after it began: closed.
    pub request: Duration,
}

/// A listener whose connections are bounded in number, per address, and
/// in idleness.
pub struct GuardedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    limits: Limits,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, limits: Limits) -> GuardedListener {
        GuardedListener { inner, slots: Arc::new(Semaphore::new(limits.max_connections.max(1))), per_ip: Arc::default(), limits }
    }

    /// The next connection within the bounds. Waiting for a slot leaves new
    /// connections in the kernel's queue; one from an address that has its
    /// share open already is closed at once.
    pub async fn accept(&mut self) -> (Guarded, SocketAddr) {
        let slot = self.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let ip = addr.ip();
                    {
                        let mut open = crate::util::lock(&self.per_ip);
                        let n = open.entry(ip).or_insert(0);
                        if *n >= self.limits.per_ip.max(1) {
                            tracing::debug!(%ip, "a client address has its share of connections open: one more closed");
                            continue;
                        }
                        *n += 1;
                    }
                    let _ = stream.set_nodelay(true);
                    let share = Share { ip, open: self.per_ip.clone() };
                    let guarded = Guarded { stream, _slot: slot, _share: share, idle: self.limits.idle, read_stall: None, write_stall: None };
                    return (guarded, addr);
                }
                Err(e) => {
                    // Too many open files and the like pass; wait a moment.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Serves `router` on `listener` until `shutdown` completes, each
/// connection with HTTP/1.1 as hyper does it, with a request-head deadline
/// (which needs hyper's timer, so axum's `serve` is not used). Connections
/// in progress then end their answer.
pub async fn serve(mut listener: GuardedListener, router: axum::Router, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let head = listener.limits.request;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(head)
                    .serve_connection(hyper_util::rt::TokioIo::new(io), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One connection's part of its address's share; given back when dropped.
struct Share {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut open = crate::util::lock(&self.open);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A connection that fails with `TimedOut` once a read or a write has
/// waited longer than `idle`; it gives its slot and share back when dropped.
pub struct Guarded {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    _share: Share,
    idle: Duration,
    read_stall: Option<Pin<Box<Sleep>>>,
    write_stall: Option<Pin<Box<Sleep>>>,
}

/// Polls `ready`; while it is pending, a timer runs, and when the timer
/// fires first the operation fails.
fn within<T>(stall: &mut Option<Pin<Box<Sleep>>>, idle: Duration, cx: &mut Context<'_>, ready: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
    match ready {
        Poll::Ready(r) => {
            *stall = None;
            Poll::Ready(r)
        }
        Poll::Pending => {
            let timer = stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client made no progress"))),
                Poll::Pending => Poll::Pending,
            }
        }
    }
}

use std::future::Future;

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let ready = Pin::new(&mut this.stream).poll_read(cx, buf);
        within(&mut this.read_stall, this.idle, cx, ready)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let ready = Pin::new(&mut this.stream).poll_write(cx, buf);
        within(&mut this.write_stall, this.idle, cx, ready)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let ready = Pin::new(&mut this.stream).poll_flush(cx);
        within(&mut this.write_stall, this.idle, cx, ready)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let ready = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        within(&mut this.write_stall, this.idle, cx, ready)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
