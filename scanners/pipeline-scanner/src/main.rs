//! `pipeline-scanner`: the atomic scanner for package updates (see the library).

fn main() -> std::process::ExitCode {
    atomic_protocol::main(pipeline_scanner::PipelineScanner::default())
}
