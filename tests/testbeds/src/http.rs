//! The plumbing the fake servers share.

use std::sync::{Mutex, MutexGuard};

use axum::Router;

/// Binds 127.0.0.1 on `port` (0: a free one) and serves `app` in a
/// background task. Returns the bound address, `127.0.0.1:PORT`.
pub async fn serve(app: Router, port: u16) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "a test bed stopped serving");
        }
    });
    Ok(addr)
}

/// Locks a fake's state even after a panicking handler: a fake's state is
/// plain values, so what a panic left is still worth looking at in a test.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts a server's requests and keeps what each asked, in order.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Vec<String>,
}

impl RequestLog {
    /// Records a request; returns its number, 1-based.
    pub fn record(&mut self, entry: String) -> u64 {
        self.entries.push(entry);
        self.entries.len() as u64
    }

    pub fn count(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
