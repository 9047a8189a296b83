//! Wrong access tokens, counted by client: after [`FAILURES`] wrong tokens within [`WINDOW`]
//! a client is refused (429, with `Retry-After`) until that window has passed, whatever it
//! sends, a right token included, so guessing faster gains nothing. Right tokens are never
//! counted or slowed, and a wrong token sent again in the same window is not counted again: it
//! is no new guess (a browser with the cookie of a token since changed sends it with every
//! page and its favicon).
//!
//! A client is an IPv4 address or an IPv6 /64 (one host usually holds a whole /64). The table
//! holds at most [`CLIENTS`] clients: when it is full, windows that have passed are dropped,
//! then the oldest window. Someone with more addresses than that gets [`FAILURES`] tries per
//! address per window, as they would anyway.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    net::{IpAddr, Ipv6Addr},
    time::{Duration, Instant},
};

/// Wrong tokens a client may send within [`WINDOW`].
pub const FAILURES: u32 = 5;
/// How long a client's count of wrong tokens lasts, from its first.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The most clients remembered at once.
pub const CLIENTS: usize = 4096;

/// Wrong tokens by client, in the current window of each.
#[derive(Debug)]
pub struct Throttle {
    failures: u32,
    window: Duration,
    capacity: usize,
    clients: HashMap<IpAddr, Window>,
    /// Keys the digests of wrong tokens (so the table holds no token).
    digest: RandomState,
}

#[derive(Debug, Clone)]
struct Window {
    /// The first wrong token of this window.
    since: Instant,
    /// The digests of the different wrong tokens of this window (at most `failures`).
    wrong: Vec<u64>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(FAILURES, WINDOW, CLIENTS)
    }
}

impl Throttle {
    pub fn new(failures: u32, window: Duration, capacity: usize) -> Self {
        Throttle {
            failures: failures.max(1),
            window,
            capacity: capacity.max(1),
            clients: HashMap::new(),
            digest: RandomState::new(),
        }
    }

    /// How long `ip` must wait before it may try a token again; `None` when it may now.
    pub fn wait(&mut self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let key = client(ip);
        let w = self.clients.get(&key)?;
        let ends = w.since + self.window;
        if now >= ends {
            self.clients.remove(&key);
            return None;
        }
        (w.wrong.len() >= self.failures as usize).then(|| ends - now)
    }

    /// Counts `token`, which was wrong, from `ip`, unless it already counted in this window.
    pub fn failed(&mut self, ip: IpAddr, token: &str, now: Instant) {
        let key = client(ip);
        if !self.clients.contains_key(&key) && self.clients.len() >= self.capacity {
            self.make_room(now);
        }
        let (window, digest) = (self.window, self.digest.hash_one(token));
        let w = self.clients.entry(key).or_insert(Window {
            since: now,
            wrong: Vec::new(),
        });
        if now >= w.since + window {
            *w = Window {
                since: now,
                wrong: Vec::new(),
            };
        }
        if !w.wrong.contains(&digest) && w.wrong.len() < self.failures as usize {
            w.wrong.push(digest);
        }
    }

    /// Drops the windows that have passed, else the oldest one.
    fn make_room(&mut self, now: Instant) {
        let window = self.window;
        self.clients.retain(|_, w| now < w.since + window);
        if self.clients.len() >= self.capacity
            && let Some(oldest) = self
                .clients
                .iter()
                .min_by_key(|(_, w)| w.since)
                .map(|(k, _)| *k)
        {
            self.clients.remove(&oldest);
        }
    }
}

/// The client an address belongs to: IPv4 as it is (also when mapped into IPv6), IPv6 by /64.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Twenty wrong tokens from one address: the first five are let through (to be answered
    /// 401), the other fifteen are refused until the window passes; another address is not
    /// slowed meanwhile.
    #[test]
    fn twenty_wrong_tokens_lock_out_their_client_only_until_the_window_passes() {
        let mut t = Throttle::default();
        let start = Instant::now();
        let (attacker, other) = (ip("203.0.113.7"), ip("198.51.100.9"));
        let mut refused = 0;
        for i in 0..20 {
            let now = start + Duration::from_millis(10 * i);
            match t.wait(attacker, now) {
                Some(wait) => {
                    refused += 1;
                    assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(1));
                }
                None => t.failed(attacker, &format!("guess-{i}"), now),
            }
        }
        assert_eq!(refused, 20 - FAILURES);
        assert_eq!(t.wait(other, start + Duration::from_secs(1)), None);
        t.failed(other, "guess-0", start + Duration::from_secs(1));
        assert_eq!(t.wait(other, start + Duration::from_secs(1)), None);
        // The window passes: the attacker may try again, five times.
        assert!(
            t.wait(attacker, start + WINDOW - Duration::from_millis(1))
                .is_some()
        );
        assert_eq!(t.wait(attacker, start + WINDOW), None);
    }

    /// A stale cookie sent with every request is one wrong token, not a guess each time.
    #[test]
    fn the_same_wrong_token_again_is_no_new_guess() {
        let mut t = Throttle::default();
        let (client, now) = (ip("192.0.2.1"), Instant::now());
        for _ in 0..50 {
            assert_eq!(t.wait(client, now), None);
            t.failed(client, "the-token-of-yesterday", now);
        }
        for i in 1..FAILURES {
            t.failed(client, &format!("guess-{i}"), now);
        }
        assert!(t.wait(client, now).is_some());
    }

    #[test]
    fn an_ipv6_host_is_one_client_across_its_64() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..FAILURES {
            t.failed(
                ip(&format!("2001:db8:1:2::{:x}", i + 1)),
                &i.to_string(),
                now,
            );
        }
        assert!(t.wait(ip("2001:db8:1:2:ffff::1"), now).is_some());
        assert_eq!(t.wait(ip("2001:db8:1:3::1"), now), None);
        t.failed(ip("::ffff:192.0.2.1"), "x", now);
        assert_eq!(
            t.clients.len(),
            2,
            "a mapped IPv4 address is that IPv4 client"
        );
    }

    /// A flood of addresses never grows the table past its capacity, and a window that has
    /// passed is what goes first.
    #[test]
    fn the_table_of_clients_stays_bounded() {
        let mut t = Throttle::new(FAILURES, WINDOW, 64);
        let start = Instant::now();
        for i in 0..10_000u32 {
            let a = IpAddr::V4(std::net::Ipv4Addr::from_bits(0x0a00_0000 + i));
            t.failed(a, "guess", start + Duration::from_millis(u64::from(i)));
            assert!(t.clients.len() <= 64);
        }
        let later = start + Duration::from_secs(100);
        let late = ip("192.0.2.200");
        for i in 0..FAILURES {
            t.failed(late, &i.to_string(), later);
        }
        assert!(
            t.wait(late, later).is_some(),
            "its record survived the flood"
        );
        assert!(t.clients.len() <= 64);
    }
}
