//! The browser-side protections the server asks for: the Content-Security-Policy, and
//! the page title escaped for the one place Leptos writes it without escaping.

/// The Content-Security-Policy of every answer. Scripts come only from this site or, for
/// what Leptos inlines to hydrate a page, carry the page's `nonce`; WebAssembly may be
/// compiled (`'wasm-unsafe-eval'`, the hydration bundle); nothing may frame the product.
/// Inline `style` attributes stay allowed: charts and progress bars size themselves with
/// them, and styles can't run code.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(n) => format!("'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_string(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `text` for the inside of `<title>` in server-rendered HTML. `leptos_meta` writes the
/// title there as it is (leptos_meta 0.8.7, `ServerMetaContext::inject_meta_context`),
/// so a customer named `</title><script>…` would run script; in the browser it sets
/// `document.title`, which takes text and must not be escaped.
pub fn title_text(text: String) -> String {
    if cfg!(feature = "ssr") {
        escape_html(&text)
    } else {
        text
    }
}

/// `&`, `<`, `>` and quotes as character references.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_escaped_on_the_server() {
        let t = title_text("</title><script>alert(1)</script> & co".into());
        assert_eq!(
            t,
            "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
        );
    }

    #[test]
    fn policy_allows_only_our_scripts_and_no_framing() {
        let p = content_security_policy(Some("abc"));
        assert!(p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(p.contains("frame-ancestors 'none'"));
        let scripts = p
            .split(';')
            .find(|d| d.trim_start().starts_with("script-src"))
            .unwrap();
        assert!(!scripts.contains("unsafe-inline") && !scripts.contains("'unsafe-eval'"));
        assert!(!content_security_policy(None).contains("nonce"));
    }
}
