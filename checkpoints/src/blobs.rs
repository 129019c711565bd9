//! The files directory: file contents beside the database, addressed by
//! their SHA-1, one copy per content.
//!
//! ```text
//! DB.files/
//!   sha1/ab/ab12…      a content whose size and SHA-1 were checked (never written again)
//!   partial/ab12….part a download under way (resumed where it stopped)
//!   quarantine/ab12…   the last download that did not match (kept aside, never used)
//! ```
//!
//! A content appears under `sha1/` only whole: it is written under
//! `partial/` and renamed into place, and counts as kept once `sync`
//! flushed it (callers record a batch after one flush). No entry is ever followed
//! through a link: partial files are opened with `O_NOFOLLOW`, and a name
//! is only ever 40 hexadecimal digits (checked here: the SHA-1 comes from
//! the wiki and becomes a path).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The files directory of one store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blobs {
    root: PathBuf,
}

/// Whether `s` is a SHA-1 as the store names contents: 40 lower-case hex digits.
pub fn is_sha1(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn checked(sha1: &str) -> io::Result<&str> {
    if is_sha1(sha1) { Ok(sha1) } else { Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{sha1:?} is not a SHA-1 (40 lower-case hex digits)"))) }
}

impl Blobs {
    pub fn new(root: impl Into<PathBuf>) -> Blobs {
        Blobs { root: root.into() }
    }

    /// The files directory of the database at `db`: `DB.files` beside it.
    pub fn beside(db: &Path) -> Blobs {
        let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".files");
        Blobs::new(db.with_file_name(name))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a content is kept once checked.
    pub fn path(&self, sha1: &str) -> io::Result<PathBuf> {
        let sha1 = checked(sha1)?;
        Ok(self.root.join("sha1").join(&sha1[..2]).join(sha1))
    }

    fn partial_path(&self, sha1: &str) -> io::Result<PathBuf> {
        Ok(self.root.join("partial").join(format!("{}.part", checked(sha1)?)))
    }

    /// Whether the content is kept, with this size.
    pub fn has(&self, sha1: &str, size: u64) -> bool {
        self.path(sha1).ok().and_then(|p| std::fs::symlink_metadata(p).ok()).is_some_and(|m| m.is_file() && m.len() == size)
    }

    /// Opens a kept content for reading.
    pub fn open(&self, sha1: &str) -> io::Result<File> {
        open_nofollow(OpenOptions::new().read(true), &self.path(sha1)?)
    }

    /// The partial download of a content, opened to append, and how many
    /// bytes it holds already (0 for a new one). The file is locked while it
    /// is open: a second download of the same content (another wiki's, at
    /// the same moment) gets an error of kind `WouldBlock` instead of
    /// writing into it.
    pub fn partial(&self, sha1: &str) -> io::Result<(File, u64)> {
        let path = self.partial_path(sha1)?;
        std::fs::create_dir_all(path.parent().expect("a partial file has a parent"))?;
        let file = open_nofollow(OpenOptions::new().read(true).append(true).create(true), &path)?;
        #[cfg(unix)]
        if let Err(e) = rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            let e = io::Error::from(e);
            return Err(if e.kind() == io::ErrorKind::WouldBlock {
                io::Error::new(io::ErrorKind::WouldBlock, format!("{sha1} is being downloaded by another job"))
            } else {
                e
            });
        }
        let len = file.metadata()?.len();
        Ok((file, len))
    }

    /// Empties a partial download (a server that ignored the range asked).
    pub fn restart_partial(&self, sha1: &str) -> io::Result<(File, u64)> {
        self.discard(sha1)?;
        self.partial(sha1)
    }

    /// Moves a finished, checked download into place. It is on disk for
    /// sure once [`Blobs::sync`] returned: a caller records contents as
    /// kept only after that (one flush for a batch, not one per file).
    pub fn keep(&self, sha1: &str) -> io::Result<PathBuf> {
        let from = self.partial_path(sha1)?;
        let to = self.path(sha1)?;
        let dir = to.parent().expect("a content has a parent");
        std::fs::create_dir_all(dir)?;
        std::fs::rename(&from, &to)?;
        Ok(to)
    }

    /// Flushes everything kept so far to the disk, names included: the
    /// file system's `syncfs` on Linux; elsewhere each content directory
    /// and the files in it, one by one.
    pub fn sync(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        #[cfg(target_os = "linux")]
        {
            rustix::fs::syncfs(File::open(&self.root)?)?;
        }
        #[cfg(not(target_os = "linux"))]
        {
            let sha1 = self.root.join("sha1");
            for dir in std::fs::read_dir(&sha1).into_iter().flatten().flatten() {
                for file in std::fs::read_dir(dir.path())?.flatten() {
                    File::open(file.path())?.sync_all()?;
                }
                File::open(dir.path())?.sync_all()?;
            }
        }
        Ok(())
    }

    /// Moves a download that did not match aside, replacing the one kept
    /// aside before for the same content (so quarantine stays bounded).
    pub fn quarantine(&self, sha1: &str) -> io::Result<PathBuf> {
        let from = self.partial_path(sha1)?;
        let to = self.root.join("quarantine").join(checked(sha1)?);
        std::fs::create_dir_all(to.parent().expect("quarantine has a parent"))?;
        std::fs::rename(&from, &to)?;
        Ok(to)
    }

    /// Removes a partial download, if there is one.
    pub fn discard(&self, sha1: &str) -> io::Result<()> {
        match std::fs::remove_file(self.partial_path(sha1)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(unix)]
fn open_nofollow(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NOFOLLOW).open(path)
}

#[cfg(not(unix))]
fn open_nofollow(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    options.open(path)
}

#[cfg(test)]
mod tests;
