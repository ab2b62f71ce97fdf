//! The one exponential backoff of woosellsy: the queue runners' retry delays and the Sellsy client's
//! in-call retries both grow this way, so a reader learns it once.

use std::time::Duration;

/// `base × 2^(attempt−1)`, capped at `cap`: attempt 1 waits `base`. Never overflows.
pub fn exponential(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    base.saturating_mul(1u32 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_base_and_caps() {
        let s = Duration::from_secs;
        assert_eq!(exponential(s(2), 0, s(60)), s(2));
        assert_eq!(exponential(s(2), 1, s(60)), s(2));
        assert_eq!(exponential(s(2), 2, s(60)), s(4));
        assert_eq!(exponential(s(2), 5, s(60)), s(32));
        assert_eq!(exponential(s(2), 6, s(60)), s(60));
        assert_eq!(exponential(s(2), u32::MAX, s(60)), s(60));
        assert_eq!(exponential(Duration::ZERO, 9, s(60)), Duration::ZERO);
        assert_eq!(exponential(Duration::MAX, 9, Duration::MAX), Duration::MAX);
    }
}
