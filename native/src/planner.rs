//! [`AnchorPlanner`]: the fuzzy tier's cut of a listed name's folded form into its anchors, natively.
//!
//! The same cut as `matchers.fuzzy.plan` (which the pure-Python engine runs, and the tests compare this
//! with): a form gets its edit budget `k` by its letters, and is cut at `k` one-character gaps into
//! `k + 1` anchors of at least four characters, none starting or ending with a space; of all such cuts
//! the one whose most frequent anchor is the rarest wins (of equals, the first), an anchor's frequency
//! being its rarest 4-character gram's count in clean traffic. A form whose best cut still leaves an
//! anchor above the cap stays exact-only. Offsets and lengths are in characters, as in Python.
//!
//! A million-name list has millions of forms to cut: in Python the cut was about a third of the
//! build's time.

use pyo3::prelude::*;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::grams::GRAM;
use crate::multiplied::Multiplied;

/// Shortest anchor (`matchers.fuzzy.MIN_ANCHOR`).
const MIN_ANCHOR: usize = GRAM;
/// Fewest letters of a form with a budget (`matchers.fuzzy.MIN_FUZZY_LETTERS`).
const MIN_FUZZY_LETTERS: usize = 9;
/// Most letters of a form with a budget of one edit; more get two.
const MAX_ONE_EDIT_LETTERS: usize = 15;

/// The edit budget of a form by its letters (spaces do not count): `matchers.fuzzy.budget`.
fn budget(letters: usize) -> usize {
    match letters {
        0..MIN_FUZZY_LETTERS => 0,
        MIN_FUZZY_LETTERS..=MAX_ONE_EDIT_LETTERS => 1,
        _ => 2,
    }
}

/// A gram's four characters as one number (each character's code point in 32 bits).
fn packed(gram: &[char]) -> u128 {
    gram.iter()
        .fold(0u128, |acc, &c| acc << 32 | u128::from(u32::from(c)))
}

/// Cuts folded forms into anchors by a gram table (`matchers.fuzzy.gram_table`) and a cap.
#[pyclass(frozen, module = "matchers._native")]
pub struct AnchorPlanner {
    counts: HashMap<u128, u64, BuildHasherDefault<Multiplied>>,
    cap: u64,
}

/// The best cut found so far: its most frequent anchor's count and its gaps (`len` of them).
#[derive(Clone, Copy)]
struct Cut {
    worst: u64,
    gaps: [usize; 2],
    len: usize,
}

impl AnchorPlanner {
    /// The cut of `chars` (a form), as `(k, [(offset, length)])`, or `None` when it stays exact-only.
    fn cut(&self, chars: &[char]) -> Option<(usize, Vec<(usize, usize)>)> {
        let n = chars.len();
        let k = budget(n - chars.iter().filter(|&&c| c == ' ').count());
        if k == 0 {
            return None; // 9 letters or more from here on, so every index below is in range
        }
        let grams: Vec<u64> = chars
            .windows(GRAM)
            .map(|gram| self.counts.get(&packed(gram)).copied().unwrap_or(0))
            .collect();
        // head[i]: the rarest gram of chars[..i + GRAM]; tail[i]: of chars[i..].
        let mut head = grams.clone();
        for i in 1..head.len() {
            head[i] = head[i].min(head[i - 1]);
        }
        let mut tail = grams.clone();
        for i in (0..tail.len() - 1).rev() {
            tail[i] = tail[i].min(tail[i + 1]);
        }
        // A gap may sit at p when both anchors beside it are long enough and neither ends on a space.
        let ok: Vec<bool> = (0..n)
            .map(|p| {
                p >= MIN_ANCHOR && p + MIN_ANCHOR < n && chars[p - 1] != ' ' && chars[p + 1] != ' '
            })
            .collect();
        let best = if k == 1 {
            one_gap(&ok, &head, &tail)
        } else {
            two_gaps(&grams, &ok, &head, &tail)
        }?;
        if best.worst > self.cap {
            return None;
        }
        let gaps = &best.gaps[..best.len];
        let starts = std::iter::once(0).chain(gaps.iter().map(|g| g + 1));
        let ends = gaps.iter().copied().chain(std::iter::once(n));
        Some((k, starts.zip(ends).map(|(a, b)| (a, b - a)).collect()))
    }
}

/// The rarest cut into two anchors (`matchers.fuzzy._one_gap`).
fn one_gap(ok: &[bool], head: &[u64], tail: &[u64]) -> Option<Cut> {
    let mut best: Option<Cut> = None;
    for (p, _) in ok.iter().enumerate().filter(|(_, &fits)| fits) {
        let worst = head[p - GRAM].max(tail[p + 1]);
        if best.is_none_or(|b| worst < b.worst) {
            best = Some(Cut {
                worst,
                gaps: [p, 0],
                len: 1,
            });
        }
    }
    best
}

/// The rarest cut into three anchors (`matchers.fuzzy._two_gaps`).
fn two_gaps(grams: &[u64], ok: &[bool], head: &[u64], tail: &[u64]) -> Option<Cut> {
    let n = ok.len();
    let mut best: Option<Cut> = None;
    for p in 0..n {
        if !ok[p] || best.is_some_and(|b| head[p - GRAM] >= b.worst) {
            continue;
        }
        let mut middle: Option<u64> = None;
        for q in p + 1..n.saturating_sub(MIN_ANCHOR) {
            if q >= p + 1 + GRAM {
                // the middle anchor chars[p + 1..q] holds one more gram
                let gram = grams[q - GRAM];
                middle = Some(middle.map_or(gram, |m| m.min(gram)));
            }
            if let (Some(m), true) = (middle, ok[q]) {
                let worst = head[p - GRAM].max(m).max(tail[q + 1]);
                if best.is_none_or(|b| worst < b.worst) {
                    best = Some(Cut {
                        worst,
                        gaps: [p, q],
                        len: 2,
                    });
                }
            }
        }
    }
    best
}

#[pymethods]
impl AnchorPlanner {
    /// A planner by `grams` (4-character gram → texts per million holding it; others are never looked
    /// up) and `cap` (the most an anchor may have).
    #[new]
    fn new(grams: HashMap<String, u64>, cap: u64) -> Self {
        let mut counts =
            HashMap::with_capacity_and_hasher(grams.len(), BuildHasherDefault::default());
        for (gram, count) in grams {
            let chars: Vec<char> = gram.chars().collect();
            if chars.len() == GRAM {
                counts.insert(packed(&chars), count);
            }
        }
        AnchorPlanner { counts, cap }
    }

    /// `matchers.fuzzy.plan` of `form`: `(k, [(offset, anchor)])`, or `None` for exact-only.
    fn plan(&self, form: &str) -> Option<(usize, Vec<(usize, String)>)> {
        let chars: Vec<char> = form.chars().collect();
        let (k, anchors) = self.cut(&chars)?;
        let texts = anchors
            .into_iter()
            .map(|(at, len)| (at, chars[at..at + len].iter().collect()))
            .collect();
        Some((k, texts))
    }
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<AnchorPlanner>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planner(grams: &[(&str, u64)], cap: u64) -> AnchorPlanner {
        AnchorPlanner::new(
            grams.iter().map(|&(g, c)| (g.to_string(), c)).collect(),
            cap,
        )
    }

    #[test]
    fn short_forms_have_no_budget() {
        assert_eq!(planner(&[], 5000).plan("abcdefgh"), None);
        assert_eq!(planner(&[], 5000).plan("abcd efgh"), None); // 8 letters: spaces do not count
    }

    #[test]
    fn a_one_edit_form_is_cut_where_its_most_frequent_anchor_is_rarest() {
        // Gap at 4: "abcd" (100) and "fghij" (1); gap at 5: "abcde" (its rarest gram "bcde", 10) and
        // "ghij" (1). The second cut's worst anchor is rarer.
        let grams = [
            ("abcd", 100),
            ("bcde", 10),
            ("cdef", 100),
            ("defg", 100),
            ("efgh", 100),
            ("fghi", 1),
            ("ghij", 1),
        ];
        let cut = planner(&grams, 5000).plan("abcdefghij");
        assert_eq!(
            cut,
            Some((1, vec![(0, "abcde".to_string()), (6, "ghij".to_string())]))
        );
        // Of equal cuts, the first.
        let cut = planner(&[], 5000).plan("abcdefghij");
        assert_eq!(
            cut,
            Some((1, vec![(0, "abcd".to_string()), (5, "fghij".to_string())]))
        );
    }

    #[test]
    fn a_form_whose_every_cut_is_too_common_stays_exact_only() {
        let common = [("aaaa", 9000)];
        assert_eq!(planner(&common, 5000).plan("aaaaaaaaaaaa"), None);
        assert!(planner(&common, 10_000).plan("aaaaaaaaaaaa").is_some());
    }

    #[test]
    fn a_two_edit_form_gets_three_anchors_with_offsets_in_characters() {
        let (k, anchors) = planner(&[], 5000).plan("ábcdefghijklmnopq").unwrap();
        assert_eq!(k, 2);
        assert_eq!(anchors.len(), 3);
        let form: Vec<char> = "ábcdefghijklmnopq".chars().collect();
        for (at, anchor) in anchors {
            let text: String = form[at..at + anchor.chars().count()].iter().collect();
            assert_eq!(text, anchor);
        }
    }
}
