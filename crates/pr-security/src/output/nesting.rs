//! How deeply HTML nests, read before it is parsed, so that
//! [`sanitize_html`](super::sanitize_html) can refuse input whose tree
//! would be deep: html5ever's tree building costs time in the depth of the
//! open-element stack for each element (80 KB of nested `<ul>` took 5–11 s),
//! so depth, not size, is what makes it quadratic.
//!
//! The count is a stack of open elements kept the way the HTML tree builder
//! keeps it, simplified in the direction that counts more, never less:
//!
//! - every `<` followed by a letter starts a tag, even inside an attribute
//!   value or a `<script>` (which the parser would read as text), and a
//!   tag ends at the first `>`;
//! - void elements (`br`, `img`, ...) are not pushed; `/>` closes only
//!   inside `svg` or `math`, as in the parser (`<div/>` opens a `div`);
//! - an end tag pops up to the nearest open element of its name, and is
//!   ignored, as the parser ignores it, when none is open or when an element
//!   that bounds the search lies above it: for the end tag of a "special"
//!   element (`</div>`) the elements of the default scope (`table`, `td`,
//!   ...), for any other (`</span>`) every special element, so that
//!   `<span><div></span>` stays two deep as it does in the parser;
//! - `li`, `dt`/`dd`, `option`, `tr`, `td`/`th` and `p` close an open
//!   element of their kind before the nearest element that bounds it (a
//!   `ul` for `li`, a `table` for `tr`), so that a list of 100 `<li>`
//!   without end tags is 100 siblings, but `<ul><li><ul><li>` still nests;
//! - a formatting element (`b`, `a`, `font`, ...) popped by another
//!   element's end tag stays counted until its own end tag: the parser
//!   keeps it in the list of active formatting elements and opens it again
//!   inside the next element with text ("reconstruct the active formatting
//!   elements"), which is how `<div><b id=1></div><div><b id=2></div>...`
//!   nests ever deeper;
//! - comments end at the first `-->`, `--!>` or an abrupt `<!-->`;
//! - the `tbody` and `tr` a table implies for a `tr` or `td` straight
//!   inside it are counted; `html` and `body`, which every document has,
//!   are not (the limit is on what is below them).
//!
//! Work is linear in the input times the depth limit (a search of the stack
//! per tag), and the scan stops as soon as the limit is passed.

/// Elements that never have content.
const VOID: &[&[u8]] = &[
    b"area",
    b"base",
    b"basefont",
    b"bgsound",
    b"br",
    b"col",
    b"embed",
    b"frame",
    b"hr",
    b"img",
    b"input",
    b"keygen",
    b"link",
    b"meta",
    b"param",
    b"source",
    b"track",
    b"wbr",
];

/// The tree builder's "special" elements: an end tag of another name is
/// not matched across one of them.
const SPECIAL: &[&[u8]] = &[
    b"address",
    b"applet",
    b"area",
    b"article",
    b"aside",
    b"base",
    b"basefont",
    b"bgsound",
    b"blockquote",
    b"body",
    b"br",
    b"button",
    b"caption",
    b"center",
    b"col",
    b"colgroup",
    b"dd",
    b"details",
    b"dir",
    b"div",
    b"dl",
    b"dt",
    b"embed",
    b"fieldset",
    b"figcaption",
    b"figure",
    b"footer",
    b"form",
    b"frame",
    b"frameset",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"head",
    b"header",
    b"hgroup",
    b"hr",
    b"html",
    b"iframe",
    b"img",
    b"input",
    b"keygen",
    b"li",
    b"link",
    b"listing",
    b"main",
    b"marquee",
    b"menu",
    b"meta",
    b"nav",
    b"noembed",
    b"noframes",
    b"noscript",
    b"object",
    b"ol",
    b"p",
    b"param",
    b"plaintext",
    b"pre",
    b"script",
    b"search",
    b"section",
    b"select",
    b"source",
    b"style",
    b"summary",
    b"table",
    b"tbody",
    b"td",
    b"template",
    b"textarea",
    b"tfoot",
    b"th",
    b"thead",
    b"title",
    b"tr",
    b"track",
    b"ul",
    b"wbr",
    b"xmp",
    b"mi",
    b"mo",
    b"mn",
    b"ms",
    b"mtext",
    b"annotation-xml",
    b"foreignobject",
    b"desc",
];

/// The elements that bound the tree builder's default scope.
const DEFAULT_SCOPE: &[&[u8]] = &[
    b"applet",
    b"caption",
    b"html",
    b"table",
    b"td",
    b"th",
    b"marquee",
    b"object",
    b"template",
    b"mi",
    b"mo",
    b"mn",
    b"ms",
    b"mtext",
    b"annotation-xml",
    b"foreignobject",
    b"desc",
    b"title",
];

/// A list of element names.
type Names = &'static [&'static [u8]];

/// For a start tag that closes an open element of its kind: the names it
/// closes and the names that bound the search.
fn auto_close(name: &[u8]) -> Option<(Names, Names)> {
    const BUTTON_SCOPE: &[&[u8]] = &[
        b"button",
        b"table",
        b"td",
        b"th",
        b"caption",
        b"object",
        b"applet",
        b"marquee",
        b"template",
        b"svg",
        b"math",
    ];
    Some(match name {
        b"li" => (&[b"li"], &[b"ul", b"ol", b"menu"]),
        b"dt" | b"dd" => (&[b"dt", b"dd"], &[b"dl"]),
        b"option" => (&[b"option"], &[b"select", b"datalist", b"optgroup"]),
        b"tr" => (&[b"tr"], &[b"table", b"thead", b"tbody", b"tfoot"]),
        b"td" | b"th" => (&[b"td", b"th"], &[b"tr", b"table"]),
        b"p" => (&[b"p"], BUTTON_SCOPE),
        _ => return None,
    })
}

/// Elements whose end tags the tree builder matches within table scope.
const TABLE_PARTS: Names = &[
    b"table",
    b"caption",
    b"colgroup",
    b"tbody",
    b"thead",
    b"tfoot",
    b"tr",
    b"td",
    b"th",
];

/// Formatting elements: the ones the parser reopens after something else
/// closed them.
const FORMATTING: &[&[u8]] = &[
    b"a", b"b", b"big", b"code", b"em", b"font", b"i", b"nobr", b"s", b"small", b"strike",
    b"strong", b"tt", b"u",
];

/// The open elements, lowercase names.
struct Stack {
    open: Vec<Vec<u8>>,
    /// Formatting elements popped by something other than their own end
    /// tag: still active, so still counted.
    lingering: usize,
    /// How many of them are `svg` or `math` (where `/>` closes).
    foreign: usize,
}

impl Stack {
    /// Pops everything from position `at` up.
    fn truncate(&mut self, at: usize) {
        for name in self.open.drain(at..) {
            if name == b"svg" || name == b"math" {
                self.foreign -= 1;
            }
            if FORMATTING.contains(&name.as_slice()) {
                self.lingering += 1;
            }
        }
    }

    /// The depth counted: open elements and lingering formatting ones.
    fn depth(&self) -> usize {
        self.open.len() + self.lingering
    }

    /// Where the nearest open element named one of `names` is, searching
    /// down from the top and stopping at any of `bounds`.
    fn find(&self, names: &[&[u8]], bounds: &[&[u8]]) -> Option<usize> {
        for (at, open) in self.open.iter().enumerate().rev() {
            if names.contains(&open.as_slice()) {
                return Some(at);
            }
            if bounds.contains(&open.as_slice()) {
                return None;
            }
        }
        None
    }
}

/// Whether `html` nests deeper than `max` elements (see the module docs).
pub(super) fn deeper_than(html: &str, max: usize) -> bool {
    let bytes = html.as_bytes();
    let mut stack = Stack {
        open: Vec::new(),
        lingering: 0,
        foreign: 0,
    };
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|b| *b == b'<') {
        let at = i + offset;
        let rest = &bytes[at + 1..];
        if let Some(comment) = rest.strip_prefix(b"!--") {
            i = at + 4 + comment_len(comment);
            continue;
        }
        if matches!(rest.first(), Some(b'!' | b'?')) {
            i = tag_end(bytes, at + 1);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = at + 1 + usize::from(closing);
        if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            i = at + 1;
            continue;
        }
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'))
            .count();
        let name = bytes[name_start..name_start + name_len].to_ascii_lowercase();
        i = tag_end(bytes, name_start + name_len);
        let self_closing = i >= 2 && bytes[i - 2] == b'/' && bytes[i - 1] == b'>';
        if closing {
            // Table parts close within table scope (`</table>` in a cell
            // closes the cell first), other special elements within the
            // default scope, anything else not across a special element.
            let bounds: Names = if TABLE_PARTS.contains(&name.as_slice()) {
                &[b"html", b"table", b"template"]
            } else if SPECIAL.contains(&name.as_slice()) {
                DEFAULT_SCOPE
            } else {
                SPECIAL
            };
            let found = stack.find(&[name.as_slice()], bounds);
            if let Some(open) = found {
                stack.truncate(open);
            }
            // Its own end tag takes a formatting element off the active
            // list (`truncate` counted it as lingering, or it already was).
            if FORMATTING.contains(&name.as_slice()) && (found.is_some() || stack.lingering > 0) {
                stack.lingering -= 1;
            }
            continue;
        }
        if VOID.contains(&name.as_slice()) || (self_closing && stack.foreign > 0) {
            continue;
        }
        if let Some((names, bounds)) = auto_close(&name)
            && let Some(open) = stack.find(names, bounds)
        {
            stack.truncate(open);
        }
        let top = stack.open.last().map(Vec::as_slice);
        let implied: &[&[u8]] = match (name.as_slice(), top) {
            (b"tr", Some(b"table")) => &[b"tbody"],
            (b"td" | b"th", Some(b"table")) => &[b"tbody", b"tr"],
            (b"td" | b"th", Some(b"tbody" | b"thead" | b"tfoot")) => &[b"tr"],
            _ => &[],
        };
        stack.open.extend(implied.iter().map(|n| n.to_vec()));
        if name == b"svg" || name == b"math" {
            stack.foreign += 1;
        }
        stack.open.push(name);
        if stack.depth() > max {
            return true;
        }
    }
    false
}

/// The index just past the `>` that ends a tag whose text goes on at
/// `from`, or the end of the input.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    bytes[from.min(bytes.len())..]
        .iter()
        .position(|b| *b == b'>')
        .map_or(bytes.len(), |p| from + p + 1)
}

/// The length of a comment's text after `<!--`, its end included: the
/// tokenizer ends it at `-->` or `--!>`, or at once for `<!-->` and
/// `<!--->`.
fn comment_len(comment: &[u8]) -> usize {
    if comment.starts_with(b">") {
        return 1;
    }
    if comment.starts_with(b"->") {
        return 2;
    }
    let mut k = 0;
    while k + 2 < comment.len() {
        if comment[k..].starts_with(b"-->") {
            return k + 3;
        }
        if comment[k..].starts_with(b"--!>") {
            return k + 4;
        }
        k += 1;
    }
    comment.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(html: &str) -> usize {
        (0..=64)
            .find(|&max| !deeper_than(html, max))
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn depth_as_the_tree_builder_keeps_it() {
        for (html, expected) in [
            ("", 0),
            ("text", 0),
            ("<p>a</p><p>b</p>", 1),
            ("<div><div><div>x</div></div></div>", 3),
            ("<ul><li>a<li>b<li>c</ul>", 2),
            ("<ul><li><ul><li><ul><li>", 6),
            ("<table><tr><td>a<td>b<tr><td>c</table>", 4),
            ("<table><td>a</table>", 4),
            ("<dl><dt>a<dd>b<dt>c</dl>", 2),
            ("<p>a<p>b<p>c", 1),
            ("<br><img src=x><hr><input>", 0),
            ("<div/><div/><div/>", 3),
            ("<svg><path/><path/><g><path/></g></svg>", 2),
            ("<!-- <div><div> --><b>x</b>", 1),
            ("<!--><div>", 1),
            ("<!---><div>", 1),
            ("<!-- a --!><div>", 1),
            ("<div></span><div></span><div>", 3),
            ("<DIV><Div></dIv></div>", 2),
            ("<a title='<b>'>x</a>", 1),
            ("<p><b>x</p><p>y</b></p>", 2),
            ("<div><b id=1></div><div><b id=2></div><div>", 3),
            ("<b><i>x</i></b><b>y</b>", 2),
            ("<table><tr><td>x</table><table><tr><td>y</table>", 4),
            ("<span><div></span><span><div></span>", 4),
            ("<div><table></div><tr><td>", 5),
        ] {
            assert_eq!(depth(html), expected, "{html}");
        }
    }

    #[test]
    fn work_stops_at_the_limit() {
        let deep = "<ul>".repeat(100_000);
        assert!(deeper_than(&deep, 64));
        assert!(!deeper_than(&"<li>x".repeat(100_000), 1));
        // Formatting elements the parser reopens: as deep as it builds.
        let reopened: String = (0..100).map(|i| format!("<div><b id={i}></div>")).collect();
        assert!(deeper_than(&reopened, 64));
    }
}
