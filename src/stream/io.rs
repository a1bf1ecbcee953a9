//! `std::io` adapters over the streaming encryptor and decryptor.

use std::io::{self, Read, Write};

use crate::stream::{StreamDecryptor, StreamEncryptor};

/// Size of the pieces read from the underlying reader.
const CHUNK: usize = 64 * 1024;

/// Encrypts everything written to it into an inner writer. Call
/// [`EncryptingWriter::finish`] at the end: without it the message has no
/// final frame and no reader will accept it.
///
/// A write whose inner write fails has already encrypted its bytes, so it
/// cannot be retried: every later call fails too, and the message stays
/// incomplete (a retry would otherwise repeat the plaintext in it).
///
/// ```
/// use std::io::Write;
/// use std::sync::Arc;
/// use kms_envelope::{Client, RawAesKeyring, stream::io::EncryptingWriter};
/// let keyring = Arc::new(RawAesKeyring::new("ns", "k", &[1; 32])?);
/// let enc = Client::new().stream_encrypt().keyring(keyring).start()?;
/// let mut w = EncryptingWriter::new(enc, Vec::new());
/// w.write_all(b"some data")?;
/// let ciphertext: Vec<u8> = w.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EncryptingWriter<W: Write> {
    encryptor: StreamEncryptor,
    inner: W,
    out: Vec<u8>,
    /// An inner write failed: the message cannot be completed.
    failed: bool,
}

impl<W: Write> EncryptingWriter<W> {
    /// Wraps `inner`.
    pub fn new(encryptor: StreamEncryptor, inner: W) -> Self {
        Self {
            encryptor,
            inner,
            out: Vec::new(),
            failed: false,
        }
    }

    /// Writes the final frame and footer, flushes, and returns the inner writer.
    ///
    /// # Errors
    ///
    /// An [`io::Error`] of kind [`Other`](io::ErrorKind::Other) if an
    /// earlier write to the inner writer failed; of kind
    /// [`InvalidData`](io::ErrorKind::InvalidData), holding the
    /// [`crate::Error`], if [`StreamEncryptor::finish`] fails; or the inner
    /// writer's own error from writing or flushing.
    pub fn finish(mut self) -> io::Result<W> {
        self.check_not_failed()?;
        self.encryptor.finish(&mut self.out)?;
        self.inner.write_all(&self.out)?;
        self.out.clear();
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn check_not_failed(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(crate::Error::bad_arg(
                "an earlier write to the inner writer failed: the message cannot be completed",
            )));
        }
        Ok(())
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_not_failed()?;
        self.encryptor.update(buf, &mut self.out)?;
        let written = self.inner.write_all(&self.out);
        self.out.clear();
        if written.is_err() {
            self.failed = true;
        }
        written.map(|()| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check_not_failed()?;
        self.inner.flush()
    }
}

/// Decrypts a message read from an inner reader. Reads return plaintext as
/// the release rules allow (see [the module docs](crate::stream)); the end of
/// the stream (`Ok(0)`) is reported only after the whole message
/// authenticated. A failure of the message is an `io::Error` whose inner
/// error is a [`crate::Error`]; the inner reader's own errors come back as
/// they are.
pub struct DecryptingReader<R: Read> {
    decryptor: StreamDecryptor,
    inner: R,
    out: Vec<u8>,
    pos: usize,
    chunk: Vec<u8>,
    eof: bool,
}

impl<R: Read> DecryptingReader<R> {
    /// Wraps `inner`.
    pub fn new(decryptor: StreamDecryptor, inner: R) -> Self {
        Self {
            decryptor,
            inner,
            out: Vec::new(),
            pos: 0,
            chunk: vec![0; CHUNK],
            eof: false,
        }
    }

    /// The decryptor, for the header and encryption context once read.
    pub fn decryptor(&self) -> &StreamDecryptor {
        &self.decryptor
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.out.clear();
            self.pos = 0;
            let n = match self.inner.read(&mut self.chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.decryptor.finish()?;
                self.eof = true;
            } else {
                // `Read` promises n <= the buffer's length; a reader that
                // breaks it gets an error, not a panic.
                let chunk = self.chunk.get(..n).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the inner reader returned more bytes than its buffer holds",
                    )
                })?;
                self.decryptor.update(chunk, &mut self.out)?;
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Read> Drop for DecryptingReader<R> {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.out);
    }
}
