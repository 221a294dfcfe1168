//! The small statistics the reports rest on, each with the method named where it is used.
//!
//! Everything here works on counts: `k` successes out of `n` trials. Intervals are two-sided at
//! the confidence level given by their `z` (1.96 for 95 %).

use serde::Serialize;

/// The two-sided 95 % normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The one-sided 80 % normal quantile (the power used for sample sizes).
const Z80: f64 = 0.841_621_233_572_914_3;

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The lower end.
    pub low: f64,
    /// The upper end.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies inside, ends included.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// `k / n`, or 0 when there are no trials.
pub fn rate(k: u64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    k as f64 / n as f64
}

/// The Wilson score interval for the proportion `k / n`.
///
/// Unlike the plain normal interval it stays inside [0, 1] and behaves for rates near 0 or 1
/// and for small `n`. With no trials it is the whole of [0, 1].
pub fn wilson(k: u64, n: u64, z: f64) -> Interval {
    if n == 0 {
        return Interval { low: 0.0, high: 1.0 };
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval { low: (centre - half).max(0.0), high: (centre + half).min(1.0) }
}

/// The ratio of two proportions (`(k1/n1) / (k0/n0)`, the relative risk or "lift") with its
/// interval by the log method of Katz et al.: `ln(ratio) ± z·sqrt(1/k1 − 1/n1 + 1/k0 − 1/n0)`.
///
/// When either count of successes is 0, 0.5 is added to both successes and both totals
/// (Haldane's correction), so that the ratio and its interval stay finite. `None` when either
/// group is empty.
pub fn ratio(k1: u64, n1: u64, k0: u64, n0: u64, z: f64) -> Option<(f64, Interval)> {
    if n1 == 0 || n0 == 0 {
        return None;
    }
    let fix = if k1 == 0 || k0 == 0 { 0.5 } else { 0.0 };
    let (a, b, c, d) = (k1 as f64 + fix, n1 as f64 + fix, k0 as f64 + fix, n0 as f64 + fix);
    let ratio = (a / b) / (c / d);
    let se = (1.0 / a - 1.0 / b + 1.0 / c - 1.0 / d).max(0.0).sqrt();
    let log = ratio.ln();
    Some((ratio, Interval { low: (log - z * se).exp(), high: (log + z * se).exp() }))
}

/// The outcome of a two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZTest {
    /// The difference of the rates, `p1 − p0`.
    pub difference: f64,
    /// Its 95 % interval (unpooled normal approximation).
    pub difference_ci: Interval,
    /// The z statistic with the pooled standard error.
    pub z: f64,
    /// The two-sided p-value.
    pub p_value: f64,
}

/// The two-sided two-proportion z-test of `k1/n1` against `k0/n0`: under the null hypothesis
/// both share the pooled rate `p = (k1 + k0) / (n1 + n0)`, and
/// `z = (p1 − p0) / sqrt(p (1 − p) (1/n1 + 1/n0))`. The normal approximation wants at least
/// about five successes and five failures in each group. `None` when either group is empty.
pub fn z_test(k1: u64, n1: u64, k0: u64, n0: u64) -> Option<ZTest> {
    if n1 == 0 || n0 == 0 {
        return None;
    }
    let (p1, p0) = (rate(k1, n1), rate(k0, n0));
    let (m1, m0) = (n1 as f64, n0 as f64);
    let pooled = (k1 + k0) as f64 / (m1 + m0);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / m1 + 1.0 / m0)).sqrt();
    let difference = p1 - p0;
    let z = if se_pooled > 0.0 { difference / se_pooled } else { 0.0 };
    let se = (p1 * (1.0 - p1) / m1 + p0 * (1.0 - p0) / m0).sqrt();
    let difference_ci = Interval { low: difference - Z95 * se, high: difference + Z95 * se };
    let p_value = (2.0 * (1.0 - normal_cdf(z.abs()))).clamp(0.0, 1.0);
    Some(ZTest { difference, difference_ci, z, p_value })
}

/// How many units each group needs for a two-sided test at 5 % to detect the difference
/// between rates `p1` and `p0` with 80 % power:
/// `(z₀.₉₇₅ + z₀.₈)² (p1 (1 − p1) + p0 (1 − p0)) / (p1 − p0)²`, rounded up. `None` when the
/// rates are equal (no finite sample detects a difference of zero).
pub fn sample_size(p1: f64, p0: f64) -> Option<u64> {
    let delta = p1 - p0;
    if delta.abs() < 1e-12 {
        return None;
    }
    let variance = p1 * (1.0 - p1) + p0 * (1.0 - p0);
    let n = (Z95 + Z80).powi(2) * variance / (delta * delta);
    Some(n.ceil() as u64)
}

/// The standard normal distribution function, through [`erf`].
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// The error function by formula 7.1.26 of Abramowitz and Stegun (absolute error below
/// 1.5e-7, plenty for p-values).
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        return Some(values[mid]);
    }
    Some((values[mid - 1] + values[mid]) / 2.0)
}

/// The median absolute deviation from the median; `None` when empty.
pub fn mad(values: &[f64]) -> Option<f64> {
    let centre = median(&mut values.to_vec())?;
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
    median(&mut deviations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn wilson_matches_a_hand_computed_interval() {
        // 10 of 100 at 95 %: centre (0.1 + 3.8415/200) / (1 + 3.8415/100) = 0.11479,
        // half 1.96/1.038415 * sqrt(0.0009 + 3.8415/40000) = 0.05958.
        let ci = wilson(10, 100, Z95);
        assert!(close(ci.low, 0.05522, 1e-4), "{ci:?}");
        assert!(close(ci.high, 0.17437, 1e-4), "{ci:?}");
    }

    #[test]
    fn wilson_stays_inside_zero_and_one() {
        let none = wilson(0, 20, Z95);
        assert_eq!(none.low, 0.0);
        assert!(none.high > 0.1 && none.high < 0.2, "{none:?}");
        let all = wilson(20, 20, Z95);
        assert_eq!(all.high, 1.0);
        assert_eq!(wilson(0, 0, Z95), Interval { low: 0.0, high: 1.0 });
    }

    #[test]
    fn ratio_matches_the_katz_log_interval() {
        // 30/100 against 10/100: ratio 3, se = sqrt(1/30 - 1/100 + 1/10 - 1/100) = 0.33665,
        // interval exp(ln 3 ± 1.96 * 0.33665) = 1.5507 .. 5.8033.
        let (lift, ci) = ratio(30, 100, 10, 100, Z95).unwrap();
        assert!(close(lift, 3.0, 1e-12));
        assert!(close(ci.low, 1.5507, 1e-3), "{ci:?}");
        assert!(close(ci.high, 5.8033, 1e-3), "{ci:?}");
        assert_eq!(ratio(1, 0, 1, 10, Z95), None);
    }

    #[test]
    fn ratio_with_no_successes_stays_finite() {
        let (lift, ci) = ratio(0, 50, 5, 50, Z95).unwrap();
        assert!(lift > 0.0 && lift < 0.2, "{lift}");
        assert!(ci.low > 0.0 && ci.high.is_finite() && ci.high > 1.0, "{ci:?}");
    }

    #[test]
    fn z_test_matches_a_hand_computed_statistic() {
        // 120/1000 against 100/1000: pooled 0.11, se sqrt(0.11 * 0.89 * 0.002) = 0.013994,
        // z = 0.02 / 0.013994 = 1.4292, two-sided p = 0.1530.
        let test = z_test(120, 1000, 100, 1000).unwrap();
        assert!(close(test.z, 1.4292, 1e-3), "{test:?}");
        assert!(close(test.p_value, 0.1530, 1e-3), "{test:?}");
        assert!(close(test.difference, 0.02, 1e-12));
        assert!(test.difference_ci.contains(0.0));
    }

    #[test]
    fn normal_cdf_at_known_points() {
        assert!(close(normal_cdf(0.0), 0.5, 1e-7));
        assert!(close(normal_cdf(Z95), 0.975, 1e-6));
        assert!(close(normal_cdf(-1.0), 0.158_655_3, 1e-6));
    }

    #[test]
    fn sample_size_for_ten_against_twelve_percent() {
        // (1.95996 + 0.84162)^2 * (0.12 * 0.88 + 0.1 * 0.9) / 0.02^2 = 3838.1, rounded up.
        assert_eq!(sample_size(0.12, 0.10), Some(3839));
        assert_eq!(sample_size(0.1, 0.1), None);
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        // Median 3; deviations 2, 1, 0, 1, 97: their median is 1.
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), Some(1.0));
    }
}
