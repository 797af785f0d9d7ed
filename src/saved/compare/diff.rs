//! A line diff of two answers (longest common subsequence), shown as unified hunks.

/// Past this many line pairs, the diff gives up looking for common lines inside the changed
/// middle and shows it as removed then added (memory stays bounded).
const MAX_CELLS: usize = 4_000_000;

/// Lines kept around each change.
const CONTEXT: usize = 3;

/// Index pairs `(i, j)` with `a[i] == b[j]`, in order, of a longest common subsequence.
pub fn common<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(usize, usize)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix =
        a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (mid_a, mid_b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut pairs: Vec<(usize, usize)> = (0..prefix).map(|i| (i, i)).collect();
    if mid_a.len().saturating_mul(mid_b.len()) <= MAX_CELLS {
        pairs.extend(lcs(mid_a, mid_b).into_iter().map(|(i, j)| (i + prefix, j + prefix)));
    }
    pairs.extend((0..suffix).map(|k| (a.len() - suffix + k, b.len() - suffix + k)));
    pairs
}

fn lcs<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    // len[i][j]: LCS length of a[i..] and b[j..]
    let mut len = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[i * (m + 1) + j] = if a[i] == b[j] {
                len[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                len[(i + 1) * (m + 1) + j].max(len[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i] == b[j] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if len[(i + 1) * (m + 1) + j] >= len[i * (m + 1) + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// `a` → `b` as unified-diff lines (` `, `-`, `+`), with [`CONTEXT`] unchanged lines around
/// each change and `@@ N unchanged lines @@` for the rest. Empty when the texts are equal.
pub fn unified(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    for (ci, cj) in common(&a, &b).into_iter().chain([(a.len(), b.len())]) {
        ops.extend(a[i..ci].iter().map(|l| ('-', *l)));
        ops.extend(b[j..cj].iter().map(|l| ('+', *l)));
        if ci < a.len() {
            ops.push((' ', a[ci]));
        }
        (i, j) = (ci + 1, cj + 1);
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    if changed.is_empty() {
        return String::new();
    }
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = 0;
    for (k, (mark, line)) in ops.iter().enumerate() {
        if near(k) {
            if skipped > 0 {
                out.push_str(&format!("@@ {skipped} unchanged lines @@\n"));
                skipped = 0;
            }
            out.push_str(&format!("{mark}{line}\n"));
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        out.push_str(&format!("@@ {skipped} unchanged lines @@\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_longest_common_subsequence() {
        assert_eq!(common(&[1, 2, 3, 4], &[1, 3, 4, 5]), vec![(0, 0), (2, 1), (3, 2)]);
        assert_eq!(common::<u8>(&[], &[1]), vec![]);
    }

    #[test]
    fn unified_shows_changes_with_context() {
        let a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let b = "1\n2\n3\n4\n5\n6\n7\nEIGHT\n9\n";
        assert_eq!(unified(a, b), "@@ 4 unchanged lines @@\n 5\n 6\n 7\n-8\n+EIGHT\n 9\n");
        assert_eq!(unified(a, a), "");
        assert_eq!(unified("", "x"), "+x\n");
    }
}
