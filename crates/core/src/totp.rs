//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30-second steps,
//! six digits, one step of clock drift either way; the secret in Base32 (RFC 4648) as
//! authenticator apps take it, and the `otpauth://` URI they scan.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds a code lives.
pub const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;
/// Steps of drift accepted before and after now.
const DRIFT: i64 = 1;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The HOTP value of `counter` with `digits` digits.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10u32.pow(digits)
}

/// The six-digit code of the step holding `unix_secs`.
pub fn code(secret: &[u8], unix_secs: i64) -> String {
    let step = unix_secs.div_euclid(STEP_SECS);
    format!("{:06}", hotp(secret, step as u64, DIGITS))
}

/// The step a typed code belongs to, within the drift around `unix_secs`; `None` when it is no
/// code of now. (The caller refuses a step already used: a code works once.)
pub fn matching_step(secret: &[u8], typed: &str, unix_secs: i64) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let now = unix_secs.div_euclid(STEP_SECS);
    (now - DRIFT..=now + DRIFT)
        .find(|step| *step >= 0 && format!("{:06}", hotp(secret, *step as u64, DIGITS)) == typed)
}

/// Base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = buffer << 8 | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Bytes of Base32 text (case, spaces and padding aside); `None` when it is not Base32.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = ALPHABET
            .iter()
            .position(|a| char::from(*a) == c.to_ascii_uppercase())?;
        buffer = buffer << 5 | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// What an authenticator app scans (or takes typed in): issuer, account and secret.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let escape = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        escape(issuer),
        escape(account),
        base32(secret),
        escape(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 (its 8-digit values; 6 digits are the last six).
    #[test]
    fn the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                format!("{:08}", hotp(secret, (time / STEP_SECS) as u64, 8)),
                eight
            );
            assert_eq!(code(secret, time), eight[2..]);
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let typed = code(secret, now);
        assert_eq!(matching_step(secret, &typed, now), Some(now / STEP_SECS));
        assert!(matching_step(secret, &typed, now + STEP_SECS).is_some());
        assert!(matching_step(secret, &typed, now + 3 * STEP_SECS).is_none());
        assert!(matching_step(secret, "12345", now).is_none());
        assert!(matching_step(secret, "abcdef", now).is_none());
        assert_eq!(
            matching_step(secret, &format!("{} {}", &typed[..3], &typed[3..]), now),
            Some(now / STEP_SECS)
        );
    }

    #[test]
    fn base32_round_trips_as_rfc_4648_says() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(from_base32("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert!(from_base32("1!").is_none());
        let uri = otpauth_uri("窓口", "a@example.jp", b"foobar");
        assert!(
            uri.starts_with("otpauth://totp/%E7%AA%93%E5%8F%A3:a%40example.jp?secret=MZXW6YTBOI")
        );
    }
}
