//! Optimal assignment (Hungarian algorithm with potentials, O(n^2 m)) on a reusable workspace.

/// A reusable workspace for [`Assignment::solve`]; it grows to the largest problem seen and then
/// never allocates again.
#[derive(Debug, Default)]
pub struct Assignment {
    u: Vec<f64>,
    v: Vec<f64>,
    p: Vec<usize>,
    way: Vec<usize>,
    minv: Vec<f64>,
    used: Vec<bool>,
    /// Result: `row_to_col[r]` is the column assigned to row `r`, if any.
    pub row_to_col: Vec<Option<usize>>,
}

impl Assignment {
    /// An assignment with room for `n` rows and columns before it allocates.
    pub fn with_capacity(n: usize) -> Self {
        let n1 = n + 1;
        Assignment {
            u: Vec::with_capacity(n1),
            v: Vec::with_capacity(n1),
            p: Vec::with_capacity(n1),
            way: Vec::with_capacity(n1),
            minv: Vec::with_capacity(n1),
            used: Vec::with_capacity(n1),
            row_to_col: Vec::with_capacity(n),
        }
    }

    /// Solves the minimum-cost assignment of `rows` x `cols` costs (row-major in `cost`).
    /// Pairs whose cost exceeds `max_cost` are left unassigned. Results are in `row_to_col`.
    pub fn solve(&mut self, cost: &[f32], rows: usize, cols: usize, max_cost: f32) {
        self.row_to_col.clear();
        self.row_to_col.resize(rows, None);
        if rows == 0 || cols == 0 {
            return;
        }
        // The algorithm needs n <= m; pad with dummy columns of a cost above `max_cost`.
        let n = rows;
        let m = cols.max(rows);
        let big = (max_cost as f64 + 1.0) * 2.0;
        let c = |i: usize, j: usize| -> f64 {
            if j < cols {
                let x = cost[i * cols + j] as f64;
                if x > max_cost as f64 { big } else { x }
            } else {
                big
            }
        };
        for buf in [&mut self.u, &mut self.minv] {
            buf.clear();
        }
        self.u.resize(n + 1, 0.0);
        self.v.clear();
        self.v.resize(m + 1, 0.0);
        self.p.clear();
        self.p.resize(m + 1, 0);
        self.way.clear();
        self.way.resize(m + 1, 0);
        for i in 1..=n {
            self.p[0] = i;
            let mut j0 = 0usize;
            self.minv.clear();
            self.minv.resize(m + 1, f64::INFINITY);
            self.used.clear();
            self.used.resize(m + 1, false);
            loop {
                self.used[j0] = true;
                let i0 = self.p[j0];
                let mut delta = f64::INFINITY;
                let mut j1 = 0usize;
                for j in 1..=m {
                    if !self.used[j] {
                        let cur = c(i0 - 1, j - 1) - self.u[i0] - self.v[j];
                        if cur < self.minv[j] {
                            self.minv[j] = cur;
                            self.way[j] = j0;
                        }
                        if self.minv[j] < delta {
                            delta = self.minv[j];
                            j1 = j;
                        }
                    }
                }
                for j in 0..=m {
                    if self.used[j] {
                        self.u[self.p[j]] += delta;
                        self.v[j] -= delta;
                    } else {
                        self.minv[j] -= delta;
                    }
                }
                j0 = j1;
                if self.p[j0] == 0 {
                    break;
                }
            }
            loop {
                let j1 = self.way[j0];
                self.p[j0] = self.p[j1];
                j0 = j1;
                if j0 == 0 {
                    break;
                }
            }
        }
        for j in 1..=m {
            let i = self.p[j];
            if i > 0 && j <= cols && cost[(i - 1) * cols + (j - 1)] <= max_cost {
                self.row_to_col[i - 1] = Some(j - 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_optimum_where_greedy_fails() {
        // Greedy would take (0,0)=1 then (1,1)=10: total 11. Optimum: (0,1)+(1,0) = 2+2 = 4.
        let cost = [1.0, 2.0, 2.0, 10.0];
        let mut a = Assignment::default();
        a.solve(&cost, 2, 2, 100.0);
        assert_eq!(a.row_to_col, vec![Some(1), Some(0)]);
    }

    #[test]
    fn rectangular_and_gated_problems() {
        // 3 rows, 2 columns; row 2 only has costs above the gate.
        let cost = [0.1, 0.9, 0.8, 0.2, 5.0, 5.0];
        let mut a = Assignment::default();
        a.solve(&cost, 3, 2, 1.0);
        assert_eq!(a.row_to_col, vec![Some(0), Some(1), None]);
        // 1 row, 3 columns.
        a.solve(&[0.7, 0.3, 0.9], 1, 3, 1.0);
        assert_eq!(a.row_to_col, vec![Some(1)]);
        a.solve(&[], 0, 3, 1.0);
        assert!(a.row_to_col.is_empty());
    }

    #[test]
    fn matches_brute_force_on_random_problems() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1000) as f32 / 1000.0
        };
        let mut a = Assignment::default();
        for _ in 0..200 {
            let n = 4;
            let cost: Vec<f32> = (0..n * n).map(|_| rnd()).collect();
            a.solve(&cost, n, n, 10.0);
            let got: f32 = a.row_to_col.iter().enumerate().map(|(i, j)| cost[i * n + j.unwrap()]).sum();
            let mut best = f32::MAX;
            let mut perm = [0usize, 1, 2, 3];
            permute(&mut perm, 0, &mut |p| {
                let s: f32 = (0..n).map(|i| cost[i * n + p[i]]).sum();
                best = best.min(s);
            });
            assert!((got - best).abs() < 1e-5, "{got} vs {best}");
        }
    }

    fn permute(p: &mut [usize; 4], k: usize, f: &mut impl FnMut(&[usize; 4])) {
        if k == p.len() {
            f(p);
            return;
        }
        for i in k..p.len() {
            p.swap(k, i);
            permute(p, k + 1, f);
            p.swap(k, i);
        }
    }
}
