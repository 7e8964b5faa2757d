//! A streaming measure of what an XML reader would hold at once.
//!
//! quick-xml (under calamine and our own readers) buffers one whole token (a
//! tag with its attributes, a text run, a comment) before handing it out, and
//! calamine collects one whole cell or shared string (all its rich-text runs)
//! into one `String`. A part whose total size is honest can still hold one
//! token or one cell of hundreds of megabytes, so this scanner measures both
//! while the archive check inflates the part, without keeping any of it. It is
//! a tokenizer, not a parser: it only knows where tokens end (quotes inside
//! tags, comments, CDATA, declarations) and the local names of tags.

/// Elements whose whole content a reader collects into one value: an XLSX
/// cell (`c`), shared string (`si`) or inline string (`is`), an ODS cell.
const WATCHED: [&[u8]; 4] = [b"c", b"si", b"is", b"table-cell"];
/// Local names longer than this are never watched, so they are not kept.
const MAX_NAME: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Text,
    /// Just after `<`, while the first bytes decide what kind of markup it is.
    Open,
    Tag,
    Comment,
    Cdata,
    /// `<!DOCTYPE …>` and other declarations, which may nest `<…>`.
    Declaration,
}

pub(super) struct XmlScan {
    cap: u64,
    state: State,
    /// Bytes fed so far; token and element starts are offsets into this count.
    offset: u64,
    token_start: u64,
    /// The markup kind's opening bytes after `<` (at most `![CDATA[`).
    prefix: Vec<u8>,
    /// For a comment `-->`, a CDATA `]]>`; for a declaration its depth.
    run: u64,
    quote: u8,
    closing: bool,
    name: Vec<u8>,
    name_done: bool,
    last: u8,
    /// The watched element being measured: its start offset and its local
    /// name as an index into `WATCHED`.
    element: Option<(u64, usize)>,
    shared_strings: u64,
    /// The first cap found exceeded, reported at the end of the chunk.
    exceeded: Option<Exceeded>,
}

#[derive(Clone, Copy, Debug)]
enum Exceeded {
    Token,
    Element,
}

impl XmlScan {
    /// A scanner for the entry if it is an XML part, else `None`.
    pub(super) fn for_entry(name: &str, cap: u64) -> Option<XmlScan> {
        let lower = name.to_ascii_lowercase();
        (lower.ends_with(".xml") || lower.ends_with(".rels")).then(|| XmlScan {
            cap,
            state: State::Text,
            offset: 0,
            token_start: 0,
            prefix: Vec::with_capacity(8),
            run: 0,
            quote: 0,
            closing: false,
            name: Vec::with_capacity(MAX_NAME),
            name_done: false,
            last: 0,
            element: None,
            shared_strings: 0,
            exceeded: None,
        })
    }

    /// `si` elements seen: calamine keeps one `String` for each.
    pub(super) fn shared_strings(&self) -> u64 {
        self.shared_strings
    }

    /// Scans the next inflated bytes; the error says what grew past the cap.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        let base = self.offset;
        let mut i = 0;
        while i < bytes.len() {
            if self.state == State::Text {
                // Text is most of the bytes: jump to the next `<` at once.
                match memchr::memchr(b'<', &bytes[i..]) {
                    Some(at) => i += at,
                    None => break,
                }
                let at = base + i as u64;
                if at - self.token_start > self.cap {
                    self.exceeded.get_or_insert(Exceeded::Token);
                }
                self.token_start = at;
                self.prefix.clear();
                self.state = State::Open;
            } else if self.state == State::Tag && self.name_done {
                // Attributes are the rest of the markup and a tag is short:
                // one tight loop to the `>` outside quotes.
                let mut quote = self.quote;
                let mut j = i;
                while j < bytes.len() {
                    let b = bytes[j];
                    if quote != 0 {
                        if b == quote {
                            quote = 0;
                        }
                    } else if b == b'>' {
                        break;
                    } else if b == b'"' || b == b'\'' {
                        quote = b;
                    }
                    j += 1;
                }
                self.quote = quote;
                if j > i {
                    self.last = bytes[j - 1];
                }
                if j == bytes.len() {
                    break;
                }
                i = j;
                self.step(b'>', base + i as u64);
            } else {
                self.step(bytes[i], base + i as u64);
            }
            i += 1;
        }
        self.offset = base + bytes.len() as u64;
        self.check()
    }

    /// Advances the tokenizer by one byte of markup at offset `at`.
    fn step(&mut self, b: u8, at: u64) {
        match self.state {
            State::Text => {}
            State::Open => self.open(b, at),
            State::Tag => self.tag(b, at),
            State::Comment | State::Cdata => {
                let (mark, needed) = if self.state == State::Comment {
                    (b'-', 2)
                } else {
                    (b']', 2)
                };
                if b == b'>' && self.run >= needed {
                    self.end_token(at);
                } else if b == mark {
                    self.run += 1;
                } else {
                    self.run = 0;
                }
            }
            State::Declaration => match b {
                b'<' => self.run += 1,
                b'>' if self.run <= 1 => self.end_token(at),
                b'>' => self.run -= 1,
                _ => {}
            },
        }
    }

    /// Decides from the bytes after `<` whether this is a tag, a comment,
    /// CDATA or a declaration.
    fn open(&mut self, b: u8, at: u64) {
        if self.prefix.is_empty() && b != b'!' {
            self.state = State::Tag;
            self.quote = 0;
            self.closing = false;
            self.name.clear();
            self.name_done = false;
            self.last = 0;
            self.tag(b, at);
            return;
        }
        self.prefix.push(b);
        self.run = 0;
        let p = self.prefix.as_slice();
        if p == b"!--" {
            self.state = State::Comment;
        } else if p == b"![CDATA[" {
            self.state = State::Cdata;
        } else if !b"!--".starts_with(p) && !b"![CDATA[".starts_with(p) {
            self.state = State::Declaration;
            self.run = 1;
            self.step(b, at);
        }
    }

    fn tag(&mut self, b: u8, at: u64) {
        if self.quote != 0 {
            if b == self.quote {
                self.quote = 0;
            }
            self.last = b;
            return;
        }
        match b {
            b'>' => {
                let self_closing = self.last == b'/';
                self.end_tag(self_closing, at);
                self.end_token(at);
            }
            b'"' | b'\'' => {
                self.quote = b;
                self.name_done = true;
            }
            b'/' if self.name.is_empty() && !self.name_done && !self.closing => self.closing = true,
            _ if self.name_done => {}
            b':' => self.name.clear(),
            _ if b.is_ascii_whitespace() || b == b'/' => self.name_done = true,
            _ if self.name.len() < MAX_NAME + 1 => self.name.push(b),
            _ => {}
        }
        self.last = b;
    }

    /// Starts or ends the measure of a watched element; counts shared strings.
    fn end_tag(&mut self, self_closing: bool, at: u64) {
        let name = self.name.as_slice();
        if self.closing {
            if self
                .element
                .is_some_and(|(_, watched)| WATCHED[watched] == name)
            {
                self.check_element(at);
                self.element = None;
            }
            return;
        }
        if name == b"si" {
            self.shared_strings += 1;
        }
        if !self_closing && self.element.is_none() {
            if let Some(watched) = WATCHED.iter().position(|w| *w == name) {
                self.element = Some((self.token_start, watched));
            }
        }
    }

    /// Ends the token whose last byte is at `at`; the text after it starts a new one.
    fn end_token(&mut self, at: u64) {
        if at + 1 - self.token_start > self.cap {
            self.exceeded.get_or_insert(Exceeded::Token);
        }
        self.token_start = at + 1;
        self.state = State::Text;
    }

    fn check_element(&mut self, at: u64) {
        if let Some((start, _)) = &self.element {
            if at + 1 - start > self.cap {
                self.exceeded.get_or_insert(Exceeded::Element);
            }
        }
    }

    /// Called at the end of every chunk: the open token and the open watched
    /// element must both still fit the cap.
    fn check(&mut self) -> Result<(), String> {
        let at = self.offset.saturating_sub(1);
        if self.offset > self.token_start && at + 1 - self.token_start > self.cap {
            self.exceeded.get_or_insert(Exceeded::Token);
        }
        self.check_element(at);
        let mib = self.cap.div_ceil(1024 * 1024);
        match self.exceeded {
            None => Ok(()),
            Some(Exceeded::Token) => Err(format!(
                "one XML token (a tag, a text run or a comment) is larger than {mib} MiB"
            )),
            Some(Exceeded::Element) => Err(format!(
                "one cell or string is larger than {mib} MiB of XML"
            )),
        }
    }
}
