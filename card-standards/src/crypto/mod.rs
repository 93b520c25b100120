//! Purse cryptography of the PBOC ED/EP purse shared by all three standards: key
//! diversification, process (session) keys, MAC1/MAC2/TAC for purchase, composite purchase and
//! load, for 3DES and for hutong's SM4 profile (STANDARDS.md §2).
//!
//! Everything here is a pure function of its inputs. Verification compares in constant time.
//! For bulk TAC verification on the clearing side use [`IssuerTacKey`], which schedules the
//! issuer's master key once and derives each card's TAC key from it.

mod fast_des;
mod fast_sm4;
mod keys;
mod primitives;
mod purse;
mod verifier;

pub use keys::{Algorithm, Key16, Parity, SessionKey, adjust_parity, diversify, diversify_path};
pub use primitives::{
    des_mac, retail_mac, sm4_cmac, sm4_encrypt_block, sm4_mac, tdes_decrypt_block,
    tdes_encrypt_block,
};
pub use purse::{
    LoadData, PurchaseData, load_mac1, load_mac2, load_session_key, load_tac, purchase_mac1,
    purchase_mac2, purchase_session_key, purchase_tac, tac_key_material, verify_mac,
};
pub use verifier::IssuerTacKey;
