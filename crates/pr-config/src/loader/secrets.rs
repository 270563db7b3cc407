//! Secret files: a variable `<KEY>_FILE` names a file that holds `<KEY>`'s
//! value. Separate because reading them checks the file's permissions first
//! (under [`SecretFilePolicy`]) and marks their keys secret.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Value};

use super::layers::{Layer, LayerKind};
use super::{ConfigLoader, SecretFilePolicy};
use crate::error::{INSECURE_SECRET_FILE, IO};
use crate::{ConfigProblem, Source, Warning, tree};

/// A variable naming a secret file: the key it sets, the variable, the path.
pub(super) struct SecretFileRef {
    key: String,
    var: String,
    path: String,
}

impl SecretFileRef {
    pub(super) fn new(key: String, var: &str, path: &str) -> Self {
        Self {
            key,
            var: var.to_owned(),
            path: path.to_owned(),
        }
    }
}

impl<T> ConfigLoader<T> {
    /// `key` is `<secret>_file` for a known `<secret>` that is not itself a
    /// known key: the target key.
    pub(super) fn secret_file_target(&self, key: &str, defaults: &Dict) -> Option<String> {
        let target = key.strip_suffix("_file")?;
        (!target.is_empty() && tree::covers(defaults, target) && !tree::covers(defaults, key))
            .then(|| target.to_owned())
    }

    /// The layer of the secret files that could be read (and were safe
    /// enough), their keys added to `secret_keys`.
    pub(super) fn secret_layer(
        &self,
        file_refs: Vec<SecretFileRef>,
        secret_keys: &mut BTreeSet<String>,
        problems: &mut Vec<ConfigProblem>,
        warnings: &mut Vec<Warning>,
    ) -> Layer {
        let mut secrets = Layer::new(LayerKind::Other, Source::Override);
        for SecretFileRef { key, var, path } in file_refs {
            let path = PathBuf::from(path);
            let source = Source::SecretFile {
                path: path.clone(),
                var: var.clone(),
            };
            if let Some(value) = self.read_secret_file(&key, &source, &path, problems, warnings) {
                tree::insert(&mut secrets.dict, &key, Value::from(value));
                secrets.origins.insert(key.clone(), source);
                secret_keys.insert(key);
            }
        }
        secrets
    }

    fn read_secret_file(
        &self,
        key: &str,
        source: &Source,
        path: &Path,
        problems: &mut Vec<ConfigProblem>,
        warnings: &mut Vec<Warning>,
    ) -> Option<String> {
        #[cfg(unix)]
        match pr_security::files::PermissionPolicy::secret().check(path) {
            Ok(report) => {
                let bad: Vec<String> = report
                    .findings
                    .iter()
                    .filter(|f| f.severity >= pr_security::Severity::Warning)
                    .map(|f| f.code.to_string())
                    .collect();
                if !bad.is_empty() {
                    let message = format!(
                        "secret file permissions are unsafe ({}); use mode 0600",
                        bad.join(", ")
                    );
                    match self.secret_policy {
                        SecretFilePolicy::Reject => {
                            problems.push(ConfigProblem::new(
                                key,
                                source.clone(),
                                &INSECURE_SECRET_FILE,
                                message,
                            ));
                            return None;
                        }
                        SecretFilePolicy::Warn => {
                            tracing::warn!(event = "config.insecure_secret_file", key = %key, source = %source, "{message}");
                            warnings.push(Warning {
                                event: "config.insecure_secret_file",
                                key: key.to_owned(),
                                source: source.clone(),
                                message,
                            });
                        }
                    }
                }
            }
            Err(e) => {
                // The operating system's reason; the path is in the source.
                let message = match &e {
                    pr_security::Error::Io { op, source, .. } => {
                        format!("cannot examine the secret file: {op} failed: {source}")
                    }
                    _ => "cannot examine the secret file".to_owned(),
                };
                problems.push(ConfigProblem::new(key, source.clone(), &IO, message));
                return None;
            }
        }
        match std::fs::read_to_string(path) {
            Ok(mut text) => {
                while text.ends_with('\n') || text.ends_with('\r') {
                    text.pop();
                }
                Some(text)
            }
            Err(e) => {
                problems.push(ConfigProblem::new(
                    key,
                    source.clone(),
                    &IO,
                    format!("cannot read the secret file: {e}"),
                ));
                None
            }
        }
    }
}
