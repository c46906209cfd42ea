//! The billing diagnosis list of an encounter: chronic problems recorded on first
//! sight, the principal diagnosis chosen by the reason for the visit, secondaries and
//! present-on-admission indicators.

use super::catalog::Dx;
use super::events::{ABUSE, ASSAULT, HOSPITAL_UTI};
use super::record::{Builder, Coding, NewCondition};
use super::timeline::{Reason, Visit};

impl Builder<'_> {
    /// Records every chronic condition active at this visit that has no Condition yet.
    pub(super) fn reconcile_chronic(&mut self, v: &Visit, coding: &mut Coding) {
        let day = v.start.date();
        for i in 0..self.cases.len() {
            if self.cases[i].onset > day || self.case_conditions[i].is_some() {
                continue;
            }
            let case = self.cases[i].clone();
            let uuid = self.rng.uuid();
            let onset = (!self.rng.chance(self.ctx.cfg.error_rate / 2.0))
                .then(|| case.onset.and_hms_opt(0, 0, 0).unwrap_or(v.start));
            coding.conditions.push(NewCondition {
                uuid: uuid.clone(),
                dx: case.dx,
                onset,
                abatement: None,
                problem_list: true,
                security: case.security,
            });
            self.case_conditions[i] = Some(uuid);
            for companion in case.companions {
                let cu = self.rng.uuid();
                let onset = case.onset.and_hms_opt(0, 0, 0);
                coding.conditions.push(NewCondition {
                    uuid: cu.clone(),
                    dx: *companion,
                    onset,
                    abatement: None,
                    problem_list: true,
                    security: None,
                });
                self.case_companions[i].push((cu, *companion));
            }
        }
    }

    pub(super) fn new_condition(
        &mut self,
        coding: &mut Coding,
        dx: Dx,
        v: &Visit,
        resolved: bool,
        security: Option<&'static str>,
    ) -> String {
        let uuid = self.rng.uuid();
        let abatement = resolved.then_some(v.end);
        coding.conditions.push(NewCondition {
            uuid: uuid.clone(),
            dx,
            onset: Some(v.start),
            abatement,
            problem_list: false,
            security,
        });
        uuid
    }

    pub(super) fn principal_and_secondaries(&mut self, v: &Visit, coding: &mut Coding) {
        let exempt = |dx: &Dx| {
            matches!(
                dx.code.as_bytes().first(),
                Some(b'Z' | b'V' | b'W' | b'X' | b'Y')
            )
        };
        let mut principal_case = None;
        let mut event_lines: Vec<(String, Dx)> = Vec::new();
        let principal: (String, Dx) = match &v.reason {
            Reason::FollowUp(i) => {
                principal_case = Some(*i);
                let uuid = self.case_conditions[*i].clone().unwrap_or_default();
                (uuid, self.cases[*i].dx)
            }
            Reason::Acute(a) => {
                let uuid = self.new_condition(coding, a.dx, v, true, None);
                if let Some(cause) = a.external_cause {
                    event_lines.push((self.new_condition(coding, cause, v, true, None), cause));
                }
                (uuid, a.dx)
            }
            Reason::Abuse => {
                let uuid = self.new_condition(coding, ABUSE, v, true, Some("SDV"));
                event_lines.push((self.new_condition(coding, ASSAULT, v, true, None), ASSAULT));
                (uuid, ABUSE)
            }
            Reason::Stay(stay, pi, _) => {
                let dx = stay.principal[(*pi).min(stay.principal.len() - 1)];
                let uuid = self.new_condition(coding, dx, v, stay.name != "knee replacement", None);
                for extra in stay.secondaries {
                    event_lines.push((self.new_condition(coding, *extra, v, true, None), *extra));
                }
                if !stay.external_causes.is_empty() {
                    let cause = *self.rng.pick(stay.external_causes);
                    event_lines.push((self.new_condition(coding, cause, v, true, None), cause));
                }
                (uuid, dx)
            }
            Reason::CancerSurgery(i, _) => {
                principal_case = Some(*i);
                let dx = self.cases[*i].dx;
                (self.new_condition(coding, dx, v, false, None), dx)
            }
        };
        let category = principal.1.code.get(..3).unwrap_or_default().to_string();
        coding.lines.push((principal.0, principal.1, Some("y")));
        if let Some(i) = principal_case.filter(|_| matches!(v.reason, Reason::FollowUp(_))) {
            for (cu, cdx) in self.case_companions[i].clone() {
                coding.lines.push((cu, cdx, Some("y")));
            }
        }
        for (uuid, dx) in event_lines {
            coding
                .lines
                .push((uuid, dx, if exempt(&dx) { None } else { Some("y") }));
        }
        let cap = if v.inpatient { 8 } else { 4 };
        let mut added = 0;
        for i in 0..self.cases.len() {
            if added >= cap
                || Some(i) == principal_case
                || self.cases[i].dx.code.starts_with(&category)
            {
                continue;
            }
            let Some(uuid) = self.case_conditions[i].clone() else {
                continue;
            };
            let poa = match self.rng.unit() {
                r if r < 0.03 => "u",
                r if r < 0.04 => "w",
                _ => "y",
            };
            coding.lines.push((uuid, self.cases[i].dx, Some(poa)));
            for (cu, cdx) in self.case_companions[i].clone() {
                coding.lines.push((cu, cdx, Some("y")));
            }
            added += 1;
        }
        if v.inpatient && category != "N39" && self.rng.chance(0.03) {
            let uuid = self.new_condition(coding, HOSPITAL_UTI, v, true, None);
            coding.lines.push((uuid, HOSPITAL_UTI, Some("n")));
        }
    }
}
