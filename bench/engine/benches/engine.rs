//! Events per second through 100 triggers and 20 funnels, natively, on one core.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use microfunnel_bench::{Page1, T0};

/// Observations per measured iteration: the journey of 16 kinds, ten times.
const OBSERVATIONS: u64 = 160;

fn journey(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(OBSERVATIONS));
    group.bench_function("journey_100_triggers_20_funnels", |b| {
        b.iter_batched_ref(
            Page1::new,
            |page| {
                let mut made = 0;
                for i in 0..OBSERVATIONS {
                    // 250 ms apart: no session expires within a batch.
                    made += page.step(T0 + i as f64 * 250.0);
                }
                made
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, journey);
criterion_main!(benches);
