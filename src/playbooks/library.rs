//! The ready library, from the product documents: the playbooks a fresh installation (and
//! the demo) starts with, and the e-mail templates they send. Plain data
//! (`library.json`), checked by the same validation as any playbook an admin writes.

use serde::Deserialize;

use super::definition::Playbook;

/// An e-mail template of the library (minijinja: `{{ customer.name }}`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TemplateSeed {
    pub key: String,
    pub name: String,
    pub subject: String,
    pub body: String,
    /// Operational mail (a failed payment) ignores caps and unsubscribes.
    #[serde(default)]
    pub operational: bool,
}

/// A playbook of the library and its key.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PlaybookSeed {
    pub key: String,
    pub definition: Playbook,
}

/// The library.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Library {
    pub templates: Vec<TemplateSeed>,
    pub playbooks: Vec<PlaybookSeed>,
}

/// The ready library.
///
/// # Panics
/// Never in a build whose unit tests pass: the document is compiled in and checked there.
pub fn library() -> Library {
    serde_json::from_str(include_str!("library.json")).expect("the library parses")
}

#[cfg(test)]
mod tests {
    use super::super::validate::{validate, Catalog};
    use super::*;

    #[test]
    fn every_library_playbook_is_valid_and_names_only_library_templates() {
        let lib = library();
        assert_eq!(lib.playbooks.len(), 9);
        let catalog = Catalog {
            templates: Some(lib.templates.iter().map(|t| t.key.clone()).collect()),
        };
        for p in &lib.playbooks {
            let problems = validate(&p.definition, &catalog);
            assert!(problems.is_empty(), "{}: {problems}", p.key);
        }
        let keys: std::collections::BTreeSet<&str> =
            lib.playbooks.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys.len(), 9, "keys are unique");
        let used: std::collections::BTreeSet<String> = lib
            .playbooks
            .iter()
            .flat_map(|p| p.definition.walk())
            .filter_map(|(_, s)| match &s.kind {
                super::super::StepKind::SendEmail { template, .. } => Some(template.clone()),
                _ => None,
            })
            .collect();
        for t in &lib.templates {
            assert!(used.contains(&t.key), "template {} is never sent", t.key);
        }
    }
}
