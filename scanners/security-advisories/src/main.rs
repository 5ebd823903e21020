//! `security-advisories`: the atomic scanner binary; everything is in the library.

fn main() -> std::process::ExitCode {
    atomic_protocol::main(security_advisories::SecurityAdvisories)
}
