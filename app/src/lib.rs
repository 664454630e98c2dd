//! The Virtual CSM web application: Leptos pages and components (`ui`), thin server
//! functions (`api`), wire types (`dto`), and — with the `ssr` feature only — the
//! server-side `backend` (database, services, sessions).

#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod dto;
pub mod error;
pub mod security;
pub mod ui;

pub use ui::{shell, App};

/// Entry point of the wasm bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Lets end-to-end tests (and curious users) know the page is interactive now.
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
