//! Files: open beneath a directory without escaping it ([`SafeRoot`]),
//! check relative paths that are stored rather than opened
//! ([`check_stored_path`], [`sanitize_filename`]), and check permissions
//! ([`PermissionPolicy`], [`read_secret_file`]).

mod fold;
#[cfg(unix)]
mod perms;
#[cfg(unix)]
mod root;
mod stored_path;

#[cfg(unix)]
pub use perms::{MAX_SECRET_FILE_LEN, PermissionPolicy, read_secret_file};
#[cfg(unix)]
pub use root::{Entry, EntryKind, OpenMode, Resolver, SafeRoot};
pub use stored_path::{
    MAX_COMPONENT_LEN, MAX_STORED_PATH_LEN, PathIssue, StoredPath, check_stored_path,
    decode_stored_path, is_reserved_name, sanitize_filename,
};
