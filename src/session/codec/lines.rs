//! Splitting a transcript file into its front matter and its body, with line numbers.

use super::ParseError;

/// The `+++` line that opens and closes the front matter.
pub const FENCE: &str = "+++";

/// One line of the file: `text` excludes the `\n` (a `\r` before it stays, so a CRLF line
/// ends with `\r`); `start` is its byte offset in the file; `end` is the offset just past its
/// `\n` (or the end of the file).
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    pub number: usize,
    pub start: usize,
    pub end: usize,
    pub text: &'a str,
}

/// All lines of `text`, numbered from `first_number`, offsets relative to `base`.
/// Lines are separated by `\n` only; a lone `\r` does not end a line.
pub fn lines(text: &str, base: usize, first_number: usize) -> impl Iterator<Item = Line<'_>> {
    let mut pos = 0;
    let mut number = first_number;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let rest = &text[pos..];
        let (line, len) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        let item = Line { number, start: base + pos, end: base + pos + len, text: line };
        pos += len;
        number += 1;
        Some(item)
    })
}

/// The lines of `text` that contain `needle`, numbered and offset as [`lines`] numbers them.
/// The text between them is searched for `needle` and its line endings counted, but never
/// cut into lines: a body is mostly text, and only marker lines matter to the reader.
pub fn lines_containing<'a>(
    text: &'a str,
    needle: &'a str,
    base: usize,
    first_number: usize,
) -> impl Iterator<Item = Line<'a>> + use<'a> {
    // `pos` is always the start of a line, and `number` that line's number.
    let mut pos = 0;
    let mut number = first_number;
    std::iter::from_fn(move || {
        let found = pos + text.get(pos..)?.find(needle)?;
        let start = text[pos..found].rfind('\n').map_or(pos, |i| pos + i + 1);
        number += text[pos..start].bytes().filter(|&b| b == b'\n').count();
        let (end, line_end) = match text[found..].find('\n') {
            Some(i) => (found + i + 1, found + i),
            None => (text.len(), text.len()),
        };
        let item =
            Line { number, start: base + start, end: base + end, text: &text[start..line_end] };
        pos = end;
        number += 1;
        Some(item)
    })
}

/// A transcript file cut into front matter and body.
pub struct Document<'a> {
    /// The whole file (after a byte-order mark, if any).
    pub text: &'a str,
    /// The TOML between the `+++` lines.
    pub front_matter: &'a str,
    /// Line number of the first TOML line.
    pub front_matter_line: usize,
    /// Byte offset and line number where the body starts.
    pub body_start: usize,
    pub body_line: usize,
}

impl<'a> Document<'a> {
    pub fn split(text: &'a str) -> Result<Document<'a>, ParseError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut all = lines(text, 0, 1);
        let opens = all.next().is_some_and(|l| l.text.trim_end() == FENCE);
        if !opens {
            return Err(ParseError::new(
                1,
                "missing front matter: a transcript starts with a `+++` line, its TOML header, and another `+++` line",
            ));
        }
        let toml_start = text.find('\n').map_or(text.len(), |i| i + 1);
        match all.find(|l| l.text.trim_end() == FENCE) {
            Some(close) => Ok(Document {
                text,
                front_matter: &text[toml_start..close.start],
                front_matter_line: 2,
                body_start: close.end,
                body_line: close.number + 1,
            }),
            None => Err(ParseError::new(
                1,
                "the front matter opened here is never closed; add a `+++` line after its last key",
            )),
        }
    }

    /// The file line of a byte offset into the front matter.
    pub fn front_matter_line_at(&self, offset: usize) -> usize {
        let offset = offset.min(self.front_matter.len());
        self.front_matter_line
            + self.front_matter.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count()
    }

    /// The body's lines that contain `needle`, numbered as in the file.
    pub fn body_lines_containing(
        &self,
        needle: &'a str,
    ) -> impl Iterator<Item = Line<'a>> + use<'a> {
        lines_containing(&self.text[self.body_start..], needle, self.body_start, self.body_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_containing_a_needle_are_those_lines_splits_them_into() {
        let texts = [
            "a\nx b\n\nc x\r\nx",
            "x",
            "",
            "no match\nat all\n",
            "\n\nx\n\n",
            "xx x\nx\n",
            "é x ü\nx\n",
        ];
        for text in texts {
            let all: Vec<(usize, usize, usize, &str)> = lines(text, 7, 3)
                .filter(|l| l.text.contains('x'))
                .map(|l| (l.number, l.start, l.end, l.text))
                .collect();
            let found: Vec<(usize, usize, usize, &str)> = lines_containing(text, "x", 7, 3)
                .map(|l| (l.number, l.start, l.end, l.text))
                .collect();
            assert_eq!(found, all, "{text:?}");
        }
    }
}
