//! Measures the injection signals on payload and benign corpora: the share
//! of each file's lines that each detector flags.
//!
//! ```text
//! cargo run -p pr-security --example signal_rates -- FILE...
//! ```
//!
//! Each file is one input per line. The crate README publishes the figures
//! this printed on public corpora.

#![allow(clippy::print_stdout, reason = "a command-line report")]

use pr_security::signals::{command_injection_signal, sql_injection_signal, xss_signal};

fn main() -> std::io::Result<()> {
    println!("| file | lines | sql | xss | command | any |");
    println!("|---|---:|---:|---:|---:|---:|");
    for path in std::env::args().skip(1) {
        let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let (mut sql, mut xss, mut cmd, mut any) = (0, 0, 0, 0);
        for line in &lines {
            let s = sql_injection_signal(line).is_suspicious();
            let x = xss_signal(line).is_suspicious();
            let c = command_injection_signal(line).is_suspicious();
            sql += usize::from(s);
            xss += usize::from(x);
            cmd += usize::from(c);
            any += usize::from(s || x || c);
        }
        let pct = |n: usize| {
            if lines.is_empty() {
                0.0
            } else {
                #[expect(clippy::cast_precision_loss, reason = "line counts are small")]
                let share = n as f64 * 100.0 / lines.len() as f64;
                share
            }
        };
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        println!(
            "| {name} | {} | {sql} ({:.1}%) | {xss} ({:.1}%) | {cmd} ({:.1}%) | {any} ({:.1}%) |",
            lines.len(),
            pct(sql),
            pct(xss),
            pct(cmd),
            pct(any)
        );
    }
    Ok(())
}
