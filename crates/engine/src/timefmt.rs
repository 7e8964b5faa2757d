//! Formatting unix milliseconds as RFC 3339 UTC text for the export's timestamp columns, with the
//! civil-from-days algorithm (Howard Hinnant's), so no date crate is needed for one function.

pub fn rfc3339_utc(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Reads `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ` as unix milliseconds: the
/// forms the audit filters accept. None for anything else, or a date that does not exist.
pub fn parse_utc(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time.strip_suffix('Z')?)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || date.len() != 10 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return None;
    }
    let seconds = match time {
        None => 0,
        Some(time) => {
            let fields: Vec<u32> = time
                .split(':')
                .map(|f| f.parse().ok().filter(|_| f.len() == 2))
                .collect::<Option<_>>()?;
            let [h, min, s] = fields[..] else { return None };
            if h > 23 || min > 59 || s > 59 {
                return None;
            }
            i64::from(h * 3600 + min * 60 + s)
        }
    };
    Some((days * 86_400 + seconds) * 1000)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_instants() {
        assert_eq!(super::rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::rfc3339_utc(1_709_285_400_000),
            "2024-03-01T09:30:00Z"
        );
        assert_eq!(super::rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_what_it_formats_and_refuses_the_rest() {
        for millis in [0, 951_782_400_000, 1_709_285_400_000] {
            assert_eq!(super::parse_utc(&super::rfc3339_utc(millis)), Some(millis));
        }
        assert_eq!(super::parse_utc("2024-03-01"), Some(1_709_251_200_000));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-03-01T25:00:00Z",
            "yesterday",
            "2024-3-1",
        ] {
            assert_eq!(super::parse_utc(bad), None, "{bad}");
        }
    }
}
