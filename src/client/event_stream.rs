//! The `text/event-stream` format (WHATWG HTML, "Server-sent events"), parsed from a body
//! that arrives in pieces of any size.
//!
//! Each byte is looked at once: the search for a line's end resumes where the last piece
//! ended, complete lines are read in place, and the buffer drops what was read once per
//! piece. So a piece costs work proportional to its size, however the body is split (one
//! event per piece, or a whole answer in one), and no event allocates beyond the growth of
//! the one reused data buffer.
//!
//! What a server can make it hold is bounded: a line longer than `max_line` bytes, or an event
//! (the bytes since the last blank line) longer than `max_event`, is an error before it is
//! buffered further.

/// One dispatched event, valid until the next call to [`EventStream::next`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Event<'a> {
    /// The `event:` field; `message` when there was none.
    pub kind: &'a str,
    /// The `data:` lines, joined with `\n`.
    pub data: &'a str,
}

/// Why the stream cannot be read on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// A line that is not UTF-8 text.
    NotUtf8,
    /// A line longer than `max_line` without ending.
    LongLine,
    /// An event longer than `max_event` without its blank line.
    LongEvent,
}

/// An event stream being read.
pub(crate) struct EventStream {
    /// Received bytes not yet read; `buf[..read]` is read.
    buf: Vec<u8>,
    read: usize,
    /// Where the search for the end of the current line resumes (`read` or later).
    scanned: usize,
    /// The line before ended with `\r`: a `\n` first is the rest of that line's end.
    after_cr: bool,
    /// No line was read yet: a byte-order mark before it is dropped.
    at_start: bool,
    /// The current event: its type and data lines (each followed by `\n`).
    kind: String,
    data: String,
    /// Bytes of the current event so far, blank line not included.
    event_bytes: usize,
    /// The last call handed out the current event: the next one starts a new event.
    dispatched: bool,
    max_line: usize,
    max_event: usize,
}

impl EventStream {
    pub fn new(max_line: usize, max_event: usize) -> EventStream {
        EventStream {
            buf: Vec::new(),
            read: 0,
            scanned: 0,
            after_cr: false,
            at_start: true,
            kind: String::new(),
            data: String::new(),
            event_bytes: 0,
            dispatched: false,
            max_line,
            max_event,
        }
    }

    /// Takes in the next piece of the body. Call [`EventStream::next`] until it returns
    /// `Ok(None)` before feeding the next piece.
    pub fn feed(&mut self, piece: &[u8]) {
        self.buf.drain(..self.read);
        self.scanned -= self.read;
        self.read = 0;
        self.buf.extend_from_slice(piece);
    }

    /// The next complete event, or `None` when the pieces so far hold no more. An event the
    /// body ends in the middle of (no blank line after it) is never dispatched.
    pub fn next(&mut self) -> Result<Option<Event<'_>>, StreamError> {
        if std::mem::take(&mut self.dispatched) {
            self.kind.clear();
            self.data.clear();
        }
        loop {
            if self.after_cr && self.read < self.buf.len() {
                if self.buf[self.read] == b'\n' {
                    self.read += 1;
                    self.scanned = self.scanned.max(self.read);
                }
                self.after_cr = false;
            }
            let unread = &self.buf[self.scanned..];
            let Some(at) = unread.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.scanned = self.buf.len();
                return self.within_limits().map(|()| None);
            };
            let end = self.scanned + at;
            self.after_cr = self.buf[end] == b'\r';
            let start = std::mem::replace(&mut self.read, end + 1);
            self.scanned = self.read;
            let line =
                std::str::from_utf8(&self.buf[start..end]).map_err(|_| StreamError::NotUtf8)?;
            let line = match std::mem::replace(&mut self.at_start, false) {
                true => line.strip_prefix('\u{feff}').unwrap_or(line),
                false => line,
            };
            if !line.is_empty() {
                self.event_bytes += line.len() + 1;
                if self.event_bytes > self.max_event {
                    return Err(StreamError::LongEvent);
                }
                take_line(line, &mut self.kind, &mut self.data);
                continue;
            }
            // A blank line dispatches the event, if it has data.
            self.event_bytes = 0;
            if self.data.is_empty() {
                self.kind.clear();
                continue;
            }
            self.data.pop(); // the `\n` after its last data line
            if self.kind.is_empty() {
                self.kind.push_str("message");
            }
            self.dispatched = true;
            return Ok(Some(Event { kind: &self.kind, data: &self.data }));
        }
    }

    /// Checks the unfinished line and event against the limits.
    fn within_limits(&self) -> Result<(), StreamError> {
        let line = self.buf.len() - self.read;
        if line > self.max_line {
            Err(StreamError::LongLine)
        } else if self.event_bytes + line > self.max_event {
            Err(StreamError::LongEvent)
        } else {
            Ok(())
        }
    }
}

/// One non-blank line of an event: a comment, or a field and its value.
fn take_line(line: &str, kind: &mut String, data: &mut String) {
    let (field, value) = match line.split_once(':') {
        Some(("", _)) => return, // a comment
        Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
        None => (line, ""),
    };
    match field {
        "data" => {
            data.push_str(value);
            data.push('\n');
        }
        "event" => {
            kind.clear();
            kind.push_str(value);
        }
        // `id` and `retry` matter to a browser reconnecting; a chat answer is not resumed.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of `pieces`, as (type, data).
    fn events(pieces: &[&[u8]]) -> Result<Vec<(String, String)>, StreamError> {
        let mut stream = EventStream::new(1 << 20, 1 << 20);
        let mut out = Vec::new();
        for piece in pieces {
            stream.feed(piece);
            while let Some(e) = stream.next()? {
                out.push((e.kind.to_string(), e.data.to_string()));
            }
        }
        Ok(out)
    }

    fn message(data: &str) -> (String, String) {
        ("message".to_string(), data.to_string())
    }

    #[test]
    fn reads_fields_comments_and_blank_lines_as_the_format_says() {
        let body = b"\xEF\xBB\xBFdata: one\n\n: a comment\nevent: error\ndata:two\ndata:  three\nid: 7\nretry: 10\n\ndata\n\nevent: ignored\n\ndata: last\n\n";
        assert_eq!(
            events(&[body]).unwrap(),
            [
                message("one"),
                ("error".to_string(), "two\n three".to_string()),
                message(""),
                message("last"),
            ]
        );
    }

    #[test]
    fn lines_end_with_lf_cr_or_crlf_and_an_event_at_the_end_without_a_blank_line_is_dropped() {
        assert_eq!(
            events(&[b"data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: unfinished"]).unwrap(),
            [message("a"), message("b"), message("c")]
        );
    }

    #[test]
    fn every_split_of_a_body_gives_the_same_events() {
        let body: &[u8] = "data: {\"x\":\"é\"}\r\n\r\n: ping\r\ndata: 2\r\rdata: 3\n\n".as_bytes();
        let whole = events(&[body]).unwrap();
        assert_eq!(whole.len(), 3);
        for at in 0..=body.len() {
            assert_eq!(events(&[&body[..at], &body[at..]]).unwrap(), whole, "split at {at}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(events(&bytes).unwrap(), whole, "one byte at a time");
    }

    #[test]
    fn limits_stop_an_endless_line_or_event_before_it_is_held() {
        let mut stream = EventStream::new(10, 30);
        stream.feed(b"data: 0123");
        assert_eq!(stream.next(), Ok(None));
        stream.feed(b"45678");
        assert_eq!(stream.next(), Err(StreamError::LongLine));
        let mut stream = EventStream::new(10, 30);
        stream.feed(b"data: 1\ndata: 2\ndata: 3\ndata: 4\n");
        assert_eq!(stream.next(), Err(StreamError::LongEvent));
        let mut stream = EventStream::new(10, 30);
        stream.feed(b"data: 1\ndata: 2\ndata: 3\n\ndata: 4\n\n");
        assert!(matches!(stream.next(), Ok(Some(Event { data: "1\n2\n3", .. }))));
        assert!(matches!(stream.next(), Ok(Some(Event { data: "4", .. }))));
    }

    #[test]
    fn text_that_is_not_utf8_is_an_error() {
        assert_eq!(events(&[b"data: \xff\n\n"]), Err(StreamError::NotUtf8));
    }
}
