//! txscreen's native fast path, imported as `matchers._native`.
//!
//! * [`KeySearch`]: the Aho-Corasick automaton over every key of the loaded lists (standard,
//!   overlapping matches), as `matchers.automaton` uses it for batch strings.
//! * [`Triage`]: for a batch of raw event values, says which are certainly clean: valid by the
//!   event schema, every screened text ASCII, and no key anywhere in their folded texts. Those are
//!   cleared without any per-event Python work; every other event (invalid, non-ASCII, any key
//!   found) takes the full Python path, which decides. So the fast path only ever says "clean"
//!   where the full path would say the same, and tests check exactly that.

mod event;
mod timestamp;

use aho_corasick::{AhoCorasick, MatchKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use std::collections::{HashMap, HashSet};

/// ASCII fold, as `matchers.normalize.fold_ascii_batch`: letters to lower case, letters and digits
/// kept, everything else a space (NUL, the text separator, is handled apart).
const FOLD: [u8; 128] = {
    let mut table = [b' '; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            table[c] = b;
        } else if b.is_ascii_uppercase() {
            table[c] = b + 32;
        }
        c += 1;
    }
    table
};

/// Non-ASCII characters the triage folds itself, with their ASCII fold (`matchers.normalize.simple_folds`).
type SimpleFolds = HashMap<char, Box<[u8]>>;

/// Appends `bytes` folded to `out`; `space` says whether `out` ends with a space. False on a NUL.
fn push_folded(bytes: &[u8], out: &mut Vec<u8>, space: &mut bool) -> bool {
    for &c in bytes {
        let folded = match c {
            0 => return false,
            1..=127 => FOLD[c as usize],
            _ => b' ',
        };
        if folded != b' ' {
            out.push(folded);
            *space = false;
        } else if !*space {
            out.push(b' ');
            *space = true;
        }
    }
    true
}

/// Lays out one event's texts as a batch string does (`"\0 t1 \0 t2 ... \0"`, folded, space runs
/// collapsed) into `out`: the texts of ASCII and simple letters only. The others (other scripts,
/// invisible characters, a NUL) go to `left`, for Python's Unicode fold. Each text is bounded by
/// NULs, so no key can span two texts and texts may be searched apart.
fn layout<'t>(texts: &[&'t str], simple: &SimpleFolds, out: &mut Vec<u8>, left: &mut Vec<&'t str>) {
    out.clear();
    out.push(0);
    for &text in texts {
        let mark = out.len();
        out.push(b' ');
        let mut space = true;
        let folded = if text.is_ascii() {
            push_folded(text.as_bytes(), out, &mut space)
        } else {
            text.chars().all(|c| match simple.get(&c) {
                _ if c.is_ascii() => push_folded(&[c as u8], out, &mut space),
                Some(ascii) => push_folded(ascii, out, &mut space),
                None => false,
            })
        };
        if !folded {
            out.truncate(mark);
            left.push(text);
            continue;
        }
        if !space {
            out.push(b' ');
        }
        out.push(0);
    }
}

/// `fold_ascii(data)`: an ASCII batch string folded as `matchers.normalize` folds ASCII: letters to
/// lower case, letters, digits and NUL (the text separator) kept, everything else a space, and each
/// run of spaces collapsed to one.
#[pyfunction]
fn fold_ascii<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let folded = py.allow_threads(|| {
        let mut out = Vec::with_capacity(data.len());
        for &c in data {
            let folded = match c {
                0 => 0,
                1..=127 => FOLD[c as usize],
                _ => b' ',
            };
            if folded != b' ' || out.last() != Some(&b' ') {
                out.push(folded);
            }
        }
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

/// The automaton over all keys (UTF-8 bytes); standard match semantics, overlapping finds.
#[pyclass(frozen, module = "matchers._native")]
pub struct KeySearch {
    automaton: AhoCorasick,
}

#[pymethods]
impl KeySearch {
    #[new]
    fn new(keys: &Bound<'_, PyAny>) -> PyResult<Self> {
        // Keys stream from the Python iterator into the builder, one at a time: a million-name list
        // has millions of keys, and holding them all here too would cost hundreds of MB at the peak.
        let mut failure: Option<PyErr> = None;
        let stream = keys.try_iter()?.map_while(|key| {
            match key.and_then(|k| k.extract::<Vec<u8>>()) {
                Ok(bytes) if !bytes.is_empty() => return Some(bytes),
                Ok(_) => failure = Some(PyValueError::new_err("a key is empty")),
                Err(err) => failure = Some(err),
            }
            None
        });
        let built = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(stream);
        if let Some(err) = failure {
            return Err(err);
        }
        let automaton = built.map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(KeySearch { automaton })
    }

    /// How many keys the automaton holds.
    fn __len__(&self) -> usize {
        self.automaton.patterns_len()
    }

    /// Every key occurrence in `haystack`, overlapping ones included: `(key index, start, end)` in bytes.
    fn find(&self, py: Python<'_>, haystack: &[u8]) -> Vec<(usize, usize, usize)> {
        py.allow_threads(|| {
            self.automaton
                .find_overlapping_iter(haystack)
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect()
        })
    }
}

/// Sorts a batch of raw events: certainly clean, "needs the full path", or "clean but for texts
/// that only Python folds" (those texts are handed back).
#[pyclass(frozen, module = "matchers._native")]
pub struct Triage {
    search: Py<KeySearch>,
    countries: HashSet<String>,
    simple: SimpleFolds,
}

/// `Triage.sort` codes, one per input.
const CLEAN: u8 = 0;
const FULL_PATH: u8 = 1;
const CHECK_TEXTS: u8 = 2;

#[pymethods]
impl Triage {
    #[new]
    fn new(
        search: Py<KeySearch>,
        countries: HashSet<String>,
        simple: HashMap<char, Vec<u8>>,
    ) -> Self {
        let simple = simple
            .into_iter()
            .map(|(c, ascii)| (c, ascii.into_boxed_slice()))
            .collect();
        Triage {
            search,
            countries,
            simple,
        }
    }

    /// `(codes, texts, owners)`: one code per input (0 certainly clean, 1 full path, 2 clean unless
    /// one of its `texts` has a key: `owners[k]` is the input of `texts[k]`).
    ///
    /// Code 0 and 2 need a valid event of at most `max_event_bytes` whose ASCII texts hold no key.
    fn sort<'py>(
        &self,
        py: Python<'py>,
        raws: &Bound<'py, PyList>,
        max_event_bytes: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>, Vec<usize>)> {
        let automaton = &self.search.get().automaton;
        let mut codes = vec![FULL_PATH; raws.len()];
        let left_texts = PyList::empty(py);
        let mut owners = Vec::new();
        let mut buffer = Vec::with_capacity(512);
        for (index, (code, item)) in codes.iter_mut().zip(raws.iter()).enumerate() {
            let Ok(bytes) = item.downcast::<PyBytes>() else {
                continue;
            };
            let raw = bytes.as_bytes();
            if raw.is_empty() || raw.len() > max_event_bytes {
                continue;
            }
            let Some(event) = event::parse_valid(raw, &self.countries) else {
                continue;
            };
            let texts = [
                event.debtor.name.0.as_ref(),
                event.creditor.name.0.as_ref(),
                agent_name(&event.debtor),
                agent_name(&event.creditor),
                event.remittance.as_ref().map_or("", |r| r.0.as_ref()),
            ];
            let mut left: Vec<&str> = Vec::new(); // allocates only for an event with such texts
            layout(&texts, &self.simple, &mut buffer, &mut left);
            if automaton.is_match(buffer.as_slice()) {
                continue;
            }
            *code = if left.is_empty() { CLEAN } else { CHECK_TEXTS };
            for text in &left {
                left_texts.append(*text)?;
                owners.push(index);
            }
        }
        Ok((PyBytes::new(py, &codes), left_texts, owners))
    }
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<KeySearch>()?;
    module.add_class::<Triage>()?;
    module.add_function(wrap_pyfunction!(fold_ascii, module)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{layout, SimpleFolds};

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
        let (mut out, mut left) = (Vec::new(), Vec::new());
        let texts = [
            "Ann  Lee",
            "",
            "Zürich！Straße",
            "Łódź",
            "A-B",
            "x.",
            "a\0b",
            " HAMAS ",
        ];
        layout(&texts, &simple, &mut out, &mut left);
        assert_eq!(
            out,
            b"\0 ann lee \0 \0 zurich strasse \0 a b \0 x \0 hamas \0"
        );
        assert_eq!(left, ["Łódź", "a\0b"]);
    }
}
