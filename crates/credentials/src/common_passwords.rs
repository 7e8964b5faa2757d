//! A small built-in list of the passwords that top every breach corpus. It is
//! not a substitute for a breached-password service; it only stops the most
//! predictable choices, including the long-enough-but-obvious ones that pass
//! a length rule ("password123!", "qwertyuiop12"). Entries are lower case and
//! compared case-insensitively, because "Password123!" is no better.

/// Lower-case entries; lookup lower-cases the candidate first.
#[rustfmt::skip]
const COMMON: &[&str] = &[
    // Short classics, relevant when a deployment lowers `min_chars`.
    "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd",
    "12345678", "123456789", "1234567890", "11111111", "87654321", "qwertyui",
    "iloveyou", "sunshine", "princess", "football", "baseball", "welcome1",
    "letmein1", "trustno1", "superman", "starwars", "whatever", "computer",
    "internet", "1q2w3e4r", "1qaz2wsx", "zaq12wsx", "qwerty123", "abc12345",
    "abcd1234", "1234qwer", "qwer1234", "q1w2e3r4", "asdfghjkl", "changeme",
    "admin123", "welcome123", "dragon123", "monkey123",
    // Twelve characters and up: these survive a length rule, so they matter most.
    "password123!", "password1234", "password1234!", "password@123", "password12345",
    "passwordpassword", "password2023", "password2024", "password2025", "p@ssword123!",
    "p@ssw0rd1234", "mypassword123", "qwertyuiop12", "qwertyuiop123", "qwertyuiop!@",
    "qwerty123456", "qwerty123456!", "qwertyuiopas", "q1w2e3r4t5y6", "1q2w3e4r5t6y",
    "1qaz2wsx3edc", "1qaz@wsx3edc", "zaq1xsw2cde3", "qazwsxedcrfv", "asdfghjkl123",
    "asdfghjkl;'", "zxcvbnm12345", "123456789012", "1234567890123", "12345678910",
    "123456789abc", "abc123456789", "abcdefghijkl", "abcd12345678", "a1b2c3d4e5f6",
    "111111111111", "000000000000", "123123123123", "aaaaaaaaaaaa", "987654321000",
    "iloveyou1234", "iloveyou123!", "welcome12345", "welcome@1234", "welcome123!",
    "letmein12345", "changeme1234", "changeme123!", "administrator", "admin@123456",
    "sunshine1234", "football1234", "princess1234", "helloworld123", "hello1234567",
    "summer2024!", "winter2024!", "summer2025!!", "spring2025!!", "autumn2024!!",
    "correcthorsebatterystaple", "trustno112345", "starwars1234", "superman1234",
    "baseball1234", "monkey123456", "dragon123456", "master123456", "football123!",
];

/// True when `candidate` (already PRECIS-prepared) is on the built-in list.
pub(crate) fn is_common(candidate: &str) -> bool {
    let lowered = candidate.to_lowercase();
    COMMON.contains(&lowered.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_lower_case_and_roughly_a_hundred() {
        assert!(COMMON.iter().all(|e| e.to_lowercase() == *e));
        assert!((90..=130).contains(&COMMON.len()), "{}", COMMON.len());
    }

    #[test]
    fn lookup_ignores_case() {
        assert!(is_common("Password123!"));
        assert!(is_common("QWERTYUIOP12"));
        assert!(!is_common("violet-harbour-engine"));
    }
}
