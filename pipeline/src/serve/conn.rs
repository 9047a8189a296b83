//! Connections, bounded: at most [`Limits::max_connections`] are served at once (the others
//! wait in the listen queue, costing the process no descriptor), a request's head must arrive
//! within [`Limits::header_timeout`], and a connection on which nothing moves for
//! [`Limits::idle_timeout`] is closed. Held-open connections then cannot use up the server's
//! descriptors: each costs a slot for seconds, not for ever.
//!
//! axum's own `serve` sets none of these, so this is its accept loop with hyper's HTTP/1
//! server configured; each request carries the client's address ([`ConnectInfo`]), which the
//! token throttle keys on.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpListener,
    sync::Semaphore,
    time::{Instant, Sleep},
};
use tower::ServiceExt;

use crate::messages::note;

/// How many connections at once, and how long each may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's head (request line and headers) must be complete this long after the server
    /// starts waiting for it: when the connection opens, or when the previous answer on it has
    /// been sent (so a kept-alive connection with nothing to ask is closed after this too).
    pub header_timeout: Duration,
    /// A connection on which no byte comes in or goes out for this long is closed: a request
    /// body that stalls, or a client that stops reading its answer.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait to be accepted until one closes.
    pub max_connections: usize,
}

impl Limits {
    pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
    pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(Self::DEFAULT_HEADER_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(Self::DEFAULT_IDLE_TIMEOUT_SECS),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Accepts and serves connections until the process stops.
pub(super) async fn serve_connections(listener: TcpListener, app: Router, limits: Limits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        // A slot first, then the connection: over the cap, clients wait in the kernel's queue.
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: wait for some to come back rather than spin.
                note(format_args!("serve: cannot accept a connection: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            });
            let io = TokioIo::new(Watched::new(stream, limits.idle_timeout));
            // A connection that fails (timed out, reset, malformed) concerns only its client.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(io, service)
                .await;
            drop(slot);
        });
    }
}

/// Errors of one connection, not of the listener (as axum's `serve` sorts them).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A stream that fails with `TimedOut` once nothing has been read from or written to it for
/// `idle` while it is waited on.
struct Watched<T> {
    io: T,
    idle: Duration,
    /// When a byte last moved.
    last: Instant,
    /// Wakes the waiting task at `last + idle` or later; moved forward lazily, so a busy
    /// connection does not touch the timer on every read.
    deadline: Pin<Box<Sleep>>,
}

impl<T> Watched<T> {
    fn new(io: T, idle: Duration) -> Self {
        let now = Instant::now();
        Watched {
            io,
            idle,
            last: now,
            deadline: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    /// Called when the stream is not ready: an error once the connection has been idle too
    /// long, else pending (with the task woken at the deadline).
    fn idle_error<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        loop {
            ready!(self.deadline.as_mut().poll(cx));
            let due = self.last + self.idle;
            if due <= Instant::now() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection was idle too long",
                )));
            }
            self.deadline.as_mut().reset(due);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => this.idle_error(cx),
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.last = Instant::now();
                Poll::Ready(Ok(()))
            }
            ready => ready,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Pending => this.idle_error(cx),
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.last = Instant::now();
                }
                Poll::Ready(Ok(n))
            }
            ready => ready,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.idle_error(cx),
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.last = Instant::now();
                }
                Poll::Ready(Ok(n))
            }
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => this.idle_error(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_shutdown(cx) {
            Poll::Pending => this.idle_error(cx),
            ready => ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tokio::net::TcpStream;

    use super::*;

    async fn read_some(w: &mut Watched<TcpStream>) -> io::Result<usize> {
        let mut b = [0u8; 8];
        std::future::poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut b);
            ready!(Pin::new(&mut *w).poll_read(cx, &mut buf))?;
            Poll::Ready(Ok(buf.filled().len()))
        })
        .await
    }

    /// A peer that goes quiet gets an error after the idle time, and not before; bytes that
    /// keep coming keep the stream open past it.
    #[test]
    fn a_quiet_stream_times_out_and_a_busy_one_does_not() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut far = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (near, _) = listener.accept().await.unwrap();
            let idle = Duration::from_millis(300);
            let mut w = Watched::new(near, idle);
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                far.write_all(b"x").unwrap();
                assert_eq!(read_some(&mut w).await.unwrap(), 1);
            }
            let start = Instant::now();
            let e = read_some(&mut w).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            let waited = start.elapsed();
            assert!(
                waited >= idle - Duration::from_millis(10) && waited < Duration::from_secs(2),
                "{waited:?}"
            );
        });
    }
}
