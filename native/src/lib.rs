//! txscreen's native fast path, imported as `matchers._native`.
//!
//! * [`KeySearch`]: the Aho-Corasick automaton over every key of the loaded lists (standard,
//!   overlapping matches), as `matchers.automaton` uses it for batch strings.
//! * [`Triage`]: classifies a batch of raw event values, saying which are certainly clean: valid by the
//!   event schema, and no key anywhere in their folded texts, nor in their other readings
//!   (punctuation inside words closed, single letters joined, look-alike words read as Latin). ASCII
//!   texts fold here by a byte table, all others by the per-character table of [`fold`]. Those events
//!   are cleared without any per-event Python work; texts the table cannot fold exactly go back to
//!   Python, and every other event (invalid, any key found but a fuzzy anchor that fails
//!   verification, see `distance::FuzzyIndex::verifies_in`) takes the full Python path, which
//!   decides. So the fast path only ever says "clean" where the full path would say the same, and
//!   tests check exactly that.
//! * `planner::AnchorPlanner`: the build's cut of each listed name's folded forms into the fuzzy
//!   tier's anchors, `matchers.fuzzy.plan` natively (a million-name list has millions of forms).

mod distance;
mod event;
mod fold;
mod grams;
mod keys;
mod multiplied;
mod planner;
mod timestamp;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::collections::{HashMap, HashSet};

pub use keys::KeySearch;

/// The ASCII fold, as a byte table: letters to lower case, letters and digits kept, every other byte
/// a space, but for a control that is not whitespace (NUL to BS, SO to US, DEL), which becomes
/// `control` (a NUL, the text separator, becomes `nul`). [`fold_into`] runs it; the two tables below
/// are its only instances.
const fn fold_table(nul: u8, control: u8) -> [u8; 256] {
    let mut table = [b' '; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        table[c] = match b {
            b'a'..=b'z' | b'0'..=b'9' => b,
            b'A'..=b'Z' => b + 32,
            0 => nul,
            1..=8 | 14..=31 | 127 => control,
            _ => b' ',
        };
        c += 1;
    }
    table
}

/// A control the text fold stops at (see [`push_folded`]).
const CONTROL: u8 = 0xFF;

/// The fold of a screened text: a control that is not whitespace is [`CONTROL`].
const TEXT_FOLD: [u8; 256] = fold_table(CONTROL, CONTROL);

/// The fold of a batch string (`fold_ascii`): NUL, the text separator, is kept; other controls are spaces.
const BATCH_FOLD: [u8; 256] = fold_table(0, b' ');

/// Appends `bytes` folded by `table` to `out`, each run of spaces collapsed to one; `space` says
/// whether `out` ends with a space. False (and stops) on a byte that `table` folds to [`CONTROL`].
fn fold_into(table: &[u8; 256], bytes: &[u8], out: &mut Vec<u8>, space: &mut bool) -> bool {
    out.reserve(bytes.len());
    let mut at_space = *space;
    for &c in bytes {
        let folded = table[c as usize];
        if folded == CONTROL {
            *space = at_space;
            return false;
        }
        if folded != b' ' {
            out.push(folded);
            at_space = false;
        } else if !at_space {
            out.push(b' ');
            at_space = true;
        }
    }
    *space = at_space;
    true
}

type SimpleFolds = HashMap<char, Box<[u8]>>;

/// How the readings see each non-ASCII character the triage folds (`matchers.normalize.simple_kinds`).
type SimpleKinds = HashMap<char, u8>;

/// Appends `bytes` folded to `out`; `space` says whether `out` ends with a space. False on a NUL or
/// another control that is not whitespace: those are ignorable, and only Python reads them both ways.
fn push_folded(bytes: &[u8], out: &mut Vec<u8>, space: &mut bool) -> bool {
    fold_into(&TEXT_FOLD, bytes, out, space)
}

/// A character as the readings see it (`matchers.normalize.readings`): a combining mark is part of
/// the word it stands in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Letter,
    Digit,
    Punct,
    Space,
    Mark,
}

impl Kind {
    fn is_word(self) -> bool {
        matches!(self, Kind::Letter | Kind::Digit | Kind::Mark)
    }
}

/// The kind of `c`, or None for a character the triage does not read (Python does).
fn kind_of(c: char, kinds: &SimpleKinds) -> Option<Kind> {
    if c.is_ascii() {
        return match c as u8 {
            b'a'..=b'z' | b'A'..=b'Z' => Some(Kind::Letter),
            b'0'..=b'9' => Some(Kind::Digit),
            b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => Some(Kind::Space),
            0x21..=0x7e => Some(Kind::Punct),
            _ => None,
        };
    }
    match kinds.get(&c) {
        Some(1) => Some(Kind::Letter),
        Some(2) => Some(Kind::Digit),
        Some(3) => Some(Kind::Punct),
        Some(4) => Some(Kind::Space),
        _ => None,
    }
}

type Cuts = Vec<(usize, usize)>;

/// Anything the readings classify character by character.
pub(crate) trait HasKind {
    fn kind(&self) -> Kind;
}

impl HasKind for Kind {
    fn kind(&self) -> Kind {
        *self
    }
}

/// Punctuation runs inside words (`HA-MAS`): each run of punctuation with a word character on both
/// sides, unless both are digits (dates and amounts: `16.06.2020`, `1,250.00`).
pub(crate) fn inside_breaks<T: HasKind>(items: &[T]) -> Cuts {
    let kind = |i: usize| items[i].kind();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i < items.len() {
        if kind(i) != Kind::Punct {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < items.len() && kind(j) == Kind::Punct {
            j += 1;
        }
        if i > 0
            && kind(i - 1).is_word()
            && j < items.len()
            && kind(j).is_word()
            && !(kind(i - 1) == Kind::Digit && kind(j) == Kind::Digit)
        {
            cuts.push((i, j));
        }
        i = j;
    }
    cuts
}

/// The gaps in each run of three or more single letters apart (`H A M A S`, `H.A.M.A.S.`). A single
/// letter is a word of one letter and the marks on it; the gaps are the non-word stretches between.
pub(crate) fn single_letter_gaps<T: HasKind>(items: &[T]) -> Cuts {
    let kind = |i: usize| items[i].kind();
    fn close(singles: &mut Vec<(usize, usize)>, cuts: &mut Cuts) {
        if singles.len() >= 3 {
            cuts.extend(singles.windows(2).map(|w| (w[0].1, w[1].0)));
        }
        singles.clear();
    }
    let mut cuts = Vec::new();
    let mut singles = Vec::new();
    let mut i = 0;
    while i < items.len() {
        if !kind(i).is_word() {
            i += 1;
            continue;
        }
        let start = i;
        while i < items.len() && kind(i).is_word() {
            i += 1;
        }
        if kind(start) == Kind::Letter && (start + 1..i).all(|k| kind(k) == Kind::Mark) {
            singles.push((start, i));
        } else {
            close(&mut singles, &mut cuts);
        }
    }
    close(&mut singles, &mut cuts);
    cuts
}

/// `items` without the `cuts` (sorted, disjoint).
pub(crate) fn cut<T: Copy>(items: &[T], cuts: &[(usize, usize)]) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    let mut done = 0;
    for &(a, b) in cuts {
        out.extend_from_slice(&items[done..a]);
        done = b;
    }
    out.extend_from_slice(&items[done..]);
    out
}

/// Appends one more text to a batch string: `chars` folded, then the closing `" \0"`.
fn push_reading(chars: &[char], simple: &SimpleFolds, out: &mut Vec<u8>) {
    out.push(b' ');
    let mut space = true;
    for &c in chars {
        if c.is_ascii() {
            push_folded(&[c as u8], out, &mut space);
        } else {
            push_folded(simple.get(&c).map_or(b" ", |ascii| ascii), out, &mut space);
        }
    }
    if !space {
        out.push(b' ');
    }
    out.push(0);
}

/// Whether an ASCII text has punctuation inside a word or three single letters apart: one pass over
/// its bytes, no allocation (the common answer is no). The same rules as [`inside_breaks`] and
/// [`single_letter_gaps`].
fn ascii_has_readings(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let (mut i, mut singles) = (0, 0);
    let mut last: Option<u8> = None; // the last byte of the previous word
    while i < n {
        let gap_start = i;
        let mut only_punct = true;
        while i < n && !bytes[i].is_ascii_alphanumeric() {
            only_punct &= !bytes[i].is_ascii_whitespace();
            i += 1;
        }
        if i == n {
            return false;
        }
        let word_start = i;
        while i < n && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if let Some(before) = last {
            let digits = before.is_ascii_digit() && bytes[word_start].is_ascii_digit();
            if word_start > gap_start && only_punct && !digits {
                return true;
            }
        }
        if i - word_start == 1 && bytes[word_start].is_ascii_alphabetic() {
            singles += 1;
            if singles >= 3 {
                return true;
            }
        } else {
            singles = 0;
        }
        last = Some(bytes[i - 1]);
    }
    false
}

/// Scratch space of [`push_readings`], kept across texts.
#[derive(Default)]
struct Scratch {
    kinds: Vec<Kind>,
}

/// Appends `bytes` (ASCII) without the `cuts`, folded, as one more text of a batch string.
fn push_ascii_reading(bytes: &[u8], cuts: &[(usize, usize)], out: &mut Vec<u8>) {
    out.push(b' ');
    let mut space = true;
    let mut done = 0;
    for &(a, b) in cuts {
        push_folded(&bytes[done..a], out, &mut space);
        done = b;
    }
    push_folded(&bytes[done..], out, &mut space);
    if !space {
        out.push(b' ');
    }
    out.push(0);
}

/// [`push_readings`] of an ASCII text (no control in it: those went to Python), on its bytes.
fn push_ascii_readings(bytes: &[u8], scratch: &mut Scratch, out: &mut Vec<u8>) {
    if !ascii_has_readings(bytes) {
        return; // most texts
    }
    let found = &mut scratch.kinds;
    found.clear();
    found.extend(bytes.iter().map(|&b| match b {
        b'a'..=b'z' | b'A'..=b'Z' => Kind::Letter,
        b'0'..=b'9' => Kind::Digit,
        0x21..=0x7e => Kind::Punct,
        _ => Kind::Space,
    }));
    let breaks = inside_breaks(found);
    if !breaks.is_empty() {
        push_ascii_reading(bytes, &breaks, out);
        let closed_gaps = single_letter_gaps(&cut(found, &breaks));
        if !closed_gaps.is_empty() {
            push_ascii_reading(&cut(bytes, &breaks), &closed_gaps, out);
        }
    }
    let gaps = single_letter_gaps(found);
    if !gaps.is_empty() {
        push_ascii_reading(bytes, &gaps, out);
    }
}

/// Appends the other readings of a text the triage folded (punctuation inside words closed, runs of
/// single letters joined: `matchers.normalize.readings`), each as one more text. False when the text
/// has a character the readings cannot classify here: then Python reads it.
fn push_readings(
    text: &str,
    simple: &SimpleFolds,
    kinds: &SimpleKinds,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> bool {
    if text.is_ascii() {
        push_ascii_readings(text.as_bytes(), scratch, out);
        return true;
    }
    let found = &mut scratch.kinds;
    found.clear();
    for c in text.chars() {
        match kind_of(c, kinds) {
            Some(kind) => found.push(kind),
            None => return false,
        }
    }
    let breaks = inside_breaks(found);
    let gaps = single_letter_gaps(found);
    if breaks.is_empty() && gaps.is_empty() {
        return true; // most texts
    }
    let chars: Vec<char> = text.chars().collect();
    if !breaks.is_empty() {
        let closed = cut(&chars, &breaks);
        push_reading(&closed, simple, out);
        let closed_gaps = single_letter_gaps(&cut(found, &breaks));
        if !closed_gaps.is_empty() {
            push_reading(&cut(&closed, &closed_gaps), simple, out);
        }
    }
    if !gaps.is_empty() {
        push_reading(&cut(&chars, &gaps), simple, out);
    }
    true
}

/// Lays out one event's texts as a batch string does (`"\0 t1 \0 t2 ... \0"`, folded, space runs
/// collapsed) into `out`: the texts of ASCII and simple letters only, each followed by its other
/// readings as more texts. The others (other scripts, invisible characters, a NUL or another
/// control) go to `left`, for Python's Unicode fold and readings. Each text is bounded by NULs, so no
/// key can span two texts and texts may be searched apart: `ends[k]` is where text k and its readings
/// end in `out` (a text in `left` takes no room).
#[allow(clippy::too_many_arguments)] // the tables it folds by, and the three outputs
fn layout<'t>(
    texts: &[&'t str],
    simple: &SimpleFolds,
    kinds: &SimpleKinds,
    table: Option<&fold::FoldTable>,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
    left: &mut Vec<&'t str>,
    ends: &mut Vec<usize>,
) {
    out.clear();
    out.push(0);
    ends.clear();
    for &text in texts {
        'text: {
            let mark = out.len();
            out.push(b' ');
            let mut space = true;
            let folded = if text.is_ascii() {
                push_folded(text.as_bytes(), out, &mut space)
            } else if table.is_some() {
                false // the table folds every script, accented Latin too
            } else {
                text.chars().all(|c| match simple.get(&c) {
                    _ if c.is_ascii() => push_folded(&[c as u8], out, &mut space),
                    Some(ascii) => push_folded(ascii, out, &mut space),
                    None => false,
                })
            };
            if folded {
                if !space {
                    out.push(b' ');
                }
                out.push(0);
                if push_readings(text, simple, kinds, scratch, out) {
                    break 'text;
                }
            }
            // Other scripts: the whole fold, from the table (`fold.rs`); else Python folds the text.
            out.truncate(mark);
            if !table.is_some_and(|table| table.push_text(text, out)) {
                out.truncate(mark);
                left.push(text);
            }
        }
        ends.push(out.len());
    }
}

/// `fold_ascii(data)`: an ASCII batch string folded as `matchers.normalize` folds ASCII: letters to
/// lower case, letters, digits and NUL (the text separator) kept, everything else a space, and each
/// run of spaces collapsed to one.
#[pyfunction]
fn fold_ascii<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let folded = py.allow_threads(|| {
        let mut out = Vec::with_capacity(data.len());
        fold_into(&BATCH_FOLD, data, &mut out, &mut false);
        out
    });
    PyBytes::new(py, &folded)
}

/// A party's agent name, or "" when there is none (as the Python path lays it out).
fn agent_name<'a>(party: &'a event::Party) -> &'a str {
    party
        .agent
        .as_ref()
        .and_then(|a| a.name.as_ref())
        .map_or("", |n| n.0.as_ref())
}

/// Classifies a batch of raw events: certainly clean, "needs the full path", or "clean but for
/// texts that only Python folds" (those texts are handed back).
#[pyclass(frozen, module = "matchers._native")]
pub struct Triage {
    search: Py<KeySearch>,
    countries: HashSet<String>,
    simple: SimpleFolds,
    kinds: SimpleKinds,
    table: fold::FoldTable,
    /// The fuzzy tier's verification, and the first key index that is only an anchor (no exact
    /// target): a find of such a key that does not verify leaves its event clean.
    fuzzy: Option<(Py<distance::FuzzyIndex>, usize)>,
}

/// `Triage.classify` codes, one per input: `matchers.triage.TriageCode` (exported as `TRIAGE_CODES`).
const CLEAN: u8 = 0;
const FULL_PATH: u8 = 1;
const CHECK_TEXTS: u8 = 2;

/// The screened fields of [`with_texts`], in order: text k of an event is of field k.
const TEXT_FIELDS: [u8; 5] = [0, 1, 2, 3, 4];
/// [`Triage::key_fields`]: a bit per screened field, all set.
const ALL_FIELDS: u8 = (1 << TEXT_FIELDS.len()) - 1;

#[pymethods]
impl Triage {
    #[new]
    #[pyo3(signature = (search, countries, simple, kinds, table, cjk, fuzzy=None, anchors_from=usize::MAX))]
    #[allow(clippy::too_many_arguments)] // the constructor's arguments are the tables it is built from
    fn new(
        search: Py<KeySearch>,
        countries: HashSet<String>,
        simple: HashMap<char, Vec<u8>>,
        kinds: SimpleKinds,
        table: HashMap<char, fold::RawEntry>,
        cjk: Vec<(u32, u32)>,
        fuzzy: Option<Py<distance::FuzzyIndex>>,
        anchors_from: usize,
    ) -> Self {
        let simple = simple
            .into_iter()
            .map(|(c, ascii)| (c, ascii.into_boxed_slice()))
            .collect();
        Triage {
            search,
            countries,
            simple,
            kinds,
            table: fold::FoldTable::new(table.into_iter().collect(), &cjk),
            fuzzy: fuzzy.map(|index| (index, anchors_from)),
        }
    }

    /// `text` folded by the table (`matchers.normalize.fold`), or None where Python folds it.
    fn fold(&self, text: &str) -> Option<String> {
        self.table.fold(text)
    }

    /// `(fold, positions)`: `text` folded by the table and, per character of the fold, the index of
    /// the character of `text` it comes from; None where Python folds it.
    fn fold_positions(&self, text: &str) -> Option<(String, Vec<usize>)> {
        self.table.fold_positions(text)
    }

    /// The batch string of `text` with its other readings as the triage lays it out from the table
    /// (`"\0 fold \0 reading \0 ..."`), or None where Python reads it.
    fn layout_text<'py>(&self, py: Python<'py>, text: &str) -> Option<Bound<'py, PyBytes>> {
        let mut out = vec![0];
        self.table
            .push_text(text, &mut out)
            .then(|| PyBytes::new(py, &out))
    }

    /// `(codes, texts, owners)`: one code per input (0 certainly clean, 1 full path, 2 clean unless
    /// one of its `texts` has a key: `owners[k]` is the input of `texts[k]`).
    ///
    /// Code 0 and 2 need a valid event of at most `max_event_bytes` whose ASCII texts hold no key.
    /// The GIL is released while the batch is classified (the bytes objects are immutable and `raws`
    /// holds them), so that the worker's commit thread runs beside the screening.
    fn classify<'py>(
        &self,
        py: Python<'py>,
        raws: &Bound<'py, PyList>,
        max_event_bytes: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>, Vec<usize>)> {
        let (codes, left) = self.without_gil(py, raws, |bytes, search, fuzzy| {
            self.classify_bytes(bytes, max_event_bytes, search, fuzzy)
        });
        let left_texts = PyList::empty(py);
        let mut owners = Vec::with_capacity(left.len());
        for (index, text) in left {
            left_texts.append(text)?;
            owners.push(index);
        }
        Ok((PyBytes::new(py, &codes), left_texts, owners))
    }

    /// One byte per input: a bit per screened field (bit k for `schemas.events.SCREENED_FIELDS[k]`)
    /// whose text holds an exact key or an anchor find that verifies, in itself, its other readings
    /// or its inverted reading, or that only Python folds; every bit for an input the triage cannot
    /// read (invalid, too large, not bytes). Asked for the events `classify` sent to the full path,
    /// which then screens only those fields: the other fields hold no key, so no hit.
    fn key_fields<'py>(
        &self,
        py: Python<'py>,
        raws: &Bound<'py, PyList>,
        max_event_bytes: usize,
    ) -> Bound<'py, PyBytes> {
        let fields = self.without_gil(py, raws, |bytes, search, fuzzy| {
            self.key_fields_bytes(bytes, max_event_bytes, search, fuzzy)
        });
        PyBytes::new(py, &fields)
    }
}

impl Triage {
    /// Runs `work` on the items of `raws` (`None` for an item that is not bytes), with the key search
    /// and the fuzzy index, without the GIL (the bytes objects are immutable and `raws` holds them).
    fn without_gil<'py, R: Send>(
        &self,
        py: Python<'py>,
        raws: &Bound<'py, PyList>,
        work: impl FnOnce(&[Option<&[u8]>], &KeySearch, Option<(&distance::FuzzyIndex, usize)>) -> R
            + Send,
    ) -> R {
        let search = self.search.get();
        let fuzzy_index = self
            .fuzzy
            .as_ref()
            .map(|(index, from)| (index.borrow(py), *from));
        let fuzzy = fuzzy_index.as_ref().map(|(index, from)| (&**index, *from));
        let items: Vec<Option<Bound<'py, PyBytes>>> = raws
            .iter()
            .map(|item| item.downcast_into::<PyBytes>().ok())
            .collect();
        let bytes: Vec<Option<&[u8]>> = items
            .iter()
            .map(|item| item.as_ref().map(|b| b.as_bytes()))
            .collect();
        py.allow_threads(|| work(&bytes, search, fuzzy))
    }

    /// [`Triage::classify`] without the GIL: the codes, and each text handed back with its input.
    fn classify_bytes(
        &self,
        raws: &[Option<&[u8]>],
        max_event_bytes: usize,
        search: &KeySearch,
        fuzzy: Option<(&distance::FuzzyIndex, usize)>,
    ) -> (Vec<u8>, Vec<(usize, String)>) {
        let mut codes = vec![FULL_PATH; raws.len()];
        let mut handed_back = Vec::new();
        let mut anchor_finds = Vec::new();
        self.each_laid_out(raws, max_event_bytes, |index, event| {
            if clean_of_keys(search, fuzzy, event.buffer, &mut anchor_finds) {
                codes[index] = if event.left.is_empty() {
                    CLEAN
                } else {
                    CHECK_TEXTS
                };
                handed_back.extend(event.left.iter().map(|text| (index, (*text).to_owned())));
            }
        });
        (codes, handed_back)
    }

    /// [`Triage::key_fields`] without the GIL.
    fn key_fields_bytes(
        &self,
        raws: &[Option<&[u8]>],
        max_event_bytes: usize,
        search: &KeySearch,
        fuzzy: Option<(&distance::FuzzyIndex, usize)>,
    ) -> Vec<u8> {
        let mut fields = vec![ALL_FIELDS; raws.len()];
        let mut anchor_finds = Vec::new();
        self.each_laid_out(raws, max_event_bytes, |index, event| {
            fields[index] = fields_with_keys(&event, search, fuzzy, &mut anchor_finds);
        });
        fields
    }

    /// Calls `each(index, event)` with each input that is a valid event of at most `max_event_bytes`
    /// ([`event::parse_valid`]), laid out ([`layout`]); the others are left to the full path.
    fn each_laid_out(
        &self,
        raws: &[Option<&[u8]>],
        max_event_bytes: usize,
        mut each: impl FnMut(usize, LaidOut<'_, '_>),
    ) {
        let mut buffer = Vec::with_capacity(512);
        let (mut scratch, mut ends) = (Scratch::default(), Vec::new());
        for (index, raw) in raws.iter().enumerate() {
            let Some(raw) = *raw else {
                continue;
            };
            if raw.is_empty() || raw.len() > max_event_bytes {
                continue;
            }
            let Some(event) = event::parse_valid(raw, &self.countries) else {
                continue;
            };
            with_texts(&event, |texts, field_of| {
                let mut left: Vec<&str> = Vec::new(); // allocates only for an event with such texts
                layout(
                    texts,
                    &self.simple,
                    &self.kinds,
                    Some(&self.table),
                    &mut scratch,
                    &mut buffer,
                    &mut left,
                    &mut ends,
                );
                let laid_out = LaidOut {
                    texts,
                    field_of,
                    buffer: &buffer,
                    ends: &ends,
                    left: &left,
                };
                each(index, laid_out);
            });
        }
    }
}

/// One event as [`Triage::each_laid_out`] lays it out: its texts ([`with_texts`]) and the field of
/// each, the batch string, where each text ends in it, and the texts only Python reads.
struct LaidOut<'a, 't> {
    texts: &'a [&'t str],
    field_of: &'a [u8],
    buffer: &'a [u8],
    ends: &'a [usize],
    left: &'a [&'t str],
}

/// [`Triage::key_fields`] of one laid-out event: the bits of the fields whose text holds an exact key
/// or an anchor find that verifies (exact keys first: the anchor finds of the fields without one are
/// verified after the pass), or that only Python reads.
fn fields_with_keys(
    event: &LaidOut<'_, '_>,
    search: &KeySearch,
    fuzzy: Option<(&distance::FuzzyIndex, usize)>,
    anchor_finds: &mut Vec<(usize, usize, u8)>,
) -> u8 {
    let (buffer, field_of) = (event.buffer, event.field_of);
    let mut mask = 0u8;
    for (text, &field) in event.texts.iter().zip(field_of) {
        if event.left.iter().any(|left| std::ptr::eq(*left, *text)) {
            mask |= 1 << field; // only Python reads it: the full path decides
        }
    }
    anchor_finds.clear();
    search.each_find(buffer, |key, start, _| {
        // A whole-field key starts on the NUL before its text.
        let at = if buffer[start] == 0 { start + 1 } else { start };
        let Some(&field) = field_of.get(event.ends.partition_point(|&end| end <= at)) else {
            return true;
        };
        if mask & (1 << field) == 0 {
            match fuzzy {
                Some((_, from)) if key >= from && buffer[start] != 0 => {
                    anchor_finds.push((key, start, field));
                }
                _ => mask |= 1 << field,
            }
        }
        mask != ALL_FIELDS
    });
    if let Some((index, _)) = fuzzy {
        let (mut folded, mut folded_at) = (Vec::new(), usize::MAX);
        for &(key, start, field) in anchor_finds.iter() {
            if mask & (1 << field) == 0
                && !anchor_fails(index, buffer, key, start, &mut folded, &mut folded_at)
            {
                mask |= 1 << field;
            }
        }
    }
    mask
}

/// Calls `each` with an event's screened texts in the full path's order (debtor, creditor, their agents'
/// names, remittance: `schemas.events.SCREENED_FIELDS`), then the reading `FIRST REST` of each party name
/// written `REST, FIRST` (`matchers.inversion`), laid out as one more text so that a key only that reading
/// holds sends the event to the full path; `field_of[k]` is the field of text k.
fn with_texts<R>(event: &event::Event<'_>, each: impl FnOnce(&[&str], &[u8]) -> R) -> R {
    let (debtor, creditor) = (event.debtor.name.0.as_ref(), event.creditor.name.0.as_ref());
    let texts = [
        debtor,
        creditor,
        agent_name(&event.debtor),
        agent_name(&event.creditor),
        event.remittance.as_ref().map_or("", |r| r.0.as_ref()),
    ];
    let inverted: Vec<(u8, String)> = [(0, debtor), (1, creditor)]
        .into_iter()
        .filter_map(|(field, text)| inverted(text).map(|reading| (field, reading)))
        .collect();
    if inverted.is_empty() {
        return each(&texts, &TEXT_FIELDS);
    }
    let mut all = texts.to_vec();
    let mut field_of = TEXT_FIELDS.to_vec();
    for (field, reading) in &inverted {
        all.push(reading);
        field_of.push(*field);
    }
    each(&all, &field_of)
}

/// `FIRST REST` for a party name written `REST, FIRST` (one comma), as `matchers.inversion.inverted`
/// reads it, but also where a side folds to nothing (the triage may only search more than Python).
fn inverted(text: &str) -> Option<String> {
    let (rest, first) = text.split_once(',')?;
    if first.contains(',') {
        return None;
    }
    Some(format!("{} {}", first.trim(), rest.trim()))
}

/// Whether the laid-out `buffer` holds no key, or only anchors of the fuzzy tier (`fuzzy`: the index
/// and the first anchor's key index) whose finds all fail verification on their folded text
/// (`"\0 text \0"`: the text between the NULs, its edge spaces left out, as `matchers.screening`
/// verifies it). One pass of the key search: it stops at an exact key (or a whole-field key), which
/// decides without any anchor verified (an event with a listed name holds anchors of many similar
/// names), and keeps the anchor finds in `anchor_finds` to verify after it.
fn clean_of_keys(
    search: &KeySearch,
    fuzzy: Option<(&distance::FuzzyIndex, usize)>,
    buffer: &[u8],
    anchor_finds: &mut Vec<(usize, usize)>,
) -> bool {
    anchor_finds.clear();
    let mut exact = false;
    search.each_find(buffer, |key, start, _| {
        exact = fuzzy.is_none_or(|(_, from)| key < from || buffer[start] == 0);
        if !exact {
            anchor_finds.push((key, start));
        }
        !exact
    });
    if exact {
        return false;
    }
    let Some((index, _)) = fuzzy else {
        return true;
    };
    let mut text: Vec<char> = Vec::new();
    let mut text_at = usize::MAX; // where `text` starts in `buffer`
    anchor_finds
        .iter()
        .all(|&(key, start)| anchor_fails(index, buffer, key, start, &mut text, &mut text_at))
}

/// Whether the find of anchor `key` at `start` in `buffer` fails verification on its folded text
/// (`text`, decoded from `text_at` on, is kept for the next find in the same text).
fn anchor_fails(
    index: &distance::FuzzyIndex,
    buffer: &[u8],
    key: usize,
    start: usize,
    text: &mut Vec<char>,
    text_at: &mut usize,
) -> bool {
    let sep = buffer[..start].iter().rposition(|&b| b == 0).unwrap_or(0);
    let base = sep + 2;
    let Some(next) = buffer[start..]
        .iter()
        .position(|&b| b == 0)
        .map(|i| start + i)
    else {
        return false;
    };
    if base > start || next < base + 1 {
        return false;
    }
    if *text_at != base {
        let Ok(folded) = std::str::from_utf8(&buffer[base..next - 1]) else {
            return false;
        };
        *text = folded.chars().collect();
        *text_at = base;
    }
    let Ok(before) = std::str::from_utf8(&buffer[base..start]) else {
        return false;
    };
    !index.verifies_in(key, text.as_slice(), before.chars().count())
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<KeySearch>()?;
    module.add_class::<Triage>()?;
    module.add_function(wrap_pyfunction!(fold_ascii, module)?)?;
    distance::register(module)?;
    planner::register(module)?;
    let fields = PyDict::new(module.py());
    fields.set_item("event", event::EVENT_FIELDS.to_vec())?;
    fields.set_item("party", event::PARTY_FIELDS.to_vec())?;
    fields.set_item("agent", event::AGENT_FIELDS.to_vec())?;
    module.add("FIELDS", fields)?;
    let codes = PyDict::new(module.py());
    codes.set_item("CLEAN", CLEAN)?;
    codes.set_item("FULL_PATH", FULL_PATH)?;
    codes.set_item("CHECK_TEXTS", CHECK_TEXTS)?;
    module.add("TRIAGE_CODES", codes)?;
    module.add("DOUBLE_ARRAY_KEY_BYTES", keys::DOUBLE_ARRAY_KEY_BYTES)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{layout, Scratch, SimpleFolds, SimpleKinds};

    #[test]
    fn layout_matches_the_python_batch_string() {
        let simple: SimpleFolds = [
            ('ü', b"u".as_slice()),
            ('ß', b"ss".as_slice()),
            ('！', b"!".as_slice()),
        ]
        .into_iter()
        .map(|(c, a)| (c, a.into()))
        .collect();
        let kinds: SimpleKinds = [('ü', 1), ('ß', 1), ('！', 3)].into_iter().collect();
        let (mut out, mut left, mut ends) = (Vec::new(), Vec::new(), Vec::new());
        let texts = [
            "Ann  Lee",
            "",
            "Zürich！Straße",
            "Łódź",
            "A-B",
            "x.",
            "a\0b",
            " HAMAS ",
            "a\x01b",
            "H.A.M-A S.",
        ];
        layout(
            &texts,
            &simple,
            &kinds,
            None,
            &mut Scratch::default(),
            &mut out,
            &mut left,
            &mut ends,
        );
        assert_eq!(
            out,
            b"\0 ann lee \0 \0 zurich strasse \0 zurichstrasse \0 a b \0 ab \0 x \0 hamas \0 \
              h a m a s \0 hama s \0 hamas \0"
        );
        assert_eq!(left, ["Łódź", "a\0b", "a\x01b"]);
        // Where each text ends with its readings; a text left to Python takes no room.
        assert_eq!(ends, [11, 13, 46, 46, 57, 61, 61, 69, 69, 98]);
    }

    #[test]
    fn the_ascii_first_look_agrees_with_the_exact_rules() {
        use super::{ascii_has_readings, inside_breaks, kind_of, single_letter_gaps};
        let kinds = SimpleKinds::new();
        let samples = [
            "HA-MAS",
            "e-mail",
            "16.06.2020",
            "1,250.00",
            "A B C",
            "A B",
            "a bc d e",
            "x.",
            "-x-",
            "H.A.M",
            "A1-2",
            "1-A",
            "a, b, c",
            "Ann Lee",
            "",
            " ",
            "a_b",
            "5 a b c",
            "a b c5",
        ];
        for text in samples {
            let found: Vec<_> = text.chars().map(|c| kind_of(c, &kinds).unwrap()).collect();
            let exact = !inside_breaks(&found).is_empty() || !single_letter_gaps(&found).is_empty();
            assert_eq!(ascii_has_readings(text.as_bytes()), exact, "{text}");
        }
    }
}
