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

/// Entry point of the wasm bundle: hydrates the server-rendered page, once the code of
/// its lazy route (a separate wasm file) has loaded.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // What `leptos::mount::hydrate_lazy` does, then the mark below once it is done.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), App)
            .await
            .forget();
        // Lets end-to-end tests (and curious users) know the page is interactive now.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
