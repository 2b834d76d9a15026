//! The clock record offsets are read from.
//!
//! Records read a clock at every step's end, so its cost is per step: a calibrated TSC
//! clock (`quanta`) reads in about half the time of `std::time::Instant` (BENCHMARKS.md,
//! design notes). Calibrating it takes milliseconds, though, which a process running one
//! workflow should not wait for: it is calibrated on a
//! thread of its own, started when the first [`Runtime`](crate::Runtime) is built, and
//! runs use the system's monotonic clock until it is ready.

use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

/// The calibrated TSC clock, once the calibration thread is done.
static TSC: OnceLock<quanta::Clock> = OnceLock::new();

/// Starts calibrating the TSC clock in the background, once per process. Where no thread
/// can be started, runs keep the system clock.
pub(crate) fn warm_up() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let calibrate = || {
            let _ = TSC.set(quanta::Clock::new());
        };
        // A failed spawn leaves the system clock in use: slower, not wrong.
        let _ = std::thread::Builder::new()
            .name("onex-clock".into())
            .spawn(calibrate);
    });
}

/// The instant a run started, on the clock the run reads all its offsets from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Start {
    /// The TSC clock, calibrated.
    Tsc(&'static quanta::Clock, quanta::Instant),
    /// The system's monotonic clock, while the TSC clock is not ready.
    System(Instant),
}

impl Start {
    /// Now, on the fastest clock ready.
    pub(crate) fn now() -> Start {
        match TSC.get() {
            Some(clock) => Start::Tsc(clock, clock.now()),
            None => {
                warm_up();
                Start::System(Instant::now())
            }
        }
    }

    /// The time since this start, on the same clock.
    #[inline]
    pub(crate) fn elapsed(&self) -> Duration {
        match self {
            Start::Tsc(clock, start) => clock.now().duration_since(*start),
            Start::System(start) => start.elapsed(),
        }
    }

    /// A reading of the same clock, unscaled: the TSC's ticks, or the system clock's
    /// nanoseconds since this start. [`offset`](Self::offset) turns it into an offset from
    /// the start, later: a hot loop reads, a pass after it converts.
    #[inline]
    pub(crate) fn raw(&self) -> u64 {
        match self {
            Start::Tsc(clock, _) => clock.raw(),
            Start::System(start) => start.elapsed().as_nanos() as u64,
        }
    }

    /// The offset from this start of [`raw`](Self::raw) reading `raw`.
    #[inline]
    pub(crate) fn offset(&self, raw: u64) -> Duration {
        match self {
            Start::Tsc(clock, start) => clock.scaled(raw).duration_since(*start),
            Start::System(_) => Duration::from_nanos(raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_grow_on_either_clock() {
        let system = Start::System(Instant::now());
        let clock = TSC.get_or_init(quanta::Clock::new);
        let tsc = Start::Tsc(clock, clock.now());
        for start in [system, tsc] {
            let a = start.elapsed();
            std::thread::sleep(Duration::from_millis(2));
            let b = start.elapsed();
            assert!(
                b >= a + Duration::from_millis(2),
                "{start:?}: {a:?} then {b:?}"
            );
        }
    }

    #[test]
    fn raw_readings_become_the_offsets_elapsed_reads() {
        let clock = TSC.get_or_init(quanta::Clock::new);
        for start in [
            Start::System(Instant::now()),
            Start::Tsc(clock, clock.now()),
        ] {
            std::thread::sleep(Duration::from_millis(2));
            let before = start.elapsed();
            let raw = start.offset(start.raw());
            let after = start.elapsed();
            assert!(
                before <= raw && raw <= after,
                "{start:?}: {before:?} {raw:?} {after:?}"
            );
        }
    }

    #[test]
    fn runs_take_the_tsc_clock_once_it_is_calibrated() {
        TSC.get_or_init(quanta::Clock::new);
        assert!(matches!(Start::now(), Start::Tsc(..)));
    }
}
