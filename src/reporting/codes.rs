//! The `code` grammar of the reports: a code, a range, a comma list of them, or one
//! ValueSet canonical. A value set is evaluated by the search module's resolver
//! (`search::value_set::membership`) and becomes the same key ranges a list does; this
//! module only keeps the codes of the system the report counts.

use crate::coding::ops::CodeSystem;
use crate::coding::CodeSpec;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::search::value_set::{membership, CodeFilter, Membership};

/// A set of codes as inclusive ranges of undotted upper-case keys, each end compared on
/// its own length (`E11` is `E11`–`E11`: the code and everything below it), plus what a
/// value set adds: exact keys (concept lists), nested sets and excluded sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeSet {
    pub ranges: Vec<(String, String)>,
    /// Keys matched exactly, not with what lies below them.
    pub exact: Vec<String>,
    /// Sets included whole (`compose.include.valueSet`), each with its own excludes.
    pub nested: Vec<CodeSet>,
    /// Codes in any of these are out, whatever the includes say.
    pub exclude: Vec<CodeSet>,
}

/// Every ICD key starts with a digit or an upper-case letter: the whole system.
const WHOLE_SYSTEM: (&str, &str) = ("0", "Z");

impl CodeSet {
    fn of_ranges(ranges: Vec<(String, String)>) -> CodeSet {
        CodeSet {
            ranges,
            ..CodeSet::default()
        }
    }

    /// ICD-10-CM codes, ranges and comma lists, through the coding module's grammar.
    pub fn icd10cm(text: &str) -> Option<CodeSet> {
        let spec = CodeSpec::parse(text)?;
        Some(CodeSet::of_ranges(
            spec.key_ranges()
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        ))
    }

    /// ICD-10-PCS code prefixes (`0DT`, `0DTJ4ZZ`), ranges of them (`0SR9-0SRB`) and
    /// comma lists: the PCS hierarchy is its axes, so a prefix is a subtree.
    pub fn pcs(text: &str) -> Option<CodeSet> {
        let ranges = text
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(|item| match item.split_once('-') {
                Some((a, b)) => Some((pcs_key(a)?, pcs_key(b)?)),
                None => pcs_key(item).map(|k| (k.clone(), k)),
            })
            .collect::<Option<Vec<_>>>()?;
        (!ranges.is_empty()).then(|| CodeSet::of_ranges(ranges))
    }

    /// True when nothing is included.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.exact.is_empty() && self.nested.is_empty()
    }

    /// The codes of `system` in a value set's membership; filters on other systems are
    /// dropped (the reports count codes of one system only).
    fn of_membership(set: &Membership, system: CodeSystem) -> CodeSet {
        let mut out = CodeSet::default();
        for filter in &set.include {
            out.add(filter, system);
        }
        out.exclude = set
            .exclude
            .iter()
            .map(|filter| {
                let mut ex = CodeSet::default();
                ex.add(filter, system);
                ex
            })
            .filter(|ex| !ex.is_empty())
            .collect();
        out
    }

    fn add(&mut self, filter: &CodeFilter, system: CodeSystem) {
        let ours = |s: &str| CodeSystem::of(s) == Some(system);
        match filter {
            CodeFilter::System(s) if ours(s) => self
                .ranges
                .push((WHOLE_SYSTEM.0.to_string(), WHOLE_SYSTEM.1.to_string())),
            CodeFilter::Keys { system: s, ranges } if ours(s) => {
                self.ranges.extend(ranges.iter().cloned())
            }
            CodeFilter::Codes {
                system: Some(s),
                codes,
            } if ours(s) => self.exact.extend(codes.iter().map(|c| key(system, c))),
            CodeFilter::Within(inner) => {
                let nested = CodeSet::of_membership(inner, system);
                if !nested.is_empty() {
                    self.nested.push(nested);
                }
            }
            _ => {}
        }
    }
}

fn pcs_key(text: &str) -> Option<String> {
    let k = text.trim().to_ascii_uppercase();
    ((1..=7).contains(&k.len()) && k.chars().all(|c| c.is_ascii_alphanumeric())).then_some(k)
}

/// The undotted upper-case key of a code as the SQL compares it.
fn key(system: CodeSystem, code: &str) -> String {
    let loose = || code.trim().replace('.', "").to_ascii_uppercase();
    match system {
        CodeSystem::Cm => crate::coding::codes::normalize(code).unwrap_or_else(loose),
        CodeSystem::Pcs => loose(),
    }
}

/// True when a `code` value names a ValueSet: every canonical URL (`http:`, `https:`,
/// `urn:`) has a `:`, no ICD code, range or list does.
pub fn is_value_set(text: &str) -> bool {
    text.contains(':')
}

/// The codes of `system` in the value set `url` (`url|version`); a 400 naming the value
/// set when it cannot be evaluated or holds no code of `system`.
pub fn value_set(conn: &mut Conn, url: &str, system: CodeSystem) -> AppResult<CodeSet> {
    let set = CodeSet::of_membership(&membership(conn, url, 0)?, system);
    if set.is_empty() {
        return Err(AppError::invalid(format!(
            "ValueSet '{url}' holds no {} codes, and this report counts {} codes",
            system.name(),
            system.name()
        )));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

    #[test]
    fn memberships_keep_only_the_counted_system() {
        let set = Membership {
            include: vec![
                CodeFilter::Keys {
                    system: CM.into(),
                    ranges: vec![("E11".into(), "E11".into())],
                },
                CodeFilter::Codes {
                    system: Some(CM.into()),
                    codes: vec!["e10.9".into()],
                },
                CodeFilter::Codes {
                    system: Some("http://snomed.info/sct".into()),
                    codes: vec!["44054006".into()],
                },
            ],
            exclude: vec![CodeFilter::Codes {
                system: Some(CM.into()),
                codes: vec!["E11.65".into()],
            }],
        };
        let got = CodeSet::of_membership(&set, CodeSystem::Cm);
        assert_eq!(got.ranges, [("E11".to_string(), "E11".to_string())]);
        assert_eq!(got.exact, ["E109"]);
        assert_eq!(got.exclude.len(), 1);
        assert_eq!(got.exclude[0].exact, ["E1165"]);
        assert!(CodeSet::of_membership(&set, CodeSystem::Pcs).is_empty());
    }

    #[test]
    fn urls_are_value_sets_and_codes_are_not() {
        assert!(is_value_set(
            "http://hl7.org/fhir/sid/icd-10-cm?fhir_vs=isa/E11"
        ));
        assert!(is_value_set("urn:oid:2.16.840.1.113762.1.4.1|20240101"));
        assert!(!is_value_set("E10,E11.9,C00-C96"));
    }
}
