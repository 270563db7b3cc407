//! Integration tests of pr-facade: what spans every crate.

mod catalogue;
mod templates;
