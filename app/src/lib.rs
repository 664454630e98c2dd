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
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        reload_if_page_code_missing(&info.to_string());
    }));
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
        if let Some(storage) = session_storage() {
            let _ = storage.remove_item(RELOADED_FOR);
        }
    });
}

/// Session-storage key: the address reloaded because a page's code failed to load.
#[cfg(feature = "hydrate")]
const RELOADED_FOR: &str = "vcsm-reloaded-for";

#[cfg(feature = "hydrate")]
fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// A lazy page's code (its own wasm file) that can't be fetched — a new release replaced
/// the files this tab was loaded with, or the network dropped — panics in the loader and
/// leaves the page dead. Loading the address again from the server gets the current files.
/// Once per address: if the reload fails the same way, the panic stays in the console.
#[cfg(feature = "hydrate")]
fn reload_if_page_code_missing(panic: &str) {
    // The message of `wasm_split`'s loader when a split file fails to load.
    if !panic.contains("load callback should succeed") {
        return;
    }
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return;
    };
    let Ok(href) = location.href() else {
        return;
    };
    // Without a stored guard a page whose code keeps failing would reload forever.
    let Some(storage) = session_storage() else {
        return;
    };
    if storage.get_item(RELOADED_FOR).ok().flatten().as_deref() == Some(href.as_str())
        || storage.set_item(RELOADED_FOR, &href).is_err()
    {
        return;
    }
    let _ = location.reload();
}
