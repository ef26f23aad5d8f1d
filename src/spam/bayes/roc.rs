//! Figures of merit for a spam filter, as the TREC spam track reported
//! them.
//!
//! Each message gives a score (higher is spammier) and its true label.
//! The ROC curve plots, over every threshold, the ham misclassification
//! rate against the spam misclassification rate; the area above it,
//! **(1-ROCA)%**, is the chance in percent that a random spam scores no
//! higher than a random ham (ties count half): 0 is perfect, 50 is a coin.
//!
//! ```
//! use filter::spam::bayes::roc;
//!
//! let perfect = [(0.9, true), (0.8, true), (0.2, false), (0.1, false)];
//! assert_eq!(roc::one_minus_roca_percent(&perfect), 0.0);
//! let reversed = [(0.1, true), (0.9, false)];
//! assert_eq!(roc::one_minus_roca_percent(&reversed), 100.0);
//! ```

/// (1-ROCA)% of `(score, is_spam)` pairs; NaN when either class is empty.
pub fn one_minus_roca_percent(scored: &[(f64, bool)]) -> f64 {
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let spam = v.iter().filter(|x| x.1).count() as f64;
    let ham = v.len() as f64 - spam;
    if spam == 0.0 || ham == 0.0 {
        return f64::NAN;
    }
    // For each spam, the hams scoring above it, plus half the ties.
    let mut bad = 0.0;
    let mut i = 0;
    let mut hams_below = 0.0;
    while i < v.len() {
        let mut j = i;
        let (mut s, mut h) = (0.0, 0.0);
        while j < v.len() && v[j].0 == v[i].0 {
            if v[j].1 {
                s += 1.0;
            } else {
                h += 1.0;
            }
            j += 1;
        }
        let hams_above = ham - hams_below - h;
        bad += s * (hams_above + h / 2.0);
        hams_below += h;
        i = j;
    }
    100.0 * bad / (spam * ham)
}

/// The spam misclassification rate in percent at the lowest threshold
/// whose ham misclassification rate is at most `ham_percent`: "spam
/// missed at 0.1% ham lost". A message is called spam when its score is
/// above the threshold.
pub fn spam_missed_at_ham_rate(scored: &[(f64, bool)], ham_percent: f64) -> f64 {
    let mut hams: Vec<f64> = scored.iter().filter(|x| !x.1).map(|x| x.0).collect();
    let spams: Vec<f64> = scored.iter().filter(|x| x.1).map(|x| x.0).collect();
    if hams.is_empty() || spams.is_empty() {
        return f64::NAN;
    }
    hams.sort_by(|a, b| b.total_cmp(a));
    // At most k hams may score above the threshold.
    let k = ((ham_percent / 100.0) * hams.len() as f64).floor() as usize;
    let threshold = hams[k.min(hams.len() - 1)];
    let missed = spams.iter().filter(|&&s| s <= threshold).count();
    100.0 * missed as f64 / spams.len() as f64
}

/// Ham and spam misclassification in percent when scores above
/// `threshold` are called spam.
pub fn rates_at(scored: &[(f64, bool)], threshold: f64) -> (f64, f64) {
    let (mut hams, mut ham_lost, mut spams, mut spam_missed) = (0usize, 0usize, 0usize, 0usize);
    for &(s, is_spam) in scored {
        if is_spam {
            spams += 1;
            spam_missed += usize::from(s <= threshold);
        } else {
            hams += 1;
            ham_lost += usize::from(s > threshold);
        }
    }
    let pct = |a: usize, b: usize| {
        if b == 0 {
            f64::NAN
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    (pct(ham_lost, hams), pct(spam_missed, spams))
}

/// The ROC curve: `(ham misclassification %, spam misclassification %)`
/// at every distinct threshold, from the strictest to the most lenient.
pub fn curve(scored: &[(f64, bool)]) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, bool)> = scored.to_vec();
    v.sort_by(|a, b| b.0.total_cmp(&a.0));
    let spam = v.iter().filter(|x| x.1).count().max(1) as f64;
    let ham = (v.len() - v.iter().filter(|x| x.1).count()).max(1) as f64;
    // Threshold above everything: all ham kept, all spam missed.
    let mut out = vec![(0.0, 100.0)];
    let (mut ham_lost, mut spam_caught) = (0.0, 0.0);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            if v[j].1 {
                spam_caught += 1.0;
            } else {
                ham_lost += 1.0;
            }
            j += 1;
        }
        out.push((100.0 * ham_lost / ham, 100.0 * (spam - spam_caught) / spam));
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The naive oracle: every spam against every ham.
    fn naive(scored: &[(f64, bool)]) -> f64 {
        let (mut bad, mut pairs) = (0.0, 0.0);
        for s in scored.iter().filter(|x| x.1) {
            for h in scored.iter().filter(|x| !x.1) {
                pairs += 1.0;
                if s.0 < h.0 {
                    bad += 1.0;
                } else if s.0 == h.0 {
                    bad += 0.5;
                }
            }
        }
        100.0 * bad / pairs
    }

    proptest! {
        #[test]
        fn roca_matches_the_pairwise_count(
            v in prop::collection::vec((0u8..10, any::<bool>()), 2..60)
        ) {
            let scored: Vec<(f64, bool)> = v.iter().map(|&(s, l)| (f64::from(s) / 10.0, l)).collect();
            let fast = one_minus_roca_percent(&scored);
            let slow = naive(&scored);
            if slow.is_nan() {
                prop_assert!(fast.is_nan());
            } else {
                prop_assert!((fast - slow).abs() < 1e-9, "{fast} vs {slow}");
            }
        }

        #[test]
        fn curve_ends_at_the_corners(
            v in prop::collection::vec((0u8..10, any::<bool>()), 1..40)
        ) {
            let scored: Vec<(f64, bool)> = v.iter().map(|&(s, l)| (f64::from(s), l)).collect();
            let c = curve(&scored);
            prop_assert_eq!(c[0], (0.0, 100.0));
            let last = *c.last().unwrap();
            let has_ham = scored.iter().any(|x| !x.1);
            let has_spam = scored.iter().any(|x| x.1);
            prop_assert_eq!(last.0, if has_ham { 100.0 } else { 0.0 });
            prop_assert_eq!(last.1, if has_spam { 0.0 } else { 100.0 });
        }
    }

    #[test]
    fn spam_missed_at_zero_ham_loss() {
        let scored = [(0.9, true), (0.5, true), (0.6, false), (0.1, false)];
        // No ham may be lost: the threshold is the top ham, 0.6; one spam
        // of two is at or below it.
        assert_eq!(spam_missed_at_ham_rate(&scored, 0.0), 50.0);
        assert_eq!(rates_at(&scored, 0.55), (50.0, 50.0));
    }
}
