//! Text that deepdive did not write (a model's answer, a transcript, a server's message) made
//! safe for a terminal: every control character but newline and tab is shown visibly instead
//! of being obeyed, so such text cannot clear the screen, retitle the window, write to the
//! clipboard (OSC 52), plant hidden links (OSC 8) or move the cursor.
//!
//! C0 controls and DEL are shown in caret notation (ESC as `^[`, so `ESC ] 52 ; …` reads
//! `^[]52;…`), C1 controls as `\u{9b}`. A carriage return that ends a line (`\r\n`) is kept.
//! Each character is replaced on its own, so the result does not depend on how a stream was
//! split. deepdive's own styling is added after this, and files keep the text byte for byte.

use std::borrow::Cow;

/// True for a character that [`visible`] replaces.
fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}')
}

/// `text` with every control character other than `\n`, `\t` and the `\r` of a `\r\n`
/// replaced by a visible form. Borrowed when there is nothing to replace.
pub fn visible(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let needs_work = text
        .char_indices()
        .any(|(i, c)| is_unsafe(c) && !(c == '\r' && bytes.get(i + 1) == Some(&b'\n')));
    if !needs_work {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            out.push(c);
        } else if is_unsafe(c) {
            push_visible(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn push_visible(c: char, out: &mut String) {
    let code = u32::from(c);
    match c {
        '\x7f' => out.push_str("^?"),
        _ if code < 0x20 => {
            out.push('^');
            // `^@` for NUL … `^[` for ESC … `^_` for 0x1f.
            out.push(char::from_u32(code + 0x40).unwrap_or('?'));
        }
        _ => out.push_str(&format!("\\u{{{code:x}}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "Grüße\n\tliveness → readiness ✓\r\n";
        assert!(matches!(visible(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(visible("\x1b]52;c;ZWNobyBoaQ==\x07"), "^[]52;c;ZWNobyBoaQ==^G");
        assert_eq!(visible("\x1b]0;owned\x1b\\"), "^[]0;owned^[\\");
        assert_eq!(visible("\x1b[2J\x1b[H"), "^[[2J^[[H");
        assert_eq!(
            visible("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"),
            "^[]8;;http://evil^[\\click^[]8;;^[\\"
        );
        assert_eq!(visible("a\u{9b}31mb\u{9d}c"), "a\\u{9b}31mb\\u{9d}c");
        assert_eq!(visible("nul\0 del\x7f bs\x08"), "nul^@ del^? bs^H");
    }

    #[test]
    fn a_lone_carriage_return_is_shown_but_a_line_ending_is_kept() {
        assert_eq!(visible("safe\rEVIL\r\n"), "safe^MEVIL\r\n");
    }

    #[test]
    fn nothing_escapes_whatever_the_input() {
        for code in 0..=0x10ffffu32 {
            let Some(c) = char::from_u32(code) else { continue };
            let shown = visible(&c.to_string()).into_owned();
            assert!(
                !shown.chars().any(is_unsafe) && !shown.contains('\r'),
                "U+{code:04X} -> {shown:?}"
            );
        }
    }
}
