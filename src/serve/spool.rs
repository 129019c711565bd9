//! An answer being written: in memory while it is small, and past
//! [`SPILL`] bytes moved, a part at a time, into an anonymous temporary
//! file (unlinked as soon as it is made, so nothing is left behind however
//! the process ends). A large answer then costs disk, not memory, while
//! its client reads it at its own pace; the store is not held meanwhile.

use std::fs::File;
use std::io::{self, Read, Seek, Write};

use std::ops::{Deref, DerefMut};
use tokio::io::AsyncRead;

/// Bytes kept in memory before they go to the file.
pub const SPILL: usize = 256 << 10;

/// What a spool holds once written: its file (rewound) with the bytes in
/// it, if it spilled, and the bytes still in memory, which come after.
pub type Written = (Option<(File, u64)>, Vec<u8>);

/// Writes go to the `Vec` it derefs to; [`Spool::spill`] moves them on.
#[derive(Default)]
pub struct Spool {
    buf: Vec<u8>,
    file: Option<File>,
    spilled: u64,
    /// The first write to the file that failed: the answer is refused.
    failed: Option<io::Error>,
}

impl Deref for Spool {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl DerefMut for Spool {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

impl Spool {
    pub fn new() -> Spool {
        Spool { buf: Vec::with_capacity(64 * 1024), ..Spool::default() }
    }

    /// Every byte written so far, in memory or not.
    pub fn total_len(&self) -> u64 {
        self.spilled + self.buf.len() as u64
    }

    /// Moves what is in memory to the file once it is more than [`SPILL`].
    pub fn spill(&mut self) {
        if self.buf.len() < SPILL || self.failed.is_some() {
            return;
        }
        let written = match &mut self.file {
            Some(f) => f.write_all(&self.buf),
            None => anonymous_file().and_then(|mut f| {
                f.write_all(&self.buf)?;
                self.file = Some(f);
                Ok(())
            }),
        };
        match written {
            Ok(()) => {
                self.spilled += self.buf.len() as u64;
                self.buf.clear();
                self.buf.shrink_to(SPILL * 2);
            }
            Err(e) => self.failed = Some(e),
        }
    }

    /// What was written: the file (rewound) if any, then the bytes still in
    /// memory; or the error that a write to the file met.
    pub fn finish(mut self) -> io::Result<Written> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let file = match self.file.take() {
            Some(mut f) => {
                f.rewind()?;
                Some((f, self.spilled))
            }
            None => None,
        };
        Ok((file, std::mem::take(&mut self.buf)))
    }

    /// Everything written, read back into memory (for tests and small
    /// callers).
    pub fn into_vec(self) -> io::Result<Vec<u8>> {
        let (file, rest) = self.finish()?;
        let mut out = Vec::new();
        if let Some((mut f, _)) = file {
            f.read_to_end(&mut out)?;
        }
        out.extend_from_slice(&rest);
        Ok(out)
    }
}

/// A new file in the temporary directory, created anew (`O_EXCL`) and
/// unlinked at once: it lives as long as its handle.
fn anonymous_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    loop {
        let path = dir.join(crate::util::temp_name(fastrand::u64(..)));
        match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// An answer's bytes for the HTTP response: its start, the spooled part
/// read from the file as the client takes it, and the rest.
pub struct SpooledBody {
    front: std::collections::VecDeque<axum::body::Bytes>,
    file: Option<tokio::fs::File>,
    back: std::collections::VecDeque<axum::body::Bytes>,
    buf: Vec<u8>,
    size: u64,
}

impl SpooledBody {
    /// `head`, then the spool's bytes, then `tail`.
    pub fn new(head: Vec<u8>, spool: Spool, tail: &'static [u8]) -> io::Result<SpooledBody> {
        let (file, rest) = spool.finish()?;
        let size = head.len() as u64 + file.as_ref().map_or(0, |(_, n)| *n) + rest.len() as u64 + tail.len() as u64;
        Ok(SpooledBody {
            front: [axum::body::Bytes::from(head)].into(),
            file: file.map(|(f, _)| tokio::fs::File::from_std(f)),
            back: [axum::body::Bytes::from(rest), axum::body::Bytes::from_static(tail)].into(),
            buf: Vec::new(),
            size,
        })
    }
}

impl http_body::Body for SpooledBody {
    type Data = axum::body::Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<io::Result<http_body::Frame<Self::Data>>>> {
        use std::task::Poll;
        let this = &mut *self;
        if let Some(bytes) = this.front.pop_front() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(bytes))));
        }
        if let Some(file) = &mut this.file {
            this.buf.resize(64 << 10, 0);
            let mut read = tokio::io::ReadBuf::new(&mut this.buf);
            match std::pin::Pin::new(file).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Ok(())) if !read.filled().is_empty() => {
                    return Poll::Ready(Some(Ok(http_body::Frame::data(axum::body::Bytes::copy_from_slice(read.filled())))));
                }
                Poll::Ready(Ok(())) => this.file = None,
            }
        }
        Poll::Ready(this.back.pop_front().map(|bytes| Ok(http_body::Frame::data(bytes))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.size)
    }
}
