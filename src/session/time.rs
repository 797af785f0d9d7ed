//! Timestamps as RFC 3339 UTC text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RFC 3339 UTC with as many fractional digits as the time needs (none for whole seconds),
/// so that reading it back gives the same time. Times RFC 3339 cannot express (before 1970
/// or after 9999) are clamped rather than panicking.
pub fn format(t: SystemTime) -> String {
    const LAST_SECOND_OF_9999: u64 = 253_402_300_799;
    let max = UNIX_EPOCH + Duration::from_secs(LAST_SECOND_OF_9999);
    humantime::format_rfc3339(t.clamp(UNIX_EPOCH, max)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_times_are_clamped() {
        assert_eq!(format(UNIX_EPOCH - Duration::from_secs(10)), "1970-01-01T00:00:00Z");
        assert_eq!(
            format(UNIX_EPOCH + Duration::from_secs(400_000_000_000)),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn sub_second_times_are_kept() {
        let t = UNIX_EPOCH + Duration::new(1_795_000_000, 5);
        assert_eq!(humantime::parse_rfc3339(&format(t)).unwrap(), t);
        assert!(!format(UNIX_EPOCH + Duration::from_secs(3)).contains('.'));
    }
}
