//! From a wall-clock time to a log position: the first position whose log
//! time is after it. Log times are the creation time of each generation
//! (log header `tmCreate`) and, in 8.x logs, the time stamped on each 4 KiB
//! segment (`LGSEGHDR`, logwrite.cxx); they are the writer's local time
//! unless the time carries the UTC flag.

use std::path::Path;

use super::set::{check_set_streamed, SetStep};
use crate::error::Error;
use crate::parse::primitives::{Lgpos, LogTime};

/// A time as comparable fields: year, month, day, hour, minute, second,
/// millisecond.
pub type Clock = [u32; 7];

/// The fields of a log time, in [`Clock`] order.
pub fn clock_of(t: &LogTime) -> Clock {
    [
        t.year(),
        t.month() as u32,
        t.day() as u32,
        t.hours() as u32,
        t.minutes() as u32,
        t.seconds() as u32,
        t.millis() as u32,
    ]
}

/// The first position of the logs `base` in `dir` whose log time is after
/// `when`, with that time; `None` when no log time is after it. Reads one
/// generation at a time.
pub fn first_lgpos_after(
    dir: &Path,
    base: &str,
    when: Clock,
) -> Result<Option<(Lgpos, LogTime)>, Error> {
    let mut found: Option<(Lgpos, LogTime)> = None;
    check_set_streamed(dir, base, None, |step| {
        let SetStep::File(f, _) = step else {
            return Ok(());
        };
        let (Some(scan), Some(walk)) = (&f.scan, &f.walk) else {
            return Ok(());
        };
        if found.is_some() {
            return Ok(());
        }
        let generation = scan.header.generation;
        let at = |sector: usize| Lgpos {
            generation,
            sector: sector as u16,
            offset: 0,
        };
        let created = scan.header.create_time;
        if created.is_set() && clock_of(&created) > when {
            found = Some((at(0), created));
            return Ok(());
        }
        found = walk
            .segment_times
            .iter()
            .enumerate()
            .find(|(_, t)| t.is_set() && clock_of(t) > when)
            .map(|(s, t)| (at(s), *t));
        Ok(())
    })?;
    Ok(found)
}
