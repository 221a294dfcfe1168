//! microfunnel: a tag-manager-style tracker that evaluates funnels in the page.
//!
//! The engine below is plain Rust with no browser types: it compiles natively (tests, the
//! collector) and to WebAssembly. Only [`web`] touches the browser, and only on wasm32.

pub mod batch;
pub mod condition;
pub mod config;
pub mod dom;
pub mod engine;
pub mod event;
pub mod funnel;
pub mod host;
pub mod json;
pub mod replay;
#[cfg(not(target_arch = "wasm32"))]
pub mod schema;
pub mod segment;
pub mod session;
pub mod template;
pub mod text;
pub mod trigger;

#[cfg(target_arch = "wasm32")]
pub mod web;
