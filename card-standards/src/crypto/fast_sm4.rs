//! A table-driven SM4 (GB/T 32907-2016) for bulk TAC verification.
//!
//! Why this exists: the `sm4` crate (used everywhere else in this crate) computes the S-box and
//! the linear transform byte by byte and ran the clearing side's SM4 TAC verification at 0.57×
//! the blocks per second of `openssl speed -evp sm4-cbc`; a clearing centre verifies tens of
//! millions of TACs a day. Each verification costs one block under the issuer's master key (the
//! card's DTK), a key schedule under the DTK and a two-block CBC-MAC. This implementation:
//!
//! * merges the S-box τ with the linear transform L (and, for the key schedule, with L') into
//!   four 256-entry `u32` tables each, generated at compile time from the S-box below, so a
//!   round is four loads and a few XORs;
//! * runs the DTK's key schedule interleaved with the rounds of the MAC's first block (round *i*
//!   needs only round key *i*), so the two dependency chains overlap in the CPU and the key
//!   schedule costs little more than nothing on top of the block;
//! * keeps the round keys for the remaining blocks, so no key is scheduled twice.
//!
//! It is checked against the `sm4` crate on random keys, blocks and MAC inputs (property tests
//! below) and against the GB/T 32907-2016 Appendix A examples. Like every table-driven cipher it
//! is not constant-time against a cache-timing attacker on the same machine; it runs on the
//! clearing side only (cards and PSAMs are simulated with the `sm4` crate).
//!
//! Byte convention: a 16-byte block or key is four big-endian `u32` words, as the standard
//! writes them.

/// GB/T 32907-2016 S-box τ.
#[rustfmt::skip]
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

/// The system parameter FK of the key schedule.
const FK: [u32; 4] = [0xa3b1_bac6, 0x56aa_3350, 0x677d_9197, 0xb270_22dc];

/// The fixed parameters CK of the key schedule: byte *j* of `CK[i]` is (4*i* + *j*) × 7 mod 256.
const CK: [u32; 32] = {
    let mut ck = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        let mut j = 0;
        while j < 4 {
            ck[i] = (ck[i] << 8) | (((4 * i + j) * 7) % 256) as u32;
            j += 1;
        }
        i += 1;
    }
    ck
};

/// Four 256-entry tables, one per byte position of a word, cache-line aligned.
#[repr(align(64))]
struct Tables([[u32; 256]; 4]);

/// `L(B) = B ⊕ (B ⋘ 2) ⊕ (B ⋘ 10) ⊕ (B ⋘ 18) ⊕ (B ⋘ 24)`, the round function's linear transform.
const fn l_round(b: u32) -> u32 {
    b ^ b.rotate_left(2) ^ b.rotate_left(10) ^ b.rotate_left(18) ^ b.rotate_left(24)
}

/// `L'(B) = B ⊕ (B ⋘ 13) ⊕ (B ⋘ 23)`, the key schedule's linear transform.
const fn l_key(b: u32) -> u32 {
    b ^ b.rotate_left(13) ^ b.rotate_left(23)
}

/// `table[p][x]`: the S-box applied to byte `x` placed at byte position `p` (0 = most
/// significant) of a word, then through L (`key == false`) or L' (`key == true`).
const fn tables(key: bool) -> Tables {
    let mut t = [[0u32; 256]; 4];
    let mut p = 0;
    while p < 4 {
        let mut x = 0;
        while x < 256 {
            let b = (SBOX[x] as u32) << (24 - 8 * p);
            t[p][x] = if key { l_key(b) } else { l_round(b) };
            x += 1;
        }
        p += 1;
    }
    Tables(t)
}

/// The round function's combined τ + L.
static T_ROUND: Tables = tables(false);
/// The key schedule's combined τ + L'.
static T_KEY: Tables = tables(true);

/// τ then the linear transform of `tables`, on one word: four loads and three XORs.
#[inline(always)]
fn t(tables: &Tables, x: u32) -> u32 {
    let t = &tables.0;
    t[0][(x >> 24) as u8 as usize]
        ^ t[1][(x >> 16) as u8 as usize]
        ^ t[2][(x >> 8) as u8 as usize]
        ^ t[3][x as u8 as usize]
}

/// A block as four big-endian words.
#[inline(always)]
fn words(block: &[u8; 16]) -> [u32; 4] {
    std::array::from_fn(|i| {
        u32::from_be_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ])
    })
}

/// Four words back to a block.
#[inline(always)]
fn bytes(w: [u32; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (chunk, w) in out.chunks_exact_mut(4).zip(w) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// One round of the cipher: `x0 ⊕ T(x1 ⊕ x2 ⊕ x3 ⊕ rk)`, with `x3` (the word the previous
/// round just produced) XORed in last so that only one XOR waits for it.
#[inline(always)]
fn round(x0: u32, x1: u32, x2: u32, x3: u32, rk: u32) -> u32 {
    x0 ^ t(&T_ROUND, (x1 ^ x2 ^ rk) ^ x3)
}

/// One step of the key schedule: `k0 ⊕ T'(k1 ⊕ k2 ⊕ k3 ⊕ ck)`.
#[inline(always)]
fn key_step(k0: u32, k1: u32, k2: u32, k3: u32, ck: u32) -> u32 {
    k0 ^ t(&T_KEY, (k1 ^ k2 ^ ck) ^ k3)
}

/// CBC-MAC padding method 2 over 16-byte blocks: the `i`-th block of `data ‖ 80 00…` as words,
/// for `i < padded_blocks(data)`.
#[inline(always)]
fn padded_block(data: &[u8], i: usize) -> [u32; 4] {
    let start = 16 * i;
    let mut b = [0u8; 16];
    if start + 16 <= data.len() {
        b.copy_from_slice(&data[start..start + 16]);
    } else {
        let rest = &data[start..];
        b[..rest.len()].copy_from_slice(rest);
        b[rest.len()] = 0x80;
    }
    words(&b)
}

/// The number of blocks of `data` once padded (method 2 always adds at least the `80` byte).
#[inline(always)]
fn padded_blocks(data: &[u8]) -> usize {
    data.len() / 16 + 1
}

#[inline(always)]
fn xor(a: [u32; 4], b: [u32; 4]) -> [u32; 4] {
    [a[0] ^ b[0], a[1] ^ b[1], a[2] ^ b[2], a[3] ^ b[3]]
}

/// The 32 round keys of one SM4 key.
#[derive(Clone)]
pub(crate) struct FastSm4 {
    rk: [u32; 32],
}

impl FastSm4 {
    /// Schedules a key.
    pub(crate) fn new(key: &[u8; 16]) -> FastSm4 {
        let mk = words(key);
        let [mut k0, mut k1, mut k2, mut k3] = xor(mk, FK);
        let mut rk = [0u32; 32];
        for i in 0..8 {
            k0 = key_step(k0, k1, k2, k3, CK[4 * i]);
            k1 = key_step(k1, k2, k3, k0, CK[4 * i + 1]);
            k2 = key_step(k2, k3, k0, k1, CK[4 * i + 2]);
            k3 = key_step(k3, k0, k1, k2, CK[4 * i + 3]);
            rk[4 * i..4 * i + 4].copy_from_slice(&[k0, k1, k2, k3]);
        }
        FastSm4 { rk }
    }

    /// The 32 rounds and the final reversal R, on words.
    #[inline(always)]
    fn rounds(&self, x: [u32; 4]) -> [u32; 4] {
        let [mut x0, mut x1, mut x2, mut x3] = x;
        for i in 0..8 {
            x0 = round(x0, x1, x2, x3, self.rk[4 * i]);
            x1 = round(x1, x2, x3, x0, self.rk[4 * i + 1]);
            x2 = round(x2, x3, x0, x1, self.rk[4 * i + 2]);
            x3 = round(x3, x0, x1, x2, self.rk[4 * i + 3]);
        }
        [x3, x2, x1, x0]
    }

    /// Encrypts one block.
    pub(crate) fn encrypt(&self, block: [u8; 16]) -> [u8; 16] {
        bytes(self.rounds(words(&block)))
    }

    /// Decrypts one block (the rounds with the round keys in reverse order).
    #[cfg(test)]
    pub(crate) fn decrypt(&self, block: [u8; 16]) -> [u8; 16] {
        let mut rk = self.rk;
        rk.reverse();
        FastSm4 { rk }.encrypt(block)
    }

    /// CBC-MAC (IV 0, padding method 2, as [`super::sm4_mac`]) continuing from `state`, starting
    /// at padded block `from`; returns the last block as words.
    #[inline(always)]
    fn cbc_from(&self, mut state: [u32; 4], data: &[u8], from: usize) -> [u32; 4] {
        for i in from..padded_blocks(data) {
            state = self.rounds(xor(state, padded_block(data, i)));
        }
        state
    }

    /// SM4-CBC-MAC (IV 0, padding method 2) under this key; returns the whole last block.
    #[cfg(test)]
    pub(crate) fn cbc_mac(&self, data: &[u8]) -> [u8; 16] {
        bytes(self.cbc_from([0; 4], data, 0))
    }

    /// Schedules `key` and computes SM4-CBC-MAC (IV 0, padding method 2) of `data` under it,
    /// returning the whole last block. The key schedule runs interleaved with the first
    /// block's rounds: round *i* of the block takes round key *i* as soon as it is made.
    pub(crate) fn schedule_and_mac(key: &[u8; 16], data: &[u8]) -> [u8; 16] {
        let [mut k0, mut k1, mut k2, mut k3] = xor(words(key), FK);
        let [mut x0, mut x1, mut x2, mut x3] = padded_block(data, 0);
        let mut rk = [0u32; 32];
        for i in 0..8 {
            k0 = key_step(k0, k1, k2, k3, CK[4 * i]);
            x0 = round(x0, x1, x2, x3, k0);
            k1 = key_step(k1, k2, k3, k0, CK[4 * i + 1]);
            x1 = round(x1, x2, x3, x0, k1);
            k2 = key_step(k2, k3, k0, k1, CK[4 * i + 2]);
            x2 = round(x2, x3, x0, x1, k2);
            k3 = key_step(k3, k0, k1, k2, CK[4 * i + 3]);
            x3 = round(x3, x0, x1, x2, k3);
            rk[4 * i..4 * i + 4].copy_from_slice(&[k0, k1, k2, k3]);
        }
        let first = [x3, x2, x1, x0];
        bytes(FastSm4 { rk }.cbc_from(first, data, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
    use proptest::prelude::*;

    fn h(s: &str) -> [u8; 16] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn matches_the_gbt_32907_example_1() {
        let key = h("0123456789ABCDEFFEDCBA9876543210");
        let sm4 = FastSm4::new(&key);
        let c = sm4.encrypt(key);
        assert_eq!(hex::encode_upper(c), "681EDF34D206965E86B3E94F536E4246");
        assert_eq!(sm4.decrypt(c), key);
    }

    #[test]
    fn matches_the_gbt_32907_example_2_a_million_encryptions() {
        // Encrypting the plaintext under the same key 1 000 000 times; a debug build does
        // this in well under a second with the tables.
        let key = h("0123456789ABCDEFFEDCBA9876543210");
        let sm4 = FastSm4::new(&key);
        let mut b = key;
        for _ in 0..1_000_000 {
            b = sm4.encrypt(b);
        }
        assert_eq!(hex::encode_upper(b), "595298C7C6FD271F0402F804C33D3F66");
    }

    #[test]
    fn the_round_keys_of_example_1_match_the_standard() {
        // GB/T 32907-2016 Appendix A: rk0 = F12186F9, rk31 = 9124A012.
        let sm4 = FastSm4::new(&h("0123456789ABCDEFFEDCBA9876543210"));
        assert_eq!(sm4.rk[0], 0xF121_86F9);
        assert_eq!(sm4.rk[31], 0x9124_A012);
    }

    proptest! {
        #[test]
        fn agrees_with_the_sm4_crate(key in any::<[u8; 16]>(), block in any::<[u8; 16]>()) {
            let reference = sm4::Sm4::new(&key.into());
            let mut b = Block::<sm4::Sm4>::from(block);
            reference.encrypt_block(&mut b);
            let ours = FastSm4::new(&key);
            prop_assert_eq!(ours.encrypt(block), <[u8; 16]>::from(b));
            reference.decrypt_block(&mut b);
            prop_assert_eq!(<[u8; 16]>::from(b), block);
            prop_assert_eq!(ours.decrypt(ours.encrypt(block)), block);
        }

        #[test]
        fn the_mac_agrees_with_the_sm4_crate(key in any::<[u8; 16]>(),
            data in prop::collection::vec(any::<u8>(), 0..56)) {
            let reference = super::super::primitives::sm4_mac(&key, &data);
            prop_assert_eq!(FastSm4::new(&key).cbc_mac(&data), reference);
            prop_assert_eq!(FastSm4::schedule_and_mac(&key, &data), reference);
        }
    }
}
