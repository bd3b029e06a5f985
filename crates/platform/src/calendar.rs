//! Unix seconds as the calendar names them (UTC, the proleptic Gregorian calendar): the one
//! place dates are computed, for the audit trail's timestamps and the pages that show a date.

/// A moment, to the second, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: u64,
    /// 1 to 12.
    pub month: u64,
    /// 1 to 31.
    pub day: u64,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
}

impl UtcTime {
    /// The moment `unix` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(unix: u64) -> Self {
        let (days, secs) = (unix / 86_400, unix % 86_400);
        let (year, month, day) = civil_from_days(days);
        Self { year, month, day, hour: secs / 3600, minute: secs % 3600 / 60, second: secs % 60 }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339).
    pub fn rfc3339(&self) -> String {
        let Self { year, month, day, hour, minute, second } = self;
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }

    /// The month's English abbreviation (`Jan` ... `Dec`).
    pub fn month_abbreviation(&self) -> &'static str {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        usize::try_from(self.month).ok().and_then(|m| MONTHS.get(m.wrapping_sub(1))).copied().unwrap_or("")
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub fn rfc3339(unix: u64) -> String {
    UtcTime::from_unix(unix).rfc3339()
}

/// The calendar date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`, for days >= 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn a_moment_names_its_calendar_fields_and_month() {
        let time = UtcTime::from_unix(1_749_736_980);
        assert_eq!(time, UtcTime { year: 2025, month: 6, day: 12, hour: 14, minute: 3, second: 0 });
        assert_eq!(time.month_abbreviation(), "Jun");
        assert_eq!(UtcTime::from_unix(0).month_abbreviation(), "Jan");
        assert_eq!(UtcTime::from_unix(4_102_444_800 - 1).month_abbreviation(), "Dec");
    }
}
