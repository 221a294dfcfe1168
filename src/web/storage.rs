//! localStorage, for state that must survive page loads. Private browsing modes and full
//! quotas make it throw; then the tracker goes on without persistence.

use web_sys::Storage;

fn local() -> Option<Storage> {
    super::window().local_storage().ok().flatten()
}

/// Reads a key; `None` when absent or when storage is unavailable.
pub fn get(key: &str) -> Option<String> {
    local()?.get_item(key).ok().flatten()
}

/// Writes a key; returns whether it was stored.
pub fn set(key: &str, value: &str) -> bool {
    local().is_some_and(|s| s.set_item(key, value).is_ok())
}
