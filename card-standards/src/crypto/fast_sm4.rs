//! A table-driven SM4 (GB/T 32907-2016) for bulk TAC verification.
//!
//! Why this exists: the `sm4` crate (used everywhere else in this crate) computes each round's
//! S-box and linear transform byte by byte, which held SM4 TAC verification to 0.57× of
//! `openssl speed -evp sm4-cbc` on this class of machine (issue 13). A clearing centre verifies
//! tens of millions of TACs a day, each costing one diversification block, one key schedule and
//! a two- or three-block MAC. This implementation merges the S-box τ and the round's linear
//! transform L into four 256-entry `u32` tables (4 KiB, generated at compile time from the
//! standard's S-box below), so a round is four table lookups and XORs; the key schedule uses
//! the same trick with L'. It is checked against the `sm4` crate on random keys and blocks
//! (tests below) and against the standard's known answers.

/// The SM4 S-box (GB/T 32907-2016, table 1).
const SBOX: [u8; 256] = [
    0xd6, 0x90, 0xe9, 0xfe, 0xcc, 0xe1, 0x3d, 0xb7, 0x16, 0xb6, 0x14, 0xc2, 0x28, 0xfb, 0x2c, 0x05,
    0x2b, 0x67, 0x9a, 0x76, 0x2a, 0xbe, 0x04, 0xc3, 0xaa, 0x44, 0x13, 0x26, 0x49, 0x86, 0x06, 0x99,
    0x9c, 0x42, 0x50, 0xf4, 0x91, 0xef, 0x98, 0x7a, 0x33, 0x54, 0x0b, 0x43, 0xed, 0xcf, 0xac, 0x62,
    0xe4, 0xb3, 0x1c, 0xa9, 0xc9, 0x08, 0xe8, 0x95, 0x80, 0xdf, 0x94, 0xfa, 0x75, 0x8f, 0x3f, 0xa6,
    0x47, 0x07, 0xa7, 0xfc, 0xf3, 0x73, 0x17, 0xba, 0x83, 0x59, 0x3c, 0x19, 0xe6, 0x85, 0x4f, 0xa8,
    0x68, 0x6b, 0x81, 0xb2, 0x71, 0x64, 0xda, 0x8b, 0xf8, 0xeb, 0x0f, 0x4b, 0x70, 0x56, 0x9d, 0x35,
    0x1e, 0x24, 0x0e, 0x5e, 0x63, 0x58, 0xd1, 0xa2, 0x25, 0x22, 0x7c, 0x3b, 0x01, 0x21, 0x78, 0x87,
    0xd4, 0x00, 0x46, 0x57, 0x9f, 0xd3, 0x27, 0x52, 0x4c, 0x36, 0x02, 0xe7, 0xa0, 0xc4, 0xc8, 0x9e,
    0xea, 0xbf, 0x8a, 0xd2, 0x40, 0xc7, 0x38, 0xb5, 0xa3, 0xf7, 0xf2, 0xce, 0xf9, 0x61, 0x15, 0xa1,
    0xe0, 0xae, 0x5d, 0xa4, 0x9b, 0x34, 0x1a, 0x55, 0xad, 0x93, 0x32, 0x30, 0xf5, 0x8c, 0xb1, 0xe3,
    0x1d, 0xf6, 0xe2, 0x2e, 0x82, 0x66, 0xca, 0x60, 0xc0, 0x29, 0x23, 0xab, 0x0d, 0x53, 0x4e, 0x6f,
    0xd5, 0xdb, 0x37, 0x45, 0xde, 0xfd, 0x8e, 0x2f, 0x03, 0xff, 0x6a, 0x72, 0x6d, 0x6c, 0x5b, 0x51,
    0x8d, 0x1b, 0xaf, 0x92, 0xbb, 0xdd, 0xbc, 0x7f, 0x11, 0xd9, 0x5c, 0x41, 0x1f, 0x10, 0x5a, 0xd8,
    0x0a, 0xc1, 0x31, 0x88, 0xa5, 0xcd, 0x7b, 0xbd, 0x2d, 0x74, 0xd0, 0x12, 0xb8, 0xe5, 0xb4, 0xb0,
    0x89, 0x69, 0x97, 0x4a, 0x0c, 0x96, 0x77, 0x7e, 0x65, 0xb9, 0xf1, 0x09, 0xc5, 0x6e, 0xc6, 0x84,
    0x18, 0xf0, 0x7d, 0xec, 0x3a, 0xdc, 0x4d, 0x20, 0x79, 0xee, 0x5f, 0x3e, 0xd7, 0xcb, 0x39, 0x48,
];

/// The system parameter FK.
const FK: [u32; 4] = [0xa3b1_bac6, 0x56aa_3350, 0x677d_9197, 0xb270_22dc];

/// The round's linear transform L (encryption).
const fn l(b: u32) -> u32 {
    b ^ b.rotate_left(2) ^ b.rotate_left(10) ^ b.rotate_left(18) ^ b.rotate_left(24)
}

/// The key schedule's linear transform L'.
const fn l_key(b: u32) -> u32 {
    b ^ b.rotate_left(13) ^ b.rotate_left(23)
}

/// `T[k][x]` = L(τ applied to byte `x` at byte position `k`, 0 = most significant), with L' for
/// the key schedule.
const fn tables(key_schedule: bool) -> [[u32; 256]; 4] {
    let mut t = [[0u32; 256]; 4];
    let mut x = 0;
    while x < 256 {
        let s = SBOX[x] as u32;
        let mut k = 0;
        while k < 4 {
            let b = s << (24 - 8 * k);
            t[k][x] = if key_schedule { l_key(b) } else { l(b) };
            k += 1;
        }
        x += 1;
    }
    t
}

static T_ENC: [[u32; 256]; 4] = tables(false);
static T_KEY: [[u32; 256]; 4] = tables(true);

#[inline(always)]
fn t(tab: &[[u32; 256]; 4], x: u32) -> u32 {
    tab[0][(x >> 24) as usize]
        ^ tab[1][((x >> 16) & 0xff) as usize]
        ^ tab[2][((x >> 8) & 0xff) as usize]
        ^ tab[3][(x & 0xff) as usize]
}

/// The constant CK_i: bytes (4i + j) × 7 mod 256.
const fn ck(i: usize) -> u32 {
    let mut v = 0u32;
    let mut j = 0;
    while j < 4 {
        v = (v << 8) | (((4 * i + j) * 7) % 256) as u32;
        j += 1;
    }
    v
}

const CK: [u32; 32] = {
    let mut c = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        c[i] = ck(i);
        i += 1;
    }
    c
};

fn words(b: &[u8; 16]) -> [u32; 4] {
    std::array::from_fn(|i| {
        u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    })
}

/// An SM4 key with its 32 round keys scheduled.
#[derive(Clone)]
pub(crate) struct FastSm4 {
    rk: [u32; 32],
}

impl FastSm4 {
    /// Schedules `key`.
    pub(crate) fn new(key: &[u8; 16]) -> FastSm4 {
        let mk = words(key);
        let mut k = [mk[0] ^ FK[0], mk[1] ^ FK[1], mk[2] ^ FK[2], mk[3] ^ FK[3]];
        let mut rk = [0u32; 32];
        for (i, r) in rk.iter_mut().enumerate() {
            let next = k[0] ^ t(&T_KEY, k[1] ^ k[2] ^ k[3] ^ CK[i]);
            *r = next;
            k = [k[1], k[2], k[3], next];
        }
        FastSm4 { rk }
    }

    /// Encrypts one block in place.
    pub(crate) fn encrypt(&self, block: &mut [u8; 16]) {
        let mut x = words(block);
        for r in self.rk.chunks_exact(4) {
            x[0] ^= t(&T_ENC, x[1] ^ x[2] ^ x[3] ^ r[0]);
            x[1] ^= t(&T_ENC, x[2] ^ x[3] ^ x[0] ^ r[1]);
            x[2] ^= t(&T_ENC, x[3] ^ x[0] ^ x[1] ^ r[2]);
            x[3] ^= t(&T_ENC, x[0] ^ x[1] ^ x[2] ^ r[3]);
        }
        for (i, w) in [x[3], x[2], x[1], x[0]].iter().enumerate() {
            block[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
    }

    /// SM4-CBC-MAC (IV 0, padding method 2) of `data`, the whole last block.
    pub(crate) fn cbc_mac(&self, data: &[u8]) -> [u8; 16] {
        super::primitives::cbc_mac(data, |b| self.encrypt(b))
    }
}

impl std::fmt::Debug for FastSm4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FastSm4(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cipher::{Block, BlockCipherEncrypt, KeyInit};
    use proptest::prelude::*;

    fn h(s: &str) -> [u8; 16] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn matches_the_gbt_32907_example() {
        let key = h("0123456789ABCDEFFEDCBA9876543210");
        let mut b = key;
        FastSm4::new(&key).encrypt(&mut b);
        assert_eq!(b, h("681EDF34D206965E86B3E94F536E4246"));
    }

    #[test]
    fn matches_the_gbt_32907_million_fold_example() {
        // The standard's second example: the plaintext encrypted 1 000 000 times under the
        // same key. Debug builds run it too (a few seconds).
        let key = h("0123456789ABCDEFFEDCBA9876543210");
        let c = FastSm4::new(&key);
        let mut b = key;
        for _ in 0..1_000_000 {
            c.encrypt(&mut b);
        }
        assert_eq!(b, h("595298C7C6FD271F0402F804C33D3F66"));
    }

    fn reference(key: &[u8; 16], block: [u8; 16]) -> [u8; 16] {
        let c = sm4::Sm4::new(&(*key).into());
        let mut b = Block::<sm4::Sm4>::from(block);
        c.encrypt_block(&mut b);
        b.into()
    }

    proptest! {
        #[test]
        fn agrees_with_the_sm4_crate_on_random_keys_and_blocks(key: [u8; 16], block: [u8; 16]) {
            let mut b = block;
            FastSm4::new(&key).encrypt(&mut b);
            prop_assert_eq!(b, reference(&key, block));
        }

        #[test]
        fn its_cbc_mac_agrees_with_the_sm4_crate(key: [u8; 16], data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let fast = FastSm4::new(&key).cbc_mac(&data);
            let slow = crate::crypto::primitives::cbc_mac(&data, |b| *b = reference(&key, *b));
            prop_assert_eq!(fast, slow);
        }
    }
}
