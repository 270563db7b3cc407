//! Verifies audit log files from the command line.
//!
//! ```text
//! PR_AUDIT_KEY=... cargo run -p pr-logging --example audit_verify -- logs/audit.log
//! ```
//!
//! With one path, the file and the rotated files beside it are verified as
//! one chain; with several, those files in the order given. Exits with 1
//! when the chain breaks, 2 on a usage or read error.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool"
)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let Ok(key) = std::env::var("PR_AUDIT_KEY") else {
        eprintln!("usage: PR_AUDIT_KEY=<key> audit_verify <current file> | <file>...");
        return ExitCode::from(2);
    };
    let result = match paths.as_slice() {
        [] => {
            eprintln!("usage: PR_AUDIT_KEY=<key> audit_verify <current file> | <file>...");
            return ExitCode::from(2);
        }
        [one] => pr_logging::verify_all(one, key.as_bytes()),
        many => pr_logging::verify_files(many, key.as_bytes()),
    };
    match result {
        Ok(report) => match &report.broken {
            None => {
                println!(
                    "ok: {} lines verified, last sequence {}",
                    report.verified,
                    report.last_seq.unwrap_or(0)
                );
                ExitCode::SUCCESS
            }
            Some(broken) => {
                println!(
                    "broken: {}:{}: {} ({} lines verified before it)",
                    broken.path.display(),
                    broken.line,
                    broken.reason,
                    report.verified
                );
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
