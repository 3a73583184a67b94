//! The order of object creation, computed from the backup's references in flat memory.
//!
//! One streaming pass over the backup's objects (a page at a time) keeps only compact data per
//! object: its manifest id, its source object id -> index, and its outgoing references as
//! integer edges. Tarjan's algorithm then finds the strongly connected components: a reference
//! between two objects of one component (a cycle, or an object pointing at itself) cannot be
//! set when the object is created and is *deferred* to the object references stage; every
//! other reference points at a component created in an earlier *wave*. Objects of a wave only
//! reference objects of earlier waves, so a wave is created concurrently once the one before
//! it is done and its ids are recorded.
//!
//! 200,000 objects with ~3 references each need a few tens of MiB here at most; the object
//! JSON itself is read again, in small batches, when an object is created.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use super::Error;
use super::source::Source;
use crate::model::{AttributeKind, Object};
use crate::store::{AsyncStore, kind};

/// The creation order of one backup's objects.
#[derive(Debug)]
pub(crate) struct ObjectGraph {
    /// Manifest ids (the object's identity: `ORIGINAL_ID`), in manifest order, packed into
    /// one string (one allocation, not one per object): object `i`'s id ends at
    /// `orig_ends[i]` and starts where the one before it ends. An object's index is its
    /// position in the manifest order.
    orig_text: String,
    orig_ends: Vec<u32>,
    /// A permutation sorting the manifest ids by (length, text), when the manifest order was
    /// not already that (it is for the SQLite store).
    orig_sorted: Option<Vec<u32>>,
    /// Source object id -> index.
    src_num: HashMap<u64, u32>,
    src_other: HashMap<String, u32>,
    /// Strongly connected component of each object.
    scc: Vec<u32>,
    /// Indexes sorted by wave; wave `w` is `order[wave_ends[w-1]..wave_ends[w]]`.
    order: Vec<u32>,
    wave_ends: Vec<u32>,
    /// Objects with at least one deferred reference.
    has_deferred: Vec<bool>,
    /// Numbers for the plan.
    pub stats: OrderStats,
}

/// What the order means in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OrderStats {
    /// Objects per wave.
    pub waves: Vec<u64>,
    /// References set by the object references stage (in cycles, incl. self references).
    pub deferred_edges: u64,
    /// Of those, an object referencing itself.
    pub self_edges: u64,
    /// Objects needing an object references update.
    pub objects_with_deferred: u64,
    /// Deferred references per attribute (index into `Source::attrs`).
    pub deferred_by_attr: BTreeMap<usize, u64>,
    /// References to objects that are not in the backup (not restorable).
    pub dangling_edges: u64,
}

/// High bit marking an interned (non-numeric) source id in the raw edge list.
const INTERNED: u64 = 1 << 63;

/// Compares manifest ids the way the store orders them: shorter first, then by text, so
/// numeric ids sort numerically.
fn id_order(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl ObjectGraph {
    /// Number of objects.
    pub fn len(&self) -> usize {
        self.orig_ends.len()
    }

    /// The manifest id of object `i`.
    pub fn orig_id(&self, i: u32) -> &str {
        packed(&self.orig_text, &self.orig_ends, i as usize)
    }

    /// The index of the object with manifest id `orig`.
    pub fn index_of_orig(&self, orig: &str) -> Option<u32> {
        match &self.orig_sorted {
            None => {
                let (mut lo, mut hi) = (0usize, self.len());
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    match id_order(self.orig_id(mid as u32), orig) {
                        Ordering::Less => lo = mid + 1,
                        Ordering::Greater => hi = mid,
                        Ordering::Equal => return Some(mid as u32),
                    }
                }
                None
            }
            Some(perm) => perm
                .binary_search_by(|i| id_order(self.orig_id(*i), orig))
                .ok()
                .map(|p| perm[p]),
        }
    }

    /// The index of the object whose id *at the source* is `id` (what references hold).
    pub fn index_of_source(&self, id: &str) -> Option<u32> {
        match id.parse::<u64>() {
            Ok(n) if n & INTERNED == 0 => self.src_num.get(&n).copied(),
            _ => self.src_other.get(id).copied(),
        }
    }

    /// Whether the reference `from -> to` is set by the object references stage.
    pub fn deferred(&self, from: u32, to: u32) -> bool {
        self.scc[from as usize] == self.scc[to as usize]
    }

    /// Whether object `i` has references for the object references stage.
    pub fn has_deferred(&self, i: u32) -> bool {
        self.has_deferred[i as usize]
    }

    /// Number of waves.
    pub fn waves(&self) -> usize {
        self.wave_ends.len()
    }

    /// The objects of wave `w`, by index.
    pub fn wave(&self, w: usize) -> &[u32] {
        let start = if w == 0 {
            0
        } else {
            self.wave_ends[w - 1] as usize
        };
        &self.order[start..self.wave_ends[w] as usize]
    }
}

/// Id `i` of ids packed into `text`, each ending at its entry of `ends`.
fn packed<'a>(text: &'a str, ends: &[u32], i: usize) -> &'a str {
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &text[start..ends[i] as usize]
}

/// Reads every object of the backup once and builds its [`ObjectGraph`]; `visit` sees each
/// object (the plan collects users, groups and long texts with it).
pub(crate) async fn build(
    store: &AsyncStore,
    source: &Source,
    mut visit: impl FnMut(&Object) + Send,
) -> Result<ObjectGraph, Error> {
    let backup = source.backup.id;
    let mut b = Builder::with_capacity(source.backup.object_count);
    store
        .for_each_entry_as(backup, kind::OBJECT, |original_id, o: Object| {
            // Objects of types `--types` left out are not restored: not in the order at all.
            if source.restores_objects_of(o.type_id()) {
                b.add(source, original_id, &o);
                visit(&o);
            }
            Ok::<_, Error>(())
        })
        .await?;
    Ok(b.finish())
}

/// Accumulates the compact per-object data of one pass.
#[derive(Default)]
struct Builder {
    orig_text: String,
    orig_ends: Vec<u32>,
    sorted: bool,
    src_num: HashMap<u64, u32>,
    src_other: HashMap<String, u32>,
    offsets: Vec<u32>,
    raw_targets: Vec<u64>,
    edge_attr: Vec<u32>,
    interned: HashMap<String, u64>,
    interned_names: Vec<String>,
}

impl Builder {
    /// A builder sized for `objects` objects (the backup's count), so the per-object arrays
    /// are allocated once instead of growing by doubling: growth would briefly hold both
    /// copies and leave the allocator's heap fragmented for the rest of the restore.
    fn with_capacity(objects: u64) -> Builder {
        let n = usize::try_from(objects).unwrap_or(0);
        Builder {
            orig_text: String::with_capacity(n * 8),
            orig_ends: Vec::with_capacity(n),
            src_num: HashMap::with_capacity(n),
            offsets: Vec::with_capacity(n + 1),
            ..Builder::default()
        }
    }

    fn add(&mut self, source: &Source, orig: String, obj: &Object) {
        let i = self.orig_ends.len() as u32;
        if i == 0 {
            self.sorted = true;
            self.offsets.push(0);
        } else if id_order(
            packed(&self.orig_text, &self.orig_ends, i as usize - 1),
            &orig,
        ) != Ordering::Less
        {
            self.sorted = false;
        }
        self.orig_text.push_str(&orig);
        self.orig_ends.push(self.orig_text.len() as u32);
        if let Some(src) = obj.id.non_empty() {
            match src.parse::<u64>() {
                Ok(n) if n & INTERNED == 0 => {
                    self.src_num.insert(n, i);
                }
                _ => {
                    self.src_other.insert(src.to_owned(), i);
                }
            }
        }
        for a in obj.attributes() {
            let Some(ax) = source.attr_index(a.object_type_attribute_id.as_str()) else {
                continue;
            };
            // References into types left out are dropped with their attribute.
            match &source.attrs[ax].kind {
                AttributeKind::Object { target, .. } if source.left_out(target).is_none() => {}
                _ => continue,
            }
            for v in a.values() {
                if let Some(t) = v.referenced_id() {
                    let raw = self.raw(t.to_owned());
                    self.raw_targets.push(raw);
                    self.edge_attr.push(ax as u32);
                }
            }
        }
        self.offsets.push(self.raw_targets.len() as u32);
    }

    fn raw(&mut self, id: String) -> u64 {
        match id.parse::<u64>() {
            Ok(n) if n & INTERNED == 0 => n,
            _ => {
                let next = INTERNED | self.interned_names.len() as u64;
                *self.interned.entry(id.clone()).or_insert_with(|| {
                    self.interned_names.push(id);
                    next
                })
            }
        }
    }

    fn finish(self) -> ObjectGraph {
        let Builder {
            orig_text,
            orig_ends,
            sorted,
            src_num,
            src_other,
            offsets: raw_offsets,
            raw_targets,
            edge_attr,
            interned,
            interned_names,
        } = self;
        drop(interned);
        let n = orig_ends.len();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut targets = Vec::with_capacity(raw_targets.len());
        let mut attrs = Vec::with_capacity(raw_targets.len());
        let mut dangling = 0u64;
        offsets.push(0u32);
        for v in 0..n {
            let (s, e) = if raw_offsets.is_empty() {
                (0, 0)
            } else {
                (raw_offsets[v] as usize, raw_offsets[v + 1] as usize)
            };
            for k in s..e {
                let raw = raw_targets[k];
                let hit = if raw & INTERNED == 0 {
                    src_num.get(&raw)
                } else {
                    src_other.get(&interned_names[(raw & !INTERNED) as usize])
                };
                match hit {
                    Some(t) => {
                        targets.push(*t);
                        attrs.push(edge_attr[k]);
                    }
                    None => dangling += 1,
                }
            }
            offsets.push(targets.len() as u32);
        }
        // The raw edge lists are done with: free them before the components are computed.
        drop((raw_offsets, raw_targets, edge_attr, interned_names));
        let scc = tarjan(n, &offsets, &targets);
        let (order, wave_ends) = waves(n, &offsets, &targets, &scc);
        let mut stats = OrderStats {
            dangling_edges: dangling,
            waves: wave_ends
                .iter()
                .scan(0u32, |prev, end| {
                    let c = end - *prev;
                    *prev = *end;
                    Some(u64::from(c))
                })
                .collect(),
            ..OrderStats::default()
        };
        let mut has_deferred = vec![false; n];
        for v in 0..n {
            for k in offsets[v] as usize..offsets[v + 1] as usize {
                let w = targets[k] as usize;
                if scc[v] == scc[w] {
                    stats.deferred_edges += 1;
                    stats.self_edges += u64::from(v == w);
                    *stats.deferred_by_attr.entry(attrs[k] as usize).or_default() += 1;
                    has_deferred[v] = true;
                }
            }
        }
        stats.objects_with_deferred = has_deferred.iter().filter(|x| **x).count() as u64;
        let orig_sorted = (!sorted && n > 1).then(|| {
            let id = |i: u32| packed(&orig_text, &orig_ends, i as usize);
            let mut perm: Vec<u32> = (0..n as u32).collect();
            perm.sort_by(|a, b| id_order(id(*a), id(*b)));
            perm
        });
        ObjectGraph {
            orig_text,
            orig_ends,
            orig_sorted,
            src_num,
            src_other,
            scc,
            order,
            wave_ends,
            has_deferred,
            stats,
        }
    }
}

/// Tarjan's strongly connected components, iterative (no recursion depth limit). Components
/// are numbered in completion order, which is a reverse topological order: every edge between
/// two components points at the one with the smaller number.
fn tarjan(n: usize, offsets: &[u32], targets: &[u32]) -> Vec<u32> {
    const UNSET: u32 = u32::MAX;
    let mut index = vec![UNSET; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut comp = vec![UNSET; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut calls: Vec<(u32, u32)> = Vec::new();
    let (mut next, mut ncomp) = (0u32, 0u32);
    for root in 0..n {
        if index[root] != UNSET {
            continue;
        }
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root as u32);
        on_stack[root] = true;
        calls.push((root as u32, offsets[root]));
        while let Some(&(v, edge)) = calls.last() {
            let v = v as usize;
            if edge < offsets[v + 1] {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                let w = targets[edge as usize] as usize;
                if index[w] == UNSET {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w as u32);
                    on_stack[w] = true;
                    calls.push((w as u32, offsets[w]));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u as usize] = low[u as usize].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp[w as usize] = ncomp;
                    if w as usize == v {
                        break;
                    }
                }
                ncomp += 1;
            }
        }
    }
    comp
}

/// Waves from components: a component's wave is one more than the highest wave it references
/// (0 when it references no other component). Returns the objects sorted by wave (by index
/// within a wave) and the end offset of each wave.
fn waves(n: usize, offsets: &[u32], targets: &[u32], scc: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let ncomp = scc.iter().map(|c| c + 1).max().unwrap_or(0) as usize;
    // Members per component (counting sort), then components in number order: each one's
    // targets have smaller numbers and already have their wave.
    let mut starts = vec![0u32; ncomp + 1];
    for c in scc {
        starts[*c as usize + 1] += 1;
    }
    for c in 0..ncomp {
        starts[c + 1] += starts[c];
    }
    let mut fill = starts.clone();
    let mut members = vec![0u32; n];
    for (v, c) in scc.iter().enumerate() {
        members[fill[*c as usize] as usize] = v as u32;
        fill[*c as usize] += 1;
    }
    let mut comp_wave = vec![0u32; ncomp];
    for c in 0..ncomp {
        let mut w = 0u32;
        for &v in &members[starts[c] as usize..starts[c + 1] as usize] {
            let v = v as usize;
            for &t in &targets[offsets[v] as usize..offsets[v + 1] as usize] {
                let tc = scc[t as usize] as usize;
                if tc != c {
                    w = w.max(comp_wave[tc] + 1);
                }
            }
        }
        comp_wave[c] = w;
    }
    let nwaves = comp_wave.iter().map(|w| w + 1).max().unwrap_or(0) as usize;
    let mut ends = vec![0u32; nwaves];
    for c in scc {
        ends[comp_wave[*c as usize] as usize] += 1;
    }
    let mut pos = vec![0u32; nwaves];
    let mut acc = 0u32;
    for w in 0..nwaves {
        pos[w] = acc;
        acc += ends[w];
        ends[w] = acc;
    }
    let mut order = vec![0u32; n];
    for (v, c) in scc.iter().enumerate() {
        let w = comp_wave[*c as usize] as usize;
        order[pos[w] as usize] = v as u32;
        pos[w] += 1;
    }
    (order, ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CSR from an adjacency list.
    fn csr(adj: &[&[u32]]) -> (Vec<u32>, Vec<u32>) {
        let mut offs = vec![0u32];
        let mut t = Vec::new();
        for a in adj {
            t.extend_from_slice(a);
            offs.push(t.len() as u32);
        }
        (offs, t)
    }

    /// The wave of each node, from the sorted order and the wave ends.
    fn wave_of(order: &[u32], ends: &[u32], n: usize) -> Vec<usize> {
        (0..n as u32)
            .map(|v| {
                let p = order.iter().position(|x| *x == v).unwrap() as u32;
                ends.iter().position(|e| p < *e).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_dag_gets_waves_by_depth_and_nothing_is_deferred() {
        // 0 -> 1 -> 2, 3 -> 2, 4 alone.
        let (o, t) = csr(&[&[1], &[2], &[], &[2], &[]]);
        let scc = tarjan(5, &o, &t);
        let distinct: std::collections::HashSet<_> = scc.iter().collect();
        assert_eq!(distinct.len(), 5);
        let (order, ends) = waves(5, &o, &t, &scc);
        assert_eq!(ends, [2, 4, 5]);
        // Within a wave by index.
        assert_eq!(order, [2, 4, 1, 3, 0]);
        assert_eq!(wave_of(&order, &ends, 5), [2, 1, 0, 1, 0]);
    }

    #[test]
    fn cycles_and_self_references_are_one_component_and_their_dependents_wait() {
        // 0 <-> 1 (cycle), 2 -> 2 (self), 3 -> 0 (after the cycle), 4 -> 3.
        let (o, t) = csr(&[&[1], &[0], &[2], &[0], &[3]]);
        let scc = tarjan(5, &o, &t);
        assert_eq!(scc[0], scc[1]);
        assert_ne!(scc[2], scc[0]);
        let (order, ends) = waves(5, &o, &t, &scc);
        assert_eq!(wave_of(&order, &ends, 5), [0, 0, 0, 1, 2]);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 200_000usize;
        let adj: Vec<Vec<u32>> = (0..n)
            .map(|i| {
                if i + 1 < n {
                    vec![i as u32 + 1]
                } else {
                    vec![0]
                }
            })
            .collect();
        let refs: Vec<&[u32]> = adj.iter().map(Vec::as_slice).collect();
        let (o, t) = csr(&refs);
        let scc = tarjan(n, &o, &t);
        assert!(scc.iter().all(|c| *c == scc[0]), "one big cycle");
    }

    #[test]
    fn manifest_ids_compare_like_the_store() {
        assert_eq!(id_order("9", "10"), Ordering::Less);
        assert_eq!(id_order("10", "9"), Ordering::Greater);
        assert_eq!(id_order("5@102", "5"), Ordering::Greater);
    }
}
