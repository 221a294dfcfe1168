//! Any bytes posted to `/collect` go through `Batch::parse`: it must answer a batch or an error,
//! never panic, and a batch it accepts must hold to the limits it promises.

#![no_main]

use libfuzzer_sys::fuzz_target;
use microfunnel_collector::batch::{is_event_name, MAX_EVENTS};
use microfunnel_collector::Batch;

fuzz_target!(|body: &[u8]| {
    if let Ok(batch) = Batch::parse(body) {
        assert!(!batch.events.is_empty() && batch.events.len() <= MAX_EVENTS);
        assert!(batch.events.iter().all(|event| is_event_name(&event.name)));
    }
});
