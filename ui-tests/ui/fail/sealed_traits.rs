// The vector layer's traits carry safety obligations (a vector value proves CPU support, LANES
// sizes the drivers' buffers): they are sealed, so a user type cannot implement them, even
// one with every operator they ask for.
use actigen::simd::Mask;
use core::ops::{BitAnd, BitOr, Not};

#[derive(Clone, Copy)]
struct Wide(bool);
impl BitAnd for Wide {
    type Output = Self;
    fn bitand(self, o: Self) -> Self {
        Wide(self.0 & o.0)
    }
}
impl BitOr for Wide {
    type Output = Self;
    fn bitor(self, o: Self) -> Self {
        Wide(self.0 | o.0)
    }
}
impl Not for Wide {
    type Output = Self;
    fn not(self) -> Self {
        Wide(!self.0)
    }
}
impl Mask for Wide {
    fn any(self) -> bool {
        self.0
    }
}

fn main() {}
