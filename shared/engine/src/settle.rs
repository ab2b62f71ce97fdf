//! What becomes of a queued message once the converter has answered: the one settle policy, called by
//! both runners (the single-machine [`crate::worker`] and the AWS converter function), so that "ack,
//! retry after *d*, or give up" and its backoff are decided in one place.
//!
//! Pure: no queue, no clock. The runner applies the verdict (ack / set the visibility / dead-letter).

use std::time::Duration;

use woosellsy_domain::backoff;

use crate::converter::Outcome;

/// How a runner retries. The figures differ per runner (a local worker retries sooner than a Lambda
/// whose every retry is an SQS receive), the rule does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First retry delay; doubled per attempt up to `max_delay`.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
    /// Attempts (receives) before a message is given up on; `None` when the queue decides alone.
    pub max_attempts: Option<u32>,
    /// First delay after the connector's keys were refused: rotating keys takes minutes, not seconds,
    /// and retrying sooner only repeats the refusal for every order in flight.
    pub refused_base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
            max_attempts: Some(10),
            refused_base: Duration::from_secs(60),
        }
    }
}

/// The verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Done with it: converted, skipped, or failed for good (already recorded on the order).
    Ack,
    /// Process it again after this delay.
    RetryAfter(Duration),
    /// This was its last attempt: record `reason` on the order and set the message aside.
    GiveUp { reason: String },
}

/// Decides what to do with a message whose `attempts`-th processing (1-based) ended in `outcome`.
pub fn settle(outcome: &Outcome, attempts: u32, policy: &RetryPolicy) -> Settle {
    let (reason, delay) = match outcome {
        Outcome::Done { .. } | Outcome::Skipped { .. } | Outcome::Failed { .. } => {
            return Settle::Ack;
        }
        Outcome::Retry { reason, after } => (
            reason,
            after.unwrap_or_else(|| backoff::exponential(policy.base, attempts, policy.max_delay)),
        ),
        Outcome::Refused { reason } => (
            reason,
            backoff::exponential(policy.refused_base, attempts, policy.max_delay),
        ),
    };
    if policy.max_attempts.is_some_and(|max| attempts >= max) {
        return Settle::GiveUp {
            reason: format!("gave up after {attempts} attempts, last error: {reason}"),
        };
    }
    Settle::RetryAfter(delay.min(policy.max_delay))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            max_attempts: Some(5),
            refused_base: Duration::from_secs(4),
        }
    }

    fn retry(after: Option<u64>) -> Outcome {
        Outcome::Retry {
            reason: "Sellsy answered 503".to_owned(),
            after: after.map(Duration::from_secs),
        }
    }

    #[test]
    fn final_outcomes_are_acknowledged() {
        for outcome in [
            Outcome::Done { documents: vec![] },
            Outcome::Skipped {
                reason: "not paid".to_owned(),
            },
            Outcome::Failed {
                reason: "no tax at 5.5 %".to_owned(),
            },
        ] {
            assert_eq!(settle(&outcome, 1, &policy()), Settle::Ack);
            assert_eq!(settle(&outcome, 99, &policy()), Settle::Ack, "{outcome:?}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let s = |n| settle(&retry(None), n, &policy());
        assert_eq!(s(1), Settle::RetryAfter(Duration::from_secs(1)));
        assert_eq!(s(2), Settle::RetryAfter(Duration::from_secs(2)));
        assert_eq!(s(4), Settle::RetryAfter(Duration::from_secs(8)));
        let unbounded = RetryPolicy {
            max_attempts: None,
            ..policy()
        };
        assert_eq!(
            settle(&retry(None), 60, &unbounded),
            Settle::RetryAfter(Duration::from_secs(10))
        );
    }

    #[test]
    fn the_converters_hint_wins_but_never_past_the_cap() {
        assert_eq!(
            settle(&retry(Some(3)), 1, &policy()),
            Settle::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            settle(&retry(Some(3600)), 1, &policy()),
            Settle::RetryAfter(Duration::from_secs(10))
        );
    }

    #[test]
    fn refused_keys_wait_longer_than_a_transient_failure() {
        let refused = Outcome::Refused {
            reason: "WooCommerce answered 401".to_owned(),
        };
        assert_eq!(
            settle(&refused, 1, &policy()),
            Settle::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(
            settle(&refused, 2, &policy()),
            Settle::RetryAfter(Duration::from_secs(8))
        );
    }

    #[test]
    fn the_last_attempt_gives_up_with_the_reason() {
        match settle(&retry(Some(1)), 5, &policy()) {
            Settle::GiveUp { reason } => {
                assert_eq!(
                    reason,
                    "gave up after 5 attempts, last error: Sellsy answered 503"
                )
            }
            other => panic!("expected to give up, got {other:?}"),
        }
        assert!(matches!(
            settle(&retry(None), 4, &policy()),
            Settle::RetryAfter(_)
        ));
    }
}
