//! What every request passes before it reaches a page, a server function or an API:
//! security headers on every answer, state-changing requests only from our own pages
//! (Origin / `Sec-Fetch-Site`), and text Postgres can't store refused at the edge with
//! the field named, the same on every database.

use app::error::AppError;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, ORIGIN, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vcsm::validation::{first_nul_in_json, nul_position, NUL_MESSAGE};

/// The nonce a page's inline scripts carry, made here for each request and handed to
/// Leptos (`http::router` provides it as the page's `Nonce`), so that the policy this
/// layer sends names it whatever happens inside the page's rendering.
#[derive(Clone, Debug)]
pub struct PageNonce(pub String);

/// Adds the headers every answer carries. Pages set their own Content-Security-Policy
/// with the nonce of their inline scripts (`app::ui::shell`); a page whose policy didn't
/// make it into the answer — `leptos_axum` lost the one `shell` set, now and then, when
/// the browser had just aborted requests (seen: the page then never hydrated) — gets
/// the policy with this request's nonce, the one its scripts carry. Every other answer
/// gets the policy without a nonce.
pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let nonce = leptos::nonce::Nonce::new().to_string();
    req.extensions_mut().insert(PageNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        let is_page = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        let policy = app::security::content_security_policy(is_page.then_some(nonce.as_str()));
        if let Ok(v) = HeaderValue::from_str(&policy) {
            headers.insert(CONTENT_SECURITY_POLICY, v);
        }
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// CSV import bodies read at once (see [`edge`]).
static IMPORT_UPLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Routes that authenticate each request themselves (a write key, a webhook signature, a
/// bearer token) and are meant to be called from other origins; every other state-changing
/// request rides on the session cookie and must come from our own pages.
fn is_cross_origin_api(path: &str) -> bool {
    path.starts_with("/v1/")
        || path.starts_with("/webhooks/")
        || path.starts_with("/api/v1/")
        // One-click unsubscribes are POSTed by mail providers (RFC 8058), from their own
        // servers; the link's signature is the authority, and all it can do is unsubscribe.
        || path.starts_with("/unsubscribe/")
}

/// Server functions that take JSON (`input = Json`): they accept only `application/json`,
/// which a form on another site can't send without a CORS preflight we never grant.
pub const JSON_SERVER_FNS: &[&str] = &[
    "/api/list_customers",
    "/api/start_import",
    "/api/save_scorecard",
    "/api/act_on_signal",
    "/api/save_plans",
    "/api/act_on_alert",
    "/api/save_alert_rules",
    "/api/set_playbook_status",
    "/api/enroll_customer",
    "/api/change_enrollment",
    "/api/enroll_matching",
    "/api/preview_template",
    "/api/create_task",
    "/api/complete_tasks",
    "/api/snooze_task",
    "/api/reassign_tasks",
    "/api/acknowledge_alerts",
    "/api/save_tier_slas",
];

/// Why a state-changing request is refused as cross-site, if it is. Browsers send
/// `Sec-Fetch-Site` (and `Origin` on every POST); clients that send neither (scripts,
/// `curl`) aren't browsers and can't carry a victim's cookie to us.
fn cross_site(headers: &HeaderMap) -> Option<&'static str> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return (!matches!(site, "same-origin" | "none"))
            .then_some("This request came from another site and was refused.");
    }
    let origin = headers.get(ORIGIN)?;
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => None,
        _ => Some("This request came from another site and was refused."),
    }
}

/// An error answer a server function's caller decodes like one of its own.
fn server_fn_error(status: StatusCode, error: &AppError) -> Response {
    let body = serde_json::to_string(error).unwrap_or_default();
    (
        status,
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                axum::http::HeaderName::from_static("serverfnerror"),
                HeaderValue::from_static("guard"),
            ),
        ],
        body,
    )
        .into_response()
}

fn plain(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

/// The form field's innermost name: `input[name]` → `name`, as forms name their errors.
fn field_key(name: &str) -> &str {
    name.rsplit('[')
        .next()
        .map_or(name, |n| n.trim_end_matches(']'))
}

/// The path or query of `req` with a NUL character or bytes that aren't UTF-8, if any.
fn bad_address(req: &Request) -> Option<String> {
    let uri = req.uri();
    let decoded = |raw: &str| -> Result<String, ()> {
        percent_decode(raw)
            .ok_or(())
            .and_then(|b| String::from_utf8(b).map_err(|_| ()))
    };
    match decoded(uri.path()) {
        Ok(p) if p.contains('\0') => return Some(format!("The address {NUL_MESSAGE}.")),
        Err(()) => return Some("The address is not valid UTF-8.".into()),
        Ok(_) => {}
    }
    for pair in uri.query().unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decoded(&name.replace('+', " ")).unwrap_or_else(|()| name.to_string());
        match decoded(&value.replace('+', " ")) {
            Ok(v) if v.contains('\0') || name.contains('\0') => {
                return Some(format!(
                    "The address's parameter {:?} {NUL_MESSAGE}.",
                    name.replace('\0', "")
                ))
            }
            Err(()) => {
                return Some(format!(
                    "The address's parameter {:?} is not valid UTF-8.",
                    name.replace('\0', "")
                ))
            }
            Ok(_) => {}
        }
    }
    None
}

/// `%XX` sequences decoded; `None` when one is malformed.
fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Checks a server function's body: its content type, that it is UTF-8, and that no
/// field holds text that can't be stored. Answers the refusal, or gives the body back.
fn check_server_fn_body(
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(), (StatusCode, AppError)> {
    // No arguments: nothing to decode, and nothing a cross-site form could send (a form
    // always sends a content type).
    if body.is_empty() {
        return Ok(());
    }
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let wants_json = JSON_SERVER_FNS.contains(&path);
    let unsupported = |what: &str| {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::BadRequest(format!("This request must be sent as {what}.")),
        )
    };
    match (media.as_str(), wants_json) {
        ("application/json", true) => {
            let text = std::str::from_utf8(body).map_err(|_| {
                (
                    StatusCode::BAD_REQUEST,
                    AppError::BadRequest("The request is not valid UTF-8.".into()),
                )
            })?;
            // Malformed JSON is the server function's to refuse (400, with serde's reason).
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
                if let Some(path) = first_nul_in_json(&value, "") {
                    let key = path.rsplit(['.', '[']).next().unwrap_or(&path);
                    let key = key.trim_end_matches(']');
                    let at = value_at(&value, &path)
                        .and_then(nul_position)
                        .map(|p| format!(" (at {p})"))
                        .unwrap_or_default();
                    return Err((
                        StatusCode::UNPROCESSABLE_ENTITY,
                        AppError::validation(key, format!("{path} {NUL_MESSAGE}{at}.")),
                    ));
                }
            }
            Ok(())
        }
        ("application/x-www-form-urlencoded", false) => {
            for (name, value) in form_pairs(body) {
                if name.contains('\0') || value.contains('\0') {
                    let name = name.replace('\0', "");
                    return Err((
                        StatusCode::UNPROCESSABLE_ENTITY,
                        AppError::validation(field_key(&name), format!("{name} {NUL_MESSAGE}.")),
                    ));
                }
            }
            Ok(())
        }
        (_, true) => Err(unsupported("application/json")),
        (_, false) => Err(unsupported("application/x-www-form-urlencoded")),
    }
}

/// The string at a path `first_nul_in_json` gave.
fn value_at<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a str> {
    let mut cur = value;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            cur = cur.get(idx.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    cur.as_str()
}

/// The pairs of a form body, decoded (bytes that aren't UTF-8 become U+FFFD, as the
/// server function's own decoder reads them).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    body.split(|b| *b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let dec = |raw: &[u8]| {
                let spaced: Vec<u8> = raw
                    .iter()
                    .map(|b| if *b == b'+' { b' ' } else { *b })
                    .collect();
                let text = String::from_utf8_lossy(&spaced).into_owned();
                let bytes = percent_decode(&text).unwrap_or_else(|| text.clone().into_bytes());
                String::from_utf8_lossy(&bytes).into_owned()
            };
            let name = dec(it.next().unwrap_or_default());
            let value = dec(it.next().unwrap_or_default());
            (name, value)
        })
        .collect()
}

/// Refuses, before any handler runs: an address holding a NUL or bytes that aren't UTF-8
/// (400), a state-changing request that came from another site (403), and a server
/// function call whose content type is not the one it takes (415) or whose fields hold
/// text that can't be stored (422, the field named).
pub async fn edge(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let is_server_fn = path.starts_with("/api/") && !path.starts_with("/api/v1/");
    if let Some(problem) = bad_address(&req) {
        return if is_server_fn {
            server_fn_error(StatusCode::BAD_REQUEST, &AppError::BadRequest(problem))
        } else {
            plain(StatusCode::BAD_REQUEST, problem)
        };
    }
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !changes_state || is_cross_origin_api(&path) {
        return next.run(req).await;
    }
    if let Some(problem) = cross_site(req.headers()) {
        tracing::warn!(path, "refused a cross-site request");
        return if is_server_fn {
            server_fn_error(StatusCode::FORBIDDEN, &AppError::Forbidden(problem.into()))
        } else {
            plain(StatusCode::FORBIDDEN, problem.into())
        };
    }
    if !is_server_fn {
        return next.run(req).await;
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (parts, body) = req.into_parts();
    // CSV files are the largest bodies (up to 25 MB, decoded into several copies): only a
    // few are read at once, the others wait unread, so memory stays bounded however many
    // arrive together.
    let _upload = if path == "/api/start_import" {
        IMPORT_UPLOADS.acquire().await.ok()
    } else {
        None
    };
    // The body limit outside this layer bounds what is read here.
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            return server_fn_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &AppError::BadRequest("The request is too large.".into()),
            )
        }
    };
    if let Err((status, error)) = check_server_fn_body(&path, &content_type, &bytes) {
        return server_fn_error(status, &error);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_our_own_pages_may_change_state() {
        assert!(cross_site(&headers(&[])).is_none(), "not a browser");
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-origin")])).is_none());
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])).is_some());
        let same = [
            ("host", "csm.example.com"),
            ("origin", "https://csm.example.com"),
        ];
        assert!(cross_site(&headers(&same)).is_none());
        let other = [
            ("host", "csm.example.com"),
            ("origin", "https://evil.example"),
        ];
        assert!(cross_site(&headers(&other)).is_some());
        assert!(cross_site(&headers(&[("host", "a.b"), ("origin", "null")])).is_some());
    }

    #[test]
    fn server_fn_bodies_name_the_field_with_a_nul() {
        let form = b"email=a%40b.c&password=x%00y";
        let (status, err) =
            check_server_fn_body("/api/login", "application/x-www-form-urlencoded", form)
                .unwrap_err();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(err.field_errors().unwrap().for_field("password").is_some());
        let nested = b"id=3&input[name]=Acme%00";
        let (_, err) = check_server_fn_body(
            "/api/update_customer",
            "application/x-www-form-urlencoded",
            nested,
        )
        .unwrap_err();
        assert!(err.field_errors().unwrap().for_field("name").is_some());
        let json = br#"{"kind":"Customers","csv":"name\nAc\u0000me"}"#;
        let (_, err) =
            check_server_fn_body("/api/start_import", "application/json", json).unwrap_err();
        let msg = err.field_errors().unwrap().for_field("csv").unwrap();
        assert!(msg.contains("line 2, column 3"), "{msg}");
        assert!(check_server_fn_body(
            "/api/login",
            "application/x-www-form-urlencoded",
            b"email=a"
        )
        .is_ok());
    }

    #[test]
    fn server_fns_take_only_their_content_type() {
        let refused = |path, ct| check_server_fn_body(path, ct, b"{}").unwrap_err().0;
        assert_eq!(
            refused("/api/list_customers", "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            refused("/api/list_customers", "application/x-www-form-urlencoded"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            refused("/api/login", "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(check_server_fn_body(
            "/api/list_customers",
            "application/json; charset=utf-8",
            b"{}"
        )
        .is_ok());
    }

    #[test]
    fn json_server_fns_are_the_ones_declared_so() {
        // The list above must match the server functions declared `input = Json`.
        let mut declared = Vec::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/api");
        for entry in std::fs::read_dir(dir).unwrap() {
            let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for attr in src.split("#[server(").skip(1) {
                let attr = attr.split(")]").next().unwrap_or_default();
                let json = attr
                    .split(',')
                    .any(|a| a.trim().starts_with("input =") && a.contains("Json"));
                if json {
                    let name = attr
                        .split("endpoint = \"")
                        .nth(1)
                        .and_then(|r| r.split('"').next());
                    declared.push(format!(
                        "/api/{}",
                        name.expect("a JSON server fn names its endpoint")
                    ));
                }
            }
        }
        declared.sort();
        let mut listed: Vec<String> = JSON_SERVER_FNS.iter().map(|s| (*s).to_string()).collect();
        listed.sort();
        assert_eq!(declared, listed);
    }

    #[test]
    fn addresses_with_nul_or_bad_bytes_are_refused() {
        let req = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
        assert!(bad_address(&req("/customers?q=acme&page=2")).is_none());
        assert!(bad_address(&req("/customers?q=a%00b"))
            .unwrap()
            .contains("\"q\""));
        assert!(bad_address(&req("/customers?q=%FF"))
            .unwrap()
            .contains("UTF-8"));
        assert!(bad_address(&req("/customers/%00")).is_some());
    }
}
