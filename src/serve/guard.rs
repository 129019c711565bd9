//! Connections from clients this server does not control: at most so many
//! at once, and each closed when it makes no progress for a while, reading
//! (a request sent a byte at a time) or writing (a client that does not
//! read its answer). A stalled client then holds one connection slot for a
//! bounded time, never the server.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// A listener whose connections are bounded in number and in idleness.
pub struct GuardedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    idle: Duration,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, max_connections: usize, idle: Duration) -> GuardedListener {
        GuardedListener { inner, slots: Arc::new(Semaphore::new(max_connections.max(1))), idle }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = Guarded;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Guarded, std::net::SocketAddr) {
        // Waiting for a slot leaves new connections in the kernel's queue.
        let slot = self.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (Guarded { stream, _slot: slot, idle: self.idle, read_stall: None, write_stall: None }, addr);
                }
                Err(e) => {
                    // Too many open files and the like pass; wait a moment.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails with `TimedOut` once a read or a write has
/// waited longer than `idle`; it gives its slot back when dropped.
pub struct Guarded {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
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
