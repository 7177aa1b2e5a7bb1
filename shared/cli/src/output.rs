//! Standard output for commands whose reader may stop early (`reflex ... | head`): once the
//! pipe is closed, the rest of the output is dropped, and the command still finishes its
//! work and returns its own exit code, instead of failing on the first write.

use std::io::{self, ErrorKind, StdoutLock, Write};

/// Locked standard output that ignores a closed pipe.
pub struct Stdout {
    inner: StdoutLock<'static>,
    closed: bool,
}

/// Standard output, locked for the command's run.
pub fn stdout() -> Stdout {
    Stdout {
        inner: io::stdout().lock(),
        closed: false,
    }
}

impl Stdout {
    /// `result` of a write of `len` bytes, with a closed pipe taken as written.
    fn unless_closed<T>(&mut self, result: io::Result<T>, closed: T) -> io::Result<T> {
        match result {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(closed)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = self.inner.write(buf);
        self.unless_closed(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.unless_closed(result, ())
    }
}
