//! The codes pr-errors defines itself, and its error type.

use crate::{CodeInfo, CodedError};

crate::codes! {
    /// The codes pr-errors itself defines.
    pub static CODES;

    /// An error from outside every catalogue; its message stays in the logs.
    pub UNCLASSIFIED = "internal.unclassified", INTERNAL_SERVER_ERROR, permanent;
    /// A problem-details extension member has a name RFC 9457 does not allow, or one that clashes with a standard member.
    pub INVALID_EXTENSION = "problem.invalid_extension", INTERNAL_SERVER_ERROR, permanent;
}

/// What can go wrong inside pr-errors itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A problem-details extension member was given a name that is not
    /// allowed (see [`Problem::with_extension`](crate::Problem)).
    #[error("problem details extension member `{name}` is not allowed: {reason}")]
    InvalidExtension {
        /// The rejected member name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
}

impl CodedError for Error {
    fn info(&self) -> &'static CodeInfo {
        match self {
            Self::InvalidExtension { .. } => &INVALID_EXTENSION,
        }
    }
}
