//! Pacing by the account's own quota. Sellsy answers every request with what is left of the account's
//! quotas (`X-Quota-Remaining-By-Second / -Minute / -Day`), counted across every tool and every Lambda
//! container using the account: pacing on them coordinates all of them with no shared state of ours.
//!
//! Two rules, both from the headers:
//! * a **pace**: requests are spaced to `share × limit` per second (and per minute), the limits
//!   being learnt from the headers themselves (a window's first answer shows `limit − 1`);
//! * a **reserve**: when a window's remaining count falls to what the merchant's other tools are left
//!   (`(1 − share) × limit`), nobody here sends until that window has passed. Several containers each
//!   pacing at the full share meet this reserve together and wait together.
//!
//! Until the first answer nothing is known: the first requests go at a cautious pace.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::QuotaSnapshot;

/// Requests per second before any answer told us the account's limits.
const CAUTIOUS_RATE: f64 = 3.0;

/// When the next request may go, and why not sooner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Now,
    Wait(Duration),
}

#[derive(Debug)]
pub struct Pacer {
    share: f64,
    /// `requests_per_second` of the configuration: a hard cap on top of the quota.
    cap: Option<f64>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_slot: Option<Instant>,
    /// The largest `remaining + 1` seen per window: the account's limit, or less when other tools
    /// were using it (which only makes us more careful).
    limit_second: Option<i64>,
    limit_minute: Option<i64>,
    limit_day: Option<i64>,
    last: Option<(Instant, QuotaSnapshot)>,
    /// Requests sent since `last` was seen: they count against it until the next answer.
    sent_since: i64,
}

impl Pacer {
    pub fn new(share: f64, cap: Option<u32>) -> Self {
        Self {
            share: if share.is_finite() {
                share.clamp(0.05, 1.0)
            } else {
                1.0
            },
            cap: cap.filter(|c| *c > 0).map(f64::from),
            state: Mutex::new(State::default()),
        }
    }

    /// Books the next request's turn at `now`, or says how long to wait for it.
    pub fn turn(&self, now: Instant) -> Turn {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(wait) = st.reserve_wait(self.share, now) {
            return Turn::Wait(wait);
        }
        let rate = self.rate(&st);
        let interval = Duration::from_secs_f64(1.0 / rate);
        match st.next_slot {
            Some(slot) if slot > now => Turn::Wait(slot - now),
            slot => {
                let from = slot.map_or(now, |s| s.max(now - interval));
                st.next_slot = Some(from.max(now - interval) + interval);
                st.sent_since += 1;
                Turn::Now
            }
        }
    }

    /// Waits for the next request's turn. `Err(wait)` when the wait is longer than `max_wait` (a spent
    /// minute or day): the caller gives the request back rather than sleep that long.
    pub async fn ready(&self, max_wait: Duration) -> Result<(), Duration> {
        loop {
            match self.turn(Instant::now()) {
                Turn::Now => return Ok(()),
                Turn::Wait(w) if w > max_wait => return Err(w),
                Turn::Wait(w) => tokio::time::sleep(w).await,
            }
        }
    }

    /// Learns from an answer's quota headers.
    pub fn observe(&self, quota: QuotaSnapshot, now: Instant) {
        if quota == QuotaSnapshot::default() {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let learn = |limit: &mut Option<i64>, remaining: Option<i64>| {
            if let Some(r) = remaining {
                *limit = Some(limit.unwrap_or(0).max(r + 1));
            }
        };
        learn(&mut st.limit_second, quota.by_second);
        learn(&mut st.limit_minute, quota.by_minute);
        learn(&mut st.limit_day, quota.by_day);
        st.last = Some((now, quota));
        st.sent_since = 0;
    }

    /// Requests per second allowed now: the share of the tightest known window, the cap, or the
    /// cautious pace before anything is known.
    fn rate(&self, st: &State) -> f64 {
        let by_second = st.limit_second.map(|l| self.share * l as f64);
        let by_minute = st.limit_minute.map(|l| self.share * l as f64 / 60.0);
        let known = [by_second, by_minute]
            .into_iter()
            .flatten()
            .reduce(f64::min);
        let rate = known.unwrap_or(CAUTIOUS_RATE);
        self.cap.map_or(rate, |c| rate.min(c)).max(0.1)
    }
}

impl State {
    /// How long to wait because a window is down to the other tools' reserve, if it is.
    fn reserve_wait(&self, share: f64, now: Instant) -> Option<Duration> {
        let (at, quota) = self.last?;
        let windows = [
            (quota.by_second, self.limit_second, Duration::from_secs(1)),
            (quota.by_minute, self.limit_minute, Duration::from_secs(60)),
            (quota.by_day, self.limit_day, Duration::from_secs(86_400)),
        ];
        windows
            .into_iter()
            .filter_map(|(remaining, limit, len)| {
                let (remaining, limit) = (remaining?, limit?);
                let reserve = limit - (share * limit as f64).floor() as i64;
                let spent = remaining - self.sent_since <= reserve;
                // Any window that held `at` has ended by `at + len`.
                let ends = at + len;
                (spent && ends > now).then(|| ends - now)
            })
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(second: i64, minute: i64) -> QuotaSnapshot {
        QuotaSnapshot {
            by_second: Some(second),
            by_minute: Some(minute),
            by_day: Some(400_000),
            by_month: None,
        }
    }

    /// Books turns from `t0` on for `secs` seconds and counts them.
    fn sent_within(p: &Pacer, t0: Instant, secs: u64) -> usize {
        let mut now = t0;
        let mut sent = 0;
        while now < t0 + Duration::from_secs(secs) {
            match p.turn(now) {
                Turn::Now => sent += 1,
                Turn::Wait(w) => now += w,
            }
        }
        sent
    }

    #[test]
    fn paces_at_the_share_of_the_learnt_limit() {
        let p = Pacer::new(0.8, None);
        let t0 = Instant::now();
        // The account allows 35 a second and 2,100 a minute: a fresh window answers 34 and 2,099.
        p.observe(quota(34, 2_099), t0);
        let sent = sent_within(&p, t0, 10);
        assert!(
            (270..=290).contains(&sent),
            "0.8 × 35/s for 10 s, got {sent}"
        );
    }

    #[test]
    fn the_cap_wins_when_lower() {
        let p = Pacer::new(0.8, Some(5));
        let t0 = Instant::now();
        p.observe(quota(34, 2_099), t0);
        let sent = sent_within(&p, t0, 10);
        assert!((49..=51).contains(&sent), "{sent}");
    }

    #[test]
    fn a_window_down_to_the_reserve_waits_for_its_end() {
        let p = Pacer::new(0.8, None);
        let t0 = Instant::now();
        p.observe(quota(34, 2_099), t0);
        // Another container spent the second: 7 left of 35 is the others' reserve (35 − 28).
        let t1 = t0 + Duration::from_millis(300);
        p.observe(quota(7, 2_000), t1);
        assert_eq!(p.turn(t1), Turn::Wait(Duration::from_secs(1)));
        assert_eq!(p.turn(t1 + Duration::from_secs(1)), Turn::Now);
        // The minute spent: wait for its end, which `ready` refuses to sleep through.
        let t2 = t1 + Duration::from_secs(2);
        p.observe(quota(30, 419), t2);
        assert_eq!(p.turn(t2), Turn::Wait(Duration::from_secs(60)));
    }

    #[test]
    fn requests_in_flight_count_against_the_last_answer() {
        let p = Pacer::new(1.0, Some(1_000));
        let t0 = Instant::now();
        p.observe(quota(3, 1_000), t0);
        // limit_second is 4: the reserve at share 1 is 0; three more may go, then wait.
        let mut now = t0;
        let mut sent = 0;
        while sent < 3 {
            if p.turn(now) == Turn::Now {
                sent += 1;
            }
            now += Duration::from_millis(2);
        }
        assert!(matches!(p.turn(now), Turn::Wait(_)));
    }

    #[test]
    fn cautious_until_the_first_answer() {
        let p = Pacer::new(0.8, None);
        let sent = sent_within(&p, Instant::now(), 2);
        assert!((6..=7).contains(&sent), "{sent}");
    }
}
