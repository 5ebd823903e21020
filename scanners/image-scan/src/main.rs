//! `image-scan`: every scanner on each subject, one combined report (see the library).
fn main() -> std::process::ExitCode {
    image_scan::cli::main()
}
