//! Email address validation: the RFC 5321 mailbox grammar, and the stricter
//! HTML-form mode.

use std::fmt;

use crate::Error;

/// Which grammar [`validate_email`] applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailMode {
    /// An RFC 5321 `Mailbox`: a dot-string or quoted-string local part, and
    /// a domain or an IPv4 / IPv6 address literal. No comments or folding
    /// white space (RFC 5322 `CFWS`), no obsolete forms, no general address
    /// literals; the length limits of RFC 5321 (local part 64 octets, labels
    /// 63, domain 253, address 254).
    Rfc5321,
    /// What an HTML `<input type="email">` accepts (WHATWG's "valid email
    /// address"), made stricter: no leading, trailing or doubled dots in the
    /// local part, and the RFC 5321 length limits. No quoted local parts, no
    /// address literals. Single-label domains (`user@localhost`) are
    /// accepted, as browsers do.
    #[default]
    Html,
}

/// A validated email address; the domain is lowercased, the local part kept
/// as written (it is case-sensitive in principle).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email {
    address: String,
    at: usize,
}

impl Email {
    /// The normalized address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`, as written (quotes included).
    #[must_use]
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The part after the `@` (lowercased; an address literal keeps its
    /// brackets).
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;
const MAX_ADDRESS: usize = 254;

/// Validates an email address in `mode` and returns it normalized.
///
/// Never panics, whatever the input. No DNS look-up is made: whether the
/// domain receives mail is another question.
///
/// # Examples
///
/// ```
/// use pr_security::validation::{EmailMode, validate_email};
///
/// # fn main() -> Result<(), pr_security::Error> {
/// assert_eq!(validate_email("Ann@Example.COM", EmailMode::Html)?.as_str(), "Ann@example.com");
/// assert!(validate_email("\"ann smith\"@example.com", EmailMode::Rfc5321).is_ok());
/// assert!(validate_email("\"ann smith\"@example.com", EmailMode::Html).is_err());
/// assert!(validate_email("ann..smith@example.com", EmailMode::Html).is_err());
/// assert!(validate_email("ann@[IPv6:2001:db8::1]", EmailMode::Rfc5321).is_ok());
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::InvalidEmail`] saying what is wrong (the address is not echoed).
pub fn validate_email(input: &str, mode: EmailMode) -> Result<Email, Error> {
    parse(input, mode).map_err(|issue| Error::InvalidEmail { issue })
}

fn parse(input: &str, mode: EmailMode) -> Result<Email, &'static str> {
    if input.is_empty() {
        return Err("empty");
    }
    if !input.is_ascii() {
        return Err("non-ascii character (internationalized addresses are not accepted)");
    }
    if input.len() > MAX_ADDRESS {
        return Err("longer than 254 characters");
    }
    let bytes = input.as_bytes();
    let at = if bytes[0] == b'"' {
        if mode == EmailMode::Html {
            return Err("quoted local part");
        }
        let end = quoted_string_end(bytes)?;
        if bytes.get(end) != Some(&b'@') {
            return Err("text after the quoted local part");
        }
        end
    } else {
        let at = input.find('@').ok_or("no @")?;
        dot_string(&input[..at])?;
        at
    };
    if at > MAX_LOCAL {
        return Err("local part longer than 64 characters");
    }
    let domain = &input[at + 1..];
    if domain.is_empty() {
        return Err("empty domain");
    }
    let domain = if domain.starts_with('[') {
        if mode == EmailMode::Html {
            return Err("address literal");
        }
        address_literal(domain)?
    } else {
        dns_domain(domain)?;
        domain.to_ascii_lowercase()
    };
    let mut address = String::with_capacity(input.len());
    address.push_str(&input[..at]);
    address.push('@');
    address.push_str(&domain);
    Ok(Email { address, at })
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

fn dot_string(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("empty local part");
    }
    for atom in local.split('.') {
        if atom.is_empty() {
            return Err("leading, trailing or consecutive dot in the local part");
        }
        if !atom.bytes().all(is_atext) {
            return Err("character not allowed in an unquoted local part");
        }
    }
    Ok(())
}

/// The index just past the closing quote.
fn quoted_string_end(bytes: &[u8]) -> Result<usize, &'static str> {
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok(i + 1),
            b'\\' => match bytes.get(i + 1) {
                Some(32..=126) => i += 2,
                _ => return Err("bad quoted pair in the local part"),
            },
            32 | 33 | 35..=91 | 93..=126 => i += 1,
            _ => return Err("character not allowed in a quoted local part"),
        }
    }
    Err("unterminated quoted local part")
}

fn dns_domain(domain: &str) -> Result<(), &'static str> {
    if domain.len() > MAX_DOMAIN {
        return Err("domain longer than 253 characters");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err("empty domain label");
        }
        if label.len() > MAX_LABEL {
            return Err("domain label longer than 63 characters");
        }
        let b = label.as_bytes();
        if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
            return Err("character not allowed in a domain");
        }
        if b[0] == b'-' || b[b.len() - 1] == b'-' {
            return Err("domain label starts or ends with a hyphen");
        }
    }
    Ok(())
}

fn address_literal(domain: &str) -> Result<String, &'static str> {
    let inner = domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .ok_or("unterminated address literal")?;
    if inner.len() > 5 && inner[..5].eq_ignore_ascii_case("IPv6:") {
        let v6 = &inner[5..];
        if !ipv6_5321(v6) {
            return Err("bad ipv6 address literal");
        }
        return Ok(format!("[IPv6:{}]", v6.to_ascii_lowercase()));
    }
    if ipv4_5321(inner) {
        Ok(domain.to_owned())
    } else {
        Err("address literal is neither ipv4 nor ipv6")
    }
}

/// RFC 5321 `IPv4-address-literal`: four decimal `Snum` (0-255, 1-3 digits).
fn ipv4_5321(text: &str) -> bool {
    let mut count = 0;
    for part in text.split('.') {
        count += 1;
        if part.is_empty()
            || part.len() > 3
            || !part.bytes().all(|b| b.is_ascii_digit())
            || part.parse::<u16>().map_or(true, |v| v > 255)
        {
            return false;
        }
    }
    count == 4
}

/// RFC 5321 `IPv6-addr`: full (8 groups), compressed (at most 6 groups
/// besides `::`), and both with a trailing IPv4 address counting as 2 groups.
fn ipv6_5321(text: &str) -> bool {
    let (head, tail, compressed) = match text.split_once("::") {
        Some((h, t)) => {
            if t.contains("::") {
                return false;
            }
            (h, t, true)
        }
        None => (text, "", false),
    };
    let mut groups = 0;
    let mut saw_v4 = false;
    let parts: Vec<&str> = if compressed {
        [head, tail]
            .iter()
            .filter(|s| !s.is_empty())
            .flat_map(|s| s.split(':'))
            .collect()
    } else {
        head.split(':').collect()
    };
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.iter().enumerate() {
        if i == last && part.contains('.') {
            if !ipv4_5321(part) {
                return false;
            }
            saw_v4 = true;
            groups += 2;
        } else if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return false;
        } else {
            groups += 1;
        }
    }
    // An IPv4 tail in the compressed form must follow `::` or a group.
    if saw_v4 && compressed && tail.is_empty() {
        return false;
    }
    if compressed { groups <= 6 } else { groups == 8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_rules() {
        for ok in [
            "1111:2222:3333:4444:5555:6666:7777:8888",
            "1111:2222:3333:4444:5555::8888",
            "::3333:4444:5555:6666:7777:8888",
            "::",
            "1111:2222:3333:4444:5555:6666:255.255.255.255",
            "1111:2222:3333:4444::255.255.255.255",
            "::ffff:1.2.3.4",
        ] {
            assert!(ipv6_5321(ok), "{ok}");
        }
        for bad in [
            "1111:2222:3333:4444:5555:6666:7777",
            "1111:2222:3333:4444:5555:6666::8888",
            ":3333:4444:5555:6666:7777:8888",
            "1111::4444:5555::8888",
            "1111:2222:3333:4444:5555:6666::255.255.255.255",
            "1:2::3:",
            "888G::",
            "1.2.3.4::",
        ] {
            assert!(!ipv6_5321(bad), "{bad}");
        }
    }

    #[test]
    fn normalization() {
        let e = validate_email("A.B@Ex-Ample.ORG", EmailMode::Rfc5321).unwrap();
        assert_eq!((e.local_part(), e.domain()), ("A.B", "ex-ample.org"));
        let e = validate_email("x@[IPv6:ABCD::1]", EmailMode::Rfc5321).unwrap();
        assert_eq!(e.domain(), "[IPv6:abcd::1]");
    }
}
