//! The SQL injection detector and the SQL lexing it needs (words, white
//! space and comments, operands, statements). Separate because it is the
//! largest detector and the only one that reads SQL grammar.
//!
//! Linear in its window: each candidate (a quote, `;`, `union`, `or`)
//! reads what follows it up to the next token, never the rest of the
//! window. The questions that did read the rest (is there an operator,
//! `like`, `from` or ` set ` anywhere after this point, where does this
//! comment end) are answered from [`Facts`] gathered in one pass, and
//! inline comments are collapsed to one [`COMMENT`] byte before any rule
//! runs, so skipping one costs one step.

use super::Verdict;
use super::decode::{charge, scan};

/// What an inline comment (`/* ... */`, or `/*` to the end) becomes before
/// the rules run: SQL reads a comment as white space, and one byte keeps "a
/// comment was here" for the rule on a quote followed by a comment. A
/// control character honest text does not hold; one in the input reads as
/// a comment too, which only lets a rule skip it as white space.
const COMMENT: u8 = 0x02;

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

/// Skips white space and (collapsed) comments from `i`.
fn skip_sql_space(bytes: &[u8], i: usize) -> usize {
    let mut j = i;
    // U+000B (VT) is white space to MySQL and SQL Server, though not to
    // `is_ascii_whitespace`.
    while j < bytes.len()
        && (bytes[j].is_ascii_whitespace()
            || bytes[j] == b'\x0b'
            || bytes[j] == b'+'
            || bytes[j] == COMMENT)
    {
        j += 1;
    }
    charge(j.saturating_sub(i));
    j
}

fn word_at(bytes: &[u8], i: usize) -> &[u8] {
    let i = i.min(bytes.len());
    let end = bytes[i..]
        .iter()
        .position(|b| !is_word_byte(*b))
        .map_or(bytes.len(), |n| i + n);
    charge(end - i);
    &bytes[i..end]
}

/// Replaces each inline comment with one [`COMMENT`] byte; an unclosed one
/// runs to the end of the text, as in SQL. One pass.
fn collapse_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        out.push(char::from(COMMENT));
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// Where things last occur in a window, found once so that "does X occur
/// after this point" costs one comparison per candidate, not a scan.
struct Facts {
    /// The last operator or comment byte (`= < > - & ^ * | + #`).
    last_operator: Option<usize>,
    /// The last `like`.
    last_like: Option<usize>,
    /// The last `from`.
    last_from: Option<usize>,
    /// The last ` set `.
    last_set: Option<usize>,
    /// Where each subquery opens: the `(` of `(select`, in order.
    subqueries: Vec<usize>,
}

impl Facts {
    fn new(text: &str) -> Self {
        Self {
            last_operator: text.rfind(['=', '<', '>', '-', '&', '^', '*', '|', '+', '#']),
            last_like: text.rfind("like"),
            last_from: text.rfind("from"),
            last_set: text.rfind(" set "),
            subqueries: text
                .match_indices('(')
                .map(|(i, _)| i)
                .filter(|&i| {
                    let bytes = text.as_bytes();
                    word_at(bytes, skip_sql_space(bytes, i + 1)) == b"select"
                })
                .collect(),
        }
    }
}

/// Whether `found` (a last occurrence) is at or after `at`.
fn occurs_from(found: Option<usize>, at: usize) -> bool {
    found.is_some_and(|p| p >= at)
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
    scan(input, false, sql_window)
}

/// One window of normalised input (see `decode::scan`).
fn sql_window(normalized: &str) -> Verdict {
    // Before comments are collapsed: MySQL runs what a `/*!` comment holds.
    if normalized.contains("/*!") {
        return Verdict::Suspicious("mysql versioned comment");
    }
    let text = collapse_comments(normalized);
    let bytes = text.as_bytes();
    let facts = Facts::new(&text);
    let squashed = squash(&text);
    // union [all|distinct|distinctrow] select, with white space, inline
    // comments or line comments (`#`, `-- `, MySQL's) between.
    let mut lines = None;
    for i in word_positions(&text, "union") {
        let lines = lines.get_or_insert_with(|| LineEnds::new(bytes));
        let mut j = skip_gap(bytes, i + 5, lines);
        let next = word_at(bytes, j);
        if matches!(next, b"all" | b"distinct" | b"distinctrow") {
            j = skip_gap(bytes, j + next.len(), lines);
        }
        while bytes.get(j) == Some(&b'(') {
            j = skip_gap(bytes, j + 1, lines);
        }
        if word_at(bytes, j) == b"select" {
            return Verdict::Suspicious("union select");
        }
    }
    // ; followed by a statement
    for (i, _) in text.match_indices(';') {
        if stacked_statement(bytes, skip_sql_space(bytes, i + 1), &facts) {
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
        if contains_squashed(&text, squashed.as_deref(), needle) {
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
        if contains_squashed(&text, squashed.as_deref(), needle) {
            return Verdict::Suspicious("sql catalog or dangerous function");
        }
    }
    // A quote or closing parenthesis followed by SQL.
    let mut run_end = 0;
    // How many of each quote so far: a quote that breaks out of the
    // application's string is an unmatched one (odd count), where a quote
    // closing a pair the input opened itself (`"Hello" -- he said`) is not.
    let (mut singles, mut doubles) = (0_usize, 0_usize);
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\'' => singles += 1,
            b'"' => doubles += 1,
            _ => {}
        }
        // A `)` inside the run of `)` after the last candidate would skip
        // to the same place and ask a subset of the same questions (it is
        // no quote): 16 KiB of `)` was quadratic before this.
        if i < run_end || !matches!(b, b'\'' | b'"' | b')') {
            continue;
        }
        let quote = *b != b')';
        if quote && bytes.get(i + 1) == Some(&COMMENT) {
            return Verdict::Suspicious("quote followed by a comment or terminator");
        }
        let mut j = i + 1;
        while bytes.get(j) == Some(&b')') {
            j += 1;
        }
        charge(j - i);
        run_end = j;
        j = skip_sql_space(bytes, j);
        let rest = &bytes[j.min(bytes.len())..];
        let unmatched = if *b == b'"' {
            doubles % 2 == 1
        } else {
            singles % 2 == 1
        };
        if quote && unmatched && (rest.starts_with(b"--") || rest.starts_with(b"#")) {
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
        // `"where": 1`, `{"op": "like"}`: the word is a string of its own
        // (JSON keys and values), closed by the quote that opened it and
        // followed by `:`, `,`, `}`, `]` or the end; SQL has no such form.
        if quote && j == i + 1 && bytes.get(after_word) == Some(b) {
            let k = skip_sql_space(bytes, after_word + 1);
            if matches!(bytes.get(k), None | Some(b':' | b',' | b'}' | b']')) {
                continue;
            }
        }
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
            if tautology_at(bytes, at) || (quote && logical_breakout(bytes, at, &facts)) {
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
    // Tautologies without a quote before them (numeric context: `1 or 1=1`,
    // `1 or 'x'='x'`), and conditions on a subquery (blind injection:
    // `1 and ascii(substring((select ...),1,1))>64`).
    for op in ["or", "and", "xor"] {
        for i in word_positions(&text, op) {
            if tautology_at(bytes, i + op.len()) {
                return Verdict::Suspicious("boolean tautology");
            }
            if subquery_condition_at(bytes, i + op.len(), &facts) {
                return Verdict::Suspicious("condition on a subquery");
            }
        }
    }
    Verdict::Clean
}

/// Where each line ends (the index of the next `\n`, or the end), for
/// skipping line comments in one step.
struct LineEnds(Vec<usize>);

impl LineEnds {
    fn new(bytes: &[u8]) -> Self {
        let mut ends = vec![bytes.len(); bytes.len() + 1];
        for i in (0..bytes.len()).rev() {
            ends[i] = if bytes[i] == b'\n' { i } else { ends[i + 1] };
        }
        charge(bytes.len());
        Self(ends)
    }
}

/// Skips white space, comments and the line comments of `MySQL` (`#` and `-- `)
/// from `i`.
fn skip_gap(bytes: &[u8], i: usize, lines: &LineEnds) -> usize {
    let mut j = skip_sql_space(bytes, i);
    loop {
        let rest = &bytes[j.min(bytes.len())..];
        let line_comment = rest.starts_with(b"#")
            || (rest.starts_with(b"--")
                && rest
                    .get(2)
                    .is_none_or(|b| b.is_ascii_whitespace() || b.is_ascii_control()));
        if !line_comment {
            return j;
        }
        let end = lines.0[j];
        j = skip_sql_space(bytes, end);
        if end == bytes.len() {
            return j;
        }
    }
}

/// The window with comments as white space and no white space before
/// `(` (`sleep /**/ (5)` is `sleep(5)`), built once per window for all
/// the function names; `None` when it would equal the window.
fn squash(text: &str) -> Option<String> {
    let comment = char::from(COMMENT);
    if !text.contains(comment) && !text.contains(" (") {
        return None;
    }
    let mut tight = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '(' {
            while tight.ends_with(char::is_whitespace) {
                tight.pop();
            }
        }
        tight.push(if c == comment { ' ' } else { c });
    }
    Some(tight)
}

/// Whether `needle` occurs in the window or in its [`squash`]ed form.
fn contains_squashed(text: &str, squashed: Option<&str>, needle: &str) -> bool {
    text.contains(needle) || squashed.is_some_and(|t| t.contains(needle))
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
fn logical_breakout(bytes: &[u8], i: usize, facts: &Facts) -> bool {
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
    occurs_from(facts.last_operator, j)
        || occurs_from(facts.last_like, j)
        || (rest.len() >= 2 && {
            let quotes = rest[1..]
                .iter()
                .take_while(|b| matches!(b, b'\'' | b'"' | b' '))
                .count();
            charge(quotes);
            quotes == rest.len() - 1
        })
}

/// A statement after `;` that looks like SQL rather than prose.
fn stacked_statement(bytes: &[u8], j: usize, facts: &Facts) -> bool {
    let word = word_at(bytes, j.min(bytes.len()));
    let k = skip_sql_space(bytes, j + word.len()).min(bytes.len());
    let next = word_at(bytes, k);
    let rest = &bytes[k..];
    match word {
        b"select" => {
            occurs_from(facts.last_from, k)
                || matches!(rest.first(), Some(b'*' | b'@' | b'(' | b'\'' | b'0'..=b'9'))
                || next == b"null"
        }
        b"insert" => next == b"into",
        // ` set ` may start at the space before `k`.
        b"update" => occurs_from(facts.last_set, k.saturating_sub(1)),
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
            Some(q @ (b'\'' | b'"')) => {
                let len = bytes[at + 1..]
                    .iter()
                    .position(|b| b == q)
                    .map_or(bytes.len() - at, |p| p + 2);
                charge(len);
                len
            }
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

/// A word, or a quoted literal with its quotes (`'x'`), at `at`.
fn operand_at(bytes: &[u8], at: usize) -> &[u8] {
    match bytes.get(at) {
        Some(q @ (b'\'' | b'"')) => {
            let len = bytes[at + 1..]
                .iter()
                .position(|b| b == q)
                .map_or(0, |p| p + 2);
            charge(len);
            &bytes[at..at + len]
        }
        _ => word_at(bytes, at),
    }
}

/// Within a short reach after `and`/`or`: a function or comparison over a
/// parenthesized `select` (`ascii(substring((select ...` ), with `from`
/// later on. The subqueries are found once ([`Facts`]); each candidate
/// looks up the next one.
fn subquery_condition_at(bytes: &[u8], i: usize, facts: &Facts) -> bool {
    const REACH: usize = 64;
    let j = skip_sql_space(bytes, i);
    charge(1);
    let next = facts.subqueries.partition_point(|&p| p < j);
    facts
        .subqueries
        .get(next)
        .is_some_and(|&p| p < j + REACH && occurs_from(facts.last_from, p))
}

fn tautology_at(bytes: &[u8], i: usize) -> bool {
    let j = skip_sql_space(bytes, i);
    let first = operand_at(bytes, j);
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
    let second = operand_at(bytes, m);
    // Both sides numbers, or the same word or literal: `1=1`, `2>1`, `x=x`,
    // `a like a`, `'x'='x'`.
    (!second.is_empty()
        && first.iter().all(u8::is_ascii_digit)
        && second.iter().all(u8::is_ascii_digit))
        || (!second.is_empty() && first == second)
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

    /// Forms SQL's grammar allows that were missed: a condition in numeric
    /// context (no quote to break out of), `distinctrow`, and every
    /// separator `MySQL` reads between `union` and `select` (white space with
    /// U+000B, inline and line comments).
    #[test]
    fn grammar_gaps() {
        for (input, reason) in [
            ("1 or 'x'='x'", "boolean tautology"),
            ("1 and \"a\"=\"a\"", "boolean tautology"),
            (
                "1 and ascii(substring((select password from users),1,1))>64",
                "condition on a subquery",
            ),
            ("1 or (select count(*) from t)>0", "condition on a subquery"),
            ("1 union distinctrow select 1", "union select"),
            ("1 union#x\nselect 1", "union select"),
            ("1 union#\nselect 1", "union select"),
            ("1 union-- x\nselect 1", "union select"),
            ("1 union\u{b}select 1", "union select"),
            ("1 union all\u{b}select 1", "union select"),
            ("1 union /*x*/ # y\n -- z\n select 1", "union select"),
        ] {
            assert_eq!(
                sql_injection_signal(input),
                Verdict::Suspicious(reason),
                "{input:?}"
            );
        }
    }

    /// Honest text the grammar tells apart: a JSON key or value that is a
    /// SQL keyword is a string closed by its own quote; a quote that closes
    /// a pair the input opened is not a break-out, so ` -- ` after it is a
    /// dash; and `--` needs white space after it to start a line comment.
    #[test]
    fn grammar_false_positives() {
        for honest in [
            r#"{"where": "x", "order": 1}"#,
            r#"{"into": "a", "like": 5, "or": [1, 2]}"#,
            r#"{"name": "x", "where": {"a": 1}}"#,
            r#"["where", "like", "union"]"#,
            "\"Hello\" -- he said",
            "'quoted' -- an aside",
            "the game -- which we won -- was fun",
            "union--select is not a comment",
        ] {
            assert_eq!(sql_injection_signal(honest), Verdict::Clean, "{honest}");
        }
        for attack in [
            "admin'--",
            "admin\" #",
            "x'or'1'='1",
            r#"{"a": "x' or 1=1--"}"#,
        ] {
            assert!(sql_injection_signal(attack).is_suspicious(), "{attack}");
        }
    }

    #[test]
    fn word_positions_are_whole_words() {
        assert_eq!(word_positions("a or b orb", "or").count(), 1);
    }
}
