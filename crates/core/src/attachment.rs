//! Files customers and agents attach to messages (photos of damaged goods, receipts): which
//! kinds are accepted, told by their content rather than by the name or the declared type, and
//! what a file name may be.

use crate::text::check_visible;
use crate::InvalidValue;

/// Largest file accepted: 10 MiB.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// The content type of a file by its first bytes: PNG, JPEG, GIF, WebP or PDF. Anything else
/// (programs, archives, HTML and SVG that could run script, a PNG name on an executable) is
/// refused, whatever it is called.
pub fn sniff(bytes: &[u8]) -> Result<&'static str, InvalidValue> {
    let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        "image/gif"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else if bytes.starts_with(b"%PDF-") {
        "application/pdf"
    } else {
        return Err(InvalidValue::new(
            "file",
            "only PNG, JPEG, GIF, WebP images and PDF documents can be attached",
        ));
    };
    Ok(kind)
}

/// The type a mail's original HTML body is kept as (never accepted as an upload).
pub const MAIL_HTML: &str = "text/html; charset=utf-8";

/// Whether a file of this type opens in the browser: images, and a mail's original HTML
/// (served sandboxed: no script, no remote content); others are downloaded.
pub fn shown_inline(content_type: &str) -> bool {
    content_type.starts_with("image/") || content_type == MAIL_HTML
}

/// A file name as shown to people: the last path segment, visible text, at most 200 characters.
pub fn parse_file_name(raw: &str) -> Result<String, InvalidValue> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or(raw).trim();
    check_visible("name", name, false)?;
    if name.chars().count() > 200 {
        return Err(InvalidValue::new("name", "must be at most 200 characters"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_content() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").unwrap(), "image/png");
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), "image/jpeg");
        assert_eq!(sniff(b"GIF89a...").unwrap(), "image/gif");
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 ").unwrap(), "image/webp");
        let pdf = sniff(b"%PDF-1.7\n").unwrap();
        assert_eq!((pdf, shown_inline(pdf)), ("application/pdf", false));
        assert!(shown_inline("image/png"));
        for refused in [
            &b"MZ\x90\0 a Windows program"[..],
            b"\x7fELF",
            b"PK\x03\x04 zip",
            b"<svg onload=alert(1)>",
            b"<!doctype html><script>",
            b"",
            b"RIFF\0\0\0\0WAVE",
        ] {
            assert!(sniff(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(
            parse_file_name("C:\\Users\\a\\破損写真.jpg").unwrap(),
            "破損写真.jpg"
        );
        assert_eq!(parse_file_name("../../etc/passwd").unwrap(), "passwd");
        assert!(parse_file_name("").is_err());
        assert!(parse_file_name("photo\u{202e}gpj.exe").is_err());
        assert!(parse_file_name(&"a".repeat(201)).is_err());
    }
}
