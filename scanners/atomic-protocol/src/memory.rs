//! The allocator settings every binary of the workspace starts with (the scanners through
//! [`crate::main`], image-scan, rpmdb-query and rpm-va by calling [`keep_freed_memory`]):
//! what they change and why. A process setting, not a database one: it lives with the
//! binaries' shared start-up, not in the reader whose allocations it was measured on.
//!
//! Reading a database allocates and frees a few buffers the size of each header (the blob as
//! read, the file table), and real headers run to hundreds of KiB (python3-libs, tzdata,
//! systemd). glibc's malloc serves a request above its mmap threshold (128 KiB to start with)
//! with a mapping of its own, unmapped again on free, and returns the top of the heap to the
//! kernel whenever more than its trim threshold (128 KiB) is free there; both thresholds then
//! move with the sizes freed. So the pages of a large header's buffers were handed back after
//! each large header and faulted in again, zero-filled, for the next one, at a page fault per
//! 4 KiB (some 4 us each on the machines measured): on CBL-Mariner 2.0's database,
//! `rpmdb-query --files` took 660 page faults, 316 with these settings and the SQLite reader's
//! 128 KiB batches, and 21% less CPU time; on Amazon Linux 2023's, 559 and 401, 11% less.
//!
//! Fixing both thresholds at 32 MiB keeps freed memory for reuse: the heap stays at its high
//! mark, which follows the largest header read, until the process ends. A single allocation of
//! more than 32 MiB (a header that large is hostile; rpm's limit is 256 MiB) is still mapped
//! and unmapped on its own.

/// Both glibc malloc thresholds, in bytes (32 MiB is the largest mmap threshold glibc accepts
/// on 64-bit systems).
const THRESHOLD: i32 = 32 << 20;

/// Keep freed memory for reuse instead of returning it to the kernel (see the module
/// documentation). Process-wide; binaries call it first thing in `main`. A no-op where the
/// C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two of malloc's parameters (under malloc's own lock); it
    // takes no pointers and is callable at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
    }
}
