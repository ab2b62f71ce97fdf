//! Seeded randomness of the simulator: the latency of each API request drawn from a range, and creates
//! answered 503 *after* they were committed (the object exists, the client is told the call failed) — the
//! failure a client without idempotency keys must recover from by searching, never by creating again.

use std::time::Duration;

use crate::SimConfig;

/// What a create endpoint creates, for [`Faults::commit_then_fail`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CreateKind {
    /// `POST /invoices`.
    Invoice,
    /// `POST /individuals`, `/companies`, `/contacts`, `/items`, `/{party}/{id}/addresses`.
    Other,
}

/// splitmix64: small, seedable, good enough to draw latencies and faults (no cryptography here).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The simulator's random draws and what they injected.
pub(crate) struct Faults {
    rng: Rng,
    latency: Duration,
    latency_range: Option<(Duration, Duration)>,
    invoice_ratio: f64,
    other_ratio: f64,
    /// Path of every create answered 503 after committing, in order.
    pub injected: Vec<String>,
}

impl Faults {
    pub fn new(config: &SimConfig) -> Faults {
        Faults {
            rng: Rng::new(config.seed),
            latency: config.latency,
            latency_range: config.latency_range,
            invoice_ratio: config.create_commit_then_fail.clamp(0.0, 1.0),
            other_ratio: config.other_create_commit_then_fail.clamp(0.0, 1.0),
            injected: Vec::new(),
        }
    }

    /// The time the next API request takes: uniform in `latency_range` when set, else `latency`.
    pub fn latency(&mut self) -> Duration {
        match self.latency_range {
            Some((lo, hi)) if hi > lo => {
                let span = (hi - lo).as_nanos() as f64;
                lo + Duration::from_nanos((self.rng.unit() * span) as u64)
            }
            Some((lo, _)) => lo,
            None => self.latency,
        }
    }

    /// Whether this create, already committed, is answered 503 (recorded in [`Faults::injected`]).
    pub fn commit_then_fail(&mut self, kind: CreateKind, path: &str) -> bool {
        let ratio = match kind {
            CreateKind::Invoice => self.invoice_ratio,
            CreateKind::Other => self.other_ratio,
        };
        if ratio <= 0.0 {
            return false;
        }
        let fail = ratio >= 1.0 || self.rng.unit() < ratio;
        if fail {
            self.injected.push(path.to_string());
        }
        fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ratio: f64, seed: u64) -> SimConfig {
        SimConfig {
            create_commit_then_fail: ratio,
            seed,
            ..SimConfig::default()
        }
    }

    #[test]
    fn default_config_injects_nothing_and_keeps_the_fixed_latency() {
        let mut f = Faults::new(&SimConfig {
            latency: Duration::from_millis(7),
            ..SimConfig::default()
        });
        for _ in 0..1000 {
            assert!(!f.commit_then_fail(CreateKind::Invoice, "/v2/invoices"));
            assert!(!f.commit_then_fail(CreateKind::Other, "/v2/items"));
            assert_eq!(f.latency(), Duration::from_millis(7));
        }
        assert!(f.injected.is_empty());
    }

    #[test]
    fn the_ratio_is_respected_and_only_for_its_kind() {
        let mut f = Faults::new(&config(0.02, 42));
        let n = 100_000;
        let failed = (0..n)
            .filter(|_| f.commit_then_fail(CreateKind::Invoice, "/v2/invoices"))
            .count();
        // 2 % of 100 000 = 2 000; the standard deviation is about 44.
        assert!((1_800..=2_200).contains(&failed), "{failed}");
        assert_eq!(f.injected.len(), failed);
        assert!((0..1000).all(|_| !f.commit_then_fail(CreateKind::Other, "/v2/items")));
    }

    #[test]
    fn a_ratio_of_one_fails_every_create_and_out_of_range_ratios_are_clamped() {
        let mut f = Faults::new(&SimConfig {
            create_commit_then_fail: 7.0,
            other_create_commit_then_fail: -1.0,
            ..SimConfig::default()
        });
        assert!((0..100).all(|_| f.commit_then_fail(CreateKind::Invoice, "/v2/invoices")));
        assert!((0..100).all(|_| !f.commit_then_fail(CreateKind::Other, "/v2/items")));
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_and_latencies() {
        let draw = |seed| {
            let mut f = Faults::new(&SimConfig {
                create_commit_then_fail: 0.3,
                latency_range: Some((Duration::from_millis(100), Duration::from_millis(300))),
                seed,
                ..SimConfig::default()
            });
            (0..200)
                .map(|_| {
                    (
                        f.commit_then_fail(CreateKind::Invoice, "/v2/invoices"),
                        f.latency(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn latencies_are_spread_over_the_range() {
        let (lo, hi) = (Duration::from_millis(100), Duration::from_millis(300));
        let mut f = Faults::new(&SimConfig {
            latency_range: Some((lo, hi)),
            ..SimConfig::default()
        });
        let draws: Vec<Duration> = (0..10_000).map(|_| f.latency()).collect();
        assert!(draws.iter().all(|d| *d >= lo && *d <= hi));
        let below_200 = draws
            .iter()
            .filter(|d| **d < Duration::from_millis(200))
            .count();
        assert!((4_500..=5_500).contains(&below_200), "{below_200}");
        // A degenerate range is its lower bound.
        let mut f = Faults::new(&SimConfig {
            latency_range: Some((hi, lo)),
            ..SimConfig::default()
        });
        assert_eq!(f.latency(), hi);
    }
}
