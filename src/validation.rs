//! Field-level validation errors shared by forms, CSV rows and APIs.

use serde::{Deserialize, Serialize};

/// One problem with one input field, phrased for the person who typed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The input's name (form field, CSV column or JSON path).
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in one input, so a form can show them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for `field`, if any.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(value)` when nothing was pushed, else all the errors.
    ///
    /// # Errors
    /// Returns `self` when at least one field is invalid.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Trims `raw`; `None` when nothing is left.
pub fn non_empty(raw: &str) -> Option<&str> {
    let t = raw.trim();
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_and_reports_each_field() {
        let mut errors = ValidationErrors::default();
        errors.push("name", "is required");
        errors.push("seats", "must be a whole number");
        assert_eq!(errors.for_field("seats"), Some("must be a whole number"));
        assert_eq!(errors.for_field("plan"), None);
        assert_eq!(
            errors.to_string(),
            "name: is required; seats: must be a whole number"
        );
        assert!(errors.into_result(()).is_err());
        assert_eq!(ValidationErrors::default().into_result(7), Ok(7));
    }

    #[test]
    fn non_empty_trims() {
        assert_eq!(non_empty("  a "), Some("a"));
        assert_eq!(non_empty(" \t"), None);
    }
}
