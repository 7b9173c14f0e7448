//! A DLPE dictionary kept for a long time, compactly: stacd holds the entry each of its
//! I/O controllers came from (a thousand of them), and as a [`DlpeDict`] each costs a vector
//! and up to twelve string allocations (~0.8 KiB); packed it is one string and its offsets.

use super::{DlpeDict, KEYS};

/// The values of a [`DlpeDict`] in one string, in [`KEYS`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    text: Box<str>,
    /// Where each key's value ends in `text` (it starts where the previous one ends).
    ends: [u32; KEYS.len()],
    /// Bit `i`: `KEYS[i]` is present.
    present: u16,
}

impl Packed {
    /// Packs `d`. Keys outside [`KEYS`] cannot occur (every constructor of a [`DlpeDict`]
    /// takes its keys from there) and would be dropped; the first value of a key is kept.
    pub fn new(d: &DlpeDict) -> Self {
        Self::from_fn(|_, key| super::get(d, key))
    }

    /// Packs the value `value(i, KEYS[i])` gives each of [`KEYS`] (`None`: absent).
    pub fn from_fn<'a>(value: impl Fn(usize, &'static str) -> Option<&'a str>) -> Self {
        let mut text = String::new();
        let mut ends = [0u32; KEYS.len()];
        let mut present = 0u16;
        for (i, key) in KEYS.iter().enumerate() {
            if let Some(v) = value(i, key) {
                text.push_str(v);
                present |= 1 << i;
            }
            // A log page entry's fields are bounded far below 4 GiB; saturate regardless.
            ends[i] = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        Self {
            text: text.into_boxed_str(),
            ends,
            present,
        }
    }

    fn value(&self, i: usize) -> Option<&str> {
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start as usize..self.ends[i] as usize)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        KEYS.iter()
            .position(|k| *k == key)
            .and_then(|i| self.value(i))
    }

    /// The present keys and their values, in upstream's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        KEYS.iter()
            .enumerate()
            .filter_map(|(i, k)| self.value(i).map(|v| (*k, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks_every_shape() {
        let full: DlpeDict = KEYS
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, format!("v{i}-{}", "x".repeat(i * 7))))
            .collect();
        let cases: Vec<DlpeDict> = vec![
            full.clone(),
            Vec::new(),
            // Absent keys (fc has no tsas), empty values, a non-ASCII value.
            full.iter()
                .filter(|(k, _)| *k != "tsas" && *k != "trtype")
                .cloned()
                .collect(),
            vec![("traddr", String::new()), ("eflags", "4".into())],
            vec![("subnqn", "nqn.2014-08.org.example:ünïcode".into())],
        ];
        for d in cases {
            let p = Packed::new(&d);
            let back: DlpeDict = p.iter().map(|(k, v)| (k, v.to_owned())).collect();
            assert_eq!(back, d);
            for k in KEYS {
                assert_eq!(p.get(k), super::super::get(&d, k), "{k} of {d:?}");
            }
        }
        assert_eq!(Packed::new(&full).get("nonsense"), None);
    }

    #[test]
    fn smaller_than_the_dictionary() {
        // The point of it: one allocation next to a few offsets.
        assert!(std::mem::size_of::<Packed>() <= 72);
    }
}
