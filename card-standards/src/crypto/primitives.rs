//! Block-cipher primitives and the CBC-MAC constructions the purse uses.
//!
//! * [`des_mac`]: ISO 9797-1 MAC algorithm 1 with single DES, IV 0, padding method 2 (append
//!   `80`, then `00` to a multiple of 8; a full `80 00…` block when already aligned).
//! * [`retail_mac`]: ISO 9797-1 MAC algorithm 3 (the "retail MAC") with a 16-byte key, same
//!   padding: single-DES CBC under K1, then the last block decrypted under K2 and encrypted
//!   under K1. Used for secure messaging.
//! * [`sm4_mac`]: hutong's SM4 profile — SM4-CBC, IV 0, padding method 2 over 16-byte blocks.
//! * [`sm4_cmac`]: SM4-CMAC — the CMAC construction (NIST SP 800-38B, OMAC1; GB/T 15852.1-2020
//!   MAC algorithm 5) over SM4, for HSM and PSAM tools that use it; not part of the purse.

use cipher::{Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::{Des, TdesEde2};
use sm4::Sm4;

/// CBC-MAC with padding method 2 over `N`-byte blocks; `encrypt` enciphers one block in place.
/// Returns the whole last block.
pub(crate) fn cbc_mac<const N: usize>(
    data: &[u8],
    mut encrypt: impl FnMut(&mut [u8; N]),
) -> [u8; N] {
    let mut state = [0u8; N];
    let mut chunks = data.chunks_exact(N);
    for chunk in &mut chunks {
        for (s, d) in state.iter_mut().zip(chunk) {
            *s ^= d;
        }
        encrypt(&mut state);
    }
    let rest = chunks.remainder();
    for (s, d) in state.iter_mut().zip(rest) {
        *s ^= d;
    }
    state[rest.len()] ^= 0x80;
    encrypt(&mut state);
    state
}

pub(crate) fn des_encrypt_with(cipher: &Des, block: &mut [u8; 8]) {
    let mut b = Block::<Des>::from(*block);
    cipher.encrypt_block(&mut b);
    *block = b.into();
}

pub(crate) fn tdes_encrypt_with(cipher: &TdesEde2, block: [u8; 8]) -> [u8; 8] {
    let mut b = Block::<TdesEde2>::from(block);
    cipher.encrypt_block(&mut b);
    b.into()
}

pub(crate) fn sm4_encrypt_with(cipher: &Sm4, block: &mut [u8; 16]) {
    let mut b = Block::<Sm4>::from(*block);
    cipher.encrypt_block(&mut b);
    *block = b.into();
}

/// Single-DES CBC-MAC (ISO 9797-1 algorithm 1, padding method 2) under an 8-byte key.
/// Returns the full 8-byte MAC; the purse uses its left 4 bytes.
pub fn des_mac(key: &[u8; 8], data: &[u8]) -> [u8; 8] {
    let cipher = Des::new(&(*key).into());
    cbc_mac(data, |b| des_encrypt_with(&cipher, b))
}

/// ISO 9797-1 MAC algorithm 3 (retail MAC) under a 16-byte key, padding method 2.
pub fn retail_mac(key: &[u8; 16], data: &[u8]) -> [u8; 8] {
    let mut k1 = [0u8; 8];
    let mut k2 = [0u8; 8];
    k1.copy_from_slice(&key[..8]);
    k2.copy_from_slice(&key[8..]);
    let d1 = Des::new(&k1.into());
    let d2 = Des::new(&k2.into());
    let h = cbc_mac(data, |b| des_encrypt_with(&d1, b));
    let mut b = Block::<Des>::from(h);
    d2.decrypt_block(&mut b);
    d1.encrypt_block(&mut b);
    b.into()
}

/// SM4-CBC-MAC (IV 0, padding method 2) under a 16-byte key; the purse uses the left 4 bytes.
pub fn sm4_mac(key: &[u8; 16], data: &[u8]) -> [u8; 16] {
    let cipher = Sm4::new(&(*key).into());
    cbc_mac(data, |b| sm4_encrypt_with(&cipher, b))
}

/// SM4-CMAC (NIST SP 800-38B / GB/T 15852.1-2020 MAC algorithm 5 over SM4, GB/T 32907): the
/// whole 16-byte tag. The `cmac` crate's CMAC over `sm4::Sm4`.
pub fn sm4_cmac(key: &[u8; 16], data: &[u8]) -> [u8; 16] {
    use cmac::{Cmac, Mac};
    let mut mac = <Cmac<Sm4> as KeyInit>::new(&(*key).into());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// 3DES-EDE2 (two-key triple DES) encryption of one block.
pub fn tdes_encrypt_block(key: &[u8; 16], block: [u8; 8]) -> [u8; 8] {
    tdes_encrypt_with(&TdesEde2::new(&(*key).into()), block)
}

/// 3DES-EDE2 decryption of one block.
pub fn tdes_decrypt_block(key: &[u8; 16], block: [u8; 8]) -> [u8; 8] {
    let mut b = Block::<TdesEde2>::from(block);
    TdesEde2::new(&(*key).into()).decrypt_block(&mut b);
    b.into()
}

/// SM4 encryption of one block.
pub fn sm4_encrypt_block(key: &[u8; 16], block: [u8; 16]) -> [u8; 16] {
    let mut b = block;
    sm4_encrypt_with(&Sm4::new(&(*key).into()), &mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn sm4_matches_the_gbt_32907_example() {
        // GB/T 32907-2016 Appendix A, example 1.
        let key = h::<16>("0123456789ABCDEFFEDCBA9876543210");
        let out = sm4_encrypt_block(&key, key);
        assert_eq!(hex::encode_upper(out), "681EDF34D206965E86B3E94F536E4246");
    }

    #[test]
    fn tdes_with_equal_halves_is_single_des() {
        // 3DES-EDE2 with K1 = K2 degenerates to single DES (FIPS 81 / NBS test vector).
        let key = h::<16>("0123456789ABCDEF0123456789ABCDEF");
        let out = tdes_encrypt_block(&key, h("4E6F772069732074"));
        assert_eq!(hex::encode_upper(out), "3FA40E8A984D4815");
        assert_eq!(tdes_decrypt_block(&key, out), h("4E6F772069732074"));
    }

    #[test]
    fn padding_adds_a_full_block_when_data_is_aligned() {
        let key = h::<8>("0123456789ABCDEF");
        let aligned = [0x11u8; 8];
        let mut padded = aligned.to_vec();
        padded.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0]);
        // MAC of `aligned` equals the raw CBC of `aligned ‖ 80 00…`, i.e. the MAC over the
        // 16 bytes with no further padding: compute it block by block.
        let cipher = Des::new(&key.into());
        let mut state = [0u8; 8];
        for chunk in padded.chunks(8) {
            for (s, d) in state.iter_mut().zip(chunk) {
                *s ^= d;
            }
            des_encrypt_with(&cipher, &mut state);
        }
        assert_eq!(des_mac(&key, &aligned), state);
    }

    #[test]
    fn retail_mac_with_equal_halves_equals_single_des_mac() {
        let key = h::<16>("0123456789ABCDEF0123456789ABCDEF");
        let data = b"Now is the time for all ";
        assert_eq!(
            retail_mac(&key, data),
            des_mac(&h("0123456789ABCDEF"), data)
        );
    }
}
