//! The browser glue: listeners, storage, transport and the functions the loader calls.
//!
//! Everything here is thin. It turns DOM events into [`Observation`]s for the engine, keeps
//! the queue moving, and never throws into the host page: every exported function catches its
//! own failures and logs them once.
//!
//! [`Observation`]: crate::trigger::Observation

mod convert;
mod element;
mod host;
mod listen;
mod storage;
mod tracker;
mod transport;

/// Talc instead of the default dlmalloc: the same job in a fraction of the bytes.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use tracker::{debug, events, explain, flush, handle, progress, queue, start};
