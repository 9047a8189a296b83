//! Parallel work whose results are consumed one by one in input order, with a bounded
//! number of results waiting: how `run` streams parsed files into embedding without holding
//! the whole folder in memory. Input order (not finishing order) keeps what is built from
//! the results, batches of passages to embed included, the same from run to run.

use std::{
    any::Any,
    collections::BTreeMap,
    sync::{
        Condvar, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
};

/// Runs `work` on every item on `threads` threads of its own and hands each result to
/// `consume`, on the calling thread, in input order. An item starts only when fewer than
/// `window` items before it are still unconsumed, so at most `window` results exist at once
/// however many items there are, and a slow `consume` holds the workers back instead of
/// piling results up.
///
/// The workers are plain threads, not rayon's pool: they block when the window is full, and
/// `consume` may need the pool (the model's matrix work runs there).
///
/// When `consume` fails, no further item starts and its error is returned once the started
/// ones end. A panic in `work` is re-raised here, after the other workers stop.
pub fn for_each_ordered<T, R, E>(
    items: &[T],
    threads: usize,
    window: usize,
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
{
    let window = window.max(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many results `consume` has taken; workers wait on `room` for it to grow.
    let consumed = Mutex::new(0usize);
    let room = Condvar::new();
    let panicked: Mutex<Option<Box<dyn Any + Send>>> = Mutex::new(None);
    let halt = || {
        let _guard = consumed.lock().unwrap_or_else(PoisonError::into_inner);
        stop.store(true, Ordering::SeqCst);
        room.notify_all();
    };

    let result = std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<(usize, R)>();
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let (next, stop, consumed, room, panicked, work, halt) =
                (&next, &stop, &consumed, &room, &panicked, &work, &halt);
            s.spawn(move || {
                loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    {
                        let mut done = consumed.lock().unwrap_or_else(PoisonError::into_inner);
                        while i >= *done + window && !stop.load(Ordering::SeqCst) {
                            done = room.wait(done).unwrap_or_else(PoisonError::into_inner);
                        }
                    }
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item))) {
                        Ok(r) => {
                            if tx.send((i, r)).is_err() {
                                break;
                            }
                        }
                        Err(payload) => {
                            *panicked.lock().unwrap_or_else(PoisonError::into_inner) =
                                Some(payload);
                            halt();
                            break;
                        }
                    }
                }
            });
        }
        drop(tx);

        let mut waiting = BTreeMap::new();
        let mut expected = 0;
        let mut result = Ok(());
        // Ends when every worker has ended; after a failure, what still arrives is dropped.
        for (i, r) in rx {
            if result.is_err() || stop.load(Ordering::SeqCst) {
                continue;
            }
            waiting.insert(i, r);
            while let Some(r) = waiting.remove(&expected) {
                if let Err(e) = consume(expected, r) {
                    result = Err(e);
                    halt();
                    break;
                }
                expected += 1;
                *consumed.lock().unwrap_or_else(PoisonError::into_inner) = expected;
                room.notify_all();
            }
        }
        result
    });
    if let Some(payload) = panicked
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        std::panic::resume_unwind(payload);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_with_at_most_a_window_in_flight() {
        let items: Vec<u64> = (0..500).collect();
        let in_flight = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut seen = Vec::new();
        let r: Result<(), ()> = for_each_ordered(
            &items,
            4,
            8,
            |&x| {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later items finish first now and then, so reordering is needed.
                std::thread::sleep(std::time::Duration::from_micros((x * 7919) % 300));
                x * 2
            },
            |i, r| {
                // A result counts as in flight until consumed.
                in_flight.fetch_sub(1, Ordering::SeqCst);
                seen.push((i, r));
                Ok(())
            },
        );
        assert!(r.is_ok());
        assert_eq!(
            seen,
            items
                .iter()
                .map(|&x| (x as usize, x * 2))
                .collect::<Vec<_>>()
        );
        let most = most.load(Ordering::SeqCst);
        assert!(most <= 8, "{most} results at once");
    }

    #[test]
    fn a_failing_consumer_stops_the_work() {
        let items: Vec<u32> = (0..10_000).collect();
        let started = AtomicUsize::new(0);
        let r = for_each_ordered(
            &items,
            2,
            4,
            |&x| {
                started.fetch_add(1, Ordering::SeqCst);
                x
            },
            |i, _| if i == 10 { Err("no room") } else { Ok(()) },
        );
        assert_eq!(r, Err("no room"));
        assert!(started.load(Ordering::SeqCst) <= 10 + 4 + 2);
    }

    #[test]
    fn a_panic_in_the_work_reaches_the_caller() {
        let items = [1, 2, 3, 4, 5, 6];
        let r = std::panic::catch_unwind(|| {
            for_each_ordered(
                &items,
                2,
                2,
                |&x| {
                    assert!(x != 3, "item three");
                    x
                },
                |_, _| Ok::<(), ()>(()),
            )
        });
        let payload = r.unwrap_err();
        assert_eq!(crate::ingest::parse::panic_message(&*payload), "item three");
    }

    #[test]
    fn no_items_no_work() {
        let r: Result<(), ()> = for_each_ordered(&[] as &[u8], 4, 4, |_| 0, |_, _| Ok(()));
        assert!(r.is_ok());
    }
}
