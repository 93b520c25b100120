use super::{hutong, json};

const COMPOSITE: &[&str] = &[
    "crypto",
    "purchase",
    "--alg",
    "3des",
    "--dpk",
    "A338D92A10C8285411E761445C831C22",
    "--dtk",
    "CAA6025290114BFCC3C9043F70F7A07A",
    "--random",
    "9AC87503",
    "--card-seq",
    "0",
    "--terminal-seq",
    "1",
    "--amount",
    "7223",
    "--type",
    "09",
    "--terminal",
    "000000000001",
    "--datetime",
    "20110919204812",
    "--auth-code",
    "8588D32B7688D32B76",
];

#[test]
fn purchase_reproduces_the_real_changsha_composite_purchase() {
    let v = json(&hutong(COMPOSITE));
    assert_eq!(v["session_key"], "45B5E6403E9995A8");
    assert_eq!(v["mac1"], "303D735D");
    assert_eq!(v["mac2"], "350AC480");
    assert_eq!(v["tac"], "44A8E04A");
}

#[test]
fn load_reproduces_the_real_changsha_load() {
    let v = json(&hutong(&[
        "crypto",
        "load",
        "--alg",
        "3des",
        "--dlk",
        "374598B5C0B0EAE1E1D06609AC5BB369",
        "--dtk",
        "CAA6025290114BFCC3C9043F70F7A07A",
        "--random",
        "CDEF4F20",
        "--card-seq",
        "0",
        "--balance",
        "0",
        "--amount",
        "7223",
        "--type",
        "02",
        "--terminal",
        "000001000050",
        "--datetime",
        "20140825103100",
    ]));
    assert_eq!(v["session_key"], "3C05F429713D0188");
    assert_eq!(v["mac1"], "06B1BEF5");
    assert_eq!(v["mac2"], "0641DCD8");
    assert_eq!(v["tac"], "ED0F8755");
}

#[test]
fn diversify_with_two_factors_equals_two_single_steps() {
    let master = "11223344556677888877665544332211";
    let one = json(&hutong(&[
        "crypto",
        "diversify",
        "--alg",
        "3des",
        "--master",
        master,
        "--factor",
        "0000000000002660",
    ]));
    let key1 = one["key"].as_str().unwrap().to_string();
    let two = json(&hutong(&[
        "crypto",
        "diversify",
        "--alg",
        "3des",
        "--master",
        &key1,
        "--factor",
        "4100000089999985",
    ]));
    let both = json(&hutong(&[
        "crypto",
        "diversify",
        "--alg",
        "3des",
        "--master",
        master,
        "--factor",
        "0000000000002660",
        "--factor",
        "4100000089999985",
    ]));
    assert_eq!(both["key"], two["key"]);
    assert_ne!(both["key"], one["key"]);
}

#[test]
fn mac_uses_single_des_for_8_byte_keys_and_the_retail_mac_for_16() {
    // Cross-checked with `openssl enc -des-cbc/-des-ecb -provider legacy`.
    let single = json(&hutong(&[
        "crypto",
        "mac",
        "--alg",
        "3des",
        "--key",
        "0123456789ABCDEF",
        "--data",
        "",
    ]));
    assert_eq!(single["mac"], "CAEE534C");
    let retail = json(&hutong(&[
        "crypto",
        "mac",
        "--alg",
        "3des",
        "--key",
        "0123456789ABCDEFFEDCBA9876543210",
        "--data",
        "4E6F772069732074",
    ]));
    assert_eq!(retail["mac_full"], "54C077EC710A06CB");
}

#[test]
fn diversify_keeps_parity_by_default_and_adjusts_it_on_request() {
    let args = |parity: Option<&str>| {
        let mut v = vec![
            "crypto",
            "diversify",
            "--alg",
            "3des",
            "--master",
            "11223344556677888877665544332211",
            "--factor",
            "4100000089999985",
        ];
        if let Some(p) = parity {
            v.extend(["--parity", p]);
        }
        json(&hutong(&v))
    };
    let default = args(None);
    assert_eq!(default["parity"], "keep");
    assert_eq!(args(Some("keep"))["key"], default["key"]);
    let adjusted = args(Some("adjust"));
    assert_eq!(adjusted["parity"], "adjust");
    let key = hex::decode(adjusted["key"].as_str().unwrap()).unwrap();
    assert!(key.iter().all(|b| b.count_ones() % 2 == 1), "{key:02X?}");
    let raw = hex::decode(default["key"].as_str().unwrap()).unwrap();
    assert!(key.iter().zip(&raw).all(|(a, b)| a & 0xFE == b & 0xFE));
}

#[test]
fn a_parity_adjusted_real_card_key_gives_the_real_cards_purchase_answers() {
    // The Changsha DPK A338D92A10C8285411E761445C831C22 with odd parity in every byte
    // (card-standards/tests/data/vectors.toml, [[parity]] changsha-dpk).
    let mut args = COMPOSITE.to_vec();
    let at = args.iter().position(|a| *a == "--dpk").unwrap() + 1;
    args[at] = "A238D92A10C8295410E661455D831C23";
    let v = json(&hutong(&args));
    assert_eq!(v["session_key"], "45B5E6403E9995A8");
    assert_eq!(v["mac1"], "303D735D");
}

#[test]
fn mac_cmac_computes_sm4_cmac() {
    // Key: GB/T 32907's example key. "abc" is docs/seals.md's worked example; the 16-byte
    // message is RFC 4493's example 2, its SM4-CMAC computed with OpenSSL 3.0.19
    // (card-standards/tests/data/vectors.toml, [[cmac]]).
    for (data, tag) in [
        ("616263", "8E75238AC2672A6AEE408C1E251854D8"),
        (
            "6BC1BEE22E409F96E93D7E117393172A",
            "07A0861EDEDD5CFCEAD8489011600B9C",
        ),
    ] {
        let v = json(&hutong(&[
            "crypto",
            "mac",
            "--alg",
            "sm4",
            "--cmac",
            "--key",
            "0123456789ABCDEFFEDCBA9876543210",
            "--data",
            data,
        ]));
        assert_eq!(v["mac_full"], tag);
        assert_eq!(v["mac"], &tag[..8]);
    }
    let profile = json(&hutong(&[
        "crypto",
        "mac",
        "--alg",
        "sm4",
        "--key",
        "0123456789ABCDEFFEDCBA9876543210",
        "--data",
        "616263",
    ]));
    assert_ne!(profile["mac_full"], "8E75238AC2672A6AEE408C1E251854D8");
}

#[test]
fn wrong_input_exits_2_naming_the_argument() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "crypto",
                "mac",
                "--alg",
                "sm4",
                "--key",
                "0123456789ABCDEF",
                "--data",
                "00",
            ],
            "--key",
        ),
        (
            &[
                "crypto",
                "mac",
                "--alg",
                "3des",
                "--key",
                "0123456789ABCDE",
                "--data",
                "00",
            ],
            "--key",
        ),
        (
            &[
                "crypto",
                "mac",
                "--alg",
                "aes",
                "--key",
                "0123456789ABCDEF",
                "--data",
                "00",
            ],
            "--alg",
        ),
        (
            &[
                "crypto",
                "diversify",
                "--alg",
                "3des",
                "--master",
                "11223344556677888877665544332211",
                "--factor",
                "00",
            ],
            "--factor",
        ),
        (
            &[
                "crypto",
                "diversify",
                "--alg",
                "sm4",
                "--master",
                "11223344556677888877665544332211",
                "--factor",
                "0000000000002660",
                "--parity",
                "adjust",
            ],
            "--parity",
        ),
        (
            &[
                "crypto",
                "diversify",
                "--alg",
                "3des",
                "--master",
                "11223344556677888877665544332211",
                "--factor",
                "0000000000002660",
                "--parity",
                "odd",
            ],
            "--parity",
        ),
        (
            &[
                "crypto",
                "mac",
                "--alg",
                "3des",
                "--cmac",
                "--key",
                "0123456789ABCDEF",
                "--data",
                "00",
            ],
            "--cmac",
        ),
    ];
    for (args, named) in cases {
        let out = hutong(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "{args:?}: {err}");
    }
    let mut bad_date = COMPOSITE.to_vec();
    let i = bad_date
        .iter()
        .position(|a| *a == "20110919204812")
        .unwrap();
    bad_date[i] = "20110931204812";
    let out = hutong(&bad_date);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--datetime"));
}

#[test]
fn bench_tac_runs_and_reports_both_algorithms() {
    let out = hutong(&["bench", "tac", "--seconds", "0", "--no-openssl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("3des")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("sm4")), "{text}");
}

#[test]
fn bench_e2e_json_gives_every_stage_and_limit_as_one_object() {
    let out = hutong(&["bench", "e2e", "--taps", "300", "--no-postgres", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    assert_eq!(v["taps"], 300);
    let sqlite = &v["backends"][0];
    assert_eq!(sqlite["backend"], "sqlite");
    let records = v["records"].as_u64().unwrap();
    assert!(records >= 300, "{v}");
    assert_eq!(sqlite["records"].as_u64(), Some(records));
    assert!(sqlite["accepted"].as_u64().unwrap() > 0, "{v}");
    for stage in ["upload", "ingest", "clear", "end_to_end"] {
        assert!(
            sqlite[stage]["seconds"].as_f64().unwrap() > 0.0,
            "{stage}: {v}"
        );
    }
    let e2e = sqlite["end_to_end"]["seconds"].as_f64().unwrap();
    let parts: f64 = ["upload", "ingest", "clear"]
        .iter()
        .map(|s| sqlite[*s]["seconds"].as_f64().unwrap())
        .sum();
    assert!((e2e - parts).abs() < 1e-6, "{v}");
    assert!(v["postgres_copy"].is_null(), "{v}");
}
