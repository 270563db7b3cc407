//! The cargo tools the gates use, their pinned versions, and installing them when missing.

use std::path::Path;

use crate::step::{Step, TAIL_LINES};
use crate::{Error, GateContext};

/// The cargo tools the built-in gates may install, with the versions they install:
/// `(crate, version)`. `[workspace.metadata.pr-gates.tools]` overrides a version.
pub const PINNED_TOOLS: &[(&str, &str)] = &[
    ("cargo-hack", "0.6.46"),
    ("cargo-deny", "0.20.2"),
    ("cargo-tarpaulin", "0.37.5"),
    ("cargo-nextest", "0.9.143"),
];

/// The cargo subcommand of a tool crate: `cargo-hack` → `hack`.
fn subcommand(tool: &str) -> &str {
    tool.strip_prefix("cargo-").unwrap_or(tool)
}

pub(crate) fn is_installed(root: &Path, tool: &str) -> bool {
    Step::cargo()
        .args([subcommand(tool), "--version"])
        .run(root, &mut std::io::sink())
        .is_ok_and(|out| out.success)
}

pub(crate) fn pinned_version(ctx: &GateContext<'_>, tool: &str) -> Option<String> {
    ctx.config().tools.get(tool).cloned().or_else(|| {
        PINNED_TOOLS
            .iter()
            .find(|(name, _)| *name == tool)
            .map(|(_, version)| (*version).to_owned())
    })
}

pub(crate) fn ensure(ctx: &mut GateContext<'_>, tool: &str) -> Result<(), Error> {
    if is_installed(ctx.workspace().root(), tool) {
        return Ok(());
    }
    let Some(version) = pinned_version(ctx, tool) else {
        return Err(Error::ToolInstall {
            tool: tool.to_owned(),
            version: "(none)".to_owned(),
            reason: "it is missing and has no pinned version; add one under [workspace.metadata.pr-gates.tools]"
                .to_owned(),
        });
    };
    ctx.say(format_args!(
        "  {tool} is missing: installing {tool} {version} with `cargo install --locked {tool}@{version}`"
    ));
    let step = Step::cargo()
        .args(["install", "--locked"])
        .arg(format!("{tool}@{version}"))
        .echo(true);
    let out = ctx.run(&step)?;
    if out.success {
        Ok(())
    } else {
        Err(Error::ToolInstall {
            tool: tool.to_owned(),
            version,
            reason: format!(
                "{}: {}",
                out.status,
                out.tail(TAIL_LINES.min(5)).join(" / ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommand_strips_the_prefix() {
        assert_eq!(subcommand("cargo-hack"), "hack");
        assert_eq!(subcommand("nextest"), "nextest");
    }

    #[test]
    fn every_pin_is_a_version() {
        for (tool, version) in PINNED_TOOLS {
            assert!(tool.starts_with("cargo-"), "{tool}");
            assert_eq!(version.split('.').count(), 3, "{tool} {version}");
        }
    }

    #[test]
    fn unknown_tool_is_not_installed() {
        assert!(!is_installed(Path::new("."), "cargo-pr-gates-no-such-tool"));
    }
}
