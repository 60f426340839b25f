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

use crate::{cut, inside_breaks, single_letter_gaps, Kind};

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

    /// The entries of `chars`, or None when one has none.
    fn entries<'a>(&'a self, chars: &[char]) -> Option<Vec<&'a Entry>> {
        chars.iter().map(|&c| self.entry(c)).collect()
    }

    /// Appends `chars` folded as one more text of a batch string (`" <fold> \0"`; the caller has
    /// written the `\0` before). False, with `out` partly written, when only Python can fold them.
    fn push_fold(&self, chars: &[char], out: &mut Vec<u8>) -> bool {
        let Some(entries) = self.entries(chars) else {
            return false;
        };
        let Some(latinized) = latinized(&entries) else {
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
        for (e, &latin) in entries.iter().zip(&latinized) {
            if prev_ccc > 0 && e.ccc_first > 0 && e.ccc_first < prev_ccc {
                return false; // canonical reordering would move a mark across characters
            }
            prev_ccc = e.ccc_last;
            if e.flags & FLAG_GENERIC != 0 && !keeps {
                continue; // a diacritic: dropped (`drop_diacritics`), and so is the rest of its run
            }
            keeps = e.flags & (FLAG_KEEPS | FLAG_GENERIC) != 0 && !latin;
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

    /// `chars` with every word made only of look-alikes (and ASCII digits, diacritics, tatweel) read
    /// as Latin (`matchers.normalize._latin_words`); None when it has no such word.
    fn latin_words(&self, chars: &[char], entries: &[&Entry]) -> Option<Vec<char>> {
        let mut out: Option<Vec<char>> = None;
        let mut i = 0;
        while i < chars.len() {
            if entries[i].look == LOOK_BOUNDARY {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && entries[i].look != LOOK_BOUNDARY {
                i += 1;
            }
            let word = &entries[start..i];
            let only = word.iter().all(|e| e.look >= LOOK_OTHER);
            if only && word.iter().any(|e| e.look == LOOK_LETTER) {
                let done = out.get_or_insert_with(|| chars[..start].to_vec());
                for (k, e) in word.iter().enumerate() {
                    if e.look == LOOK_LETTER {
                        done.extend_from_slice(&e.latin);
                    } else {
                        done.push(chars[start + k]);
                    }
                }
            } else if let Some(done) = out.as_mut() {
                done.extend_from_slice(&chars[start..i]);
            }
            if let Some(done) = out.as_mut() {
                let next = (i..chars.len())
                    .find(|&k| entries[k].look != LOOK_BOUNDARY)
                    .unwrap_or(chars.len());
                done.extend_from_slice(&chars[i..next]);
            }
        }
        out
    }

    /// Appends `text` folded and each of its other readings folded, each as one more text of a batch
    /// string. False (with `out` partly written) when only Python can read it.
    pub fn push_text(&self, text: &str, out: &mut Vec<u8>) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let Some(entries) = self.entries(&chars) else {
            return false;
        };
        if !self.push_fold(&chars, out) {
            return false;
        }
        let kinds: Vec<Kind> = entries.iter().map(|e| e.kind).collect();
        let breaks = inside_breaks(&kinds);
        let gaps = single_letter_gaps(&kinds);
        let mut found = vec![chars.clone()];
        if !breaks.is_empty() {
            let closed = cut(&chars, &breaks);
            let closed_gaps = single_letter_gaps(&cut(&kinds, &breaks));
            if !closed_gaps.is_empty() {
                found.push(cut(&closed, &closed_gaps));
            }
            found.push(closed);
        }
        if !gaps.is_empty() {
            found.push(cut(&chars, &gaps));
        }
        for (k, reading) in found.iter().enumerate() {
            if k > 0 && !self.push_fold(reading, out) {
                return false;
            }
            let Some(reading_entries) = self.entries(reading) else {
                return false;
            };
            if let Some(latin) = self.latin_words(reading, &reading_entries) {
                if !self.push_fold(&latin, out) {
                    return false;
                }
            }
        }
        true
    }

    /// `text` folded alone (`matchers.normalize.fold`), or None when only Python can fold it.
    pub fn fold(&self, text: &str) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        if !self.push_fold(&chars, &mut out) {
            return None;
        }
        let folded = String::from_utf8(out).ok()?;
        Some(folded.trim_end_matches('\0').trim().to_string())
    }
}

/// Which characters `latinize` reads as Latin: every one of a run of word characters and look-alikes
/// that holds a Latin letter and a look-alike and is all Latin-like (the whole word `latinize` matches).
/// None when a run holds both but is not all Latin-like, or (when a boundary decomposes into word
/// characters) the text holds both: only Python can tell which part it reads as Latin.
fn latinized(entries: &[&Entry]) -> Option<Vec<bool>> {
    let both = FLAG_LATIN | FLAG_CONFUSABLE;
    let mut out = vec![false; entries.len()];
    let all = entries.iter().fold(0, |acc, e| acc | e.flags);
    if all & both != both {
        return Some(out);
    }
    if all & FLAG_JOINS != 0 {
        return None;
    }
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
                return None;
            }
            out[start..i].fill(true);
        }
    }
    Some(out)
}
