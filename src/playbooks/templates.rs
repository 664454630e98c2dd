//! E-mail templates (minijinja, Jinja2's syntax): a subject, a plain-text body and an
//! optional HTML body, rendered against what we know of a customer. Unknown variables are
//! errors, not blanks (strict mode), so a template with a typo is refused when it is saved
//! — with the part and the line — instead of sending "Hi ," to customers; `default`
//! covers what may be missing (`{{ contact.first_name | default('there') }}`). The HTML
//! body is escaped (a customer named `<b>` stays text); the others are plain text.

use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A rendered message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Why a template doesn't render: which part, which line, what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateError {
    /// `subject`, `body_text` or `body_html`.
    pub part: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {line}: {}", self.part, self.message),
            None => write!(f, "{}: {}", self.part, self.message),
        }
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // `.html` templates are auto-escaped by name.
    env
}

fn one(
    env: &mut Environment<'static>,
    part: &str,
    source: &str,
    ctx: &Value,
) -> Result<String, TemplateError> {
    let name = if part == "body_html" {
        "body.html"
    } else {
        "text.txt"
    };
    let fail = |e: minijinja::Error| TemplateError {
        part: part.into(),
        line: e.line(),
        message: e
            .detail()
            .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
    };
    env.add_template_owned(name.to_string(), source.to_string())
        .map_err(fail)?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(fail)
}

/// Renders a template against `ctx`.
///
/// # Errors
/// The first part that fails, with its line.
pub fn render(
    subject: &str,
    text: &str,
    html: Option<&str>,
    ctx: &Value,
) -> Result<Rendered, TemplateError> {
    let mut env = environment();
    let subject = one(&mut env, "subject", subject, ctx)?;
    if subject.contains(['\r', '\n']) {
        return Err(TemplateError {
            part: "subject".into(),
            line: None,
            message: "a subject must be one line".into(),
        });
    }
    Ok(Rendered {
        subject: subject.trim().to_string(),
        text: one(&mut env, "body_text", text, ctx)?,
        html: html
            .filter(|h| !h.trim().is_empty())
            .map(|h| one(&mut env, "body_html", h, ctx))
            .transpose()?,
    })
}

/// Every variable a template may use, with example values: what the editor lists, and
/// what a template is checked against when it is saved (a customer with no contact yet
/// still renders, through `default`).
pub fn sample_context() -> Value {
    json!({
        "customer": {
            "name": "Acme Analytics",
            "tier": "Mid-Market",
            "stage": "Active",
            "plan": "Growth",
            "mrr": "$1,250.00",
            "seats": 25,
            "renewal_date": "2027-03-01",
            "days_to_renewal": 85,
        },
        "contact": { "name": "Dana Reyes", "first_name": "Dana", "email": "dana@acme.example", "role": "Champion" },
        "owner": { "name": "Sam Lee", "email": "sam@vendor.example" },
        "health": { "score": 38, "level": "Poor", "reasons": ["Logins down 60 % vs the prior 28 days"] },
        "churn": { "risk": "High", "probability": "34 %" },
        "usage": { "events_28d": 412, "active_users": 7, "seat_utilisation": "28 %" },
        "unsubscribe_url": "https://csm.example/unsubscribe/…",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_defaults_and_escapes_only_html() {
        let ctx = json!({ "customer": { "name": "<Acme & Co>" }, "contact": {} });
        let r = render(
            "Hello {{ customer.name }}",
            "Hi {{ contact.first_name | default('there') }},\n{{ customer.name }}",
            Some("<p>{{ customer.name }}</p>"),
            &ctx,
        )
        .unwrap();
        assert_eq!(r.subject, "Hello <Acme & Co>");
        assert_eq!(r.text, "Hi there,\n<Acme & Co>");
        assert_eq!(r.html.as_deref(), Some("<p>&lt;Acme &amp; Co&gt;</p>"));
    }

    #[test]
    fn a_template_that_fails_says_where() {
        let ctx = sample_context();
        let e = render("Hi", "line one\nHi {{ custmer.name }}", None, &ctx).unwrap_err();
        assert_eq!(e.part, "body_text");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("undefined"), "{e}");
        let e = render("Hi {{ customer.name ", "x", None, &ctx).unwrap_err();
        assert_eq!(e.part, "subject");
        assert_eq!(e.line, Some(1));
        let e = render("Hi {{ '\\n' }}", "x", None, &ctx).unwrap_err();
        assert!(e.message.contains("one line"));
    }

    #[test]
    fn the_library_renders_against_the_sample() {
        for t in super::super::library::library().templates {
            render(&t.subject, &t.body, None, &sample_context())
                .unwrap_or_else(|e| panic!("{}: {e}", t.key));
            // And for a customer we know little about.
            let sparse = json!({ "customer": { "name": "X" }, "contact": {}, "owner": {}, "usage": { "events_28d": 0 } });
            render(&t.subject, &t.body, None, &sparse)
                .unwrap_or_else(|e| panic!("{} sparse: {e}", t.key));
        }
    }
}
