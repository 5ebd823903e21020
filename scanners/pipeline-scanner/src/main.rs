//! `pipeline-scanner`: the atomic scanner for package updates (see the library).

/// mimalloc rather than glibc's malloc: the scanners allocate many small short-lived values
/// (parsed records, report trees); measured in the README (Layout).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    atomic_protocol::main(pipeline_scanner::PipelineScanner::default())
}
