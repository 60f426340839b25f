//! The fuzzy tier's verification (see `matchers/fuzzy.py`): the restricted Damerau-Levenshtein
//! distance (optimal string alignment: insertions, deletions, substitutions and swaps of two
//! neighbours cost 1, no substring edited twice), and the word-snapped spans of a folded text
//! within a name form's edit budget around an anchor find. Offsets are in characters.

use pyo3::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::multiplied::Multiplied;

thread_local! {
    /// Three rows of the distance table, kept between calls (a verification computes thousands).
    static ROWS: RefCell<[Vec<usize>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// The OSA distance between `a` and `b`, or `limit + 1` when it is above `limit`. Only the band of
/// cells within `limit` of the diagonal is computed (and reset) in each row.
pub fn osa(a: &[char], b: &[char], limit: usize) -> usize {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > limit {
        return limit + 1;
    }
    if a == b {
        return 0;
    }
    ROWS.with_borrow_mut(|[prev2, prev, cur]| {
        let big = n + m + 1;
        for row in [&mut *prev2, &mut *prev, &mut *cur] {
            row.clear();
            row.resize(m + 1, big);
        }
        prev.iter_mut().enumerate().for_each(|(j, cell)| *cell = j);
        for i in 1..=n {
            let lo = i.saturating_sub(limit).max(1);
            let hi = (i + limit).min(m);
            // The cells just outside this row's band are read by the next rows: they are out of reach.
            cur[lo - 1] = if lo == 1 { i } else { big };
            if hi < m {
                cur[hi + 1] = big;
            }
            let mut row_min = if lo == 1 { i } else { big };
            for j in lo..=hi {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut value = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
                if i > 1
                    && j > 1
                    && a[i - 1] == b[j - 2]
                    && a[i - 2] == b[j - 1]
                    && a[i - 1] != b[j - 1]
                {
                    value = value.min(prev2[j - 2] + 1);
                }
                cur[j] = value;
                row_min = row_min.min(value);
            }
            if row_min > limit {
                return limit + 1;
            }
            std::mem::swap(prev2, prev);
            std::mem::swap(prev, cur);
        }
        prev[m].min(limit + 1)
    })
}

/// `matchers.fuzzy.osa_distance`, natively (no limit: the exact distance).
#[pyfunction]
#[pyo3(signature = (a, b, limit=None))]
fn osa_distance(a: &str, b: &str, limit: Option<usize>) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    osa(&a, &b, limit.unwrap_or(a.len() + b.len()))
}

/// `matchers.fuzzy.verify`, natively: spans `(start, end, distance)` of `text` with `0 < d <= k`.
#[pyfunction]
fn fuzzy_verify(
    text: &str,
    form: &str,
    k: usize,
    at: isize,
    whole: bool,
) -> Vec<(usize, usize, usize)> {
    let text: Vec<char> = text.chars().collect();
    let form: Vec<char> = form.chars().collect();
    spans(&text, &form, k, at, whole)
}

/// The spans of `text` within `k` of `form` placed at `at` (see `fuzzy_verify`).
fn spans(
    text: &[char],
    form: &[char],
    k: usize,
    at: isize,
    whole: bool,
) -> Vec<(usize, usize, usize)> {
    let (n, size, budget) = (text.len() as isize, form.len() as isize, k as isize);
    let mut out = Vec::new();
    if whole {
        if (n - size).abs() > budget || at.abs() > budget {
            return out;
        }
        let d = osa(form, text, k);
        if d > 0 && d <= k {
            out.push((0, text.len(), d));
        }
        return out;
    }
    let space = |i: isize| text[i as usize] == ' ';
    for start in (at - budget).max(0)..=(at + budget).min(n) {
        if (start > 0 && !space(start - 1)) || (start < n && space(start)) {
            continue;
        }
        let target = at + size;
        for end in (start + 1).max(target - budget)..=(target + budget).min(n) {
            if (end < n && !space(end)) || space(end - 1) {
                continue;
            }
            let d = osa(form, &text[start as usize..end as usize], k);
            if d > 0 && d <= k {
                out.push((start as usize, end as usize, d));
            }
        }
    }
    out
}

/// Whether `window` may hold a span within `k` edits of `form`: at most `k` of the form's characters
/// (counted with repeats) are missing from it. Each edit leaves at most one character of the form
/// unmatched, so a span within `k` misses at most `k`, and the window holding it no more. Characters
/// are counted in 64 buckets (by their low bits): two sharing a bucket only ever lower the count of
/// missing ones, so the test never refuses a window that holds such a span.
fn may_hold(window: &[char], form: &[char], k: usize) -> bool {
    let mut counts = [0i32; 64];
    for &c in window {
        counts[c as usize & 63] += 1;
    }
    let mut missing = 0;
    for &c in form {
        let count = &mut counts[c as usize & 63];
        *count -= 1;
        if *count < 0 {
            missing += 1;
            if missing > k {
                return false;
            }
        }
    }
    true
}

/// One fuzzy form: its budget, whether it may only match a whole party field, and the form.
struct Form {
    k: usize,
    whole: bool,
    chars: Vec<char>,
}

/// The set of 64 buckets (by their low bits, as [`may_hold`] counts) that `chars` fall in. A window
/// missing more than `k` of a form's buckets misses more than `k` of its characters: no span within
/// `k` edits, for one AND and a count of bits per form.
fn buckets(chars: &[char]) -> u64 {
    chars.iter().fold(0, |set, &c| set | 1 << (c as u32 & 63))
}

/// One use of an anchor: a form, where the anchor is in it, and what the first tests of a find need
/// of the form (kept here, one after another per anchor: a common anchor such as `muha` is in
/// hundreds of forms, and a find tests them all before it reads any).
struct Use {
    form: u32,
    offset: u32,
    len: u32,
    k: u32,
    whole: bool,
    buckets: u64,
}

/// An anchor's uses, and how far its forms reach before and after a find (the window
/// `matchers.screening._verify_anchor` cuts): the largest offset, and the largest form length from
/// the anchor's start.
#[derive(Default)]
struct Anchor {
    uses: Vec<Use>,
    before: usize,
    after: usize,
}

/// The fuzzy tier's forms, and by anchor key index the forms it is an anchor of: verifies a find
/// in one call. Forms are stored once; [`FuzzyIndex::add_anchor`] takes an anchor's uses packed as
/// `form id << 8 | offset in the form`.
#[pyclass]
pub struct FuzzyIndex {
    forms: Vec<Form>,
    anchors: HashMap<usize, Anchor, BuildHasherDefault<Multiplied>>,
}

/// The largest edit budget (`matchers.fuzzy.MAX_BUDGET`): a window reaches this far plus one further.
const MAX_BUDGET: usize = 2;

#[pymethods]
impl FuzzyIndex {
    #[new]
    fn new() -> Self {
        FuzzyIndex {
            forms: Vec::new(),
            anchors: HashMap::default(),
        }
    }

    /// Add a form; its id is the number of forms added before it.
    fn add_form(&mut self, k: usize, whole: bool, form: &str) -> usize {
        self.forms.push(Form {
            k,
            whole,
            chars: form.chars().collect(),
        });
        self.forms.len() - 1
    }

    /// Make `key` an anchor of forms already added: each use is `form id << 8 | offset of the anchor
    /// in the form`.
    fn add_anchor(&mut self, key: usize, uses: Vec<u64>) -> PyResult<()> {
        let anchor = self.anchors.entry(key).or_default();
        for packed in uses {
            let (id, offset) = ((packed >> 8) as usize, (packed & 0xff) as usize);
            let form = self.forms.get(id).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!("no form {id} was added"))
            })?;
            let tail = form.chars.len().saturating_sub(offset);
            anchor.before = anchor.before.max(offset);
            anchor.after = anchor.after.max(tail);
            anchor.uses.push(Use {
                form: id as u32,
                offset: offset as u32,
                len: form.chars.len() as u32,
                k: form.k as u32,
                whole: form.whole,
                buckets: buckets(&form.chars),
            });
        }
        Ok(())
    }

    /// The forms anchor `key` found at `local` in `text` (a window of a folded field: `whole_text`
    /// when it is all of it) is an anchor of, with a span within budget: `(form id, start, end,
    /// distance)`, offsets in the window. Whole-field forms are tried only when `party` and `whole_text`.
    fn verify(
        &self,
        key: usize,
        text: &str,
        local: usize,
        party: bool,
        whole_text: bool,
    ) -> Vec<(usize, usize, usize, usize)> {
        let chars: Vec<char> = text.chars().collect();
        self.verify_chars(key, &chars, local, party, whole_text)
    }

    /// Verifies, in one call, every anchor find among `finds` (`(key, start, end)` in bytes, sorted
    /// by start, as `KeySearch.find` gives them) in a folded batch string (`"\0 t1 \0 t2 ... \0"`):
    /// `{position in finds: [(form id, start, end, distance)]}` for the finds with a span within
    /// budget, offsets in characters of the find's text (the text between its NULs, edge spaces left
    /// out). `party[k]` says whether text k is a party field. The same window and rules as one
    /// [`FuzzyIndex::verify`] call per find (`matchers.screening._verify_anchor`), so the same answers.
    fn verify_finds(
        &self,
        py: Python<'_>,
        batch: &[u8],
        finds: Vec<(usize, usize, usize)>,
        party: Vec<bool>,
    ) -> HashMap<usize, Vec<(usize, usize, usize, usize)>> {
        py.allow_threads(|| {
            let mut out = HashMap::new();
            let mut text: Vec<char> = Vec::new();
            // The current text: its NUL, where its fold starts, the NUL after it, its index; and
            // how far its characters are counted (finds are sorted: each text is walked once).
            let (mut sep_at, mut base, mut next_at, mut index) = (usize::MAX, 0, 0, 0);
            let (mut counted_to, mut byte_at, mut char_at) = (0, 0, 0);
            for (position, &(key, start, _)) in finds.iter().enumerate() {
                let Some(anchor) = self.anchors.get(&key) else {
                    continue;
                };
                if start >= batch.len() || batch[start] == 0 {
                    continue;
                }
                if sep_at == usize::MAX || start >= next_at {
                    let Some(sep) = batch[..start].iter().rposition(|&b| b == 0) else {
                        continue;
                    };
                    let Some(next) = batch[sep + 1..].iter().position(|&b| b == 0) else {
                        continue;
                    };
                    index += batch[counted_to.min(sep)..sep]
                        .iter()
                        .filter(|&&b| b == 0)
                        .count();
                    counted_to = sep;
                    (sep_at, base, next_at) = (sep, sep + 2, sep + 1 + next);
                    (byte_at, char_at) = (base, 0);
                    text = match std::str::from_utf8(
                        batch.get(base..next_at.saturating_sub(1)).unwrap_or(&[]),
                    ) {
                        Ok(folded) => folded.chars().collect(),
                        Err(_) => Vec::new(),
                    };
                }
                if start < base || text.is_empty() {
                    continue;
                }
                if start < byte_at {
                    (byte_at, char_at) = (base, 0);
                }
                let local = char_at
                    + batch[byte_at..start]
                        .iter()
                        .filter(|&&b| b & 0xC0 != 0x80)
                        .count();
                (byte_at, char_at) = (start, local);
                let (before, after) = (anchor.before, anchor.after);
                let lo = local.saturating_sub(before + MAX_BUDGET + 1);
                let hi = (local + after + MAX_BUDGET + 1).min(text.len());
                if lo > hi || local > hi {
                    continue;
                }
                let whole_text = lo == 0 && hi == text.len();
                let on_party = party.get(index).copied().unwrap_or(false);
                let found = self.verify_chars(key, &text[lo..hi], local - lo, on_party, whole_text);
                if !found.is_empty() {
                    let shifted = found
                        .into_iter()
                        .map(|(id, a, b, d)| (id, lo + a, lo + b, d))
                        .collect();
                    out.insert(position, shifted);
                }
            }
            out
        })
    }
}

impl FuzzyIndex {
    /// Whether anchor `key` found at character `local` of the folded field `text` verifies: the
    /// window [`FuzzyIndex::verify`] is given by `matchers.screening._verify_anchor`, cut here the
    /// same way, with whole-field forms tried (as for a party field: the triage may only say more).
    pub fn verifies_in(&self, key: usize, text: &[char], local: usize) -> bool {
        let Some(anchor) = self.anchors.get(&key) else {
            return false;
        };
        let lo = local.saturating_sub(anchor.before + MAX_BUDGET + 1);
        let hi = (local + anchor.after + MAX_BUDGET + 1).min(text.len());
        let whole_text = lo == 0 && hi == text.len();
        !self
            .verify_chars(key, &text[lo..hi], local - lo, true, whole_text)
            .is_empty()
    }

    fn verify_chars(
        &self,
        key: usize,
        chars: &[char],
        local: usize,
        party: bool,
        whole_text: bool,
    ) -> Vec<(usize, usize, usize, usize)> {
        let mut out = Vec::new();
        let Some(anchor) = self.anchors.get(&key) else {
            return out;
        };
        let size = chars.len() as isize;
        let present = buckets(chars);
        for found in &anchor.uses {
            // First what the use holds: the window misses more of the form's characters than its
            // budget, the form cannot fit around the find, or it is whole-field only.
            if (found.buckets & !present).count_ones() > found.k {
                continue;
            }
            let at = local as isize - found.offset as isize;
            let (k, length) = (found.k as isize, found.len as isize);
            if at + k < 0 || at + length - k > size || (found.whole && !(party && whole_text)) {
                continue;
            }
            let id = found.form as usize;
            let form = &self.forms[id];
            let reach = (at - k).max(0) as usize..((at + length + k).min(size)) as usize;
            if !may_hold(&chars[reach], &form.chars, form.k) {
                continue;
            }
            for (start, end, d) in spans(chars, &form.chars, form.k, at, form.whole) {
                out.push((id, start, end, d));
            }
        }
        out
    }
}

/// Add this module's functions to `matchers._native`.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<FuzzyIndex>()?;
    module.add_function(wrap_pyfunction!(osa_distance, module)?)?;
    module.add_function(wrap_pyfunction!(fuzzy_verify, module)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::osa;

    fn d(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        osa(&a, &b, 10)
    }

    #[test]
    fn edits_cost_one() {
        assert_eq!(d("ladin", "ladn"), 1);
        assert_eq!(d("ladin", "lqadin"), 1);
        assert_eq!(d("ladin", "ladim"), 1);
        assert_eq!(d("ladin", "ldain"), 1);
        assert_eq!(d("ca", "abc"), 3); // OSA, not unrestricted Damerau-Levenshtein (2)
        assert_eq!(d("", "abc"), 3);
    }
}
