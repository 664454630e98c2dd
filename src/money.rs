//! Money in integer minor units (cents), never floating point.

/// Decimal places of a currency's minor unit (ISO 4217); 2 unless listed.
pub fn minor_exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Largest amount accepted in minor units: far above any real MRR, far below `i64::MAX`.
pub const MAX_MINOR: i64 = 1_000_000_000_000_00;

/// Parses an amount typed in major units (`"1,234.50"`, `"99"`) into minor units.
///
/// # Errors
/// Returns a user-facing reason for negative, malformed, too precise or huge amounts.
pub fn parse_major(raw: &str, currency: &str) -> Result<i64, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("is required".into());
    }
    // Commas only group thousands ("12,345.50"); "12,50" is a decimal comma we can't guess.
    let mut parts = trimmed.splitn(2, '.');
    let whole_typed = parts.next().unwrap_or("");
    let frac_typed = parts.next().unwrap_or("");
    if whole_typed.contains(',') {
        let groups: Vec<&str> = whole_typed.trim_start_matches('-').split(',').collect();
        let grouped = !groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3);
        if !grouped {
            return Err(
                "must use a dot for decimals, such as 12.50 (commas only group thousands)".into(),
            );
        }
    }
    if frac_typed.contains(',') {
        return Err(
            "must use a dot for decimals, such as 12.50 (commas only group thousands)".into(),
        );
    }
    let cleaned: String = trimmed
        .chars()
        .filter(|c| *c != ',' && *c != '_' && *c != ' ')
        .collect();
    if cleaned.starts_with('-') {
        return Err("cannot be negative".into());
    }
    let exp = minor_exponent(currency);
    let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits_ok(whole) || !digits_ok(frac) {
        return Err("must be an amount such as 1250 or 1250.50".into());
    }
    if frac.len() > exp as usize {
        return Err(format!("has more than {exp} decimal places"));
    }
    if whole.len() > 15 {
        return Err("is too large".into());
    }
    let whole_v: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "is too large".to_string())?
    };
    let frac_v: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = exp as usize)
            .parse()
            .unwrap_or(0)
    };
    let minor = whole_v
        .checked_mul(10_i64.pow(exp))
        .and_then(|v| v.checked_add(frac_v))
        .filter(|v| *v <= MAX_MINOR)
        .ok_or_else(|| "is too large".to_string())?;
    Ok(minor)
}

/// The amount as typed in a form field (`123456` USD → `"1234.56"`), no grouping.
pub fn to_major_string(minor: i64, currency: &str) -> String {
    let exp = minor_exponent(currency);
    if exp == 0 {
        return minor.to_string();
    }
    let div = 10_i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        m / div as u64,
        m % div as u64,
        width = exp as usize
    )
}

/// `1234567` as `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn symbol(currency: &str) -> Option<&'static str> {
    match currency {
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        _ => None,
    }
}

/// Display form with grouping and symbol: `$1,234.56`, `CHF 1,234.56`.
pub fn format_money(minor: i64, currency: &str) -> String {
    let exp = minor_exponent(currency);
    let div = 10_u64.pow(exp);
    let m = minor.unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    let body = if exp == 0 {
        group_thousands(m)
    } else {
        format!(
            "{}.{:0width$}",
            group_thousands(m / div),
            m % div,
            width = exp as usize
        )
    };
    match symbol(currency) {
        Some(sym) => format!("{sign}{sym}{body}"),
        None => format!("{sign}{currency} {body}"),
    }
}

/// Compact display for dashboards: `$1.2M`, `$48.3k`, `$950`.
pub fn format_compact(minor: i64, currency: &str) -> String {
    let major = minor as f64 / 10_f64.powi(minor_exponent(currency) as i32);
    // Choose the unit after rounding, so 999,999.99 shows as 1.0M rather than 1000.0k.
    let (v, suffix) = if (major.abs() / 100.0).round() / 10.0 >= 1_000.0 {
        (major / 1_000_000.0, "M")
    } else if major.abs().round() >= 1_000.0 {
        (major / 1_000.0, "k")
    } else {
        (major, "")
    };
    let num = if suffix.is_empty() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    match symbol(currency) {
        Some(sym) => format!("{sym}{num}{suffix}"),
        None => format!("{currency} {num}{suffix}"),
    }
}

/// Validates an ISO 4217-shaped currency code and upper-cases it.
///
/// # Errors
/// Returns a user-facing reason unless it is three ASCII letters.
pub fn parse_currency(raw: &str) -> Result<String, String> {
    let c = raw.trim().to_ascii_uppercase();
    if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err("must be a three-letter currency code such as USD".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_major_amounts() {
        assert_eq!(parse_major("1,234.5", "USD"), Ok(123_450));
        assert_eq!(parse_major("99", "USD"), Ok(9_900));
        assert_eq!(parse_major(".75", "USD"), Ok(75));
        assert_eq!(parse_major("1500", "JPY"), Ok(1_500));
        assert_eq!(parse_major("1.234", "KWD"), Ok(1_234));
        assert!(parse_major("-3", "USD").is_err());
        assert!(parse_major("1.234", "USD").is_err());
        assert!(parse_major("1.5", "JPY").is_err());
        assert!(parse_major("abc", "USD").is_err());
        assert!(parse_major("1e5", "USD").is_err());
        assert!(parse_major(".", "USD").is_err());
        assert!(parse_major("", "USD").is_err());
        assert!(parse_major("99999999999999999999", "USD").is_err());
        assert!(
            parse_major("12,50", "USD").is_err(),
            "decimal comma is refused, not read as 1250"
        );
        assert!(parse_major("1,2345", "USD").is_err());
        assert!(parse_major("1.5,0", "USD").is_err());
        assert_eq!(parse_major("1,234,567", "USD"), Ok(123_456_700));
    }

    #[test]
    fn formats() {
        assert_eq!(format_money(123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(format_money(5, "EUR"), "€0.05");
        assert_eq!(format_money(1_000, "JPY"), "¥1,000");
        assert_eq!(format_money(-250, "CHF"), "-CHF 2.50");
        assert_eq!(format_compact(123_456_789, "USD"), "$1.2M");
        assert_eq!(format_compact(4_830_000, "USD"), "$48.3k");
        assert_eq!(format_compact(95_000, "USD"), "$950");
        assert_eq!(format_compact(99_999_999, "USD"), "$1.0M");
        assert_eq!(format_compact(99_960, "USD"), "$1.0k");
        assert_eq!(to_major_string(123_450, "USD"), "1234.50");
        assert_eq!(to_major_string(7, "JPY"), "7");
    }

    #[test]
    fn round_trips_through_form_string() {
        for v in [0, 1, 99, 100, 123_456, 9_999_999] {
            assert_eq!(parse_major(&to_major_string(v, "USD"), "USD"), Ok(v));
        }
    }

    #[test]
    fn currency_codes() {
        assert_eq!(parse_currency(" usd "), Ok("USD".into()));
        assert!(parse_currency("US").is_err());
        assert!(parse_currency("U$D").is_err());
    }
}
