//! `scanner-rpm-verify`: the command line is atomic-protocol's; the judgement is this crate's.

fn main() -> std::process::ExitCode {
    atomic_protocol::main(scanner_rpm_verify::RpmVerify)
}
