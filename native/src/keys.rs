//! [`KeySearch`]: the Aho-Corasick automaton over every key of the loaded lists (standard semantics,
//! overlapping finds). The keys that are only anchors of the fuzzy tier are found apart, each by one
//! rare gram ([`GramSearch`]): in the automaton they made its scan of ordinary text 2.7 times slower.
//!
//! Lists of up to [`DOUBLE_ARRAY_KEY_BYTES`] of exact keys (the bundled ones hold about 2.4 MB) get the
//! daachorse crate's double-array automaton: a state in 12 bytes, the next one in constant time, and a layout
//! profiled on sample traffic (`corpus`) that puts the states such traffic visits together, so that a
//! scan of ordinary payment text stays in the processor's cache (1.5-1.7x the scan speed of the
//! aho-corasick crate's contiguous NFA on the bundled lists). Built, it serializes to bytes that load
//! back in a few milliseconds: the build cache (`streams.build_cache`) keeps it, and a warm start-up
//! does not build it again. Larger lists get the aho-corasick crate's contiguous NFA, in runs of
//! [`RUN_BYTES`]: a double array's build takes about 75 times its keys' size while it runs (measured
//! on a million-name list's keys), the NFA's much less, which keeps a million-name build within its
//! memory target.

use aho_corasick::{AhoCorasick, MatchKind};
use daachorse::{DoubleArrayAhoCorasick, DoubleArrayAhoCorasickBuilder};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;

use crate::grams::GramSearch;

/// Key bytes up to which the keys get one double-array automaton (see the module's documentation).
pub const DOUBLE_ARRAY_KEY_BYTES: usize = 8 << 20;

/// Key bytes per NFA at most (give or take a key), for a list above [`DOUBLE_ARRAY_KEY_BYTES`]: its keys
/// are split into as few runs of consecutive keys as that allows, of about equal size, one automaton
/// each. The aho-corasick crate builds its contiguous NFA from a non-contiguous one that takes about
/// twice its size, so one automaton over a million-name list's 4.5 M keys (83 MB) peaked at ~2.8 GB for
/// a 0.9 GB result; four runs peak near 1 GB together and hold ~0.65 GB once built. Each run is one
/// more pass over a batch.
pub const RUN_BYTES: usize = 20 << 20;

/// Corpus bytes at most used to profile a double array's layout (the profile scans every block of the
/// double array for each state the corpus visits: a bounded corpus bounds that time).
const CORPUS_BYTES: usize = 1 << 20;

/// What [`KeySearch::to_bytes`] writes first (and the format's version).
const MAGIC: &[u8] = b"txscreen key search 2\n";

/// One automaton over a run of consecutive keys, and the index of the run's first key.
struct Run {
    automaton: Automaton,
    first: usize,
}

enum Automaton {
    /// A find's value is its key's index in the run; a key given more than once is kept once and found
    /// once per index (`repeats`: its first index in the run to the others).
    Double {
        automaton: DoubleArrayAhoCorasick<u32>,
        repeats: HashMap<u32, Vec<u32>>,
    },
    /// Reports a key given more than once once per index itself.
    Nfa(AhoCorasick),
}

/// The automaton over all keys (UTF-8 bytes); standard match semantics, overlapping finds.
#[pyclass(frozen, module = "matchers._native")]
pub struct KeySearch {
    runs: Vec<Run>,
    keys: usize,
    /// The keys that are only anchors of the fuzzy tier, when they are searched by gram.
    anchors: Option<GramSearch>,
}

fn invalid(what: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(what.to_string())
}

#[pymethods]
impl KeySearch {
    /// `run_bytes`: the key bytes per automaton ([`RUN_BYTES`]; smaller in tests, to split few keys).
    /// `corpus`: sample traffic, batch strings one per line, whose scan a double array's layout is
    /// profiled on (it changes no find, only how fast a scan of such text is). `double_array_bytes`:
    /// the key bytes up to which the keys get double arrays ([`DOUBLE_ARRAY_KEY_BYTES`]; 0 in tests, to
    /// build NFAs of few keys).
    ///
    /// `anchors_from`: the index of the first key that is only an anchor of the fuzzy tier; those keys
    /// are searched by gram ([`GramSearch`]) rather than by the automaton, when each is UTF-8 of at least
    /// [`crate::grams::GRAM`] characters (else all keys go to the automaton). `grams`: the gram frequencies
    /// that choose each anchor's gram (`matchers.fuzzy.gram_table`; none: the grams fewest anchors share).
    #[new]
    #[pyo3(signature = (keys, run_bytes=None, corpus=None, double_array_bytes=DOUBLE_ARRAY_KEY_BYTES, anchors_from=None, grams=None))]
    fn new(
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        run_bytes: Option<usize>,
        corpus: Option<&[u8]>,
        double_array_bytes: usize,
        anchors_from: Option<usize>,
        grams: Option<HashMap<String, u32>>,
    ) -> PyResult<Self> {
        // The keys are copied into one flat buffer (no allocation per key: a million-name list has
        // millions of keys), then the automata are built with the GIL released, so that a list version
        // built on a background thread does not stall the screening loop (txscreen run
        // --watchlist-topic); the build is most of the time.
        let mut bytes: Vec<u8> = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        for key in keys.try_iter()? {
            let key = key?;
            let before = bytes.len();
            match key.downcast::<PyBytes>() {
                Ok(b) => bytes.extend_from_slice(b.as_bytes()),
                Err(_) => bytes.extend_from_slice(&key.extract::<Vec<u8>>()?),
            }
            if bytes.len() == before {
                return Err(invalid("a key is empty"));
            }
            ends.push(bytes.len());
        }
        let keys = ends.len();
        let key_of = |i: usize| &bytes[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
        let split = anchors_from.filter(|&from| {
            from < keys && GramSearch::takes(&(from..keys).map(key_of).collect::<Vec<_>>())
        });
        let exact = split.unwrap_or(keys);
        let exact_bytes = if exact == 0 { 0 } else { ends[exact - 1] };
        let double = exact_bytes <= double_array_bytes;
        // The corpus lines are copied (the build runs without the GIL); NFAs take no layout profile.
        let corpus: Vec<Vec<u8>> = corpus
            .filter(|_| double)
            .map(|c| c[..floor_line(c, CORPUS_BYTES)].split(|&b| b == b'\n'))
            .into_iter()
            .flatten()
            .filter(|line| !line.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        // A double array over all keys but for a smaller `run_bytes` (tests); NFAs in runs of RUN_BYTES.
        let run_bytes = run_bytes.unwrap_or(if double { usize::MAX } else { RUN_BYTES });
        let frequency = grams.unwrap_or_default();
        let (runs, anchors) = py.allow_threads(|| {
            let anchors = split.map(|from| {
                let anchors: Vec<&[u8]> = (from..keys).map(key_of).collect();
                let chosen = GramSearch::choose(&anchors, &frequency);
                GramSearch::new(from, &anchors, chosen).expect("each anchor holds its chosen gram")
            });
            let runs = build_runs(
                &bytes[..exact_bytes],
                &ends[..exact],
                run_bytes,
                double,
                &corpus,
            );
            runs.map(|runs| (runs, anchors))
        })?;
        Ok(KeySearch {
            runs,
            keys,
            anchors,
        })
    }

    /// A key search written by [`KeySearch::to_bytes`] (the build cache checks its SHA-256 first;
    /// data that is not such a search is a `ValueError`, never an out-of-bounds read).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        let mut reader = Reader(data);
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(invalid("not a txscreen key search"));
        }
        let keys = reader.number()?;
        let count = reader.number()?;
        let mut runs = Vec::new();
        for _ in 0..count {
            let first = reader.number()?;
            let mut repeats = HashMap::new();
            for _ in 0..reader.number()? {
                let key = reader.index()?;
                let others = (0..reader.number()?)
                    .map(|_| reader.index())
                    .collect::<PyResult<Vec<u32>>>()?;
                repeats.insert(key, others);
            }
            let size = reader.number()?;
            let (automaton, rest) = DoubleArrayAhoCorasick::<u32>::deserialize(reader.take(size)?)
                .map_err(|e| invalid(format!("not a txscreen key search: {e}")))?;
            if !rest.is_empty() {
                return Err(invalid(
                    "not a txscreen key search: a run has trailing bytes",
                ));
            }
            runs.push(Run {
                automaton: Automaton::Double { automaton, repeats },
                first,
            });
        }
        let anchors = match reader.number()? {
            0 => None,
            count => {
                let first = reader.number()?;
                let mut anchors = Vec::with_capacity(count.min(reader.0.len()));
                let mut chosen = Vec::with_capacity(count.min(reader.0.len()));
                for _ in 0..count {
                    chosen.push(reader.index()?);
                    let size = reader.number()?;
                    anchors.push(reader.take(size)?);
                }
                if first.checked_add(count) != Some(keys) || !GramSearch::takes(&anchors) {
                    return Err(invalid("not a txscreen key search: its anchors do not fit"));
                }
                let search = GramSearch::new(first, &anchors, chosen).ok_or_else(|| {
                    invalid("not a txscreen key search: an anchor's gram is out of it")
                })?;
                Some(search)
            }
        };
        if !reader.0.is_empty() || runs.is_empty() {
            return Err(invalid(
                "not a txscreen key search: trailing bytes or no run",
            ));
        }
        Ok(KeySearch {
            runs,
            keys,
            anchors,
        })
    }

    /// The search as bytes, for [`KeySearch::from_bytes`]; a `ValueError` for the NFA of a list above
    /// [`DOUBLE_ARRAY_KEY_BYTES`] (it does not serialize: the build cache keeps such a list's keys).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = MAGIC.to_vec();
        let number = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u64).to_le_bytes());
        number(&mut out, self.keys);
        number(&mut out, self.runs.len());
        for run in &self.runs {
            let Automaton::Double { automaton, repeats } = &run.automaton else {
                return Err(invalid(
                    "a list this large is searched by NFAs, which do not serialize",
                ));
            };
            number(&mut out, run.first);
            number(&mut out, repeats.len());
            for (key, others) in repeats {
                number(&mut out, *key as usize);
                number(&mut out, others.len());
                for other in others {
                    number(&mut out, *other as usize);
                }
            }
            let automaton = automaton.serialize();
            number(&mut out, automaton.len());
            out.extend_from_slice(&automaton);
        }
        let anchors = self.anchors.as_ref();
        number(&mut out, anchors.map_or(0, GramSearch::len));
        if let Some(anchors) = anchors {
            number(&mut out, anchors.first);
            for i in 0..anchors.len() {
                let (anchor, gram_at) = anchors.anchor(i);
                number(&mut out, gram_at as usize);
                number(&mut out, anchor.len());
                out.extend_from_slice(anchor);
            }
        }
        Ok(PyBytes::new(py, &out))
    }

    /// How many keys the automaton holds.
    fn __len__(&self) -> usize {
        self.keys
    }

    /// How many automata the keys are split into (one but for lists of more than [`RUN_BYTES`], or with
    /// a smaller `run_bytes`).
    #[getter]
    fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Every key occurrence in `haystack`, overlapping ones included: `(key index, start, end)` in bytes,
    /// by end, then by start, then by key index (as one automaton over every key reports them).
    fn find(&self, py: Python<'_>, haystack: &[u8]) -> Vec<(usize, usize, usize)> {
        py.allow_threads(|| {
            let mut found = Vec::new();
            self.each_find(haystack, |key, start, end| {
                found.push((key, start, end));
                true
            });
            if self.runs.len() > 1 || self.anchors.is_some() {
                // One automaton reports by end, then longest first, then (a repeated key) by index.
                found.sort_unstable_by_key(|&(key, start, end)| (end, start, key));
            }
            found
        })
    }
}

impl KeySearch {
    /// Calls `each(key index, start, end)` for every key occurrence in `haystack`, run by run (each run's
    /// by end, then longest first, then by index), then the anchors searched by gram, until it returns
    /// false.
    pub fn each_find(&self, haystack: &[u8], mut each: impl FnMut(usize, usize, usize) -> bool) {
        if !self.each_run_find(haystack, &mut each) {
            return;
        }
        if let Some(anchors) = &self.anchors {
            anchors.each_find(haystack, &mut each);
        }
    }

    /// [`KeySearch::each_find`] of the runs: false when `each` did.
    fn each_run_find(
        &self,
        haystack: &[u8],
        each: &mut impl FnMut(usize, usize, usize) -> bool,
    ) -> bool {
        for run in &self.runs {
            match &run.automaton {
                Automaton::Double { automaton, repeats } => {
                    for found in automaton.find_overlapping_iter(haystack) {
                        let (start, end) = (found.start(), found.end());
                        if !each(run.first + found.value() as usize, start, end) {
                            return false;
                        }
                        for other in repeats.get(&found.value()).into_iter().flatten() {
                            if !each(run.first + *other as usize, start, end) {
                                return false;
                            }
                        }
                    }
                }
                Automaton::Nfa(automaton) => {
                    for found in automaton.find_overlapping_iter(haystack) {
                        let key = run.first + found.pattern().as_usize();
                        if !each(key, found.start(), found.end()) {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }
}

/// As few runs as `run_bytes` allows, of about equal size (no small last run: each is a pass); an empty
/// list still gets one (empty) automaton. Double arrays or NFAs.
fn build_runs(
    bytes: &[u8],
    ends: &[usize],
    run_bytes: usize,
    double: bool,
    corpus: &[Vec<u8>],
) -> PyResult<Vec<Run>> {
    let count = bytes.len().div_ceil(run_bytes.max(1)).max(1);
    let size = bytes.len().div_ceil(count);
    let mut runs = Vec::with_capacity(count);
    let mut first = 0;
    while first < ends.len() || runs.is_empty() {
        let start = if first == 0 { 0 } else { ends[first - 1] };
        let last = ends[first..].partition_point(|&end| end - start < size);
        let last = (first + last + 1).min(ends.len());
        let patterns: Vec<&[u8]> = (first..last)
            .map(|i| &bytes[if i == 0 { 0 } else { ends[i - 1] }..ends[i]])
            .collect();
        let automaton = if double {
            double_array(&patterns, corpus)?
        } else {
            Automaton::Nfa(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(invalid)?,
            )
        };
        runs.push(Run { automaton, first });
        first = last;
    }
    Ok(runs)
}

/// A double array over one run; a key given more than once is kept once, its other indices in `repeats`.
fn double_array(patterns: &[&[u8]], corpus: &[Vec<u8>]) -> PyResult<Automaton> {
    let index = |i: usize| u32::try_from(i).map_err(|_| invalid("too many keys in one run"));
    let mut seen: HashMap<&[u8], u32> = HashMap::new();
    let mut repeats: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut unique = Vec::with_capacity(patterns.len());
    for (i, pattern) in patterns.iter().enumerate() {
        let i = index(i)?;
        if let Some(&kept) = seen.get(pattern) {
            repeats.entry(kept).or_default().push(i);
            continue;
        }
        seen.insert(pattern, i);
        unique.push((*pattern, i));
    }
    let builder = DoubleArrayAhoCorasickBuilder::new().use_prefilter(false);
    let builder = if corpus.is_empty() {
        builder
    } else {
        builder.corpus(corpus)
    };
    let automaton = builder.build_with_values(unique).map_err(invalid)?;
    Ok(Automaton::Double { automaton, repeats })
}

/// The length of the longest prefix of `data` of at most `limit` bytes that ends at a line's end.
fn floor_line(data: &[u8], limit: usize) -> usize {
    if data.len() <= limit {
        return data.len();
    }
    data[..limit].iter().rposition(|&b| b == b'\n').unwrap_or(0)
}

/// Reads [`KeySearch::to_bytes`]'s numbers and slices, failing on data that ends too soon.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, size: usize) -> PyResult<&'a [u8]> {
        if size > self.0.len() {
            return Err(invalid("not a txscreen key search: it ends too soon"));
        }
        let (head, rest) = self.0.split_at(size);
        self.0 = rest;
        Ok(head)
    }

    fn number(&mut self) -> PyResult<usize> {
        let bytes: [u8; 8] = self.take(8)?.try_into().expect("eight bytes");
        usize::try_from(u64::from_le_bytes(bytes)).map_err(invalid)
    }

    fn index(&mut self) -> PyResult<u32> {
        u32::try_from(self.number()?).map_err(invalid)
    }
}
