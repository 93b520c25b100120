//! `named_code!`: a newtype over a protocol code with named constants, in the manner of rustls'
//! `enum_builder!`. An unknown value survives a round trip and prints in hex.

/// Declares `pub struct $name(pub $repr)` with named constants, a `name()` that returns the
/// constant's name (or `None`), a `meaning()` with the human description, and `Display` as
/// `HEX (meaning)`.
macro_rules! named_code {
    (
        $(#[$attr:meta])*
        $name:ident($repr:ty, $width:literal) {
            $( $(#[$cattr:meta])* $cname:ident = $value:literal => $meaning:literal, )*
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$cattr])* pub const $cname: $name = $name($value); )*

            /// Every named value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$cname),*];

            /// The constant's name, or `None` for a value this crate does not name.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($cname)), )*
                    _ => None,
                }
            }

            /// What the value means, or `None` for a value this crate does not name.
            pub fn meaning(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($meaning), )*
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({:0w$X})", n, self.0, w = $width),
                    None => write!(f, "{}({:0w$X})", stringify!($name), self.0, w = $width),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.meaning() {
                    Some(m) => write!(f, "{:0w$X} ({})", self.0, m, w = $width),
                    None => write!(f, "{:0w$X} (unknown)", self.0, w = $width),
                }
            }
        }
    };
}
pub(crate) use named_code;
