//! Hashing a large file through read-only mappings of it instead of `read(2)`: the hash reads
//! the page cache where it is, without the kernel's copy of every byte into a buffer (on the
//! benchmark root that copy was about a sixth of the file pass's CPU time, the largest cost
//! after SHA-256 itself).
//!
//! A file is mapped a [`WINDOW`] at a time (so peak memory grows by one window per worker,
//! however large the file), with `MAP_POPULATE` so its cached pages are mapped in one call.
//! A hostile or changing file must not crash the scanner: a file truncated under a mapping
//! raises `SIGBUS` on the first access past its new end. A handler, installed once, checks
//! whether the fault lies in the window the faulting thread is hashing; if so it maps zero
//! pages over the rest of the window (`MAP_FIXED`, anonymous) so that the access completes,
//! and flags the thread. The flagged hash is thrown away and the caller reads the file again
//! with `read(2)`, so the digest is what the read path gives. A fault anywhere else is handed
//! to the handler that was there before (the standard library's stack-overflow handler, or
//! the default action), exactly as if this one were not installed.
//!
//! Mapping fails on some filesystems (and for some file types, which are refused before this
//! anyway); then, too, the caller reads.

use rpmdb::digest::Hasher;
use std::cell::Cell;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

/// Bytes mapped at a time, a multiple of any page size.
pub const WINDOW: usize = 4 << 20;
/// Files smaller than this are read: for them a mapping costs more than the copy it saves.
pub const MIN_MAPPED: u64 = 256 << 10;

thread_local! {
    /// The window this thread is hashing, `(start, end)` addresses; `(0, 0)` when none.
    static WINDOW_RANGE: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Set by the handler when it covered a fault in this thread's window.
    static FAULTED: Cell<bool> = const { Cell::new(false) };
}

/// The `SIGBUS` action before ours, `None` if ours could not be installed.
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

/// Why a mapped hash gave no digest: the caller then reads the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotMapped {
    /// The handler is not installed, or `mmap` refused the file.
    Unavailable,
    /// The file ended before the size it was hashed for (truncated while hashed).
    Truncated,
}

/// Feed the first `len` bytes of `file` to `hasher` through mappings. On `Err` the hasher
/// holds a partial state and must be thrown away.
pub fn hash_mapped(file: &File, len: u64, hasher: &mut Hasher) -> Result<(), NotMapped> {
    if !installed() {
        return Err(NotMapped::Unavailable);
    }
    let mut offset = 0u64;
    while offset < len {
        let size = usize::try_from((len - offset).min(WINDOW as u64)).map_err(|_| NotMapped::Unavailable)?;
        let off = libc::off_t::try_from(offset).map_err(|_| NotMapped::Unavailable)?;
        // SAFETY: a fresh private read-only mapping of an open descriptor; nothing else
        // refers to the address it returns.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                off,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(NotMapped::Unavailable);
        }
        let start = addr as usize;
        FAULTED.with(|f| f.set(false));
        WINDOW_RANGE.with(|w| w.set((start, start + size)));
        // SAFETY: the mapping is `size` readable bytes until the munmap below. A page past
        // the file's end faults with SIGBUS, which the handler turns into zero pages (the
        // range stays mapped and readable), so every read of the slice completes.
        let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
        hasher.update(bytes);
        WINDOW_RANGE.with(|w| w.set((0, 0)));
        let faulted = FAULTED.with(|f| f.replace(false));
        // SAFETY: the mapping made above (possibly with zero pages over its end), unused now.
        unsafe { libc::munmap(addr, size) };
        if faulted {
            return Err(NotMapped::Truncated);
        }
        offset += size as u64;
    }
    Ok(())
}

/// Install the handler once; whether it is.
fn installed() -> bool {
    PREVIOUS
        .get_or_init(|| {
            // SAFETY: sigaction with a zeroed, then filled, action; `old` receives the
            // previous one.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                (libc::sigaction(libc::SIGBUS, &action, &mut old) == 0).then_some(old)
            }
        })
        .is_some()
}

/// The `SIGBUS` handler. Only async-signal-safe work: thread-locals without destructors
/// (plain TLS reads), `mmap` and `sigaction` (system calls).
extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (start, end) = WINDOW_RANGE.with(|w| w.get());
    if start != 0 && (start..end).contains(&addr) {
        let page = page_size();
        let from = addr & !(page - 1);
        // SAFETY: replaces pages of this thread's own window (nothing else refers to them)
        // with readable zero pages.
        let zeros = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if zeros != libc::MAP_FAILED {
            FAULTED.with(|f| f.set(true));
            return;
        }
    }
    // Not ours: the previous action, as if this handler were not there.
    let Some(Some(previous)) = PREVIOUS.get() else { return };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Put the previous action back; the access faults again and gets it.
        // SAFETY: restoring the action that was in place before ours.
        unsafe { libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut()) };
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous SA_SIGINFO handler, called as the kernel would have.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        f(signal, info, context);
    } else {
        // SAFETY: the previous plain handler, called as the kernel would have.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        f(signal);
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|n| n.is_power_of_two()).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpmdb::digest::Algorithm;
    use std::io::Write;

    fn sha256(data: &[u8]) -> Vec<u8> {
        rpmdb::digest::digest(Algorithm::Sha256, data)
    }

    #[test]
    fn a_mapped_hash_is_the_read_hash() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..WINDOW * 2 + 12345).map(|i| (i % 253) as u8).collect();
        f.write_all(&data).unwrap();
        for len in [data.len() as u64, WINDOW as u64, 5000] {
            let mut h = Hasher::new(Algorithm::Sha256);
            hash_mapped(&f, len, &mut h).unwrap();
            assert_eq!(h.finish(), sha256(&data[..len as usize]), "{len}");
        }
    }

    #[test]
    fn a_file_shorter_than_its_size_is_reported_not_fatal() {
        // The file is truncated after its size was taken: the pages past its end fault.
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; 3 * 4096]).unwrap();
        f.set_len(4096).unwrap();
        let mut h = Hasher::new(Algorithm::Sha256);
        assert_eq!(hash_mapped(&f, 5 * 4096, &mut h), Err(NotMapped::Truncated));
        // The thread hashes normally afterwards.
        let mut h = Hasher::new(Algorithm::Sha256);
        hash_mapped(&f, 4096, &mut h).unwrap();
        assert_eq!(h.finish(), sha256(&[7u8; 4096]));
    }
}
