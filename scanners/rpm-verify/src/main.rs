//! `scanner-rpm-verify`: the command line is atomic-protocol's; the judgement is this crate's.

/// mimalloc rather than glibc's malloc: the scanners allocate many small short-lived values
/// (parsed records, report trees); measured in the README (Layout).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    atomic_protocol::main(scanner_rpm_verify::RpmVerify)
}
