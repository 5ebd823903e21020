//! `image-scan`: every scanner on each subject, one combined report (see the library).

/// mimalloc rather than glibc's malloc: the scanners allocate many small short-lived values
/// (parsed records, report trees); measured in the README (Layout).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    image_scan::cli::main()
}
