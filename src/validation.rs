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

/// What we answer about text that contains a NUL character: Postgres can't store it in a
/// text column, so it is refused at the edge on every database alike.
pub const NUL_MESSAGE: &str = "contains a NUL character (U+0000), which can't be stored";

/// Where the first NUL character of `text` is, as `line L, column C` (1-based, in
/// characters) when the text has several lines, else `position N`.
pub fn nul_position(text: &str) -> Option<String> {
    let at = text.find('\0')?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(if text.contains('\n') {
        format!("line {line}, column {col}")
    } else {
        format!("position {col}")
    })
}

/// The path of the first string (or object key) in `value` that holds a NUL character:
/// `properties.plan`, `batch[3].event`, `tags[0]`; `prefix` starts it (may be empty).
pub fn first_nul_in_json(value: &serde_json::Value, prefix: &str) -> Option<String> {
    use serde_json::Value;
    fn join(prefix: &str, key: &str) -> String {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    }
    match value {
        Value::String(s) => s.contains('\0').then(|| prefix.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_nul_in_json(v, &format!("{prefix}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(join(prefix, &k.replace('\0', "\\u0000")))
            } else {
                first_nul_in_json(v, &join(prefix, k))
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_characters_by_path_and_position() {
        use serde_json::json;
        assert_eq!(
            first_nul_in_json(&json!({"a": "ok", "b": [1, "x\u{0}"]}), ""),
            Some("b[1]".into())
        );
        assert_eq!(
            first_nul_in_json(&json!({"p": {"k\u{0}": 1}}), "batch[2]"),
            Some("batch[2].p.k\\u0000".into())
        );
        assert_eq!(
            first_nul_in_json(&json!({"a": "ok", "b": [1, {"c": null}]}), ""),
            None
        );
        assert_eq!(nul_position("ab\0"), Some("position 3".into()));
        assert_eq!(nul_position("a,b\nc,\0d"), Some("line 2, column 3".into()));
        assert_eq!(nul_position("fine"), None);
    }

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
