//! [`GramSearch`]: the fuzzy tier's anchors, found by one rare gram each instead of by the automaton.
//!
//! An anchor is a segment of a listed name, often inside a word (`ernandez`, `d fo`), so an automaton
//! holding the anchors walks deep states at almost every character of ordinary text: on the bundled
//! lists the anchors made the double array's scan about 2.7 times slower than over the exact keys alone
//! (measured over 20,000 latin events' texts: 12.5 ms exact keys only, 33.9 ms with the anchors).
//!
//! Here each anchor is registered under one of its 4-character grams, the rarest in clean traffic by
//! the table the anchors were cut by (`matchers.fuzzy.gram_table`; of equals, the one fewest anchors
//! share). A scan keeps the last four characters as one 64-bit word (16 bits of each), tests a bit of a
//! bit set the size of the processor's cache for it, and only where the bit is set looks the gram up
//! and compares each anchor registered under it with the text around it, byte for byte. So every
//! occurrence of every anchor is found once (at its gram), and nothing else: the same finds as the
//! automaton, in another order.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::multiplied::Multiplied;

/// Characters per gram (`matchers.fuzzy.GRAM`): an anchor has at least this many.
pub const GRAM: usize = 4;

/// Bits of the bit set per registered gram, at least (a bit set twice the size of this has half the
/// false alarms, each a look-up in the gram table).
const BITS_PER_GRAM: usize = 32;

/// An anchor registered under a gram: its key index from `first`, how many bytes of it come before the
/// gram, where its bytes are in [`GramSearch::bytes`], and its first eight bytes (fewer: the rest
/// zero, and `head_mask` keeps only its own) for a first comparison in one word.
#[derive(Clone, Copy)]
struct Entry {
    key: u32,
    back: u32,
    start: u32,
    len: u32,
    head: u64,
    head_mask: u64,
}

/// One slot of the open-addressing gram table: a gram and its entries `from..to` (`to == 0`: empty).
#[derive(Clone, Copy, Default)]
struct Slot {
    gram: u64,
    from: u32,
    to: u32,
}

/// Every occurrence of a set of anchors (UTF-8 keys of at least [`GRAM`] characters), found by gram.
pub struct GramSearch {
    /// The key index of the first anchor.
    pub first: usize,
    /// The anchors' bytes, one after another; anchor i ends at `ends[i]`.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Per anchor, the character index of the gram it is registered under.
    grams_at: Vec<u32>,
    bits: Vec<u64>,
    bits_shift: u32,
    slots: Vec<Slot>,
    slots_shift: u32,
    entries: Vec<Entry>,
}

/// Spreads a gram's bits over the high bits (Fibonacci hashing): shifted down, an index into a table
/// whose size is a power of two.
fn spread(gram: u64) -> u64 {
    gram.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The character at `at` in `bytes` and its width: a UTF-8 sequence whose continuation bytes are all
/// there, else the lone byte (text that is not UTF-8 still scans; its grams only never match an anchor's).
fn char_at(bytes: &[u8], at: usize) -> (u32, usize) {
    let lead = bytes[at];
    let width = match lead {
        0x00..=0x7F => return (u32::from(lead), 1),
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return (u32::from(lead), 1),
    };
    let Some(tail) = bytes.get(at + 1..at + width) else {
        return (u32::from(lead), 1);
    };
    if !tail.iter().all(|&b| b & 0xC0 == 0x80) {
        return (u32::from(lead), 1);
    }
    let first = u32::from(lead) & (0x7F >> width);
    let code = tail
        .iter()
        .fold(first, |code, &b| code << 6 | u32::from(b & 0x3F));
    (code, width)
}

/// The word a scan keeps for the characters `codes` (16 bits of each, the last in the lowest bits).
fn pack(codes: &[u32]) -> u64 {
    codes
        .iter()
        .fold(0, |word, &code| word << 16 | u64::from(code & 0xFFFF))
}

/// An anchor's characters: `(code, byte offset)` each, as a scan reads them.
fn chars_of(anchor: &[u8]) -> Vec<(u32, usize)> {
    let mut out = Vec::with_capacity(anchor.len());
    let mut at = 0;
    while at < anchor.len() {
        let (code, width) = char_at(anchor, at);
        out.push((code, at));
        at += width;
    }
    out
}

/// Counts by packed gram, hashed by one multiplication.
type PackedMap = HashMap<u64, u32, BuildHasherDefault<Multiplied>>;

/// Calls `each(character index, packed gram)` for each gram of `anchor`, first to last.
fn for_each_gram(anchor: &[u8], mut each: impl FnMut(u32, u64)) {
    let (mut window, mut at, mut seen) = (0u64, 0, 0u32);
    while at < anchor.len() {
        let (code, width) = char_at(anchor, at);
        window = window << 16 | u64::from(code & 0xFFFF);
        at += width;
        seen += 1;
        if seen as usize >= GRAM {
            each(seen - GRAM as u32, window);
        }
    }
}

impl GramSearch {
    /// Whether `anchors` can all be searched by gram: UTF-8 of at least [`GRAM`] characters each.
    pub fn takes(anchors: &[&[u8]]) -> bool {
        anchors
            .iter()
            .all(|a| std::str::from_utf8(a).is_ok_and(|s| s.chars().count() >= GRAM))
    }

    /// Chooses each anchor's gram: the rarest by `frequency` (texts per million of clean traffic; a
    /// gram not in it counts 0), then the one the fewest anchors could take, then the first.
    pub fn choose(anchors: &[&[u8]], frequency: &HashMap<String, u32>) -> Vec<u32> {
        // The table by packed gram (a gram whose characters agree in their low 16 bits shares a
        // figure: it only steers the choice, never what is found).
        let mut counts: PackedMap = PackedMap::default();
        for (gram, &count) in frequency {
            let codes: Vec<u32> = gram.chars().map(u32::from).collect();
            if codes.len() == GRAM {
                let held = counts.entry(pack(&codes)).or_default();
                *held = (*held).max(count);
            }
        }
        let mut shared = PackedMap::default();
        for anchor in anchors {
            for_each_gram(anchor, |_, gram| *shared.entry(gram).or_default() += 1);
        }
        anchors
            .iter()
            .map(|anchor| {
                let mut best = (u32::MAX, u32::MAX, 0);
                for_each_gram(anchor, |i, gram| {
                    let score = (
                        counts.get(&gram).copied().unwrap_or(0),
                        shared.get(&gram).copied().unwrap_or(0),
                        i,
                    );
                    best = best.min(score);
                });
                best.2
            })
            .collect()
    }

    /// The search over `anchors` (see [`GramSearch::takes`]), key indices from `first`, each under the
    /// gram at its character index in `grams_at` (see [`GramSearch::choose`]; any gram of the anchor
    /// finds the same, only the speed differs). None when an index is out of its anchor.
    pub fn new(first: usize, anchors: &[&[u8]], grams_at: Vec<u32>) -> Option<Self> {
        if grams_at.len() != anchors.len() {
            return None;
        }
        let mut bytes = Vec::with_capacity(anchors.iter().map(|a| a.len()).sum());
        let mut ends = Vec::with_capacity(anchors.len());
        let mut registered: Vec<(u64, Entry)> = Vec::with_capacity(anchors.len());
        for (key, (anchor, &gram_at)) in anchors.iter().zip(&grams_at).enumerate() {
            let codes = chars_of(anchor);
            let gram_at = gram_at as usize;
            let window = codes.get(gram_at..gram_at + GRAM)?;
            let packed: Vec<u32> = window.iter().map(|&(code, _)| code).collect();
            let mut head = [0u8; 8];
            let shown = anchor.len().min(8);
            head[..shown].copy_from_slice(&anchor[..shown]);
            let entry = Entry {
                key: u32::try_from(key).ok()?,
                back: u32::try_from(window[0].1).ok()?,
                start: u32::try_from(bytes.len()).ok()?,
                len: u32::try_from(anchor.len()).ok()?,
                head: u64::from_le_bytes(head),
                head_mask: u64::MAX >> (8 * (8 - shown)),
            };
            registered.push((pack(&packed), entry));
            bytes.extend_from_slice(anchor);
            ends.push(bytes.len());
        }
        registered.sort_unstable_by_key(|&(gram, entry)| (gram, entry.key));
        let grams = registered.windows(2).filter(|w| w[0].0 != w[1].0).count() + 1;
        let bit_count = (grams * BITS_PER_GRAM).next_power_of_two().max(1 << 16);
        let slot_count = (grams * 2).next_power_of_two().max(2);
        let mut search = GramSearch {
            first,
            bytes,
            ends,
            grams_at,
            bits: vec![0; bit_count / 64],
            bits_shift: 64 - bit_count.trailing_zeros(),
            slots: vec![Slot::default(); slot_count],
            slots_shift: 64 - slot_count.trailing_zeros(),
            entries: registered.iter().map(|&(_, entry)| entry).collect(),
        };
        let mut from = 0;
        while from < registered.len() {
            let gram = registered[from].0;
            let to = from + registered[from..].partition_point(|&(g, _)| g == gram);
            search.register(gram, from as u32, to as u32);
            from = to;
        }
        Some(search)
    }

    fn register(&mut self, gram: u64, from: u32, to: u32) {
        let bit = spread(gram) >> self.bits_shift;
        self.bits[(bit >> 6) as usize] |= 1 << (bit & 63);
        let mask = self.slots.len() - 1;
        let mut slot = (spread(gram) >> self.slots_shift) as usize;
        while self.slots[slot].to != 0 {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = Slot { gram, from, to };
    }

    /// How many anchors it holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Anchor `i`'s bytes and the character index of its gram (for [`GramSearch::new`] again).
    pub fn anchor(&self, i: usize) -> (&[u8], u32) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        (&self.bytes[start..self.ends[i]], self.grams_at[i])
    }

    /// Calls `each(key index, start, end)` for every anchor occurrence in `haystack`, by the position of
    /// its gram, until it returns false (then false).
    pub fn each_find(
        &self,
        haystack: &[u8],
        each: &mut impl FnMut(usize, usize, usize) -> bool,
    ) -> bool {
        // The last four characters (16 bits each) and their widths in bytes (8 bits each); before the
        // fourth character the window holds NULs of no width, and a gram there finds nothing (each
        // anchor is compared byte for byte).
        let (mut window, mut widths, mut at) = (0u64, 0u32, 0usize);
        while at < haystack.len() {
            let byte = haystack[at];
            let (code, width) = if byte < 0x80 {
                (u32::from(byte), 1)
            } else {
                char_at(haystack, at)
            };
            window = window << 16 | u64::from(code & 0xFFFF);
            widths = widths << 8 | width as u32;
            at += width;
            let bit = spread(window) >> self.bits_shift;
            if self.bits[(bit >> 6) as usize] >> (bit & 63) & 1 == 0 {
                continue;
            }
            let gram_bytes = widths
                .to_le_bytes()
                .iter()
                .map(|&w| w as usize)
                .sum::<usize>();
            if !self.check(window, at - gram_bytes, haystack, each) {
                return false;
            }
        }
        true
    }

    /// Reports each anchor registered under `gram` that the haystack holds around the gram at `at`.
    fn check(
        &self,
        gram: u64,
        at: usize,
        haystack: &[u8],
        each: &mut impl FnMut(usize, usize, usize) -> bool,
    ) -> bool {
        let mask = self.slots.len() - 1;
        let mut slot = (spread(gram) >> self.slots_shift) as usize;
        loop {
            let Slot {
                gram: held,
                from,
                to,
            } = self.slots[slot];
            if to == 0 {
                return true;
            }
            if held == gram {
                for entry in &self.entries[from as usize..to as usize] {
                    let Some(start) = at.checked_sub(entry.back as usize) else {
                        continue;
                    };
                    if let Some(word) = haystack.get(start..start + 8) {
                        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
                        if word & entry.head_mask != entry.head {
                            continue;
                        }
                    }
                    let (len, own) = (entry.len as usize, entry.start as usize);
                    if haystack.get(start..start + len) == Some(&self.bytes[own..own + len])
                        && !each(self.first + entry.key as usize, start, start + len)
                    {
                        return false;
                    }
                }
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{GramSearch, HashMap};

    fn finds(search: &GramSearch, haystack: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        search.each_find(haystack, &mut |key, start, end| {
            out.push((key, start, end));
            true
        });
        out.sort_unstable_by_key(|&(key, start, end)| (end, start, key));
        out
    }

    /// Every occurrence by brute force, for comparison.
    fn naive(first: usize, anchors: &[&[u8]], haystack: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for (key, anchor) in anchors.iter().enumerate() {
            for start in 0..=haystack.len().saturating_sub(anchor.len()) {
                if haystack[start..].starts_with(anchor) {
                    out.push((first + key, start, start + anchor.len()));
                }
            }
        }
        out.sort_unstable_by_key(|&(key, start, end)| (end, start, key));
        out
    }

    #[test]
    fn finds_every_occurrence_once_under_any_gram() {
        let anchors: Vec<&[u8]> = vec![
            b"hern",
            b"ernandez",
            b"d fo",
            "абдулла".as_bytes(),
            "字节跳动有限".as_bytes(),
            b"nana",
            b"anan",
        ];
        let haystack =
            "\0 a hernandez d fo nananana \0 абдуллаев 北京字节跳动有限公司 \0 \u{80}\u{7ff} "
                .as_bytes();
        let mut haystack = haystack.to_vec();
        haystack.extend_from_slice(b"\xff \xe5\xad hern \xc3 \x80nana");
        for choice in 0..3u32 {
            let grams: Vec<u32> = anchors
                .iter()
                .map(|a| choice.min(std::str::from_utf8(a).unwrap().chars().count() as u32 - 4))
                .collect();
            let search = GramSearch::new(7, &anchors, grams).unwrap();
            assert_eq!(finds(&search, &haystack), naive(7, &anchors, &haystack));
        }
        let frequency: HashMap<String, u32> =
            [("erna", 50), ("rnan", 10), ("nand", 10), ("ande", 900)]
                .into_iter()
                .map(|(gram, count)| (gram.to_owned(), count))
                .collect();
        let chosen = GramSearch::choose(&anchors, &frequency);
        assert_eq!(chosen[1], 4); // "ernandez": "ndez", not in the table (rarer than 1 per million)
        assert_eq!(chosen[0], 0); // "hern": its only gram
        let search = GramSearch::new(0, &anchors, chosen).unwrap();
        assert_eq!(finds(&search, &haystack), naive(0, &anchors, &haystack));
    }

    #[test]
    fn refuses_what_it_cannot_search() {
        assert!(!GramSearch::takes(&[b"abc"]));
        assert!(!GramSearch::takes(&[b"ab\xffc"]));
        assert!(GramSearch::takes(&[b"abcd", "字节跳动".as_bytes()]));
        assert!(GramSearch::new(0, &[b"abcd"], vec![1]).is_none());
    }
}
