//! Timestamps as the senders write them.
//!
//! RFC 3339 covers Alertmanager, Grafana, EventBridge and the SNS envelope (`...Z`,
//! nanoseconds, any offset, Go's zero time `0001-01-01T00:00:00Z`, which parses but means
//! "not set": [`is_go_zero`] tells it). CloudWatch alarm messages write the offset without
//! a colon (`2021-11-10T02:45:55.640+0000`), which RFC 3339 forbids, so that form is tried
//! second.

use chrono::{DateTime, Datelike, Utc};

use super::json::excerpt;

/// Parses a sender's timestamp into UTC; the error is a sentence for a rejection reason.
pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(t.with_timezone(&Utc));
    }
    Err(format!(
        "not a timestamp: {} (expected RFC 3339 like 2021-11-10T02:45:55.640Z, or \
         CloudWatch's 2021-11-10T02:45:55.640+0000)",
        excerpt(text, 64)
    ))
}

/// Whether `t` is Go's zero time (`0001-01-01T00:00:00Z`, in any offset): what a Go sender
/// writes for a time it never set. Nothing is known from it; no real alert is that old.
pub(crate) fn is_go_zero(t: DateTime<Utc>) -> bool {
    t.year() <= 1
}

/// Reads an optional send-time field kept raw by the first pass (`Timestamp`, `time`);
/// the error names `field` and what was wrong with it.
pub(crate) fn optional_time(
    raw: Option<&str>,
    field: &str,
) -> Result<Option<DateTime<Utc>>, String> {
    raw.map(|text| parse_timestamp(text).map_err(|e| format!("{field}: {e}")))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn cloudwatch_offset_without_colon_is_read() {
        assert_eq!(
            utc("2021-11-10T02:45:55.640+0000"),
            Utc.with_ymd_and_hms(2021, 11, 10, 2, 45, 55).unwrap()
                + chrono::Duration::milliseconds(640)
        );
    }

    #[test]
    fn zulu_and_colon_offsets_are_read() {
        assert_eq!(
            utc("2019-10-02T17:04:40Z"),
            Utc.with_ymd_and_hms(2019, 10, 2, 17, 4, 40).unwrap()
        );
        assert_eq!(
            utc("2021-10-12T09:51:03+02:00"),
            Utc.with_ymd_and_hms(2021, 10, 12, 7, 51, 3).unwrap()
        );
        assert_eq!(
            utc("2021-10-12T09:51:03-0530"),
            Utc.with_ymd_and_hms(2021, 10, 12, 15, 21, 3).unwrap()
        );
    }

    #[test]
    fn nanoseconds_and_offsets_are_converted_to_utc() {
        let t = utc("2018-11-04T22:43:58.283995108+01:00");
        assert_eq!(
            t,
            Utc.with_ymd_and_hms(2018, 11, 4, 21, 43, 58).unwrap()
                + chrono::Duration::nanoseconds(283_995_108)
        );
    }

    #[test]
    fn go_zero_time_parses_and_is_told_from_real_times() {
        assert_eq!(
            utc("0001-01-01T00:00:00Z"),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap()
        );
        assert!(is_go_zero(utc("0001-01-01T00:00:00Z")));
        assert!(is_go_zero(utc("0001-01-01T00:00:00+01:00")));
        assert!(!is_go_zero(utc("2026-11-20T09:30:00Z")));
        assert!(!is_go_zero(utc("1970-01-01T00:00:00Z")));
    }

    #[test]
    fn garbage_is_refused_with_the_value_quoted() {
        let err = parse_timestamp("yesterday at noon").unwrap_err();
        assert!(
            err.starts_with("not a timestamp: \"yesterday at noon\""),
            "{err}"
        );
        assert!(parse_timestamp("").is_err());
        assert!(parse_timestamp("2021-13-40T99:00:00Z").is_err());
        assert!(parse_timestamp("2021-11-10 02:45:55").is_err());
    }
}
