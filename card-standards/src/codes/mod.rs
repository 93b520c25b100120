//! Code tables: versioned data files (in `card-standards/data/`) that translate each scheme's
//! codes for cities, card types and industries to hutong's canonical values and back.
//!
//! The tables are data, not match arms: a new city or a corrected code is an edit to a TOML
//! file. A lookup that misses is [`Error::UnknownCode`] naming the table and the code.

mod card_type;
mod industry;

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

pub use card_type::CardType;
pub use industry::Industry;

use crate::error::{Error, Result};
use crate::scheme::Scheme;

const CITIES_TOML: &str = include_str!("../../data/cities.toml");
const CARD_TYPES_TOML: &str = include_str!("../../data/card_types.toml");
const INDUSTRIES_TOML: &str = include_str!("../../data/industries.toml");

/// A city and the codes each standard uses for it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct City {
    /// Stable key used in configuration (`qingdao`).
    pub key: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// GB/T 2260 administrative-division code (6 digits).
    pub admin_code: String,
    /// MOHURD 城市代码 (4 digits).
    pub mohurd_code: String,
    /// Where the MOHURD code comes from: `sourced: …` or `inferred: …`.
    pub mohurd_source: String,
    /// City code on T-Union cards (4 digits): 0015 bytes 2–3, 0017 bytes 6–7, 001E's acquirer
    /// city. The region-code list T-Union cards carry, not a GB/T 2260 prefix.
    pub mot_code: String,
    /// Where the T-Union code comes from: `sourced: …` or `inferred: …`.
    pub mot_source: String,
}

impl City {
    /// The 4-digit code a card of `scheme` stores for this city. MOHURD, local and PBOC cards
    /// use the MOHURD code; T-Union cards the T-Union city code.
    pub fn card_code(&self, scheme: Scheme) -> &str {
        match scheme {
            Scheme::Mot => &self.mot_code,
            Scheme::Mohurd | Scheme::Local | Scheme::Pboc => &self.mohurd_code,
        }
    }
}

#[derive(Deserialize)]
struct CityFile {
    version: String,
    city: Vec<City>,
}

#[derive(Deserialize)]
struct CardTypeFile {
    version: String,
    code: Vec<CardTypeRow>,
}

#[derive(Deserialize)]
struct CardTypeRow {
    scheme: Scheme,
    raw: String,
    card_type: CardType,
}

#[derive(Deserialize)]
struct IndustryFile {
    version: String,
    code: Vec<IndustryRow>,
}

#[derive(Deserialize)]
struct IndustryRow {
    scheme: Scheme,
    raw: String,
    industry: Industry,
}

/// A two-way map between one scheme's raw codes and canonical values.
#[derive(Debug)]
struct TwoWay<T> {
    decode: HashMap<(Scheme, String), T>,
    encode: HashMap<(Scheme, T), String>,
}

impl<T> Default for TwoWay<T> {
    fn default() -> Self {
        TwoWay {
            decode: HashMap::new(),
            encode: HashMap::new(),
        }
    }
}

impl<T: Copy + Eq + std::hash::Hash + std::fmt::Display> TwoWay<T> {
    fn insert(&mut self, table: &'static str, scheme: Scheme, raw: &str, value: T) -> Result<()> {
        let raw = raw.to_ascii_uppercase();
        let dup = |what: String| Error::CodeTable {
            table,
            detail: format!("{scheme}: {what} appears twice"),
        };
        if self.decode.insert((scheme, raw.clone()), value).is_some() {
            return Err(dup(format!("raw code {raw}")));
        }
        if self.encode.insert((scheme, value), raw).is_some() {
            return Err(dup(format!("{value}")));
        }
        Ok(())
    }
}

/// The loaded code tables. [`CodeTables::builtin`] gives the tables shipped in this crate.
#[derive(Debug)]
pub struct CodeTables {
    /// Versions of the three data files, `cities/card_types/industries`.
    pub version: String,
    cities: Vec<City>,
    by_key: HashMap<String, usize>,
    by_mohurd: HashMap<String, usize>,
    by_admin: HashMap<String, usize>,
    by_mot: HashMap<String, usize>,
    card_types: TwoWay<CardType>,
    industries: TwoWay<Industry>,
}

static BUILTIN: LazyLock<CodeTables> = LazyLock::new(|| {
    CodeTables::from_toml(CITIES_TOML, CARD_TYPES_TOML, INDUSTRIES_TOML)
        .expect("the code tables shipped in card-standards/data parse (checked by tests)")
});

impl CodeTables {
    /// The tables shipped with this crate (`card-standards/data/*.toml`).
    pub fn builtin() -> &'static CodeTables {
        &BUILTIN
    }

    /// Loads tables from the text of the three data files, checking that each scheme's codes
    /// are one-to-one.
    pub fn from_toml(cities: &str, card_types: &str, industries: &str) -> Result<CodeTables> {
        let parse_err = |table: &'static str| {
            move |e: toml::de::Error| Error::CodeTable {
                table,
                detail: e.to_string(),
            }
        };
        let cities: CityFile = toml::from_str(cities).map_err(parse_err("cities"))?;
        let types: CardTypeFile = toml::from_str(card_types).map_err(parse_err("card_types"))?;
        let inds: IndustryFile = toml::from_str(industries).map_err(parse_err("industries"))?;

        let mut tables = CodeTables {
            version: format!("{}/{}/{}", cities.version, types.version, inds.version),
            cities: Vec::new(),
            by_key: HashMap::new(),
            by_mohurd: HashMap::new(),
            by_admin: HashMap::new(),
            by_mot: HashMap::new(),
            card_types: TwoWay::default(),
            industries: TwoWay::default(),
        };
        for (i, city) in cities.city.into_iter().enumerate() {
            for (what, source) in [
                ("mohurd_source", &city.mohurd_source),
                ("mot_source", &city.mot_source),
            ] {
                if !(source.starts_with("sourced: ") || source.starts_with("inferred: ")) {
                    return Err(Error::CodeTable {
                        table: "cities",
                        detail: format!(
                            "{}: {what} must start with \"sourced: \" or \"inferred: \"",
                            city.key
                        ),
                    });
                }
            }
            for (code, name) in [
                (&city.mohurd_code, "mohurd_code"),
                (&city.mot_code, "mot_code"),
            ] {
                if code.len() != 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::CodeTable {
                        table: "cities",
                        detail: format!("{}: {name} {code} is not 4 decimal digits", city.key),
                    });
                }
            }
            for (index, code, name) in [
                (&mut tables.by_key, city.key.clone(), "key"),
                (
                    &mut tables.by_mohurd,
                    city.mohurd_code.clone(),
                    "mohurd_code",
                ),
                (&mut tables.by_admin, city.admin_code.clone(), "admin_code"),
                (&mut tables.by_mot, city.mot_code.clone(), "mot_code"),
            ] {
                if index.insert(code.clone(), i).is_some() {
                    return Err(Error::CodeTable {
                        table: "cities",
                        detail: format!("{name} {code} appears twice"),
                    });
                }
            }
            tables.cities.push(city);
        }
        for row in types.code {
            tables
                .card_types
                .insert("card_types", row.scheme, &row.raw, row.card_type)?;
        }
        for row in inds.code {
            tables
                .industries
                .insert("industries", row.scheme, &row.raw, row.industry)?;
        }
        Ok(tables)
    }

    /// Every city, in file order.
    pub fn cities(&self) -> &[City] {
        &self.cities
    }

    fn city_in(
        &self,
        index: &HashMap<String, usize>,
        table: &'static str,
        code: &str,
    ) -> Result<&City> {
        index
            .get(code)
            .map(|&i| &self.cities[i])
            .ok_or_else(|| Error::UnknownCode {
                table,
                code: code.to_string(),
            })
    }

    /// The city with this configuration key (`qingdao`).
    pub fn city(&self, key: &str) -> Result<&City> {
        self.city_in(&self.by_key, "cities.key", key)
    }

    /// The city with this MOHURD 城市代码.
    pub fn city_by_mohurd_code(&self, code: &str) -> Result<&City> {
        self.city_in(&self.by_mohurd, "cities.mohurd_code", code)
    }

    /// The city with this GB/T 2260 code.
    pub fn city_by_admin_code(&self, code: &str) -> Result<&City> {
        self.city_in(&self.by_admin, "cities.admin_code", code)
    }

    /// The city with this T-Union city code.
    pub fn city_by_mot_code(&self, code: &str) -> Result<&City> {
        self.city_in(&self.by_mot, "cities.mot_code", code)
    }

    /// The city whose card code under `scheme` is `code` (see [`City::card_code`]).
    pub fn city_by_card_code(&self, scheme: Scheme, code: &str) -> Result<&City> {
        match scheme {
            Scheme::Mot => self.city_by_mot_code(code),
            Scheme::Mohurd | Scheme::Local | Scheme::Pboc => self.city_by_mohurd_code(code),
        }
    }

    /// Translates a city code from one scheme's card form to another's.
    pub fn translate_city(&self, from: Scheme, code: &str, to: Scheme) -> Result<&str> {
        Ok(self.city_by_card_code(from, code)?.card_code(to))
    }

    /// The canonical card type of a scheme's raw code (hex, either case).
    pub fn card_type(&self, scheme: Scheme, raw: &str) -> Result<CardType> {
        lookup_decode(&self.card_types, card_type_table(scheme), scheme, raw)
    }

    /// A scheme's raw code for a canonical card type.
    pub fn card_type_code(&self, scheme: Scheme, card_type: CardType) -> Result<&str> {
        lookup_encode(&self.card_types, card_type_table(scheme), scheme, card_type)
    }

    /// The canonical industry of a scheme's raw code.
    pub fn industry(&self, scheme: Scheme, raw: &str) -> Result<Industry> {
        lookup_decode(&self.industries, industry_table(scheme), scheme, raw)
    }

    /// A scheme's raw code for a canonical industry.
    pub fn industry_code(&self, scheme: Scheme, industry: Industry) -> Result<&str> {
        lookup_encode(&self.industries, industry_table(scheme), scheme, industry)
    }
}

fn card_type_table(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Local => "card_types.local",
        Scheme::Mohurd => "card_types.mohurd",
        Scheme::Mot => "card_types.mot",
        Scheme::Pboc => "card_types.pboc",
    }
}

fn industry_table(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Local => "industries.local",
        Scheme::Mohurd => "industries.mohurd",
        Scheme::Mot => "industries.mot",
        Scheme::Pboc => "industries.pboc",
    }
}

fn lookup_decode<T: Copy>(
    map: &TwoWay<T>,
    table: &'static str,
    scheme: Scheme,
    raw: &str,
) -> Result<T> {
    map.decode
        .get(&(scheme, raw.to_ascii_uppercase()))
        .copied()
        .ok_or_else(|| Error::UnknownCode {
            table,
            code: raw.to_string(),
        })
}

fn lookup_encode<'a, T: Copy + Eq + std::hash::Hash + std::fmt::Display>(
    map: &'a TwoWay<T>,
    table: &'static str,
    scheme: Scheme,
    value: T,
) -> Result<&'a str> {
    map.encode
        .get(&(scheme, value))
        .map(String::as_str)
        .ok_or_else(|| Error::UnknownCode {
            table,
            code: value.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_load_and_cover_the_seed_cities() {
        let t = CodeTables::builtin();
        for key in [
            "qingdao", "rizhao", "ningbo", "shanghai", "jiaxing", "taizhou", "shaoxing", "huzhou",
            "hangzhou", "changsha", "beijing",
        ] {
            let city = t.city(key).unwrap();
            assert_eq!(t.city_by_mohurd_code(&city.mohurd_code).unwrap().key, key);
            assert_eq!(t.city_by_admin_code(&city.admin_code).unwrap().key, key);
            assert_eq!(t.city_by_mot_code(&city.mot_code).unwrap().key, key);
        }
        assert_eq!(t.city_by_mohurd_code("4100").unwrap().name_zh, "长沙");
    }

    #[test]
    fn translates_a_mohurd_city_code_to_the_t_union_code() {
        // Until 2026-11-22.1 these expected 3702 and 3711 (GB/T 2260 prefixes), which no real
        // T-Union card carries (issue 17; docs/card-corrections.md).
        let t = CodeTables::builtin();
        assert_eq!(
            t.translate_city(Scheme::Mohurd, "2660", Scheme::Mot)
                .unwrap(),
            "4520"
        );
        assert_eq!(
            t.translate_city(Scheme::Mot, "4770", Scheme::Local)
                .unwrap(),
            "2768"
        );
        assert_eq!(
            t.translate_city(Scheme::Mohurd, "4100", Scheme::Mot)
                .unwrap(),
            "5510"
        );
        assert_eq!(
            t.translate_city(Scheme::Mot, "3310", Scheme::Mohurd)
                .unwrap(),
            "3100"
        );
        // The old GB/T 2260-prefix codes are not T-Union codes any more.
        for old in ["3702", "3711", "3301", "4301", "1200"] {
            assert!(t.city_by_mot_code(old).is_err(), "{old}");
        }
    }

    #[test]
    fn every_city_row_says_whether_each_card_code_is_sourced_or_inferred() {
        let t = CodeTables::builtin();
        for c in t.cities() {
            for source in [&c.mohurd_source, &c.mot_source] {
                assert!(
                    source.starts_with("sourced: ") || source.starts_with("inferred: "),
                    "{}: {source}",
                    c.key
                );
            }
        }
        // Every T-Union code in the table is sourced.
        assert!(
            t.cities()
                .iter()
                .all(|c| c.mot_source.starts_with("sourced: "))
        );
        let bad = CITIES_TOML.replacen(
            "mot_source = \"sourced: [TR] cardname-tu.csv issuer 01984520",
            "mot_source = \"[TR] cardname-tu.csv issuer 01984520",
            1,
        );
        let err = CodeTables::from_toml(&bad, CARD_TYPES_TOML, INDUSTRIES_TOML).unwrap_err();
        assert!(err.to_string().contains("qingdao: mot_source"), "{err}");
    }

    /// One test per real T-Union city code: the code a real card of that city carries in 0015
    /// bytes 2–3 (tripreader-data cardname-tu.csv; nfsee UnionPayRegion; see cities.toml).
    macro_rules! real_t_union_code {
        ($($test:ident: $code:literal => $key:literal, issuer $issuer:literal;)*) => {$(
            #[test]
            fn $test() {
                let t = CodeTables::builtin();
                let city = t.city_by_mot_code($code).unwrap();
                assert_eq!(city.key, $key);
                assert_eq!(city.card_code(Scheme::Mot), $code);
                assert!(city.mot_source.contains($issuer), "{}", city.mot_source);
                // The MOHURD <-> T-Union translation goes through the same row both ways.
                let mohurd = t.translate_city(Scheme::Mot, $code, Scheme::Mohurd).unwrap();
                assert_eq!(t.translate_city(Scheme::Mohurd, mohurd, Scheme::Mot).unwrap(), $code);
            }
        )*};
    }

    real_t_union_code! {
        t_union_code_4520_is_qingdao: "4520" => "qingdao", issuer "01984520";
        t_union_code_4770_is_rizhao: "4770" => "rizhao", issuer "03744770";
        t_union_code_3320_is_ningbo: "3320" => "ningbo", issuer "03473320";
        t_union_code_2900_is_shanghai: "2900" => "shanghai", issuer "02002900";
        t_union_code_3350_is_jiaxing: "3350" => "jiaxing", issuer "01493350";
        t_union_code_3450_is_taizhou: "3450" => "taizhou", issuer "02113450";
        t_union_code_3370_is_shaoxing: "3370" => "shaoxing", issuer "03493370";
        t_union_code_3360_is_huzhou: "3360" => "huzhou", issuer "03483360";
        t_union_code_3310_is_hangzhou_not_taizhou: "3310" => "hangzhou", issuer "01663310";
        t_union_code_5510_is_changsha: "5510" => "changsha", issuer "02195510";
        t_union_code_1000_is_beijing: "1000" => "beijing", issuer "01011000";
        t_union_code_4510_is_jinan: "4510" => "jinan", issuer "03654510";
        t_union_code_4560_is_yantai: "4560" => "yantai", issuer "02104560";
        t_union_code_1121_is_tianjin: "1121" => "tianjin", issuer "01131121";
    }

    #[test]
    fn a_lookup_that_misses_names_the_table_and_the_code() {
        let t = CodeTables::builtin();
        let err = t.city_by_mohurd_code("9999").unwrap_err();
        assert_eq!(
            err.to_string(),
            "code \"9999\" is not in the cities.mohurd_code table"
        );
        let err = t.industry(Scheme::Mot, "0D").unwrap_err();
        assert_eq!(
            err.to_string(),
            "code \"0D\" is not in the industries.mot table"
        );
        let err = t
            .industry_code(Scheme::Pboc, Industry::SuburbanRail)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "code \"suburban_rail\" is not in the industries.pboc table"
        );
    }

    #[test]
    fn every_scheme_maps_every_card_type_both_ways() {
        let t = CodeTables::builtin();
        for scheme in Scheme::ALL {
            for ct in CardType::ALL {
                let raw = t.card_type_code(scheme, ct).unwrap();
                assert_eq!(t.card_type(scheme, raw).unwrap(), ct);
                assert_eq!(t.card_type(scheme, &raw.to_ascii_lowercase()).unwrap(), ct);
            }
        }
    }

    #[test]
    fn industry_codes_round_trip_where_a_scheme_has_them() {
        let t = CodeTables::builtin();
        let mut mapped = 0;
        for scheme in Scheme::ALL {
            for ind in Industry::ALL {
                if let Ok(raw) = t.industry_code(scheme, ind) {
                    assert_eq!(t.industry(scheme, raw).unwrap(), ind);
                    mapped += 1;
                }
            }
        }
        assert_eq!(mapped, 4 * 15 - 1, "only pboc lacks suburban rail");
        assert_eq!(t.industry(Scheme::Mot, "0c").unwrap(), Industry::Highway);
        assert_eq!(t.industry(Scheme::Pboc, "4131").unwrap(), Industry::Bus);
    }

    #[test]
    fn rejects_a_table_that_maps_one_raw_code_twice() {
        let types = r#"version = "x"
code = [ { scheme = "mot", raw = "01", card_type = "adult" },
         { scheme = "mot", raw = "01", card_type = "student" } ]"#;
        let err = CodeTables::from_toml(CITIES_TOML, types, INDUSTRIES_TOML).unwrap_err();
        assert!(
            err.to_string().contains("raw code 01 appears twice"),
            "{err}"
        );
    }
}
