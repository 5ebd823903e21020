//! `security-advisories`: the atomic scanner binary; everything is in the library.

/// mimalloc rather than glibc's malloc: the scanners allocate many small short-lived values
/// (parsed records, report trees); measured in the README (Layout).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    atomic_protocol::main(security_advisories::SecurityAdvisories)
}
