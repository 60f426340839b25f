//! The triage's fold of text in any script of the Basic Multilingual Plane, with its readings.
//!
//! Python stays the reference (`matchers.normalize.fold` and `readings`). It hands the triage one
//! entry per character (`matchers.normalize.native_fold_table`): the character's own fold, whether a
//! separator stands before or after it, how the readings see it, its look-alike class and Latin reading,
//! the canonical combining classes of the ends of its decomposition, and flags. From these the triage
//! folds a text as the concatenation of its characters' folds (separator runs collapsed, Han, Kana and
//! Hangul spaced as `_cjk_spacing` does), and reads it the ways `readings` does. Where the concatenation
//! could differ from the whole-text fold, it gives up and Python folds the text:
//!
//! * canonical reordering would move a combining mark across two characters (`ccc` of the marks);
//! * a run of word characters and look-alikes holds both a Latin letter and a look-alike (the fold
//!   reads such a word as Latin: `latinize`), or, when a boundary character decomposes into word
//!   characters, the whole text does;
//! * a character has no entry (ASCII controls, ignorable and format characters, generic combining
//!   marks standing alone, characters beyond the Basic Multilingual Plane).

use crate::{cut, inside_breaks, single_letter_gaps, HasKind, Kind};

/// Its decomposition holds a Latin letter.
const FLAG_LATIN: u8 = 1;
/// Its decomposition holds a look-alike.
const FLAG_CONFUSABLE: u8 = 2;
/// A word boundary that decomposes into word characters or look-alikes.
const FLAG_JOINS: u8 = 4;
/// Its decomposition is all Latin-like: Latin letters, ASCII digits, look-alikes, diacritics.
const FLAG_LIKE: u8 = 8;
/// A generic combining mark right after it is kept (its base is not Latin, Greek, Cyrillic, …).
const FLAG_KEEPS: u8 = 16;
/// A generic combining mark: kept or dropped by what precedes it.
const FLAG_GENERIC: u8 = 32;
/// Read as Latin, it has a separator before it.
const FLAG_LATIN_LEAD: u8 = 64;
/// Read as Latin, it has a separator after it.
const FLAG_LATIN_TRAIL: u8 = 128;

/// A boundary of look-alike words.
const LOOK_BOUNDARY: u8 = 0;
/// A character a look-alike word may hold besides look-alikes (ASCII digits, diacritics, tatweel).
const LOOK_OTHER: u8 = 2;
/// A look-alike letter.
const LOOK_LETTER: u8 = 3;
/// A look-alike that is not a word character (`€`, `×`): it also bounds words.
const LOOK_LETTER_NOT_WORD: u8 = 4;

/// A word character of the look-alike reading (`matchers.normalize._WORD_CHAR`).
fn is_word(e: &Entry) -> bool {
    matches!(e.look, 1..=LOOK_LETTER)
}

/// A character a word made only of look-alikes may hold.
fn in_lookalike_word(e: &Entry) -> bool {
    matches!(e.look, LOOK_OTHER | LOOK_LETTER | LOOK_LETTER_NOT_WORD)
}

fn is_lookalike(e: &Entry) -> bool {
    matches!(e.look, LOOK_LETTER | LOOK_LETTER_NOT_WORD)
}

/// One character's entry (`matchers.normalize.NativeFold`).
#[derive(Clone, Debug)]
pub struct Entry {
    core: Box<[u8]>,
    latin_core: Box<[u8]>,
    lead: bool,
    trail: bool,
    first_cjk: bool,
    last_cjk: bool,
    kind: Kind,
    look: u8,
    ccc_first: u8,
    ccc_last: u8,
    latin: Box<[char]>,
    flags: u8,
}

impl HasKind for &Entry {
    fn kind(&self) -> Kind {
        self.kind
    }
}

/// The Python tuple an entry comes from.
pub type RawEntry = (String, bool, bool, u8, u8, u8, u8, String, u8, String);

const NONE: u32 = u32::MAX;

/// Every character's entry: ASCII built here, the rest from Python.
pub struct FoldTable {
    index: Vec<u32>,
    entries: Vec<Entry>,
}

fn kind_from(code: u8) -> Option<Kind> {
    match code {
        1 => Some(Kind::Letter),
        2 => Some(Kind::Digit),
        3 => Some(Kind::Punct),
        4 => Some(Kind::Space),
        5 => Some(Kind::Mark),
        _ => None,
    }
}

fn in_ranges(c: char, ranges: &[(u32, u32)]) -> bool {
    let cp = c as u32;
    ranges.iter().any(|&(a, b)| a <= cp && cp <= b)
}

fn ascii_entry(b: u8) -> Option<Entry> {
    let separator = |kind: Kind| Entry {
        core: Box::new([]),
        latin_core: Box::new([]),
        lead: true,
        trail: true,
        first_cjk: false,
        last_cjk: false,
        kind,
        look: LOOK_BOUNDARY,
        ccc_first: 0,
        ccc_last: 0,
        latin: Box::new([]),
        flags: 0,
    };
    let plain = |core: u8, kind: Kind, look: u8, flags: u8| Entry {
        core: Box::new([core]),
        latin_core: Box::new([core]),
        lead: false,
        trail: false,
        first_cjk: false,
        last_cjk: false,
        kind,
        look,
        ccc_first: 0,
        ccc_last: 0,
        latin: Box::new([]),
        flags,
    };
    match b {
        b'a'..=b'z' => Some(plain(b, Kind::Letter, 1, FLAG_LATIN | FLAG_LIKE)),
        b'A'..=b'Z' => Some(plain(b + 32, Kind::Letter, 1, FLAG_LATIN | FLAG_LIKE)),
        b'0'..=b'9' => Some(plain(b, Kind::Digit, LOOK_OTHER, FLAG_LIKE)),
        b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => Some(separator(Kind::Space)),
        0x21..=0x7e => Some(separator(Kind::Punct)),
        _ => None,
    }
}

impl FoldTable {
    /// The table from Python's entries and the Han, Kana and Hangul ranges.
    pub fn new(raw: Vec<(char, RawEntry)>, cjk: &[(u32, u32)]) -> Self {
        let mut index = vec![NONE; 0x10000];
        let mut entries = Vec::with_capacity(raw.len() + 128);
        for b in 0u8..128 {
            if let Some(entry) = ascii_entry(b) {
                index[b as usize] = entries.len() as u32;
                entries.push(entry);
            }
        }
        for (c, (core, lead, trail, kind, look, ccc_first, ccc_last, latin, flags, latin_core)) in
            raw
        {
            let (Some(kind), true) = (kind_from(kind), (c as u32) < 0x10000 && !c.is_ascii())
            else {
                continue;
            };
            index[c as usize] = entries.len() as u32;
            entries.push(Entry {
                first_cjk: core.chars().next().is_some_and(|f| in_ranges(f, cjk)),
                last_cjk: core.chars().last().is_some_and(|l| in_ranges(l, cjk)),
                core: core.into_bytes().into_boxed_slice(),
                latin_core: latin_core.into_bytes().into_boxed_slice(),
                lead,
                trail,
                kind,
                look,
                ccc_first,
                ccc_last,
                latin: latin.chars().collect(),
                flags,
            });
        }
        FoldTable { index, entries }
    }

    fn entry(&self, c: char) -> Option<&Entry> {
        let at = *self.index.get(c as usize)?;
        (at != NONE).then(|| &self.entries[at as usize])
    }

    /// The entries of the characters of `text`, or None when one has none.
    fn entries(&self, text: &str) -> Option<Vec<&Entry>> {
        text.chars().map(|c| self.entry(c)).collect()
    }

    /// Appends the characters of `entries` folded as one more text of a batch string (`" <fold> \0"`;
    /// the caller has written the `\0` before). False, with `out` partly written, when only Python can
    /// fold them.
    fn push_fold(&self, entries: &[&Entry], out: &mut Vec<u8>) -> bool {
        self.push_fold_at(entries, out, None)
    }

    /// [`FoldTable::push_fold`], and with `positions`, for each character written after the opening
    /// space (the closing space and NUL left out), the index in `entries` of the character it comes
    /// from (a space between words: the character after it).
    fn push_fold_at(
        &self,
        entries: &[&Entry],
        out: &mut Vec<u8>,
        mut positions: Option<&mut Vec<usize>>,
    ) -> bool {
        let Ok(latinized) = latinized(entries) else {
            return false;
        };
        #[derive(PartialEq)]
        enum Prev {
            Start,
            Cjk,
            Other,
        }
        out.push(b' ');
        let (mut prev, mut pending, mut prev_ccc, mut keeps) = (Prev::Start, false, 0u8, false);
        for (k, e) in entries.iter().enumerate() {
            let latin = latinized.as_ref().is_some_and(|l| l[k]);
            if prev_ccc > 0 && e.ccc_first > 0 && e.ccc_first < prev_ccc {
                return false; // canonical reordering would move a mark across characters
            }
            prev_ccc = e.ccc_last;
            if e.flags & FLAG_GENERIC != 0 {
                if !keeps {
                    continue; // a diacritic: dropped (`drop_diacritics`), and so is the rest of its run
                }
            } else {
                keeps = e.flags & FLAG_KEEPS != 0 && !latin; // read as Latin, its marks are diacritics
            }
            let (core, lead, trail) = if latin {
                let flags = e.flags;
                (
                    &e.latin_core,
                    flags & FLAG_LATIN_LEAD != 0,
                    flags & FLAG_LATIN_TRAIL != 0,
                )
            } else {
                (&e.core, e.lead, e.trail)
            };
            pending |= lead;
            if !core.is_empty() {
                let (first_cjk, last_cjk) = (e.first_cjk && !latin, e.last_cjk && !latin);
                let space = if pending {
                    prev != Prev::Start && !(prev == Prev::Cjk && first_cjk)
                } else {
                    (prev == Prev::Cjk && !first_cjk) || (prev == Prev::Other && first_cjk)
                };
                if space {
                    out.push(b' ');
                }
                out.extend_from_slice(core);
                if let Some(at) = positions.as_deref_mut() {
                    let chars = core.iter().filter(|&&b| b & 0xC0 != 0x80).count();
                    at.extend(std::iter::repeat_n(k, chars + usize::from(space)));
                }
                prev = if last_cjk { Prev::Cjk } else { Prev::Other };
                pending = false;
            }
            pending |= trail;
        }
        if prev != Prev::Start {
            out.push(b' ');
        }
        out.push(0);
        true
    }

    /// `entries` with every word made only of look-alikes (and ASCII digits, diacritics, tatweel) read
    /// as Latin (`matchers.normalize._latin_words`): Ok(None) when it has no such word, Err when a Latin
    /// reading has a character without an entry.
    fn latin_words<'a>(&'a self, entries: &[&'a Entry]) -> Result<Option<Vec<&'a Entry>>, ()> {
        // As the regex `(?<!W)[others]*L(?:L|[others])*(?!W)` finds them, leftmost first: a start not
        // after a word character, the longest stretch of allowed characters from there that holds a
        // look-alike and is not followed by a word character.
        let mut out: Option<Vec<&Entry>> = None;
        let (mut done, mut p) = (0, 0);
        while p < entries.len() {
            if !in_lookalike_word(entries[p]) || (p > 0 && is_word(entries[p - 1])) {
                p += 1;
                continue;
            }
            let mut q = p;
            while q < entries.len() && in_lookalike_word(entries[q]) {
                q += 1;
            }
            let end = (p + 1..=q).rev().find(|&e| {
                (e == entries.len() || !is_word(entries[e]))
                    && entries[p..e].iter().any(|x| is_lookalike(x))
            });
            let Some(end) = end else {
                p += 1;
                continue;
            };
            let read = out.get_or_insert_with(Vec::new);
            read.extend_from_slice(&entries[done..p]);
            for e in &entries[p..end] {
                if is_lookalike(e) {
                    for &c in e.latin.iter() {
                        read.push(self.entry(c).ok_or(())?);
                    }
                } else {
                    read.push(e);
                }
            }
            (done, p) = (end, end);
        }
        if let Some(read) = out.as_mut() {
            read.extend_from_slice(&entries[done..]);
        }
        Ok(out)
    }

    /// Appends `text` folded and each of its other readings folded, each as one more text of a batch
    /// string. False (with `out` partly written) when only Python can read it.
    pub fn push_text(&self, text: &str, out: &mut Vec<u8>) -> bool {
        let mut entries = Vec::with_capacity(text.len());
        for c in text.chars() {
            match self.entry(c) {
                Some(e) => entries.push(e),
                None => return false,
            }
        }
        if !self.push_fold(&entries, out) {
            return false;
        }
        let breaks = inside_breaks(&entries);
        let gaps = single_letter_gaps(&entries);
        let mut others: Vec<Vec<&Entry>> = Vec::new();
        if !breaks.is_empty() {
            let closed = cut(&entries, &breaks);
            let closed_gaps = single_letter_gaps(&closed);
            if !closed_gaps.is_empty() {
                others.push(cut(&closed, &closed_gaps));
            }
            others.push(closed);
        }
        if !gaps.is_empty() {
            others.push(cut(&entries, &gaps));
        }
        for reading in &others {
            if !self.push_fold(reading, out) {
                return false;
            }
        }
        for reading in std::iter::once(&entries).chain(&others) {
            match self.latin_words(reading) {
                Ok(None) => {}
                Ok(Some(latin)) if self.push_fold(&latin, out) => {}
                _ => return false,
            }
        }
        true
    }

    /// `text` folded alone (`matchers.normalize.fold`) and, for each character of the fold, the index
    /// of the character of `text` it comes from (a space between words: the character after it); None
    /// when only Python can fold it. The way back from a folded span (`matchers.normalize.FoldMap`).
    pub fn fold_positions(&self, text: &str) -> Option<(String, Vec<usize>)> {
        let entries = self.entries(text)?;
        let (mut out, mut positions) = (Vec::with_capacity(text.len() + 3), Vec::new());
        if !self.push_fold_at(&entries, &mut out, Some(&mut positions)) {
            return None;
        }
        let end = out.len() - if out.len() > 2 { 2 } else { 1 }; // the closing " \0", or "\0" when empty
        let folded = String::from_utf8(out[1..end].to_vec()).ok()?;
        (folded.chars().count() == positions.len()).then_some((folded, positions))
    }

    /// `text` folded alone (`matchers.normalize.fold`), or None when only Python can fold it.
    pub fn fold(&self, text: &str) -> Option<String> {
        let entries = self.entries(text)?;
        let mut out = Vec::new();
        if !self.push_fold(&entries, &mut out) {
            return None;
        }
        let folded = String::from_utf8(out).ok()?;
        Some(folded.trim_end_matches('\0').trim().to_string())
    }
}

/// Which characters `latinize` reads as Latin: every one of a run of word characters and look-alikes
/// that holds a Latin letter and a look-alike and is all Latin-like (the whole word `latinize` matches);
/// Ok(None) when none is. Err when a run holds both but is not all Latin-like, or (when a boundary decomposes into word
/// characters) the text holds both: only Python can tell which part it reads as Latin.
fn latinized(entries: &[&Entry]) -> Result<Option<Vec<bool>>, ()> {
    let both = FLAG_LATIN | FLAG_CONFUSABLE;
    let all = entries.iter().fold(0, |acc, e| acc | e.flags);
    if all & both != both {
        return Ok(None); // most texts
    }
    if all & FLAG_JOINS != 0 {
        return Err(());
    }
    let mut out = vec![false; entries.len()];
    let in_run = |e: &Entry| e.look != LOOK_BOUNDARY || e.flags & FLAG_CONFUSABLE != 0;
    let mut i = 0;
    while i < entries.len() {
        if !in_run(entries[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let (mut flags, mut like) = (0u8, true);
        while i < entries.len() && in_run(entries[i]) {
            flags |= entries[i].flags;
            like &= entries[i].flags & FLAG_LIKE != 0;
            i += 1;
        }
        if flags & both == both {
            if !like {
                return Err(());
            }
            out[start..i].fill(true);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::FoldTable;
    use crate::{single_letter_gaps, Kind};

    #[test]
    fn ascii_folds_from_the_built_in_entries() {
        let table = FoldTable::new(Vec::new(), &[]);
        assert_eq!(table.fold("  Ann-Lee, 42 ").as_deref(), Some("ann lee 42"));
        assert_eq!(table.fold("a\u{1}b"), None); // a control: Python reads it both ways
        assert_eq!(table.fold("Zürich"), None); // no entry without Python's table
    }

    #[test]
    fn a_letter_with_its_marks_is_one_single_letter() {
        use Kind::{Letter as L, Mark as M, Space as S};
        assert_eq!(
            single_letter_gaps(&[L, M, S, L, S, L, M, M]),
            vec![(2, 3), (4, 5)]
        );
        assert!(single_letter_gaps(&[L, M, L, S, L, S, L]).is_empty());
    }
}
