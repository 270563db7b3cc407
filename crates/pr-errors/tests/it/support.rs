//! Errors with a configurable cause chain, shared by the tests.

use std::error::Error as StdError;
use std::fmt;

use pr_errors::{CodeInfo, CodedError};

pr_errors::codes! {
    /// Codes used by the tests.
    pub(crate) static CODES;

    /// A failure whose message a client may see.
    pub(crate) PUBLIC = "test.public", UNPROCESSABLE_ENTITY, permanent, public;
    /// A failure whose message stays in the logs.
    pub(crate) PRIVATE = "test.private", SERVICE_UNAVAILABLE, transient;
}

/// One error of a chain: its message and, optionally, its cause.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) message: String,
    pub(crate) source: Option<Box<Node>>,
    pub(crate) public: bool,
}

impl Node {
    /// A chain whose outermost message is `messages[0]`.
    pub(crate) fn chain(messages: &[String], public: bool) -> Self {
        let mut node: Option<Box<Node>> = None;
        for message in messages.iter().rev() {
            node = Some(Box::new(Node {
                message: message.clone(),
                source: node,
                public,
            }));
        }
        *node.expect("at least one message")
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Node {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|n| n as &(dyn StdError + 'static))
    }
}

impl CodedError for Node {
    fn info(&self) -> &'static CodeInfo {
        if self.public { &PUBLIC } else { &PRIVATE }
    }
}

/// The one-line rendering a reader expects: messages joined by `": "`, each
/// control character written as its Rust escape.
pub(crate) fn expected_one_line(messages: &[String]) -> String {
    messages
        .iter()
        .map(|m| {
            m.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(": ")
}
