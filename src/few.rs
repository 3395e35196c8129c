//! [`Few`]: a list that keeps up to two items inline and more on the heap.
//!
//! A connection's dial state lives only until TCP is up, yet thousands of
//! connections set up at once hold theirs at the same time. Most names have
//! one or two addresses: kept inline, their lists cost no allocation of
//! their own, and the dial state is one block that is given back whole.

use std::ops::{Deref, DerefMut};

#[derive(Debug, Default)]
pub(crate) enum Few<T> {
    #[default]
    Empty,
    One([T; 1]),
    Two([T; 2]),
    Many(Vec<T>),
}

impl<T> Few<T> {
    pub(crate) fn push(&mut self, item: T) {
        *self = match std::mem::take(self) {
            Few::Empty => Few::One([item]),
            Few::One([a]) => Few::Two([a, item]),
            Few::Two([a, b]) => Few::Many(vec![a, b, item]),
            Few::Many(mut v) => {
                v.push(item);
                Few::Many(v)
            }
        };
    }

    /// Removes item `i`, the last one taking its place. Panics when out of
    /// range, as `Vec::swap_remove`.
    pub(crate) fn swap_remove(&mut self, i: usize) -> T {
        let (rest, item) = match std::mem::take(self) {
            Few::One([a]) if i == 0 => (Few::Empty, a),
            Few::Two([a, b]) if i == 0 => (Few::One([b]), a),
            Few::Two([a, b]) if i == 1 => (Few::One([a]), b),
            Few::Many(mut v) => {
                let item = v.swap_remove(i);
                (Few::Many(v), item)
            }
            _ => panic!("swap_remove index {i} out of range"),
        };
        *self = rest;
        item
    }

    /// Takes every item out, leaving the list empty.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        match std::mem::take(self) {
            Few::Empty => Vec::new(),
            Few::One([a]) => vec![a],
            Few::Two([a, b]) => vec![a, b],
            Few::Many(v) => v,
        }
    }
}

impl<T> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Few<T> {
        let mut f = Few::Empty;
        for item in iter {
            f.push(item);
        }
        f
    }
}

impl<T> Deref for Few<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Few::Empty => &[],
            Few::One(a) => a,
            Few::Two(a) => a,
            Few::Many(v) => v,
        }
    }
}

impl<T> DerefMut for Few<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Few::Empty => &mut [],
            Few::One(a) => a,
            Few::Two(a) => a,
            Few::Many(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_removes_and_takes_like_a_vec() {
        let mut f: Few<u32> = Few::default();
        assert!(f.is_empty());
        f.push(1);
        f.push(2);
        assert!(matches!(f, Few::Two(_)));
        f.push(3);
        assert_eq!(&f[..], [1, 2, 3]);
        assert_eq!(f.swap_remove(0), 1);
        assert_eq!(&f[..], [3, 2]);
        f[1] = 7;
        assert_eq!(f.take_all(), [3, 7]);
        assert!(f.is_empty());
        let mut g: Few<u32> = [5, 6].into_iter().collect();
        assert_eq!(g.swap_remove(1), 6);
        assert_eq!(g.swap_remove(0), 5);
        assert!(matches!(g, Few::Empty));
    }
}
